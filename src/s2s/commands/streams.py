"""Where a command's output goes: a file written whole then renamed, '-' for stdout, a device in place; and where its
summary goes."""

from __future__ import annotations

import contextlib
import sys

from s2s.outputs import STDOUT, Output, open_output


@contextlib.contextmanager
def output_stream(path: str | None, required: bool = True, flag: str = "--output"):
    """stdout (or None when not required) without a path; else open_output: stdout for '-', a device in place, or a
    temporary file renamed to `path` only when everything was written."""
    if path is None:
        yield sys.stdout if required else None
        return
    with open_output(Output(flag, path)) as handle:
        yield handle


def summary_stream(*paths) -> object:
    """Where a command prints its summary: stderr when one of its outputs goes to stdout ('-'), else stdout."""
    return sys.stderr if STDOUT in paths else sys.stdout
