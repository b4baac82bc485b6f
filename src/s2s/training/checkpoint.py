"""Checkpoints: self-contained (weights, config, tokenizers, vocabularies), written atomically, loaded without pickle code."""

from __future__ import annotations

import io
import os
import pickle
import tempfile
import zipfile
from pathlib import Path

import torch

from s2s import __version__
from s2s.errors import S2SError

FORMAT_VERSION = 1


def checkpoint_name(step: int) -> str:
    """The file name of a kept validation checkpoint (train.keep_checkpoints) in RUN_DIR/checkpoints/."""
    return f"step{step:07d}.pt"


def save_checkpoint(payload: dict, path: str | Path) -> None:
    """Write to a temporary file beside `path`, fsync, then rename: a crash never leaves a half checkpoint."""
    path = Path(path)
    payload = {"format_version": FORMAT_VERSION, "s2s_version": __version__, **payload}
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise S2SError(f"cannot write checkpoint '{path}': {error.strerror or error}. Is the run folder writable?") from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(buffer.getbuffer())
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise S2SError(f"cannot write checkpoint '{path}': {error.strerror or error}. The previous checkpoint there "
                       "is intact; free disk space or choose another train.run_dir.") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    """Load with weights_only=True (no code runs); refuse files that are not s2s checkpoints of this format."""
    path = Path(path)
    if path.is_dir():
        for name in ("best.pt", "last.pt"):
            if (path / name).is_file():
                path = path / name
                break
    if not path.is_file():
        raise S2SError(f"checkpoint '{path}' does not exist; pass a file such as runs/quickstart/best.pt or a run folder.")
    if not zipfile.is_zipfile(path):
        raise S2SError(f"checkpoint '{path}' is corrupt or truncated, or not a checkpoint at all (s2s checkpoints are "
                       "torch zip files such as runs/NAME/best.pt).")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        raise S2SError(f"checkpoint '{path}' was refused: it holds objects that could run code when loaded "
                       f"({str(error).splitlines()[0]}). Only load checkpoints written by s2s.") from None
    except Exception as error:  # a damaged file fails in many ways (zip, unpickler, storage errors)
        raise S2SError(f"checkpoint '{path}' is corrupt or truncated and cannot be read ({str(error).splitlines()[0]}). "
                       "Use another checkpoint (best.pt / last.pt) from the run folder.") from None
    if not isinstance(payload, dict) or "format_version" not in payload:
        raise S2SError(f"'{path}' is a torch file but not an s2s checkpoint (no format_version).")
    if payload["format_version"] != FORMAT_VERSION:
        raise S2SError(f"checkpoint '{path}' has format version {payload['format_version']} (written by s2s "
                       f"{payload.get('s2s_version', '?')}); this s2s {__version__} reads format {FORMAT_VERSION}.")
    return payload
