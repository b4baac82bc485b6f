"""Several models decoded as one: each step's log-probabilities are averaged over the members (a geometric mean
of their distributions), so greedy and beam search run unchanged over an ensemble."""

from __future__ import annotations

import torch
from torch import nn


class Ensemble(nn.Module):
    """Members share the source and target vocabularies; each keeps its own encoder states and decoder state."""

    def __init__(self, models: list[nn.Module]):
        super().__init__()
        if not models:
            raise ValueError("an ensemble needs at least one model")
        self.members = nn.ModuleList(models)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor):
        """Return a tuple of the members' encoder states, a tuple of their initial decoder states, and src_mask."""
        encodings = [member.encode(src, src_lengths) for member in self.members]
        enc_states = tuple(e[0] for e in encodings)
        states = tuple(e[1] for e in encodings)
        return enc_states, states, encodings[0][2]

    def decode_step(self, prev_tokens: torch.Tensor, states, enc_states, src_mask: torch.Tensor):
        """The members' mean log-probs (batch, vocab), their new states, and their mean attention weights
        (batch, src_len) over the members that have attention (None when none has)."""
        log_probs, new_states, weights = [], [], []
        for member, state, encoded in zip(self.members, states, enc_states):
            member_log_probs, state, member_weights = member.decode_step(prev_tokens, state, encoded, src_mask)
            log_probs.append(member_log_probs)
            new_states.append(state)
            if member_weights is not None:
                weights.append(member_weights)
        mean_weights = torch.stack(weights).mean(0) if weights else None
        return torch.stack(log_probs).mean(0), tuple(new_states), mean_weights
