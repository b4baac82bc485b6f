"""Decoding: greedy and beam search, and the Translator that wraps a checkpoint."""
