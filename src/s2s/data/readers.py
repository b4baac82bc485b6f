"""Read parallel text: plain or .gz UTF-8 files, one sentence per line, with errors that name file and line."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

from s2s.errors import S2SError


def file_identity(path: str | Path) -> dict:
    """What says a file is unchanged without reading it: its resolved path, size and modification time (ns)."""
    path = Path(path)
    if not path.is_file():
        raise S2SError(f"data file '{path}' does not exist; check the path in the config's data section.")
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_lines(path: str | Path, replace_errors: bool = False) -> list[str]:
    """Return the lines of a UTF-8 text file (.gz allowed), without trailing newlines.

    Undecodable bytes are an error naming the line, or with replace_errors become U+FFFD (with one warning),
    which is what translation wants: every input line still gets its output line.
    """
    path = Path(path)
    if not path.is_file():
        raise S2SError(f"data file '{path}' does not exist; check the path in the config's data section.")
    opener = gzip.open if path.suffix == ".gz" else open
    lines, warned = [], False
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    if replace_errors:
                        if not warned:
                            print(f"warning: '{path}', line {number}: not valid UTF-8; undecodable bytes are replaced "
                                  "by U+FFFD (convert the file to UTF-8 to avoid this).", file=sys.stderr)
                            warned = True
                        text = raw.decode("utf-8", errors="replace")
                        lines.append(text.rstrip("\r\n"))
                        continue
                    raise S2SError(
                        f"data file '{path}', line {number}: not valid UTF-8 ({error.reason} at byte {error.start}). "
                        "Convert the file to UTF-8, e.g. `iconv -f latin1 -t utf-8`."
                    ) from None
                if "\x00" in text:
                    raise S2SError(f"data file '{path}', line {number}: contains NUL bytes; is this a binary file?")
                lines.append(text.rstrip("\r\n"))
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise S2SError(f"data file '{path}' cannot be read: {error}. Is it a complete text or .gz file?") from None
    return lines


def read_parallel(src_path: str | Path, tgt_path: str | Path) -> tuple[list[str], list[str]]:
    """Return (source lines, target lines); their counts must match."""
    src, tgt = read_lines(src_path), read_lines(tgt_path)
    if len(src) != len(tgt):
        raise S2SError(
            f"parallel files differ in length: '{src_path}' has {len(src)} lines, '{tgt_path}' has {len(tgt)}. "
            "Line i of one must translate line i of the other."
        )
    if not src:
        raise S2SError(f"parallel files '{src_path}' and '{tgt_path}' are empty.")
    return src, tgt
