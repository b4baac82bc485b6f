"""The argparse types of the number flags: a finite number within bounds, refused by name (tests/test_cli_inputs.py
tries every flag that takes one)."""

from __future__ import annotations

import argparse
import math


def at_least(minimum: float, kind=int, note: str = "", most: float | None = None, above: bool = False):
    """An argparse type: a finite number of `kind` (int or float) that is at least `minimum` (above it, with above)
    and at most `most` (sizes above it cannot be meant: they would only run for minutes and fill memory). Its error
    states the bound it checks: '>= 1', or '> 0' with above."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {'an integer' if kind is int else 'a number'}, got {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if value < minimum or (above and value == minimum):
            bound = f"> {minimum:g}" if above else f">= {minimum}"  # '> 0', as the flags' help says
            raise argparse.ArgumentTypeError(f"must be {bound}{note}, got {text}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"must be <= {most}, got {text}")
        return value
    parse.minimum, parse.most, parse.kind, parse.above = minimum, most, kind, above  # what tests/test_cli_inputs.py tries
    return parse


def positive_float(most: float | None = None):
    """An argparse type: a finite number > 0 (and at most `most`)."""
    return at_least(0.0, float, most=most, above=True)


SEED = at_least(0, most=2**32 - 1)  # what numpy, torch and gensim all take
