"""The encoded-data cache: a folder of entries, each a set of files written at once and found again by a key.

An entry is a folder named `{kind}-{key}` holding numpy arrays (.npy, opened memory-mapped) and other files, with a
manifest.json that records the key and every file's size and CRC-32. It is written in a temporary folder and renamed
into place (os.replace), so a reader sees a complete entry or none; on opening, the manifest, sizes and checksums are
checked, and an entry that fails is reported, deleted and rebuilt, never used. The key is a SHA-256 of everything
that determines the entry's contents (corpus.py says what that is for each kind).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
import zlib
from importlib import metadata
from pathlib import Path

import numpy as np

FORMAT = 2  # bump when the layout of an entry changes: older entries are then never matched
MANIFEST = "manifest.json"
KINDS = ("ids", "vocabularies")  # encoded training pairs; learned tokenizers and vocabularies
CACHE_ENV = "S2S_CACHE"
LOCK_PREFIX = ".lock-"
WRITING = ".s2s-writing"  # in an entry's temporary folder until its manifest is written: the folder is the cache's
_CHUNK = 1 << 22


def default_cache_dir() -> Path:
    """$S2S_CACHE, else $XDG_CACHE_HOME/s2s, else ~/.cache/s2s."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "s2s"


def resolve_cache_dir(setting: str = "") -> Path:
    """The cache folder for data.cache_dir (empty: default_cache_dir())."""
    return Path(setting).expanduser() if setting else default_cache_dir()


