"""Variable-length token-id sequences in two flat numpy arrays, in memory or memory-mapped from the data cache."""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np


def id_dtype(vocab_size: int) -> np.dtype:
    """The smallest dtype that holds every id of a vocabulary of this size: uint16 up to 65,536 tokens, else int32."""
    return np.dtype(np.uint16) if vocab_size <= 1 << 16 else np.dtype(np.int32)


class TokenIds:
    """Sequence i is ids[offsets[i] : offsets[i + 1]]; len() is the number of sequences.

    Indexing and iterating give lists of ints (as the lists of lists this replaces did); batches are gathered
    from the arrays directly (batching.make_batch), so a memory-mapped corpus is never turned into Python objects.
    """

    def __init__(self, ids: np.ndarray, offsets: np.ndarray):
        self.ids = ids  # (total tokens,) uint16 or int32
        self.offsets = offsets  # (sequences + 1,) int64, offsets[0] == 0, offsets[-1] == len(ids)
        self._lengths = None

    @classmethod
    def from_lists(cls, sequences: Iterable[list[int]], vocab_size: int | None = None) -> "TokenIds":
        """vocab_size picks the dtype (id_dtype); without it, the largest id does."""
        sequences = list(sequences)
        if vocab_size is None:
            vocab_size = 1 + max((max(sequence) for sequence in sequences if sequence), default=0)
        offsets = np.zeros(len(sequences) + 1, dtype=np.int64)
        np.cumsum([len(sequence) for sequence in sequences], out=offsets[1:])
        ids = np.fromiter((i for sequence in sequences for i in sequence), dtype=id_dtype(vocab_size), count=int(offsets[-1]))
        return cls(ids, offsets)

    @property
    def lengths(self) -> np.ndarray:
        """(sequences,) int64 token counts, computed once."""
        if self._lengths is None:
            self._lengths = np.diff(self.offsets)
        return self._lengths

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> list[int]:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sequence {i} of {len(self)}")
        i %= len(self)
        return self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()

    def __iter__(self) -> Iterator[list[int]]:
        return (self[i] for i in range(len(self)))

    def __eq__(self, other) -> bool:
        if isinstance(other, TokenIds):
            return np.array_equal(self.offsets, other.offsets) and np.array_equal(self.ids, other.ids)
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None

    def padded(self, indices: np.ndarray, width: int, pad: int) -> np.ndarray:
        """(len(indices), width) int64: row r holds sequence indices[r], then `pad`; width >= its longest length."""
        starts = self.offsets[indices]
        lengths = self.offsets[indices + 1] - starts
        positions = np.arange(width)
        inside = positions < lengths[:, None]  # (batch, width)
        gathered = self.ids[np.where(inside, starts[:, None] + positions, 0)] if len(self.ids) else np.zeros(inside.shape)
        return np.where(inside, gathered, pad).astype(np.int64)
