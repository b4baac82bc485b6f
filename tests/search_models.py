"""Tiny random zoo models that end some sentences and run into the length limit on others, for search tests."""

from __future__ import annotations

import torch

from s2s.config import ModelConfig
from s2s.data.batching import pad
from s2s.decoding.common import max_output_lengths
from s2s.models import build_model
from s2s.specials import EOS

ZOO = ["rnn", "rnn_attn", "lstm", "lstm_attn", "gru", "gru_attn"]
SRC_VOCAB = TGT_VOCAB = 20
# Random tiny models mostly repeat one token forever or stop at once; with weights x3 and these <eos> output-bias
# shifts (seed 0) each one produces a mix of empty outputs, outputs ending with <eos> and outputs cut at the limit.
EOS_BIAS = {"rnn": 1.0, "rnn_attn": 1.5, "lstm": -0.5, "lstm_attn": 1.5, "gru": 1.5, "gru_attn": 0.5}


def tiny_model(name: str, input_feeding: bool = False) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = ModelConfig(name=name, emb_size=16, hidden_size=32, dropout=0.0, bidirectional=True, input_feeding=input_feeding)
    model = build_model(cfg, SRC_VOCAB, TGT_VOCAB).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(3.0)
        model.decoder.out.bias[EOS] += EOS_BIAS[name]
    return model


def random_sentences(count: int, seed: int, max_len: int = 6) -> list[list[int]]:
    generator = torch.Generator().manual_seed(seed)
    lengths = torch.randint(1, max_len + 1, (count,), generator=generator).tolist()
    return [torch.randint(4, SRC_VOCAB, (n,), generator=generator).tolist() for n in lengths]


def as_batch(sentences: list[list[int]]):
    return pad(sentences), torch.tensor([len(s) for s in sentences])


def limit_of(sentence: list[int], max_len_ratio: float = 2.0) -> int:
    return int(max_output_lengths(torch.tensor([len(sentence)]), max_len_ratio))


class StepRecorder:
    """Wraps a model and records the number of rows of every decode_step call."""

    def __init__(self, model):
        self.model, self.sizes = model, []

    def encode(self, src, src_lengths):
        return self.model.encode(src, src_lengths)

    def decode_step(self, prev_tokens, state, enc_states, src_mask):
        self.sizes.append(prev_tokens.size(0))
        assert enc_states.size(0) == src_mask.size(0) == prev_tokens.size(0)
        return self.model.decode_step(prev_tokens, state, enc_states, src_mask)
