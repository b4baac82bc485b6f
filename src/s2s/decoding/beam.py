"""Batched beam search on torch: all sentences' beams in one (batch * beam) tensor, n-best, length normalisation, seeded
with the greedy output; s2s.decoding.search's beam search over tensors (its docstring explains the search)."""

from __future__ import annotations

import torch

from s2s.decoding import search
from s2s.decoding.common import TorchOps
from s2s.decoding.translation import Hypothesis


@torch.no_grad()
def beam_search(model, src: torch.Tensor, src_lengths: torch.Tensor, beam: int = 5, nbest: int = 1,
                length_penalty: float = 1.0, max_len_ratio: float = 2.0, return_attention: bool = False,
                no_repeat_ngram: int = 0, prefix: torch.Tensor | None = None) -> list[list[Hypothesis]]:
    """Return for each sentence its `nbest` best hypotheses, best first; no_repeat_ngram > 0 forbids any hypothesis
    that repeats an n-gram of that many tokens; prefix (batch, prefix_len), padded with -1: the tokens each
    hypothesis starts with."""
    return search.beam_search(TorchOps(src.device), model, src, src_lengths, beam, nbest, length_penalty, max_len_ratio,
                              return_attention, no_repeat_ngram, prefix)
