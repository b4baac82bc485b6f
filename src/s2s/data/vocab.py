"""Vocabulary: token <-> id with the specials <pad>=0, <unk>=1, <bos>=2, <eos>=3."""

from __future__ import annotations

from collections import Counter
from typing import Iterable, Mapping

from s2s.specials import BOS, EOS, PAD, SPECIALS, UNK


class Vocab:
    def __init__(self, tokens: list[str]):
        """tokens: the full id -> token list, specials first."""
        if tokens[: len(SPECIALS)] != SPECIALS:
            raise ValueError(f"a vocabulary must start with {SPECIALS}")
        self.tokens = list(tokens)
        self.index = {token: i for i, token in enumerate(self.tokens)}

    @classmethod
    def build(cls, sentences: Iterable[list[str]], min_freq: int = 1, max_size: int = 0) -> "Vocab":
        """Most frequent tokens first (ties alphabetical), so the same corpus always gives the same ids."""
        return cls.from_counts(Counter(token for sentence in sentences for token in sentence), min_freq, max_size)

    @classmethod
    def from_counts(cls, counts: Mapping[str, int], min_freq: int = 1, max_size: int = 0) -> "Vocab":
        """The vocabulary of tokens counted this often (as build ranks them)."""
        ranked = sorted((t for t, c in counts.items() if c >= min_freq and t not in SPECIALS), key=lambda t: (-counts[t], t))
        if max_size:
            ranked = ranked[:max_size]
        return cls(SPECIALS + ranked)

    def __len__(self) -> int:
        return len(self.tokens)

    def encode(self, tokens: list[str]) -> list[int]:
        return [self.index.get(token, UNK) for token in tokens]

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Ids to tokens, stopping at <eos> and skipping <pad>/<bos>."""
        out = []
        for i in ids:
            if i == EOS:
                break
            if i not in (PAD, BOS):
                out.append(self.tokens[i])
        return out
