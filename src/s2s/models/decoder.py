"""Recurrent decoder: one RNN call over the whole (teacher-forced) target, attention as batched matmuls.

With input feeding (Luong et al. 2015) the RNN's input at step t is [embedding of y_{t-1}; s̃_{t-1}], the previous
attentional hidden state, so the model knows what it attended to before. That makes each step depend on the previous
step's attention, so training runs the decoder step by step (slower; BENCHMARKS.md has the cost). Its state is then
(RNN state, s̃ of the last step as (1, batch, hidden)).
"""

from __future__ import annotations

import torch
from torch import nn

from s2s.models.attention import DotAttention
from s2s.models.encoder import make_rnn
from s2s.specials import PAD

ALIGN_ROWS = 64  # the output layer's rows are padded to a multiple of this at inference (Decoder.project)


class Decoder(nn.Module):
    def __init__(self, cell: str, vocab_size: int, emb_size: int, hidden_size: int, layers: int,
                 dropout: float, attention: bool, tie_embeddings: bool, input_feeding: bool = False):
        super().__init__()
        if input_feeding and not attention:
            raise ValueError("input feeding feeds the attentional state back in, so it needs attention")
        self.input_feeding = input_feeding
        self.embed = nn.Embedding(vocab_size, emb_size, padding_idx=PAD)
        self.dropout = nn.Dropout(dropout)
        self.rnn = make_rnn(cell, emb_size + (hidden_size if input_feeding else 0), hidden_size, layers, dropout)
        self.attention = DotAttention(hidden_size) if attention else None
        self.out = nn.Linear(hidden_size, vocab_size)  # W_o, b_o
        self._padded = None  # (key of W_o, padded W_o, padded b_o): see project()
        if tie_embeddings:
            # One matrix for both: nn.Embedding's N(0, 1) would give initial logits of std ~sqrt(hidden) (~23 at 512)
            # and a near one-hot first softmax; N(0, 1/emb) keeps them at the untied output layer's scale
            # (as fairseq initialises shared embeddings).
            nn.init.normal_(self.embed.weight, std=emb_size ** -0.5)
            with torch.no_grad():
                self.embed.weight[PAD].zero_()
            self.out.weight = self.embed.weight

    def features(self, tgt_in: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor):
        """The output layer's input: forward() without the final projection (training computes it with the loss).

        Returns hidden (batch, tgt_len, hidden) after dropout, the final state, and the attention weights or None.
        """
        emb = self.dropout(self.embed(tgt_in))  # (batch, tgt_len, emb)
        if self.input_feeding:
            return self._fed_features(emb, state, enc_states, src_mask)
        dec_states, state = self.rnn(emb, state)  # (batch, tgt_len, hidden)
        weights = None
        hidden = dec_states
        if self.attention is not None:
            hidden, weights = self.attention(dec_states, enc_states, src_mask)
        return self.dropout(hidden), state, weights

    def initial_state(self, enc_final):
        """The decoder's state before the first step, from the encoder's final state."""
        if not self.input_feeding:
            return enc_final
        h = enc_final[0] if isinstance(enc_final, tuple) else enc_final
        return enc_final, h.new_zeros(1, h.size(1), self.out.in_features)  # s̃_0 = 0

    def _fed_features(self, emb: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor):
        rnn_state, fed = state  # fed: (1, batch, hidden)
        hidden, weights = [], []
        for t in range(emb.size(1)):
            step_input = torch.cat([emb[:, t : t + 1], fed.transpose(0, 1)], dim=-1)  # (batch, 1, emb + hidden)
            dec_state, rnn_state = self.rnn(step_input, rnn_state)  # (batch, 1, hidden)
            attn_hidden, step_weights = self.attention(dec_state, enc_states, src_mask)  # (batch, 1, hidden)
            attn_hidden = self.dropout(attn_hidden)
            fed = attn_hidden.transpose(0, 1)
            hidden.append(attn_hidden)
            weights.append(step_weights)
        return torch.cat(hidden, dim=1), (rnn_state, fed), torch.cat(weights, dim=1)

    def forward(self, tgt_in: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor):
        """tgt_in (batch, tgt_len): <bos> y_1 .. y_{n-1}; state: the RNN state to start from.

        Returns logits (batch, tgt_len, vocab), the final state, and attention weights
        (batch, tgt_len, src_len) or None. Decoding calls this with tgt_len = 1, one step at a time.
        """
        hidden, state, weights = self.features(tgt_in, state, enc_states, src_mask)
        return self.project(hidden), state, weights

    def project(self, hidden: torch.Tensor) -> torch.Tensor:
        """The output layer, W_o hidden + b_o: logits (..., vocab).

        After prepare_padded_output() and outside training (eval mode, no gradient) it multiplies by a copy of W_o
        padded with zero rows to a multiple of ALIGN_ROWS and drops the padding columns: with a vocabulary like
        4,783 each row of the logits starts at an unaligned address and the CPU's GEMM ran 1.1-1.5x slower (batch 64
        to 320 rows, BENCHMARKS.md). Training's fused loss computes W x^T, which has no such rows.
        """
        padded = self._padded
        if padded is None or self.training or torch.is_grad_enabled() or padded[0] != self._output_key():
            return self.out(hidden)  # also where W_o changed since the copy (load_state_dict, .to(), an update)
        _, weight, bias = padded
        return torch.nn.functional.linear(hidden, weight, bias)[..., : self.out.out_features]

    def prepare_padded_output(self, enabled: bool = True) -> None:
        """(Re)build the padded copy of W_o that project() uses at inference from the weights as they are now (once
        per Translator: a trainer's validation decodes with the weights of that moment), or drop it. Only for an fp32
        nn.Linear whose rows are not already a multiple of ALIGN_ROWS. A copy is never trusted after the weights
        change: fused Adam updates them in place without a version bump, so train() drops it and project() checks
        the weights' storage and version."""
        self._padded = None
        out = self.out
        if not enabled or type(out) is not nn.Linear or out.weight.dtype != torch.float32 or not -out.out_features % ALIGN_ROWS:
            return
        pad = -out.out_features % ALIGN_ROWS
        with torch.no_grad():
            weight = torch.nn.functional.pad(out.weight, (0, 0, 0, pad))
            bias = None if out.bias is None else torch.nn.functional.pad(out.bias, (0, pad))
        self._padded = (self._output_key(), weight, bias)

    def _output_key(self) -> tuple:
        weight, bias = self.out.weight, self.out.bias
        return (weight.data_ptr(), weight._version, weight.device) + (() if bias is None else (bias.data_ptr(), bias._version))

    def train(self, mode: bool = True):
        if mode:
            self._padded = None
        return super().train(mode)


def prepare_padded_outputs(model: nn.Module) -> None:
    """prepare_padded_output() on every Decoder in model (a Seq2Seq, a language model, an ensemble)."""
    for module in model.modules():
        if isinstance(module, Decoder):
            module.prepare_padded_output()
