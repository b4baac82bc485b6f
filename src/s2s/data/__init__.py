"""Data: parallel text readers and the Multi30k download."""
