"""Where a command's output lands, and writing it there without harming anything else: `-` is stdout; a device or
FIFO (or a name of an open descriptor, such as /dev/stdout) is written in place; a regular file is written beside
its target and renamed onto it only when complete; a folder or any other special file is refused. The commands'
outputs (translations, scores, reports, figures, checkpoints, word vectors) are written through here."""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from s2s.errors import S2SError

STDOUT = "-"
# /dev/stdout, /dev/stderr, /dev/fd/N and /proc/PID/fd/N name whatever the descriptor is open on: never renamed onto
DESCRIPTOR = re.compile(r"^/dev/std(out|err)$|^/dev/fd/\d+$|^/proc/[^/]+/fd/\d+$")


@dataclass(frozen=True)
class Output:
    """A file a command writes, as check_output_file judges it: the flag that names it, its path (None: not asked
    for), the file name to suggest when a folder is given, and why '-' (stdout) or a device cannot take it ("" where
    they can). `what` names a file written beside the flag's own, e.g. "the Markdown report of --report"."""

    flag: str
    path: str | Path | None
    example: str = "out.txt"
    no_stdout: str = ""
    no_device: str = ""
    what: str = ""

    @property
    def name(self) -> str:
        return self.what or self.flag


def kind_of(path) -> str:
    """What `path` is: "stdout" ('-'), "stream" (a character or block device, a FIFO, or a name of an open descriptor
    such as /dev/stdout: written in place), "file" (a regular file, or nothing yet), "folder", or "special" (a socket,
    anything else)."""
    if str(path) == STDOUT:
        return "stdout"
    try:
        mode = os.stat(path).st_mode
    except OSError:  # nothing there yet (or a parent that is not a folder: the checks say so)
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or _names_a_descriptor(path):
        return "stream"
    return "file" if stat.S_ISREG(mode) else "special"


def _names_a_descriptor(path) -> bool:
    """Whether `path` is, or links through, /dev/stdout, /dev/fd/N or /proc/PID/fd/N."""
    current = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        if DESCRIPTOR.match(current):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return False


