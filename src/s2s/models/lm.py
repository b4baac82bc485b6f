"""The recurrent language model: the zoo's decoder alone, without encoder or attention, and its three entries.

p(w_1 .. w_n) = Π_t p(w_t | w_<t), each factor softmax(W_o h_t + b_o) with h_t = RNN(E w_{t-1}, h_{t-1}), h_0 = 0 and
w_0 = <bos>. Trained on one language's text it predicts the next word from the words to its left; a translation
decoder is the same network with its h_0 (and attention) taken from the source.
"""

from __future__ import annotations

import torch
from torch import nn

from s2s.config import ModelConfig
from s2s.models.decoder import Decoder
from s2s.models.output import output_loss
from s2s.registry import MODELS


class LanguageModel(nn.Module):
    computes_loss = True  # forward(..., targets=...) returns the summed loss, the output layer fused into it

    def __init__(self, cell: str, vocab_size: int, emb_size: int, hidden_size: int, layers: int, dropout: float,
                 tie_embeddings: bool):
        super().__init__()
        self.decoder = Decoder(cell, vocab_size, emb_size, hidden_size, layers, dropout, attention=False,
                               tie_embeddings=tie_embeddings)

    @classmethod
    def from_config(cls, cfg: ModelConfig, vocab_size: int, cell: str) -> "LanguageModel":
        return cls(cell, vocab_size, cfg.emb_size, cfg.hidden_size, cfg.layers, cfg.dropout, cfg.tie_embeddings)

    def forward(self, tokens: torch.Tensor, state=None, targets: torch.Tensor | None = None, label_smoothing: float = 0.0):
        """tokens (batch, len) from state (None: zeros). Returns (logits (batch, len, vocab), final state), or with
        targets (batch, len) (summed cross-entropy over their non-padding tokens, final state)."""
        hidden, state, _ = self.decoder.features(tokens, state, None, None)  # (batch, len, hidden)
        if targets is None:
            return self.decoder.project(hidden), state
        return output_loss(hidden, *self.decoder.output_weights(), targets, label_smoothing), state

    def step(self, prev_tokens: torch.Tensor, state):
        """One step: prev_tokens (batch,) -> log-probabilities (batch, vocab) of the next token, new state."""
        logits, state = self(prev_tokens[:, None], state)
        return logits[:, 0].float().log_softmax(-1), state


def detach_state(state):
    """The recurrent state cut from the graph that made it (truncated BPTT): a tensor, an LSTM's (h, c), or None."""
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(s.detach() for s in state)
    return state.detach()


@MODELS.register("rnn_lm", "vanilla tanh RNN language model (the decoder alone)", task="language_model")
def rnn_lm(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> LanguageModel:
    return LanguageModel.from_config(cfg, tgt_vocab_size, cell="rnn")


@MODELS.register("lstm_lm", "LSTM language model (the decoder alone)", task="language_model")
def lstm_lm(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> LanguageModel:
    return LanguageModel.from_config(cfg, tgt_vocab_size, cell="lstm")


@MODELS.register("gru_lm", "GRU language model (the decoder alone)", task="language_model")
def gru_lm(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> LanguageModel:
    return LanguageModel.from_config(cfg, tgt_vocab_size, cell="gru")
