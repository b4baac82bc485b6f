"""Read parallel text: plain or .gz UTF-8 files, one sentence per line, streamed, with errors that name file and line."""

from __future__ import annotations

import gzip
import numbers
import os
import reprlib
import sys
from pathlib import Path
from typing import Iterable, Iterator

from s2s.errors import S2SError


def require_file(path: Path, flag: str | None = None) -> None:
    """An S2SError unless `path` is a file: one that says a folder is a folder, and names the flag that gave the path
    (or the config's data section)."""
    where = f"{flag} file '{path}'" if flag else f"data file '{path}'"
    fix = f"give a file to {flag}" if flag else "check the path in the config's data section"
    if path.is_dir():
        raise S2SError(f"{where} is a folder, not a text file; {fix}.")
    if not path.is_file():
        raise S2SError(f"{where} does not exist; {fix}.")


def file_identity(path: str | Path) -> dict:
    """What says a file is unchanged without reading it: its resolved path, size and modification time (ns)."""
    path = Path(path)
    require_file(path)
    stat = path.stat()
    return {"path": str(path.resolve()), "bytes": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def iter_lines(path: str | Path, replace_errors: bool = False, flag: str | None = None) -> Iterator[str]:
    """The lines of a UTF-8 text file (.gz allowed), without trailing newlines, one at a time: a file of any size
    is read in constant memory. `flag` names the command-line flag that gave the path, for the errors.

    Undecodable bytes are an error naming the line, or with replace_errors become U+FFFD (with one warning),
    which is what translation wants: every input line still gets its output line.
    """
    path = Path(path)
    require_file(path, flag)
    opener = gzip.open if path.suffix == ".gz" else open
    where = f"{flag} file '{path}'" if flag else f"data file '{path}'"
    try:
        with opener(path, "rb") as handle:
            yield from decode_lines(handle, where, f"'{path}'", replace_errors)
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise S2SError(f"{where} cannot be read: {error}. Is it a complete text or .gz file?") from None


def decode_lines(handle: Iterable[bytes], where: str, name: str, replace_errors: bool) -> Iterator[str]:
    """The lines of a binary stream as UTF-8 text, without their line ends (a file's, or stdin's). Undecodable bytes
    are an error naming `where` and the line, or with replace_errors become U+FFFD, with one warning naming `name`."""
    warned = False
    for number, raw in enumerate(handle, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            if not replace_errors:
                raise S2SError(
                    f"{where}, line {number}: not valid UTF-8 ({error.reason} at byte {error.start}). "
                    "Convert the file to UTF-8, e.g. `iconv -f latin1 -t utf-8`."
                ) from None
            if not warned:
                print(f"warning: {name}, line {number}: not valid UTF-8; undecodable bytes are replaced "
                      "by U+FFFD (convert the text to UTF-8 to avoid this).", file=sys.stderr)
                warned = True
            text = raw.decode("utf-8", errors="replace")
        if "\x00" in text:
            raise S2SError(f"{where}, line {number}: contains NUL bytes; is this a binary file?")
        yield text.rstrip("\r\n")


def text_problem(text: str) -> str | None:
    """What makes a string unfit for a tokenizer (a NUL character, an unpaired UTF-16 surrogate), or None. The Python
    API (check_text, check_lines) and the HTTP service (s2s.serving.service) judge text with it."""
    if "\x00" in text:
        return "contains a NUL character (\\x00), which is no text; remove it (is this binary data?)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (f"holds an unpaired UTF-16 surrogate ({text[error.start]!r} at character {error.start}); give valid "
                f"Unicode text")
    return None


def _kind(value) -> str:
    """'None', 'int (3)', "bytes (b'three')", or the type's name alone (a repr with an address says no more)."""
    if value is None:
        return "None"
    if isinstance(value, (int, float, bytes, bytearray)):
        return f"{type(value).__name__} ({reprlib.repr(value)})"
    return f"a {type(value).__name__}"


def check_text(value, where: str) -> str:
    """`value` if it is a string a model can read; else an S2SError that names `where` (e.g. 'TextGenerator.generate:
    prompt'), what is wrong and the fix."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise S2SError(f"{where} {problem}.")
        return value
    if isinstance(value, (bytes, bytearray)):
        raise S2SError(f"{where} is {_kind(value)}, not a string; decode it first, e.g. text.decode('utf-8').")
    raise S2SError(f"{where} is {_kind(value)}, not a string; give text as a str ('' for an empty line).")


def check_path(value, where: str, what: str) -> None:
    """An S2SError naming `where` (e.g. 'Translator.from_checkpoint: path') unless `value` is a str or os.PathLike;
    `what` says what the path should name (e.g. 'a checkpoint file, run folder or pretrained model's name')."""
    if not isinstance(value, (str, os.PathLike)):
        raise S2SError(f"{where} is {_kind(value)}, not a path; give {what} as a str or pathlib.Path.")


def check_count(value, where: str, low: int) -> int:
    """`value` if it is an integer >= low (not a bool), else an S2SError naming `where`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise S2SError(f"{where} must be an integer >= {low}, got {value!r}.")
    return value


def check_lines(lines, where: str, first: int = 0) -> list[str]:
    """`lines` as a list if it is a list or tuple of strings a model can read (check_text), else an S2SError naming
    `where` (e.g. 'Translator.translate: lines') and the first bad item. One string is refused, not split into
    characters; other iterables too (a generator would be read once and lost): the fix is list(...)."""
    if isinstance(lines, str):
        raise S2SError(f"{where} must be a list of strings, not one string ({reprlib.repr(lines)}); wrap it in a "
                       f"list: [{reprlib.repr(lines)}].")
    if not isinstance(lines, (list, tuple)):
        fix = "pass list(...) of it" if hasattr(lines, "__iter__") and not isinstance(lines, (bytes, bytearray, dict)) \
            else "give a list of str, one per sentence"
        raise S2SError(f"{where} must be a list of strings, not {_kind(lines)}; {fix}.")
    for number, line in enumerate(lines, start=first):  # first: the number of lines[0] in a longer stream
        check_text(line, f"{where}[{number}]")
    return list(lines)


def read_lines(path: str | Path, replace_errors: bool = False, flag: str | None = None) -> list[str]:
    """Every line of a UTF-8 text file (.gz allowed), as iter_lines reads them."""
    return list(iter_lines(path, replace_errors, flag))


def iter_pairs(src_path: str | Path, tgt_path: str | Path,
               flags: tuple[str, str] | None = None) -> Iterator[tuple[str, str]]:
    """(source line, target line) of two parallel files, streamed; where one file ends before the other, an error
    names both files and the line, and counts the rest of the longer one. `flags` name the command-line flags that
    gave the two paths."""
    src_flag, tgt_flag = flags or (None, None)
    require_file(Path(src_path), src_flag)
    require_file(Path(tgt_path), tgt_flag)
    src_lines, tgt_lines = iter_lines(src_path, flag=src_flag), iter_lines(tgt_path, flag=tgt_flag)
    count = 0
    for count, src in enumerate(src_lines, start=1):
        tgt = next(tgt_lines, None)
        if tgt is None:
            _differ(src_path, tgt_path, count - 1, 1 + sum(1 for _ in src_lines), shorter=tgt_path)
        yield src, tgt
    rest = sum(1 for _ in tgt_lines)
    if rest:
        _differ(src_path, tgt_path, count, rest, shorter=src_path)
    if not count:
        raise S2SError(f"parallel files '{src_path}' and '{tgt_path}' are empty.")


def _differ(src_path, tgt_path, common: int, extra: int, shorter) -> None:
    longer = src_path if shorter == tgt_path else tgt_path
    src_count, tgt_count = (common + extra, common) if shorter == tgt_path else (common, common + extra)
    raise S2SError(
        f"parallel files differ in length: '{shorter}' ends after line {common}, but '{longer}' goes on "
        f"('{src_path}' has {src_count} lines, '{tgt_path}' has {tgt_count}). Line i of one must translate line i of "
        "the other: look for a lost or an extra line (a sentence with a line break inside) before that line."
    )


def read_parallel(src_path: str | Path, tgt_path: str | Path,
                  flags: tuple[str, str] | None = None) -> tuple[list[str], list[str]]:
    """Return (source lines, target lines); their counts must match."""
    src, tgt = [], []
    for src_line, tgt_line in iter_pairs(src_path, tgt_path, flags):
        src.append(src_line)
        tgt.append(tgt_line)
    return src, tgt