def fingerprint(value) -> str:
    """SHA-256 (hex) of a JSON-able value; bytes inside it count by their own SHA-256."""
    def encode_bytes(item):
        if isinstance(item, bytes):
            return {"sha256": hashlib.sha256(item).hexdigest()}
        raise TypeError(f"cannot fingerprint {type(item).__name__}")

    return hashlib.sha256(json.dumps(value, sort_keys=True, default=encode_bytes).encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of s2s and of the libraries that tokenize: a new version may cut text differently."""
    versions = {}
    for name in ("s2s", "sentencepiece", "nltk", "numpy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    return versions


def format_bytes(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _crc32(path: Path) -> int:
    crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            crc = zlib.crc32(chunk, crc)
    return crc


class UnusableEntry(Exception):
    """An entry on disk that must not be used; the message says why."""


class DataCache:
    """Entries in one folder. `log` reports what is reused, written, found broken or cannot be written."""

    def __init__(self, root: Path, log=print):
        self.root, self.log = Path(root), log
        self.writable = True

    def path(self, kind: str, key: str) -> Path:
        return self.root / f"{kind}-{key[:32]}"

    def load(self, kind: str, key: str) -> tuple[dict, dict] | None:
        """(meta, files) of the entry, or None when there is none or it is unusable (then it is logged and deleted).
        files maps each name to a read-only memory-mapped array (.npy) or to the file's bytes."""
        folder = self.path(kind, key)
        if not folder.exists():
            return None
        try:
            return _open_entry(folder, kind, key)
        except UnusableEntry as problem:
            self.discard(kind, key, str(problem))
            return None

    def discard(self, kind: str, key: str, problem: str) -> None:
        """Report an unusable entry and delete it, so that it is rebuilt."""
        self.log(f"data cache: {self.path(kind, key)} is unusable ({problem}); rebuilding it")
        _discard(self.path(kind, key))

    def save(self, kind: str, key: str, meta: dict, files: dict) -> Path | None:
        """Write an entry (arrays for .npy names, bytes for others) and return its folder; None if the cache folder
        cannot be written (logged once; the run goes on without the cache)."""
        if not self.writable:
            return None
        folder = self.path(kind, key)
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.tmp-", dir=self.root))
            staging.chmod(0o755)  # mkdtemp's 0700 would hide the entry from other users of a shared cache folder
        except OSError as error:
            self._unwritable(error)
            return None
        try:
            (staging / WRITING).touch()
            described = {}
            for name, content in files.items():
                path = staging / name
                if name.endswith(".npy"):
                    np.save(path, content, allow_pickle=False)
                else:
                    path.write_bytes(content)
                described[name] = {"bytes": path.stat().st_size, "crc32": _crc32(path)}
                if name.endswith(".npy"):
                    described[name].update(dtype=content.dtype.str, shape=list(content.shape))
            manifest = {"format": FORMAT, "kind": kind, "key": key, "created": time.strftime("%Y-%m-%d %H:%M:%S"),
                        "meta": meta, "files": described}
            (staging / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
            (staging / WRITING).unlink()
            try:
                os.replace(staging, folder)
            except OSError:
                if not folder.exists():
                    raise
                # another process renamed its copy of the same entry into place first: keep that one
        except OSError as error:
            self._unwritable(error)
            return None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return folder

    @contextlib.contextmanager
    def exclusive(self, name: str):
        """Hold the cache folder's lock `name` (a key) for the block. Of the processes on one machine that build the
        same entries at once (the ranks of a torchrun job, runs started together) the first builds them while the
        others wait here, then find them. Where no lock can be had (a cache folder that cannot be written, no
        fcntl on Windows, a file system without locks) the block runs unlocked: entries are still written whole."""
        path = self.root / f"{LOCK_PREFIX}{name[:32]}"
        handle = self._lock(path)
        try:
            yield
        finally:
            if handle is not None:
                path.unlink(missing_ok=True)  # a process waiting for this file then finds it gone and locks a new one
                handle.close()  # releases the lock

    def _lock(self, path: Path):
        """The open lock file, locked (flock) by this process; None where no lock can be had."""
        try:
            import fcntl
        except ImportError:
            return None
        while True:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                handle = path.open("a+", encoding="utf-8")
            except OSError:
                return None  # reported when an entry cannot be saved
            try:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    self.log(f"data cache: waiting for {holder}, which is building this data in {self.root} "
                             f"(lock {path.name})")
                    fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    current = os.stat(path)
                except FileNotFoundError:
                    current = None
                if current is not None and os.path.samestat(os.fstat(handle.fileno()), current):
                    handle.seek(0)
                    handle.truncate()
                    handle.write(f"process {os.getpid()}")
                    handle.flush()
                    return handle
            except OSError:
                handle.close()
                return None
            handle.close()  # the holder deleted the file as it finished: lock the one at `path` now

    def _unwritable(self, error: OSError) -> None:
        self.log(f"data cache: cannot write to {self.root} ({error.strerror or error}); going on without the cache. "
                 "Set data.cache_dir (or $S2S_CACHE) to a writable folder, or data.cache: false")
        self.writable = False


def _open_entry(folder: Path, kind: str, key: str, checksums: bool = True) -> tuple[dict, dict]:
    """(meta, files) of a complete entry, or UnusableEntry; without checksums only the sizes are checked."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UnusableEntry(f"no {MANIFEST}") from None
    except (OSError, ValueError) as error:
        raise UnusableEntry(f"{MANIFEST} cannot be read: {error}") from None
    if not isinstance(manifest, dict) or (manifest.get("format"), manifest.get("kind"), manifest.get("key")) != (FORMAT, kind, key):
        raise UnusableEntry(f"{MANIFEST} is for another format, kind or key")
    files = {}
    for name, expected in manifest.get("files", {}).items():
        path = folder / name
        if not path.is_file():
            raise UnusableEntry(f"{name} is missing")
        size = path.stat().st_size
        if size != expected["bytes"]:
            raise UnusableEntry(f"{name} has {size} bytes, the manifest says {expected['bytes']}")
        if checksums and _crc32(path) != expected["crc32"]:
            raise UnusableEntry(f"{name} fails its CRC-32 check")
        if name.endswith(".npy"):
            try:
                array = np.load(path, mmap_mode="r", allow_pickle=False)
            except (OSError, ValueError) as error:
                raise UnusableEntry(f"{name} is not a numpy array: {error}") from None
            if (array.dtype.str, list(array.shape)) != (expected["dtype"], expected["shape"]):
                raise UnusableEntry(f"{name} is {array.dtype.str} {list(array.shape)}, the manifest says "
                                    f"{expected['dtype']} {expected['shape']}")
            files[name] = array
        else:
            files[name] = path.read_bytes()
    return manifest["meta"], files


def _discard(folder: Path) -> None:
    """Delete an entry: first renamed out of the way, so that no other process opens it half-deleted."""
    trash = folder.with_name(f".trash-{folder.name}-{os.getpid()}-{time.monotonic_ns()}")
    try:
        os.replace(folder, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _named_like_an_entry(path: Path) -> bool:
    """A folder named as this module names entries, unfinished writes and half-deleted entries."""
    prefixes = tuple(f"{kind}-" for kind in KINDS) + tuple(f".{kind}-" for kind in KINDS) + (".trash-",)
    return path.is_dir() and path.name.startswith(prefixes)


def _is_ours(path: Path) -> bool:
    """Entries, unfinished writes and half-deleted entries: the folders this module creates in the cache folder, named
    so and shown to be its own by what they hold (_written_here)."""
    return _named_like_an_entry(path) and _written_here(path) is not None


def _written_here(folder: Path) -> list[str] | None:
    """The names in `folder` this module wrote: the files its manifest.json lists and the manifest, last (the
    manifest must name this folder's kind and key), or every name in a write in progress (it holds WRITING); None
    when nothing shows that the folder is the cache's."""
    if (folder / WRITING).is_file():
        return sorted(os.listdir(folder), key=lambda name: name == WRITING)
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        kind, key, files = manifest["kind"], manifest["key"], manifest["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if kind not in KINDS or not isinstance(key, str) or not isinstance(files, dict) or f"{kind}-{key[:32]}" not in \
            folder.name:
        return None
    plain = [name for name in files if isinstance(name, str) and "/" not in name and name not in ("", ".", "..")]
    return [name for name in plain if name != MANIFEST] + [MANIFEST]


def list_entries(root: Path) -> list[dict]:
    """One dict per entry in the cache folder: name, path, kind, bytes, created, meta, and state ("ok", or why it
    is not usable; sizes are checked, checksums only when a run opens the entry)."""
    root = Path(root)
    entries = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if not _is_ours(path):
            continue
        entry = {"name": path.name, "path": str(path), "bytes": _size(path), "kind": "", "created": "", "meta": {}}
        if path.name.startswith("."):
            entry["state"] = "left by an interrupted write or delete"
        else:
            try:
                manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
                entry.update(kind=manifest["kind"], created=manifest["created"], meta=manifest["meta"])
                _open_entry(path, manifest["kind"], manifest["key"], checksums=False)
                entry["state"] = "ok"
            except (OSError, ValueError, KeyError, TypeError) as error:
                entry["state"] = f"unusable ({error})"
            except UnusableEntry as problem:
                entry["state"] = f"unusable ({problem})"
        entries.append(entry)
    return entries


def clear(root: Path) -> tuple[int, int, list[Path]]:
    """Delete the entries and unfinished writes in the cache folder; return (items, bytes) deleted and the folders
    named like entries that are left. Only what this module shows it wrote goes (_written_here), then the folder
    once that empties it: other files and folders, whatever their names, stay, and so does a folder holding them."""
    items = size = 0
    left = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if not _named_like_an_entry(path):
            continue
        written = _written_here(path)
        if written is None:
            left.append(path)
            continue
        for name in written:
            with contextlib.suppress(OSError):
                bytes_written = (path / name).lstat().st_size
                (path / name).unlink()
                size += bytes_written
        try:
            path.rmdir()
            items += 1
        except OSError:
            left.append(path)
    return items, size, left


def describe(root: Path) -> str:
    """The cache folder, its entries (kind, size, state, what they hold) and the total size, as `s2s data cache` prints."""
    entries = list_entries(root)
    lines = [f"data cache: {root} ({len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, "
             f"{format_bytes(sum(entry['bytes'] for entry in entries))})"]
    for entry in entries:
        meta = entry["meta"]
        if entry["kind"] == "ids":
            held = f"{meta['pairs']} training pairs ({meta['dropped']} dropped)"
        elif entry["kind"] == "vocabularies":
            held = f"tokenizers and vocabularies (source {meta['src_vocab']}, target {meta['tgt_vocab']} tokens)"
        else:
            held = ""
        train = meta.get("train", {})
        source = ", ".join(file["path"] for file in train.get("files", [])) or ("generated text" if train else "")
        lines.append(f"  {entry['name']:<46} {format_bytes(entry['bytes']):>9}  {entry['created'] or '-':<19}  "
                     f"{entry['state']}{': ' if held else ''}{held}{' from ' + source if source else ''}")
    return "\n".join(lines)
