"""Recurrent encoder over packed sequences, so padding never reaches the cell."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from s2s.data.vocab import PAD

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # nn.RNN is the vanilla tanh cell


def make_rnn(cell: str, input_size: int, hidden_size: int, layers: int, dropout: float, bidirectional: bool = False) -> nn.RNNBase:
    return CELLS[cell](input_size, hidden_size, num_layers=layers, batch_first=True,
                       dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional)


def merge_directions(state: torch.Tensor, layers: int) -> torch.Tensor:
    """(layers * 2, batch, hidden/2) -> (layers, batch, hidden): layer l becomes [forward_l; backward_l]."""
    _, batch, half = state.shape
    return state.view(layers, 2, batch, half).transpose(1, 2).reshape(layers, batch, 2 * half)


class Encoder(nn.Module):
    def __init__(self, cell: str, vocab_size: int, emb_size: int, hidden_size: int, layers: int,
                 bidirectional: bool, dropout: float):
        super().__init__()
        self.layers, self.bidirectional = layers, bidirectional
        self.embed = nn.Embedding(vocab_size, emb_size, padding_idx=PAD)
        self.dropout = nn.Dropout(dropout)
        directions = 2 if bidirectional else 1
        self.rnn = make_rnn(cell, emb_size, hidden_size // directions, layers, dropout, bidirectional)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor):
        """Return enc_states (batch, src_len, hidden), zero at pads, and the final state for the decoder.

        The final state is (layers, batch, hidden), a tuple (h, c) for LSTM; a bidirectional encoder's
        final forward and backward states are concatenated per layer.
        """
        emb = self.dropout(self.embed(src))  # (batch, src_len, emb)
        packed = pack_padded_sequence(emb, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_states, state = self.rnn(packed)
        enc_states, _ = pad_packed_sequence(packed_states, batch_first=True, total_length=src.size(1))
        if self.bidirectional:
            state = tuple(merge_directions(s, self.layers) for s in state) if isinstance(state, tuple) \
                else merge_directions(state, self.layers)
        return enc_states, state
