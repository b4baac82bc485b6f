"""Progress bars: a live tqdm bar on a terminal; a plain line per interval when stderr is a file or a pipe."""

from __future__ import annotations

import io
import sys

from tqdm import tqdm

LINE_INTERVAL = 30.0  # seconds between progress lines when stderr is not a terminal


class _Lines(io.TextIOBase):
    """A file for tqdm that turns its carriage-return redraws into whole lines (a log keeps one line per update)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> int:
        line = text.replace("\r", "").strip()  # tqdm writes "\r" + the bar, and blanks to erase it on close
        if line:
            self.stream.write(line + "\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()


def progress(iterable=None, file=None, interval: float = LINE_INTERVAL, **options) -> tqdm:
    """tqdm(iterable, **options) on `file` (default stderr): redrawn in place on a terminal, else one line per interval."""
    stream = sys.stderr if file is None else file
    if getattr(stream, "isatty", lambda: False)():
        return tqdm(iterable, file=stream, dynamic_ncols=True, **options)
    return tqdm(iterable, file=_Lines(stream), mininterval=interval, maxinterval=max(interval, 10.0), delay=interval,
                ncols=100, ascii=True, **options)
