"""Dot-product (Luong) attention over all decoder steps at once."""

from __future__ import annotations

import torch
from torch import nn


class DotAttention(nn.Module):
    """score(s_t, h_i) = s_tᵀ h_i; c_t = Σ_i softmax(score)_i h_i; s̃_t = tanh(W_c [c_t; s_t] + b_c)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.combine = nn.Linear(2 * hidden_size, hidden_size)  # W_c, b_c

    def forward(self, dec: torch.Tensor, enc: torch.Tensor, src_mask: torch.Tensor):
        """dec (batch, tgt_len, hidden), enc (batch, src_len, hidden), src_mask (batch, src_len) True at real tokens.

        Returns attn_hidden (batch, tgt_len, hidden) and weights (batch, tgt_len, src_len).
        """
        scores = dec @ enc.transpose(1, 2)  # (batch, tgt_len, src_len)
        weights = scores.masked_fill(~src_mask[:, None, :], float("-inf")).softmax(-1)
        context = weights @ enc  # (batch, tgt_len, hidden)
        attn_hidden = torch.tanh(self.combine(torch.cat([context, dec], dim=-1)))
        return attn_hidden, weights
