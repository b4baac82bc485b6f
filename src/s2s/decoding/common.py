"""Helpers shared by greedy and beam search: selecting rows of a recurrent state, output length limits."""

from __future__ import annotations

import torch

from s2s.data.vocab import BOS, PAD


def select_state(state, index: torch.Tensor):
    """Rows `index` of a recurrent state: a tensor (layers, batch, hidden) or a tuple of them (LSTM)."""
    if isinstance(state, tuple):
        return tuple(s.index_select(1, index) for s in state)
    return state.index_select(1, index)


def max_output_lengths(src_lengths: torch.Tensor, max_len_ratio: float) -> torch.Tensor:
    """At most ratio * source length + 10 output tokens, <eos> included."""
    return (src_lengths.float() * max_len_ratio).long() + 10


def forbid_specials(log_probs: torch.Tensor) -> torch.Tensor:
    """Log-probs with <pad> and <bos> made impossible as outputs (the scores of other tokens are unchanged)."""
    log_probs[:, PAD] = float("-inf")
    log_probs[:, BOS] = float("-inf")
    return log_probs
