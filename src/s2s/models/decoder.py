"""Recurrent decoder: one RNN call over the whole (teacher-forced) target, attention as batched matmuls.

With input feeding (Luong et al. 2015) the RNN's input at step t is [embedding of y_{t-1}; s̃_{t-1}], the previous
attentional hidden state, so the model knows what it attended to before. That makes each step depend on the previous
step's attention, so training runs the decoder step by step (slower; docs/benchmarks/ablations.md has the cost). Its state is then
(RNN state, s̃ of the last step as (1, batch, hidden)).
"""

from __future__ import annotations

import torch
from torch import nn

from s2s.models.attention import DotAttention
from s2s.models.encoder import make_rnn
from s2s.models.dropout import Dropout
from s2s.specials import PAD

ALIGN_ROWS = 64  # the target vocabulary's rows are padded to a multiple of this when the model is built


def padded_rows(vocab_size: int) -> int:
    """vocab_size rounded up to a multiple of ALIGN_ROWS (4,845 -> 4,864), as nanoGPT rounds 50,257 up to 50,304.

    With a vocabulary like 4,845 each row of the logits (batch, vocab) starts at an unaligned address and the CPU's
    GEMM ran 1.1-1.5x slower at inference (batch 64 to 320 rows, docs/benchmarks/hardware.md). The extra rows of W_o, b_o and
    the target embedding start at zero, are never targets and never looked up, so they get no gradient and stay
    zero; project() drops their columns and the loss never sees them. state_dict() holds only the real rows, so
    checkpoints record the real vocabulary size and load into models built either way.
    """
    return vocab_size + -vocab_size % ALIGN_ROWS


class Decoder(nn.Module):
    def __init__(self, cell: str, vocab_size: int, emb_size: int, hidden_size: int, layers: int,
                 dropout: float, attention: bool, tie_embeddings: bool, input_feeding: bool = False):
        super().__init__()
        if input_feeding and not attention:
            raise ValueError("input feeding feeds the attentional state back in, so it needs attention")
        self.input_feeding = input_feeding
        self.embed = nn.Embedding(vocab_size, emb_size, padding_idx=PAD)
        self.dropout = Dropout(dropout)
        self.rnn = make_rnn(cell, emb_size + (hidden_size if input_feeding else 0), hidden_size, layers, dropout)
        self.attention = DotAttention(hidden_size) if attention else None
        self.out = nn.Linear(hidden_size, vocab_size)  # W_o, b_o
        self.vocab_size = vocab_size  # the real size; W_o, b_o and the embedding have padded_rows(vocab_size) rows
        if tie_embeddings:
            # One matrix for both: nn.Embedding's N(0, 1) would give initial logits of std ~sqrt(hidden) (~23 at 512)
            # and a near one-hot first softmax; N(0, 1/emb) keeps them at the untied output layer's scale
            # (as fairseq initialises shared embeddings).
            nn.init.normal_(self.embed.weight, std=emb_size ** -0.5)
            with torch.no_grad():
                self.embed.weight[PAD].zero_()
            self.out.weight = self.embed.weight
        self._pad_rows(padded_rows(vocab_size) - vocab_size)
        self.register_state_dict_post_hook(_real_rows_only)
        self.register_load_state_dict_pre_hook(_pad_loaded_rows)

    def _pad_rows(self, extra: int) -> None:
        """Append `extra` zero rows to the target embedding, W_o and b_o, after they are initialised at the real size
        (so the random initialisation is the same as without padding)."""
        if not extra:
            return
        tied = self.out.weight is self.embed.weight
        with torch.no_grad():
            self.embed.weight = nn.Parameter(nn.functional.pad(self.embed.weight, (0, 0, 0, extra)))
            self.out.weight = self.embed.weight if tied else nn.Parameter(nn.functional.pad(self.out.weight, (0, 0, 0, extra)))
            self.out.bias = nn.Parameter(nn.functional.pad(self.out.bias, (0, extra)))
        self.embed.num_embeddings += extra
        self.out.out_features += extra

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
        """The output layer, W_o hidden + b_o: logits (..., vocab_size), the padding rows' columns dropped."""
        return self.out(hidden)[..., : self.vocab_size]

    def padding_numbers(self) -> int:
        """How many numbers the padding rows add to the parameters (count_parameters leaves them out)."""
        extra = self.out.out_features - self.vocab_size
        return extra * self.embed.embedding_dim + (0 if self.out.weight is self.embed.weight else extra * self.out.in_features) + extra

    def output_weights(self) -> tuple[torch.Tensor, torch.Tensor]:
        """W_o and b_o without the padding rows: (vocab_size, hidden) and (vocab_size,), views of the parameters."""
        return self.out.weight[: self.vocab_size], self.out.bias[: self.vocab_size]


_PADDED = ("embed.weight", "out.weight", "out.bias")


def _real_rows_only(decoder: Decoder, state_dict: dict, prefix: str, local_metadata) -> None:
    """Copies of the real rows (a view would save the whole padded storage), one for a tied matrix's two names."""
    copies = {}
    for name in _PADDED:
        value = state_dict.get(prefix + name)
        if value is not None and value.size(0) != decoder.vocab_size:
            if value.data_ptr() not in copies:
                copies[value.data_ptr()] = value[: decoder.vocab_size].detach().clone()
            state_dict[prefix + name] = copies[value.data_ptr()]


def _pad_loaded_rows(decoder: Decoder, state_dict: dict, prefix: str, *args) -> None:
    """Checkpoints hold the real rows (and the model's padding rows are zero): pad them back to the model's size."""
    for name in _PADDED:
        value = state_dict.get(prefix + name)
        extra = padded_rows(decoder.vocab_size) - decoder.vocab_size
        if value is not None and extra and value.size(0) == decoder.vocab_size:
            state_dict[prefix + name] = nn.functional.pad(value, (0, 0) * (value.dim() - 1) + (0, extra))


def pad_optimizer_state(optimizer: torch.optim.Optimizer) -> None:
    """Pad the per-parameter state (Adam's moments) saved by a run from before the target vocabulary was padded to
    the padded parameters' rows, with zeros, as the padding rows' moments are."""
    for param, state in optimizer.state.items():
        for key, value in state.items():
            if torch.is_tensor(value) and value.dim() and value.shape != param.shape and value.shape[1:] == param.shape[1:]:
                state[key] = nn.functional.pad(value, (0, 0) * (value.dim() - 1) + (0, param.size(0) - value.size(0)))
