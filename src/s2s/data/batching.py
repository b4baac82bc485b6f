"""Token-count batches with length bucketing, padded into tensors; a language model's sentence batches and text streams."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from s2s.data.token_ids import TokenIds
from s2s.specials import BOS, EOS, PAD


@dataclass
class Batch:
    src: torch.Tensor  # (batch, src_len) source ids, padded
    src_lengths: torch.Tensor  # (batch,) on CPU, as pack_padded_sequence wants
    tgt_in: torch.Tensor  # (batch, tgt_len) <bos> y_1 .. y_n, padded
    tgt_out: torch.Tensor  # (batch, tgt_len) y_1 .. y_n <eos>, padded
    indices: list[int]  # positions of these pairs in the corpus

    @property
    def num_tokens(self) -> int:
        """Non-padding target tokens (what tokens/s counts)."""
        return int((self.tgt_out != PAD).sum())

    def to(self, device: torch.device) -> "Batch":
        non_blocking = device.type == "cuda"
        return Batch(
            self.src.to(device, non_blocking=non_blocking), self.src_lengths,
            self.tgt_in.to(device, non_blocking=non_blocking), self.tgt_out.to(device, non_blocking=non_blocking),
            self.indices,
        )


def pad(sequences: list[list[int]], value: int = PAD) -> torch.Tensor:
    """(batch, max_len) tensor of the sequences, right-padded."""
    out = torch.full((len(sequences), max((len(s) for s in sequences), default=0)), value, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        out[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
    return out


def make_batch(src_ids: list[list[int]], tgt_ids: list[list[int]], indices: list[int], pin: bool = False) -> Batch:
    """The batch of these pairs, given as lists of ids; indices are their positions in the corpus (Batch.indices)."""
    batch = gather_batch(TokenIds.from_lists(src_ids), TokenIds.from_lists(tgt_ids), np.arange(len(src_ids)), pin)
    batch.indices = list(indices)
    return batch


def gather_batch(src_ids: TokenIds, tgt_ids: TokenIds, indices, pin: bool = False) -> Batch:
    """The batch of pairs `indices` of a split, gathered from its flat id arrays (memory-mapped or not)."""
    rows = np.asarray(indices, dtype=np.int64)
    src_lengths = src_ids.lengths[rows]
    src = src_ids.padded(rows, int(src_lengths.max(initial=0)), PAD)  # (batch, src_len)
    tgt_in, tgt_out = _decoder_arrays(tgt_ids, rows)
    src, tgt_in, tgt_out = (torch.from_numpy(array) for array in (src, tgt_in, tgt_out))
    if pin:
        src, tgt_in, tgt_out = src.pin_memory(), tgt_in.pin_memory(), tgt_out.pin_memory()
    return Batch(src, torch.from_numpy(src_lengths), tgt_in, tgt_out, rows.tolist())


def _decoder_arrays(tgt_ids: TokenIds, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tgt_in, tgt_out) int64 arrays (batch, tgt_len + 1) of sequences `rows`: <bos> y_1 .. y_n and y_1 .. y_n <eos>."""
    tgt_lengths = tgt_ids.lengths[rows]
    tgt = tgt_ids.padded(rows, int(tgt_lengths.max(initial=0)) + 1, PAD)  # (batch, tgt_len + 1): room for <eos>
    tgt_out = tgt.copy()
    tgt_out[np.arange(len(rows)), tgt_lengths] = EOS  # y_1 .. y_n <eos>
    tgt_in = np.concatenate([np.full((len(rows), 1), BOS, dtype=np.int64), tgt[:, :-1]], axis=1)  # <bos> y_1 .. y_n
    return tgt_in, tgt_out


@dataclass
class TextBatch:
    """A language model's batch: each row predicts tokens_out[t] from tokens_in[: t + 1]."""

    tokens_in: torch.Tensor  # (batch, len)
    tokens_out: torch.Tensor  # (batch, len), <pad> where nothing is predicted

    @property
    def num_tokens(self) -> int:
        """Predicted (non-padding) tokens."""
        return int((self.tokens_out != PAD).sum())

    def to(self, device: torch.device) -> "TextBatch":
        non_blocking = device.type == "cuda"
        return TextBatch(self.tokens_in.to(device, non_blocking=non_blocking), self.tokens_out.to(device, non_blocking=non_blocking))


