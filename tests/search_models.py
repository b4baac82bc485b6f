"""Tiny random zoo models that end some sentences and run into the length limit on others, and hand-made step models
whose next-token distributions are looked up by the output so far, for search tests."""

from __future__ import annotations

import math

import torch

from s2s.config import ModelConfig
from s2s.data.batching import pad
from s2s.decoding.common import max_output_lengths
from s2s.models import build_model
from s2s.specials import BOS, EOS, PAD, UNK

ZOO = ["rnn", "rnn_attn", "lstm", "lstm_attn", "gru", "gru_attn"]
SRC_VOCAB = TGT_VOCAB = 20
# Random tiny models mostly repeat one token forever or stop at once; with weights x3 and these <eos> output-bias
# shifts (seed 0) each one produces a mix of empty outputs, outputs ending with <eos> and outputs cut at the limit.
EOS_BIAS = {"rnn": 1.0, "rnn_attn": 1.5, "lstm": -0.5, "lstm_attn": 1.5, "gru": 1.5, "gru_attn": 0.5}


def tiny_model(name: str, input_feeding: bool = False, seed: int = 0, eos_bias: float | None = None) -> torch.nn.Module:
    """A random model (weights x3; eos_bias, by default EOS_BIAS[name], added to the <eos> output bias)."""
    torch.manual_seed(seed)
    cfg = ModelConfig(name=name, emb_size=16, hidden_size=32, dropout=0.0, bidirectional=True, input_feeding=input_feeding)
    model = build_model(cfg, SRC_VOCAB, TGT_VOCAB).eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(3.0)
        model.decoder.out.bias[EOS] += EOS_BIAS[name] if eos_bias is None else eos_bias
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


class PrefixTreeModel:
    """A hand-made 'model': the next-token distribution is looked up by the output prefix (the source is ignored).

    The state (1, batch, 1) holds an integer code of the prefix decoded so far (0: nothing yet, not even <bos>).
    `table` maps prefix tuples to {token: probability}; prefixes not in it use `default`.
    """

    def __init__(self, table: dict, default: dict, vocab: int = 7):
        self.table, self.default, self.vocab = table, default, vocab
        self.prefixes: list = [None]
        self.codes: dict = {}

    def code(self, prefix: tuple) -> int:
        if prefix not in self.codes:
            self.codes[prefix] = len(self.prefixes)
            self.prefixes.append(prefix)
        return self.codes[prefix]

    def encode(self, src, src_lengths):
        batch = src.size(0)
        return torch.zeros(batch, src.size(1), 1), torch.zeros(1, batch, 1), src != PAD

    def decode_step(self, prev_tokens, state, enc_states, src_mask):
        rows, codes = [], []
        for code, token in zip(state[0, :, 0].long().tolist(), prev_tokens.tolist()):
            if code == 0:
                assert token == BOS
                prefix = ()
            else:
                prefix = self.prefixes[code] + (token,)
            probs = self.table.get(prefix, self.default)
            rows.append([math.log(probs[t]) if probs.get(t, 0.0) > 0 else float("-inf") for t in range(self.vocab)])
            codes.append(self.code(prefix))
        return torch.tensor(rows), torch.tensor(codes, dtype=torch.float)[None, :, None], None


A, B, C = 4, 5, 6  # PrefixTreeModel's words (vocab 7: the specials, then A, B, C)
# beam 2 (issue 38): <eos> comes second twice, [A] at step 2 (p 0.25) and [A, <unk>] at step 3 (0.15), while the
# best hypothesis, B C A (0.45), is still live; greedy outputs [A] (0.5 then <eos> 0.5)
LIVE_BEATS_FINISHED = {
    (): {A: 0.5, B: 0.45, C: 0.05},
    (A,): {EOS: 0.5, UNK: 0.3, C: 0.2},
    (B,): {C: 1.0},
    (B, C): {A: 1.0},
    (A, UNK): {EOS: 1.0},
    (B, C, A): {EOS: 1.0},
}
# beam 2: greedy outputs A C (0.4 * 0.3), but B A and B B (0.35 * 0.55 and 0.35 * 0.45) push A C out of the beam at
# step 2, and every hypothesis after them scores below it (SPREAD: <eos> 0.3 at best)
GREEDY_PRUNED = {
    (): {A: 0.4, B: 0.35, C: 0.25},
    (A,): {C: 0.3, UNK: 0.2, A: 0.18, B: 0.17, EOS: 0.15},
    (B,): {A: 0.55, B: 0.45},
    (A, C): {EOS: 1.0},
}
SPREAD = {EOS: 0.3, UNK: 0.22, A: 0.2, B: 0.15, C: 0.13}
