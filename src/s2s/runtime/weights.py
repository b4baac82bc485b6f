"""An s2s checkpoint (a pretrained model's model.pt) read without torch: its payload with the weights as numpy arrays.

torch.save writes a zip: archive/data.pkl, a pickle whose tensors refer to storages stored raw as archive/data/KEY.
The unpickler here builds only plain containers and arrays from those storages; any other object the pickle names is
refused, as torch.load(weights_only=True) refuses it (s2s.checkpoint), so loading runs no code from the file.
"""

from __future__ import annotations

import pickle
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

from s2s.errors import S2SError

STORAGE_DTYPES = {"HalfStorage": np.float16, "FloatStorage": np.float32, "DoubleStorage": np.float64,
                  "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16, "CharStorage": np.int8,
                  "ByteStorage": np.uint8, "BoolStorage": np.bool_}
FORMAT_VERSION = 1  # s2s.checkpoint.FORMAT_VERSION


class _Storage:
    def __init__(self, dtype):
        self.dtype = dtype


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, archive: zipfile.ZipFile, prefix: str, path: Path):
        super().__init__(file)
        self.archive, self.prefix, self.path = archive, prefix, path
        self.storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("_codecs", "encode"):  # how protocol 2 pickles bytes (the SentencePiece models)
            return _encode
        if module == "torch" and name in STORAGE_DTYPES:
            return _Storage(STORAGE_DTYPES[name])
        raise S2SError(f"'{self.path}' holds a {module}.{name}, which s2s cannot read without torch (an s2s checkpoint "
                       f"holds plain values and float or integer tensors); translate it with --engine torch.")

    def persistent_load(self, pid):
        kind, storage, key, _location, numel = pid
        if kind != "storage" or not isinstance(storage, _Storage):
            raise S2SError(f"'{self.path}' refers to storage {pid!r}, which s2s cannot read without torch.")
        if key not in self.storages:
            data = self.archive.read(f"{self.prefix}/data/{key}")
            self.storages[key] = np.frombuffer(data, dtype=storage.dtype, count=numel)
        return self.storages[key]


def _encode(text: str, encoding: str = "latin1") -> bytes:
    return text.encode(encoding)


def _rebuild_tensor(storage: np.ndarray, offset: int, size: tuple, stride: tuple, *_):
    """The tensor's values as an array: a read-only view of its storage (tied weights share one)."""
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(step * itemsize for step in stride), writeable=False)


def read_checkpoint(path: str | Path) -> dict:
    """The payload of an s2s checkpoint file, its model weights as numpy arrays (float16 where stored so); an
    S2SError naming the file when it is not one."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as archive:
            pickles = [name for name in archive.namelist() if name.endswith("/data.pkl")]
            if len(pickles) != 1:
                raise S2SError(f"checkpoint '{path}' is a zip file but not one torch.save wrote (no data.pkl); use a "
                               f"checkpoint written by s2s.")
            prefix = pickles[0][: -len("/data.pkl")]
            if f"{prefix}/byteorder" in archive.namelist() and archive.read(f"{prefix}/byteorder") != b"little":
                raise S2SError(f"checkpoint '{path}' was written on a big-endian machine; s2s reads it only with "
                               f"torch (--engine torch).")
            with archive.open(pickles[0]) as handle:
                payload = _Unpickler(handle, archive, prefix, path).load()
    except S2SError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, TypeError, pickle.UnpicklingError) as error:
        raise S2SError(f"checkpoint '{path}' is corrupt or truncated and cannot be read ({error}); copy the model's "
                       f"folder again.") from None
    if not isinstance(payload, dict) or payload.get("format_version") != FORMAT_VERSION:
        raise S2SError(f"'{path}' is not an s2s checkpoint of format version {FORMAT_VERSION}; use a checkpoint "
                       f"written by this s2s.")
    return payload
