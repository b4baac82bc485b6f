"""Batched greedy decoding (and sampling, with another choice of token) on torch: s2s.decoding.search's greedy search
over tensors."""

from __future__ import annotations

import torch

from s2s.decoding import search
from s2s.decoding.common import TorchOps


@torch.no_grad()
def greedy_search(model, src: torch.Tensor, src_lengths: torch.Tensor, max_len_ratio: float = 2.0, return_attention: bool = False,
                  no_repeat_ngram: int = 0, prefix: torch.Tensor | None = None, choose=None, encoded=None):
    """Return, per sentence, (token ids without <eos>, summed log-prob including <eos>, attention (out_len, src_len) or None).
    no_repeat_ngram > 0 never picks a token that would repeat an n-gram of that many tokens. prefix (batch, prefix_len),
    padded with -1: the tokens each output starts with (their log-probs count in the score). choose(log_probs, rows,
    step) -> tokens picks the tokens of the sentences `rows` (default: the most likely). encoded: model.encode(src,
    src_lengths) when the caller has it (beam search, which seeds itself with the greedy output)."""
    return search.greedy_search(TorchOps(src.device), model, src, src_lengths, max_len_ratio, return_attention,
                                no_repeat_ngram, prefix, choose, encoded)