def what_is(path) -> str:
    """What is at `path`, as a message says it: "a file", "a folder", "a character device", ..., "nothing"."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "nothing"
    return ("a file" if stat.S_ISREG(mode) else "a folder" if stat.S_ISDIR(mode) else
            "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode) else
            "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a special file")


def _kind_problem(output: Output, kind: str) -> str | None:
    """Why `output` cannot be written where its path points, or None."""
    flag, path = output.name, output.path
    if kind == "stdout" and output.no_stdout:
        return f"{flag} '-' would write to stdout, but {output.no_stdout}; give a file name (e.g. {output.example})."
    if kind == "folder":
        return f"{flag} '{path}' is a folder; give a file name (e.g. {Path(path) / output.example})."
    if kind == "special":
        return (f"{flag} '{path}' is {what_is(path)}; give a regular file, a device such as /dev/null, or '-' for "
                f"stdout.")
    if kind == "stream" and output.no_device:
        stream = "a name of an open descriptor" if _names_a_descriptor(path) else what_is(path)
        return f"{flag} '{path}' is {stream}, but {output.no_device}; give a file name (e.g. {output.example})."
    return None


def check_output_file(output: Output) -> None:
    """An S2SError naming the flag unless `output.path` can be written: '-' where stdout may take it, a device or
    FIFO (written in place), or a file that is not read-only in a folder that exists and can be written."""
    kind = kind_of(output.path)
    problem = _kind_problem(output, kind)
    if problem:
        raise S2SError(problem)
    if kind != "file":
        return
    flag, path = output.name, Path(output.path)
    target = replaced_file(path)
    if target.is_file() and not target.stat().st_mode & 0o222:
        raise S2SError(f"{flag} '{path}' is read-only; make it writable (chmod u+w) or choose another {output.flag}.")
    parent = target.parent
    if not parent.exists():
        raise S2SError(f"{flag} '{path}': output folder '{parent}' does not exist; create it or choose another "
                       f"{output.flag}.")
    if not parent.is_dir():
        raise S2SError(f"{flag} '{path}': '{parent}' is a file, not a folder; choose another {output.flag}.")
    check_writable(flag, path, parent, output.flag)


def check_output_folder(flag: str, folder: Path) -> None:
    """An S2SError naming `flag` unless `folder` is a folder, or can be created, and files can be written in it."""
    if str(folder) == STDOUT:
        raise S2SError(f"{flag} '-' would write to stdout, but {flag} is a folder of files; give a folder.")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise S2SError(f"{flag} '{folder}' is {what_is(folder)}; give a folder.")
    existing = next(parent for parent in (folder, *folder.absolute().parents) if parent.exists())
    if not existing.is_dir():
        raise S2SError(f"{flag} '{folder}': '{existing}' is a file, not a folder; choose another {flag}.")
    check_writable(flag, folder, existing)


def check_writable(flag: str, path: Path, folder: Path, choose: str = "") -> None:
    """An S2SError naming `flag` unless a file can be created in `folder`."""
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise S2SError(f"{flag} '{path}': cannot write in '{folder}' ({error.strerror or error}); choose another "
                       f"{choose or flag}.") from None


def replaced_file(path) -> Path:
    """The file a write to `path` replaces: where a symbolic link points (the link itself stays), else `path`."""
    return Path(os.path.realpath(path)) if os.path.islink(path) else Path(path)


@contextlib.contextmanager
def replaced_atomically(path, binary: bool = False, durable: bool = False):
    """A new file beside `path` (beside the file a link names), renamed onto it when the block ends without error, so
    that a reader finds the old file or the whole new one. The new file keeps the mode of the one it replaces (else
    0666 less the umask); durable: fsync the file and the folder. A read-only file is refused (PermissionError). On
    any error the old file is as it was and no temporary file is left; the error propagates."""
    target = replaced_file(path)
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    if mode is not None and stat.S_ISREG(mode) and not mode & 0o222:
        raise PermissionError(errno.EACCES, f"'{target}' is read-only", str(target))
    descriptor, temporary = _new_file_beside(target)
    try:
        with os.fdopen(descriptor, "wb" if binary else "w", encoding=None if binary else "utf-8") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), stat.S_IMODE(mode))
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    if durable:  # make the rename itself durable
        with contextlib.suppress(OSError):
            folder = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)


def _new_file_beside(target: Path) -> tuple[int, Path]:
    """(descriptor, path) of a new empty file `.NAME.XXXXXXXX.tmp` beside target, created with mode 0666 less the
    umask, as open() creates files (mkstemp's would be private)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        temporary = target.parent / f".{target.name}.{os.urandom(4).hex()}.tmp"
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary name beside '{target}'")


@contextlib.contextmanager
def written(path, binary: bool = False, durable: bool = False):
    """A handle that writes `path`: a device or FIFO in place (a name of an open descriptor appends, so that a shell's
    `>> FILE` behind /dev/stdout keeps what FILE held), a file through replaced_atomically. OSError on failure."""
    if kind_of(path) == "stream":
        mode = "a" if _names_a_descriptor(path) else "w"
        with open(path, mode + "b" if binary else mode, encoding=None if binary else "utf-8") as handle:
            yield handle
    else:
        with replaced_atomically(path, binary, durable) as handle:
            yield handle


def write_file(path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8) to `path` (written); OSError on failure."""
    with written(path, binary=isinstance(content, bytes)) as handle:
        handle.write(content)


@contextlib.contextmanager
def open_output(output: Output, binary: bool = False, durable: bool = False):
    """A handle for writing `output.path`: stdout for '-', the device or FIFO itself, or a new file renamed onto the
    path when the block ends without error (replaced_atomically). An S2SError naming the flag where the path cannot
    take the output (check_output_file's reasons) and where writing fails."""
    kind = kind_of(output.path)
    problem = _kind_problem(output, kind)
    if problem:
        raise S2SError(problem)
    if kind == "stdout":
        stream = sys.stdout.buffer if binary else sys.stdout
        yield stream
        stream.flush()
        return
    try:
        with written(output.path, binary, durable) as handle:
            yield handle
    except BrokenPipeError:
        raise
    except OSError as error:
        kept = "" if kind == "stream" else " (nothing was written there)"
        raise S2SError(f"writing '{output.path}' failed: {error.strerror or error}{kept}; choose another "
                       f"{output.flag}.") from None
