"""Recurrent decoder: one RNN call over the whole (teacher-forced) target, attention as batched matmuls."""

from __future__ import annotations

import torch
from torch import nn

from s2s.data.vocab import PAD
from s2s.models.attention import DotAttention
from s2s.models.encoder import make_rnn


class Decoder(nn.Module):
    def __init__(self, cell: str, vocab_size: int, emb_size: int, hidden_size: int, layers: int,
                 dropout: float, attention: bool, tie_embeddings: bool):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, emb_size, padding_idx=PAD)
        self.dropout = nn.Dropout(dropout)
        self.rnn = make_rnn(cell, emb_size, hidden_size, layers, dropout)
        self.attention = DotAttention(hidden_size) if attention else None
        self.out = nn.Linear(hidden_size, vocab_size)  # W_o, b_o
        if tie_embeddings:
            self.out.weight = self.embed.weight

    def features(self, tgt_in: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor):
        """The output layer's input: forward() without the final projection (training computes it with the loss).

        Returns hidden (batch, tgt_len, hidden) after dropout, the final state, and the attention weights or None.
        """
        emb = self.dropout(self.embed(tgt_in))  # (batch, tgt_len, emb)
        dec_states, state = self.rnn(emb, state)  # (batch, tgt_len, hidden)
        weights = None
        hidden = dec_states
        if self.attention is not None:
            hidden, weights = self.attention(dec_states, enc_states, src_mask)
        return self.dropout(hidden), state, weights

    def forward(self, tgt_in: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor):
        """tgt_in (batch, tgt_len): <bos> y_1 .. y_{n-1}; state: the RNN state to start from.

        Returns logits (batch, tgt_len, vocab), the final state, and attention weights
        (batch, tgt_len, src_len) or None. Decoding calls this with tgt_len = 1, one step at a time.
        """
        hidden, state, weights = self.features(tgt_in, state, enc_states, src_mask)
        return self.out(hidden), state, weights
