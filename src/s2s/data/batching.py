"""Token-count batches with length bucketing, padded into tensors."""

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
    src_lengths, tgt_lengths = src_ids.lengths[rows], tgt_ids.lengths[rows]
    src = src_ids.padded(rows, int(src_lengths.max(initial=0)), PAD)  # (batch, src_len)
    tgt = tgt_ids.padded(rows, int(tgt_lengths.max(initial=0)) + 1, PAD)  # (batch, tgt_len + 1): room for <eos>
    tgt_out = tgt.copy()
    tgt_out[np.arange(len(rows)), tgt_lengths] = EOS  # y_1 .. y_n <eos>
    tgt_in = np.concatenate([np.full((len(rows), 1), BOS, dtype=np.int64), tgt[:, :-1]], axis=1)  # <bos> y_1 .. y_n
    src, tgt_in, tgt_out = (torch.from_numpy(array) for array in (src, tgt_in, tgt_out))
    if pin:
        src, tgt_in, tgt_out = src.pin_memory(), tgt_in.pin_memory(), tgt_out.pin_memory()
    return Batch(src, torch.from_numpy(src_lengths), tgt_in, tgt_out, rows.tolist())


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
