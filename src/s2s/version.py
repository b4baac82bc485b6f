"""The package version, in the lowest layer: everything that records it (checkpoints, exports, the CLI) reads it here."""

__version__ = "0.1.0"
