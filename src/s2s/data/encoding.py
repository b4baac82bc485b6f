"""Tokenize and encode the training pairs in chunks of lines, on all cores for large corpora, into flat id arrays.

Each chunk is tokenized (by worker processes, or in this process for small corpora) into ids of a token table of its
own; the chunks are merged in order into one table per side, with its counts, from which the vocabularies can be
learned; then every chunk's ids are mapped to vocabulary ids, once, into one flat array per side. The arrays depend
only on the text, the tokenizers and the vocabularies: the same whatever the number of workers or the chunk size.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from s2s.data.token_ids import TokenIds, id_dtype
from s2s.data.tokenizers import Tokenizer, tokenizer_from_state
from s2s.data.vocab import Vocab
from s2s.errors import S2SError
from s2s.progress import progress
from s2s.specials import UNK

CHUNK_PAIRS = 10_000  # pairs a worker tokenizes at a time
PARALLEL_MIN_PAIRS = 50_000  # up to this many pairs are tokenized in this process: starting workers would cost more


def resolve_workers(setting: int) -> int:
    """The number of processes data.workers asks for: 0 means one per core this process may use."""
    if setting:
        return setting
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@dataclass
class ChunkSide:
    """One side of a chunk: a token table of its own, each line's tokens as indices into it (flat), the lengths."""

    tokens: list[str]
    ids: np.ndarray  # (tokens in the chunk,) indices into `tokens`
    lengths: np.ndarray  # (lines,) int64


def tokenize_chunk(tokenizer: Tokenizer, lines: list[str]) -> ChunkSide:
    table, ids, lengths = tokenizer.tokenize_to_ids(lines)
    return ChunkSide(table, ids.astype(id_dtype(len(table))), lengths)


_worker_tokenizers: tuple[Tokenizer, Tokenizer] | None = None


def _start_worker(states: tuple[dict, dict]) -> None:
    """A worker's initializer: the tokenizers (SentencePiece models included) are sent to each worker once."""
    global _worker_tokenizers
    _worker_tokenizers = tuple(tokenizer_from_state(state) for state in states)


def _tokenize_in_worker(src_lines: list[str], tgt_lines: list[str] | None) -> tuple[ChunkSide, ChunkSide | None]:
    """The chunk's sides tokenized; tgt_lines None: one language's text, whose target side is its source side."""
    src_tokenizer, tgt_tokenizer = _worker_tokenizers
    return tokenize_chunk(src_tokenizer, src_lines), None if tgt_lines is None else tokenize_chunk(tgt_tokenizer, tgt_lines)


class _Table:
    """One side's tokens over all chunks so far, in the order the chunk tables bring them, and how often each occurred."""

    def __init__(self):
        self.index: dict[str, int] = {}
        self.counts = np.zeros(0, dtype=np.int64)

    def merge(self, chunk: ChunkSide) -> np.ndarray:
        """The chunk's ids in this table (adding its new tokens and counting its tokens)."""
        index = self.index
        mapping = np.fromiter((index.setdefault(token, len(index)) for token in chunk.tokens), dtype=np.int64,
                              count=len(chunk.tokens))
        if len(index) > len(self.counts):
            self.counts = np.concatenate([self.counts, np.zeros(len(index) - len(self.counts), dtype=np.int64)])
        self.counts[mapping] += np.bincount(chunk.ids, minlength=len(chunk.tokens))  # mapping has no repeats
        return mapping[chunk.ids].astype(id_dtype(len(index)))

    def token_counts(self) -> dict[str, int]:
        return dict(zip(self.index, self.counts.tolist()))


@dataclass
class EncodedPairs:
    src_ids: TokenIds
    tgt_ids: TokenIds
    dropped: np.ndarray  # (dropped pairs,) int64 line numbers (from 0) of the pairs left out
    blank: int  # how many of them had a side without tokens; the others were longer than max_len


