"""Token-count batches with length bucketing, padded into tensors."""

from __future__ import annotations

from dataclasses import dataclass

import torch

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
    src = pad(src_ids)
    tgt_in = pad([[BOS] + t for t in tgt_ids])
    tgt_out = pad([t + [EOS] for t in tgt_ids])
    if pin:
        src, tgt_in, tgt_out = src.pin_memory(), tgt_in.pin_memory(), tgt_out.pin_memory()
    return Batch(src, torch.tensor([len(s) for s in src_ids]), tgt_in, tgt_out, indices)


def token_batches(src_ids: list[list[int]], tgt_ids: list[list[int]], batch_tokens: int, seed: int | None = None) -> list[list[int]]:
    """Group pair indices into batches of about `batch_tokens` target tokens, padding included.

    Pairs are sorted by (target length, source length) so each batch holds similar lengths; with a seed,
    pairs of equal length are shuffled first and the batch order is shuffled, so every epoch differs.
    """
    order = list(range(len(src_ids)))
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
        order = torch.randperm(len(order), generator=generator).tolist()
    order.sort(key=lambda i: (len(tgt_ids[i]), len(src_ids[i])))  # stable: ties keep the shuffled order
    batches, current, longest = [], [], 0
    for i in order:
        length = max(len(tgt_ids[i]), len(src_ids[i])) + 1
        if current and max(longest, length) * (len(current) + 1) > batch_tokens:
            batches.append(current)
            current, longest = [], 0
        current.append(i)
        longest = max(longest, length)
    if current:
        batches.append(current)
    if generator is not None:
        batches = [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]
    return batches
