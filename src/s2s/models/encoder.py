"""Recurrent encoder that keeps padding out of every state it returns.

On CPU, torch's RNN/GRU kernels precompute the input projection of all time steps in one large matmul
only for padded (unpacked) input; packed input pays one small matmul per step. So RNN and GRU encoders run
unpacked: the forward direction reads the real tokens first and its final state is taken at each
sequence's last real token; the backward direction reads each sequence reversed within its own length, so
it too starts at a real token and never sees a pad before its final state. Pads only reach states past
each length, which are zeroed. An LSTM's final cell state is not among its per-step outputs, so there the
pads are made to carry it unchanged: one extra input, 1 at pads, whose weights push the input gate to 0
and the forget gate to 1 (pre-activations -/+ 10^4: exactly 0 and 1 in floating point), so c_t = c_{t-1}
and the kernel's final c is each sequence's own. CUDA (where cuDNN packs efficiently) uses packed
sequences. Both routes give the same numbers (tested).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from s2s.models.dropout import Dropout
from s2s.specials import PAD

CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}  # nn.RNN is the vanilla tanh cell
UNPACKED_KERNELS = {"RNN_TANH": torch.rnn_tanh, "GRU": torch.gru, "LSTM": torch.lstm}  # one direction, one layer a call
GATE_SATURATION = 1e4  # LSTM pads: input gate sigmoid(-1e4) = 0, forget gate sigmoid(1e4) = 1, exactly in fp32/bf16


def make_rnn(cell: str, input_size: int, hidden_size: int, layers: int, dropout: float, bidirectional: bool = False) -> nn.RNNBase:
    return CELLS[cell](input_size, hidden_size, num_layers=layers, batch_first=True,
                       dropout=dropout if layers > 1 else 0.0, bidirectional=bidirectional)


def merge_directions(state: torch.Tensor, layers: int) -> torch.Tensor:
    """(layers * 2, batch, hidden/2) -> (layers, batch, hidden): layer l becomes [forward_l; backward_l]."""
    _, batch, half = state.shape
    return state.view(layers, 2, batch, half).transpose(1, 2).reshape(layers, batch, 2 * half)


def reversal_index(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(batch, max_len) time index that reverses each row's first `length` steps and leaves its pads in place.

    It is its own inverse: gathering twice with it restores the original order.
    """
    positions = torch.arange(max_len, device=lengths.device).unsqueeze(0)  # (1, max_len)
    reversed_positions = lengths.unsqueeze(1) - 1 - positions  # (batch, max_len)
    return torch.where(reversed_positions >= 0, reversed_positions, positions)


def gather_time(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """x[b, index[b, t]] for (batch, len, features) x and (batch, len) index."""
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.size(-1)))


class Encoder(nn.Module):
    def __init__(self, cell: str, vocab_size: int, emb_size: int, hidden_size: int, layers: int,
                 bidirectional: bool, dropout: float):
        super().__init__()
        self.layers, self.bidirectional = layers, bidirectional
        self.embed = nn.Embedding(vocab_size, emb_size, padding_idx=PAD)
        self.dropout = Dropout(dropout)
        directions = 2 if bidirectional else 1
        self.rnn = make_rnn(cell, emb_size, hidden_size // directions, layers, dropout, bidirectional)

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor):
        """Return enc_states (batch, src_len, hidden), zero at pads, and the final state for the decoder.

        The final state is (layers, batch, hidden), a tuple (h, c) for LSTM; a bidirectional encoder's
        final forward and backward states are concatenated per layer.
        """
        emb = self.dropout(self.embed(src))  # (batch, src_len, emb)
        # isinstance: a dynamically quantized RNN (--precision int8) holds packed int8 weights, not the float
        # tensors the unpacked route reads, so it runs packed
        if isinstance(self.rnn, nn.RNNBase) and self.rnn.mode in UNPACKED_KERNELS and not emb.is_cuda:
            enc_states, state = self.run_unpacked(emb, src_lengths)
        else:
            enc_states, state = self.run_packed(emb, src_lengths)
        if self.bidirectional:
            state = tuple(merge_directions(s, self.layers) for s in state) if isinstance(state, tuple) \
                else merge_directions(state, self.layers)
        return enc_states, state

    def run_packed(self, emb: torch.Tensor, src_lengths: torch.Tensor):
        packed = pack_padded_sequence(emb, src_lengths.cpu(), batch_first=True, enforce_sorted=False)
        packed_states, state = self.rnn(packed)
        enc_states, _ = pad_packed_sequence(packed_states, batch_first=True, total_length=emb.size(1))
        return enc_states, state  # state: (layers * directions, batch, hidden / directions)

    def run_unpacked(self, emb: torch.Tensor, src_lengths: torch.Tensor):
        rnn, kernel = self.rnn, UNPACKED_KERNELS[self.rnn.mode]
        batch, src_len, _ = emb.shape
        lengths = src_lengths.to(emb.device)
        reverse = reversal_index(lengths, src_len) if self.bidirectional else None
        last = (lengths - 1).clamp(min=0)  # each row's last real position
        rows = torch.arange(batch, device=emb.device)
        zeros = emb.new_zeros(1, batch, rnn.hidden_size)
        is_real = torch.arange(src_len, device=emb.device).unsqueeze(0) < lengths.unsqueeze(1)  # (batch, src_len)
        lstm = rnn.mode == "LSTM"
        if lstm:  # the pad input that holds the cell state (module docstring); pads sit last in both directions
            is_pad = (~is_real).unsqueeze(-1).to(emb.dtype)  # (batch, src_len, 1)
            hold = torch.zeros(4 * rnn.hidden_size, 1, dtype=emb.dtype, device=emb.device)  # gates i, f, g, o
            hold[: rnn.hidden_size], hold[rnn.hidden_size : 2 * rnn.hidden_size] = -GATE_SATURATION, GATE_SATURATION
        inputs, finals, cells = emb, [], []
        for layer in range(self.layers):
            if layer:
                inputs = self.dropout(inputs)  # rnn.dropout: the same p (make_rnn)
            outputs = []
            for suffix in ("", "_reverse") if self.bidirectional else ("",):
                weights = [getattr(rnn, f"{name}_l{layer}{suffix}") for name in
                           (("weight_ih", "weight_hh", "bias_ih", "bias_hh") if rnn.bias else ("weight_ih", "weight_hh"))]
                x = gather_time(inputs, reverse) if suffix else inputs
                if lstm:
                    x = torch.cat([x, is_pad], dim=-1)  # reversal keeps pads in place, so is_pad fits both directions
                    weights[0] = torch.cat([weights[0], hold.to(weights[0].dtype)], dim=1)
                    out, _, cell = kernel(x, (zeros, zeros), weights, rnn.bias, 1, 0.0, self.training, False, True)
                    cells.append(cell[0])  # (batch, hidden / directions): held since each sequence's last token
                else:
                    out, _ = kernel(x, zeros, weights, rnn.bias, 1, 0.0, self.training, False, True)
                out = gather_time(out, reverse) if suffix else out  # back to source order
                finals.append(out[:, 0] if suffix else out[rows, last])  # (batch, hidden / directions)
                outputs.append(out)
            inputs = torch.cat(outputs, dim=-1)  # (batch, src_len, hidden)
        final = torch.stack(finals)  # (layers * directions, batch, hidden / directions)
        return inputs * is_real.unsqueeze(-1), (final, torch.stack(cells)) if lstm else final