class TokenizedPairs:
    """The training pairs as ids of one token table per side, before vocabulary ids exist: their counts give the
    vocabularies (counts), and encode maps the ids to the vocabularies' ids.
    shared: one language's text (language models), whose two sides are the same lines: kept once, as side 0, which
    side 1 aliases (its table, counts, ids and lengths), and encoded once."""

    def __init__(self, shared: bool = False):
        self.shared = shared
        table, ids, lengths = _Table(), [], []
        self.tables = (table, table) if shared else (table, _Table())
        self.ids: tuple[list, list] = (ids, ids) if shared else (ids, [])  # per side, each chunk's ids in its table
        self.lengths: tuple[list, list] = (lengths, lengths) if shared else (lengths, [])
        self.pairs = 0

    def add(self, src: ChunkSide, tgt: ChunkSide | None) -> None:
        """A chunk's sides (tgt is not used, and may be None, when shared)."""
        for side, chunk in enumerate((src,) if self.shared else (src, tgt)):
            self.ids[side].append(self.tables[side].merge(chunk))
            self.lengths[side].append(chunk.lengths)
        self.pairs += len(src.lengths)

    def counts(self, side: int) -> dict[str, int]:
        """{token: occurrences} on side 0 (source) or 1 (target)."""
        return self.tables[side].token_counts()

    def encode(self, src_vocab: Vocab, tgt_vocab: Vocab, max_len: int) -> EncodedPairs:
        """The vocabulary ids of the pairs whose sides both have 1 to max_len tokens. Frees the table ids as it goes.
        When shared, the one side is encoded with tgt_vocab (the same vocabulary as src_vocab) and both sides are it."""
        if self.shared:
            lengths = np.concatenate(self.lengths[0]) if self.lengths[0] else np.zeros(0, dtype=np.int64)
            blank = lengths == 0
            keep = ~blank & (lengths <= max_len)
            ids = self._encode_side(0, tgt_vocab, lengths, keep)
            return EncodedPairs(ids, ids, np.flatnonzero(~keep).astype(np.int64), int(blank.sum()))
        src_lengths, tgt_lengths = (np.concatenate(side) if side else np.zeros(0, dtype=np.int64) for side in self.lengths)
        blank = (src_lengths == 0) | (tgt_lengths == 0)
        keep = ~blank & (src_lengths <= max_len) & (tgt_lengths <= max_len)
        sides = [self._encode_side(side, vocab, lengths, keep)
                 for side, (vocab, lengths) in enumerate(((src_vocab, src_lengths), (tgt_vocab, tgt_lengths)))]
        return EncodedPairs(*sides, np.flatnonzero(~keep).astype(np.int64), int(blank.sum()))

    def _encode_side(self, side: int, vocab: Vocab, lengths: np.ndarray, keep: np.ndarray) -> TokenIds:
        dtype = id_dtype(len(vocab))
        to_vocab = np.fromiter((vocab.index.get(token, UNK) for token in self.tables[side].index), dtype=dtype,
                               count=len(self.tables[side].index))
        offsets = np.zeros(int(keep.sum()) + 1, dtype=np.int64)
        np.cumsum(lengths[keep], out=offsets[1:])
        ids = np.empty(int(offsets[-1]), dtype=dtype)
        chunks, filled, first = self.ids[side], 0, 0
        for chunk_lengths in self.lengths[side]:
            chunk_ids = chunks.pop(0)
            kept = np.repeat(keep[first : first + len(chunk_lengths)], chunk_lengths)  # (chunk tokens,) bool
            encoded = to_vocab[chunk_ids[kept]]
            ids[filled : filled + len(encoded)] = encoded
            filled, first = filled + len(encoded), first + len(chunk_lengths)
        return TokenIds(ids, offsets)


def _chunks(pairs: Iterable[tuple[str, str]], size: int) -> Iterator[tuple[list[str], list[str]]]:
    pairs = iter(pairs)
    while chunk := list(itertools.islice(pairs, size)):
        yield [src for src, _ in chunk], [tgt for _, tgt in chunk]


def tokenize_pairs(pairs: Iterable[tuple[str, str]], src_tokenizer: Tokenizer, tgt_tokenizer: Tokenizer,
                   workers: int = 1, log=print, shared: bool = False) -> TokenizedPairs:
    """Tokenize (source, target) pairs as they come, in chunks of CHUNK_PAIRS: with `workers` > 1 and more than
    PARALLEL_MIN_PAIRS pairs in that many worker processes, in order, else here. A progress bar counts the pairs.
    shared: one language's text, whose pairs are (line, line) with one tokenizer: only the source side is tokenized
    (see TokenizedPairs)."""
    result = TokenizedPairs(shared)
    chunks = _chunks(pairs, CHUNK_PAIRS)
    head = list(itertools.islice(chunks, max(1, PARALLEL_MIN_PAIRS // CHUNK_PAIRS) + 1))  # read ahead: is it small?
    chunks = itertools.chain(head, chunks)
    parallel = workers > 1 and sum(len(src) for src, _ in head) > PARALLEL_MIN_PAIRS
    with progress(desc="tokenizing the training pairs", unit=" lines", unit_scale=True, leave=False) as bar:
        if not parallel:
            for src_lines, tgt_lines in chunks:
                result.add(tokenize_chunk(src_tokenizer, src_lines), None if shared else tokenize_chunk(tgt_tokenizer, tgt_lines))
                bar.update(len(src_lines))
            return result
        log(f"data: tokenizing the training pairs in {workers} worker processes (data.workers)")
        states = (src_tokenizer.state(), tgt_tokenizer.state())
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_start_worker,
                                   initargs=(states,))
        try:
            pending = deque()
            for src_lines, tgt_lines in chunks:
                pending.append(pool.submit(_tokenize_in_worker, src_lines, None if shared else tgt_lines))
                while len(pending) > 2 * workers or (pending and pending[0].done()):
                    _collect(result, pending.popleft(), bar)
            while pending:
                _collect(result, pending.popleft(), bar)
        except BrokenProcessPool:
            raise S2SError(
                "a worker process that tokenizes the training text (data.workers) stopped: killed (out of memory?), or "
                "unable to start. Each imports the program's main script, so a Python script that builds a corpus this "
                "large must run its work under `if __name__ == \"__main__\":`. Their messages are above; "
                "data.workers: 1 tokenizes in this process instead (slower).") from None
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    return result


def _collect(result: TokenizedPairs, future, bar) -> None:
    src, tgt = future.result()
    result.add(src, tgt)
    bar.update(len(src.lengths))