def gather_text_batch(ids: TokenIds, indices, pin: bool = False) -> TextBatch:
    """Sentences `indices` as a language model's batch: <bos> w_1 .. w_n -> w_1 .. w_n <eos>, padded."""
    tokens_in, tokens_out = (torch.from_numpy(array) for array in _decoder_arrays(ids, np.asarray(indices, dtype=np.int64)))
    if pin:
        tokens_in, tokens_out = tokens_in.pin_memory(), tokens_out.pin_memory()
    return TextBatch(tokens_in, tokens_out)


def text_stream(ids: TokenIds, rows: int) -> np.ndarray:
    """The sentences as one stream, <bos> w_1 .. w_n <eos> each, cut into `rows` equal rows (batch, len) that
    continue each other (row r + 1 starts where row r ends); the last len(stream) mod rows tokens are dropped."""
    lengths = ids.lengths
    stream = np.full(int(lengths.sum()) + 2 * len(lengths), EOS, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths + 2)[:-1]])  # where each sentence's <bos> goes
    stream[starts] = BOS
    positions = np.repeat(starts + 1 - ids.offsets[:-1], lengths) + np.arange(len(ids.ids))  # each word's place
    stream[positions] = ids.ids
    width = len(stream) // rows
    return stream[: rows * width].reshape(rows, width)


def stream_windows(width: int, bptt: int) -> list[int]:
    """Start columns of the windows of a stream `width` tokens wide: each predicts up to bptt next tokens."""
    return list(range(0, max(width - 1, 0), bptt))


def stream_window(stream: np.ndarray, start: int, bptt: int, pin: bool = False) -> TextBatch:
    """The window of columns start .. start + bptt of a text_stream: tokens_in = stream[:, t], tokens_out =
    stream[:, t + 1]. A <bos> is never a target (<pad> there), so the stream predicts the same tokens as the
    sentences one by one: w_1 .. w_n <eos> of each."""
    end = min(start + bptt, stream.shape[1] - 1)
    tokens_in = torch.from_numpy(np.ascontiguousarray(stream[:, start:end]))
    targets = stream[:, start + 1 : end + 1]
    tokens_out = torch.from_numpy(np.where(targets == BOS, PAD, targets))
    if pin:
        tokens_in, tokens_out = tokens_in.pin_memory(), tokens_out.pin_memory()
    return TextBatch(tokens_in, tokens_out)


def token_batches(src_lengths, tgt_lengths, batch_tokens: int, seed: int | None = None) -> list[np.ndarray]:
    """Group pair indices into batches of about `batch_tokens` target tokens, padding included.

    Pairs are sorted by (target length, source length) so each batch holds similar lengths; with a seed,
    pairs of equal length are shuffled first and the batch order is shuffled, so every epoch differs.
    Each batch is an int64 array of pair indices.
    """
    src_lengths, tgt_lengths = np.asarray(src_lengths, dtype=np.int64), np.asarray(tgt_lengths, dtype=np.int64)
    count = len(src_lengths)
    if count == 0:
        return []
    generator = None
    order = np.arange(count)
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(count, generator=generator).numpy()
    sort_key = tgt_lengths[order] * (int(src_lengths.max()) + 1) + src_lengths[order]
    order = order[np.argsort(sort_key, kind="stable")]  # stable: ties keep the shuffled order
    sizes = np.maximum(tgt_lengths, src_lengths)[order] + 1  # the padded width a pair needs (+1: <bos>/<eos>)
    batches = np.split(order, _batch_ends(sizes, batch_tokens)[:-1])
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


def _batch_ends(sizes: np.ndarray, batch_tokens: int) -> list[int]:
    """End positions of the batches that fill greedily in this order: a batch takes the next pair unless its widest
    pair x (pairs + 1) would exceed batch_tokens; its first pair always goes in. One numpy scan per batch."""
    ends, start, window = [], 0, 64
    while start < len(sizes):
        while True:
            stop = min(len(sizes), start + window)
            cost = np.maximum.accumulate(sizes[start:stop]) * np.arange(1, stop - start + 1)  # tokens with j+1 pairs
            over = np.flatnonzero(cost[1:] > batch_tokens)
            if over.size:
                end = start + 1 + int(over[0])
                break
            if stop == len(sizes):
                end = stop
                break
            window *= 2
        ends.append(end)
        window = max(64, 2 * (end - start))
        start = end
    return ends
