"""The encoder-decoder and the six registered zoo models (rnn, lstm, gru; with and without dot attention)."""

from __future__ import annotations

import torch
from torch import nn

from s2s.config import ModelConfig
from s2s.models.decoder import Decoder
from s2s.models.encoder import Encoder
from s2s.models.output import output_loss
from s2s.registry import MODELS
from s2s.specials import BOS, PAD, UNK


class Seq2Seq(nn.Module):
    """Encoder final state -> decoder initial state (the context vector); attention optional."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, word_dropout: float = 0.0):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder
        self.word_dropout = word_dropout

    @classmethod
    def from_config(cls, cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int, cell: str, attention: bool) -> "Seq2Seq":
        encoder = Encoder(cell, src_vocab_size, cfg.emb_size, cfg.hidden_size, cfg.layers, cfg.bidirectional, cfg.dropout)
        decoder = Decoder(cell, tgt_vocab_size, cfg.emb_size, cfg.hidden_size, cfg.layers, cfg.dropout,
                          attention, cfg.tie_embeddings, cfg.input_feeding)
        return cls(encoder, decoder, cfg.word_dropout)

    def encode(self, src: torch.Tensor, src_lengths: torch.Tensor):
        """Return enc_states (batch, src_len, hidden), the decoder's initial state, src_mask (batch, src_len)."""
        enc_states, state = self.encoder(src, src_lengths)
        return enc_states, self.decoder.initial_state(state), src != PAD

    computes_loss = True  # forward(..., tgt_out=...) returns the training loss (see s2s.training.loss.model_loss)
    scheduled_sampling = True  # forward(..., teacher_forcing=r) with r < 1 feeds back its own predictions

    def forward(self, src: torch.Tensor, src_lengths: torch.Tensor, tgt_in: torch.Tensor,
                tgt_out: torch.Tensor | None = None, label_smoothing: float = 0.0, teacher_forcing: float = 1.0) -> torch.Tensor:
        """Teacher forcing: logits (batch, tgt_len, tgt_vocab) for every target position.

        With tgt_out (batch, tgt_len) it returns instead the summed (label-smoothed) cross-entropy over tgt_out's
        non-padding tokens, the output layer and the loss fused so that the logits are never stored. With
        teacher_forcing < 1 the decoder runs step by step and feeds back its own predictions (sampled_features).
        """
        if self.training and self.word_dropout:
            src, tgt_in = drop_words(src, self.word_dropout), drop_words(tgt_in, self.word_dropout)
        enc_states, state, src_mask = self.encode(src, src_lengths)
        if tgt_out is None:
            logits, _, _ = self.decoder(tgt_in, state, enc_states, src_mask)
            return logits
        if teacher_forcing < 1.0:
            hidden = self.sampled_features(tgt_in, state, enc_states, src_mask, teacher_forcing)
        else:
            hidden, _, _ = self.decoder.features(tgt_in, state, enc_states, src_mask)
        return output_loss(hidden, *self.decoder.output_weights(), tgt_out, label_smoothing)

    def sampled_features(self, tgt_in: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor,
                         teacher_forcing: float) -> torch.Tensor:
        """Scheduled sampling (Bengio et al. 2015): the decoder one position at a time, where the input at each
        position t > 0 is the reference tgt_in[:, t] with probability teacher_forcing, else the model's own prediction
        at t - 1 (its argmax; no gradient flows through that choice). Returns the output layer's input
        (batch, tgt_len, hidden), as decoder.features does."""
        hidden, prediction = [], tgt_in[:, 0]  # prediction: the model's argmax at the previous position
        for t in range(tgt_in.size(1)):
            tokens = tgt_in[:, t]  # (batch,)
            if t:
                use_reference = torch.rand(tokens.shape, device=tokens.device) < teacher_forcing
                tokens = torch.where(use_reference, tokens, prediction)
            step_hidden, state, _ = self.decoder.features(tokens[:, None], state, enc_states, src_mask)  # (batch, 1, hidden)
            with torch.no_grad():
                prediction = self.decoder.out(step_hidden[:, 0]).argmax(-1)  # (batch,)
            hidden.append(step_hidden)
        return torch.cat(hidden, dim=1)

    def decode_step(self, prev_tokens: torch.Tensor, state, enc_states: torch.Tensor, src_mask: torch.Tensor):
        """One decoding step: prev_tokens (batch,) -> log-probs (batch, vocab), new state, weights (batch, src_len) or None."""
        logits, state, weights = self.decoder(prev_tokens[:, None], state, enc_states, src_mask)
        return logits[:, 0].float().log_softmax(-1), state, None if weights is None else weights[:, 0]


def drop_words(tokens: torch.Tensor, p: float) -> torch.Tensor:
    """Word dropout (Sennrich & Zhang 2019): each real token (not <pad>, not <bos>) becomes <unk> with probability p,
    so the model cannot lean on any one input word; the targets it predicts are unchanged."""
    droppable = (tokens != PAD) & (tokens != BOS)
    return tokens.masked_fill(droppable & (torch.rand(tokens.shape, device=tokens.device) < p), UNK)


@MODELS.register("rnn", "vanilla tanh RNN encoder-decoder, no attention")
def rnn(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="rnn", attention=False)


@MODELS.register("rnn_attn", "vanilla tanh RNN encoder-decoder with dot-product attention")
def rnn_attn(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="rnn", attention=True)


@MODELS.register("lstm", "LSTM encoder-decoder, no attention")
def lstm(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="lstm", attention=False)


@MODELS.register("lstm_attn", "LSTM encoder-decoder with dot-product attention")
def lstm_attn(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="lstm", attention=True)


@MODELS.register("gru", "GRU encoder-decoder, no attention")
def gru(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="gru", attention=False)


@MODELS.register("gru_attn", "GRU encoder-decoder with dot-product attention")
def gru_attn(cfg: ModelConfig, src_vocab_size: int, tgt_vocab_size: int) -> Seq2Seq:
    return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="gru", attention=True)
