"""Sampled decoding: each output token drawn from the model's distribution, sharpened or flattened by a temperature
and cut to the top-k tokens and to the smallest set of most likely tokens holding top-p of the probability (nucleus
sampling): softmax(log_probs / temperature) over what is left. An ensemble's distribution is its members' normalised
geometric mean (the mean log-probs its beam search ranks by).

Each sample draws from its own stream of uniform numbers, seeded from the seed, the number of its input line and its
own number, and a token is drawn by inverting the cumulative distribution at the step's uniform; so a sample does not
depend on the batch, the batch size, the other lines or how many samples are drawn.
"""

from __future__ import annotations

import hashlib

import torch

from s2s.decoding.common import max_output_lengths
from s2s.decoding.greedy import greedy_search
from s2s.decoding.translation import Sampling


def stream_seed(seed: int, line: int, sample: int) -> int:
    """The seed of one sample's stream of uniform numbers (a hash: the same on every machine and Python version)."""
    return int.from_bytes(hashlib.blake2b(f"{seed}:{line}:{sample}".encode(), digest_size=8).digest(), "little") >> 1


def uniforms(seeds: list[int], steps: list[int]) -> torch.Tensor:
    """(rows, max(steps)) uniform numbers in [0, 1): row r holds the first steps[r] numbers of the stream seeds[r]."""
    out = torch.zeros(len(seeds), max(steps, default=0))
    for row, (seed, count) in enumerate(zip(seeds, steps)):
        out[row, :count] = torch.rand(count, generator=torch.Generator().manual_seed(seed))
    return out


def draw(log_probs: torch.Tensor, uniform: torch.Tensor, temperature: float, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """(rows,) tokens drawn from log_probs (rows, vocab) at the uniforms (rows,): softmax(log_probs / temperature)
    over the top_k most likely tokens (0: all), then over the most likely tokens whose probabilities reach top_p."""
    logits = log_probs.float() / temperature
    if top_k:
        kth = logits.topk(min(top_k, logits.size(-1)), dim=-1).values[:, -1:]  # (rows, 1): the k-th largest
        logits = logits.masked_fill(logits < kth, float("-inf"))
    probs = logits.softmax(-1)  # (rows, vocab)
    if top_p < 1:
        sorted_probs, order = probs.sort(dim=-1, descending=True, stable=True)
        above = sorted_probs.cumsum(-1) - sorted_probs  # the probability of the tokens ranked above each
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs.masked_fill(above >= top_p, 0.0))
    cumulative = probs.cumsum(-1)  # (rows, vocab)
    tokens = torch.searchsorted(cumulative, (uniform * cumulative[:, -1])[:, None], right=True)[:, 0]
    last_possible = probs.size(-1) - 1 - (probs.flip(-1) > 0).long().argmax(-1)  # for a uniform rounded up to the top
    return torch.minimum(tokens, last_possible)


@torch.no_grad()
def sample_search(model, src: torch.Tensor, src_lengths: torch.Tensor, sampling: Sampling, max_len_ratio: float = 2.0,
                  return_attention: bool = False, no_repeat_ngram: int = 0,
                  prefix: torch.Tensor | None = None) -> list[list[tuple]]:
    """Per sentence, its sampling.n samples in draw order: (token ids without <eos>, summed log-prob of the model
    (not of the tempered distribution) including <eos>, attention (out_len, src_len) or None). prefix (batch,
    prefix_len), padded with -1: the tokens every sample starts with."""
    batch, n, device = src.size(0), sampling.n, src.device
    rows = torch.arange(batch).repeat_interleave(n)  # row b * n + k is sample k of sentence b
    src, src_lengths = src[rows.to(device)], src_lengths[rows]
    prefix = None if prefix is None else prefix[rows.to(prefix.device)]
    seeds = [stream_seed(sampling.seed, line, k) for line in sampling.lines for k in range(n)]
    table = uniforms(seeds, max_output_lengths(src_lengths, max_len_ratio, prefix).tolist()).to(device)

    def choose(log_probs: torch.Tensor, active: torch.Tensor, step: int) -> torch.Tensor:
        return draw(log_probs, table[active, step], sampling.temperature, sampling.top_k, sampling.top_p)

    outputs = greedy_search(model, src, src_lengths, max_len_ratio, return_attention, no_repeat_ngram, prefix, choose)
    return [outputs[b * n : (b + 1) * n] for b in range(batch)]
