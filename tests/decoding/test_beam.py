"""Beam search: agreement with greedy at beam 1, batch invariance, a hand-built case where beam beats greedy,
n-best scores equal to the model's teacher-forced log-probabilities, limits, specials and attention."""

from __future__ import annotations

import math

import pytest
import torch
from search_models import ZOO, StepRecorder, as_batch, limit_of, random_sentences, tiny_model

from s2s.decoding.beam import beam_search
from s2s.decoding.common import max_output_lengths
from s2s.decoding.greedy import greedy_search
from s2s.specials import BOS, EOS, PAD


def ended_with_eos(tokens: list[int], sentence: list[int], max_len_ratio: float = 2.0) -> bool:
    """A hypothesis cut by the length limit holds exactly `limit` tokens; one ended by <eos> holds fewer."""
    return len(tokens) < limit_of(sentence, max_len_ratio)


@torch.no_grad()
def teacher_forced_log_prob(model, sentence: list[int], tokens: list[int], with_eos: bool = True) -> float:
    """log p(tokens [+ <eos>] | sentence) from the model's forward pass (teacher forcing)."""
    targets = tokens + [EOS] if with_eos else tokens
    src, lengths = as_batch([sentence])
    tgt_in = torch.tensor([[BOS] + targets[:-1]])
    log_probs = model(src, lengths, tgt_in).log_softmax(-1)[0]
    return float(log_probs.gather(1, torch.tensor(targets)[:, None]).sum())


@torch.no_grad()
def teacher_forced_attention(model, sentence: list[int], tokens: list[int], with_eos: bool = True) -> torch.Tensor:
    targets = tokens + [EOS] if with_eos else tokens
    src, lengths = as_batch([sentence])
    enc_states, state, src_mask = model.encode(src, lengths)
    _, _, weights = model.decoder(torch.tensor([[BOS] + targets[:-1]]), state, enc_states, src_mask)
    return weights[0]


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


A, B, C, UNK = 4, 5, 6, 1
# greedy takes A (0.5) and then can only stop (0.3): p = 0.15; B (0.4) leads to B C <eos> with p = 0.4 * 0.9 * 0.9
GARDEN_PATH = {
    (): {EOS: 0.05, UNK: 0.02, A: 0.50, B: 0.40, C: 0.03},
    (A,): {EOS: 0.30, UNK: 0.04, A: 0.24, B: 0.22, C: 0.20},
    (B,): {EOS: 0.025, UNK: 0.025, A: 0.025, B: 0.025, C: 0.90},
    (B, C): {EOS: 0.90, UNK: 0.025, A: 0.025, B: 0.025, C: 0.025},
}
SINK = {EOS: 0.60, UNK: 0.04, A: 0.14, B: 0.12, C: 0.10}


@pytest.mark.parametrize("name", ZOO)
def test_beam_one_equals_greedy(name):
    model = tiny_model(name)
    sentences = [[5, 6, 7, 8, 9, 10, 11], [12], [13, 14, 15], [7, 7, 7, 7, 7], [4, 19, 18, 17], [16, 8]]
    src, lengths = as_batch(sentences)
    greedy = greedy_search(model, src, lengths)
    beam = beam_search(model, src, lengths, beam=1, nbest=1, length_penalty=0.0)
    assert any(tokens and ended_with_eos(tokens, s) for (tokens, _, _), s in zip(greedy, sentences))  # not all trivial
    for (tokens, score, _), hyps, sentence in zip(greedy, beam, sentences):
        assert len(hyps) == 1
        assert hyps[0].tokens == tokens
        assert hyps[0].log_prob == pytest.approx(score, abs=1e-5)
        assert hyps[0].score == pytest.approx(score, abs=1e-5)
        assert score == pytest.approx(teacher_forced_log_prob(model, sentence, tokens, ended_with_eos(tokens, sentence)),
                                      abs=1e-4)


@pytest.mark.parametrize("name", ["gru_attn", "lstm"])
def test_beam_results_do_not_depend_on_batch_size_or_order(name):
    model = tiny_model(name)
    sentences = random_sentences(64, seed=3)
    options = dict(beam=5, nbest=5, length_penalty=1.0)

    def summary(hyps):
        return [(h.tokens, h.score, h.log_prob) for h in hyps]

    reference = [summary(h) for h in beam_search(model, *as_batch(sentences), **options)]
    assert sum(len(h[0][0]) > 0 for h in reference) >= 10  # varied outputs, not all empty

    def check(indices, results):
        for i, hyps in zip(indices, results):
            got = summary(hyps)
            assert [tokens for tokens, _, _ in got] == [tokens for tokens, _, _ in reference[i]], f"sentence {i}"
            for (_, score, log_prob), (_, ref_score, ref_log_prob) in zip(got, reference[i]):
                assert score == pytest.approx(ref_score, abs=1e-4)
                assert log_prob == pytest.approx(ref_log_prob, abs=1e-4)

    for batch_size in (1, 7):
        for start in range(0, len(sentences), batch_size):
            indices = list(range(start, min(start + batch_size, len(sentences))))
            check(indices, beam_search(model, *as_batch([sentences[i] for i in indices]), **options))
    order = torch.randperm(len(sentences), generator=torch.Generator().manual_seed(5)).tolist()
    check(order, beam_search(model, *as_batch([sentences[i] for i in order]), **options))


def test_beam_finds_the_better_sequence_greedy_misses():
    model = PrefixTreeModel(GARDEN_PATH, SINK)
    src, lengths = as_batch([[7, 8, 9], [10, 11]])
    greedy = greedy_search(model, src, lengths)
    assert [(tokens, round(score, 6)) for tokens, score, _ in greedy] == [([A], round(math.log(0.5 * 0.3), 6))] * 2

    best = math.log(0.4) + math.log(0.9) + math.log(0.9)
    for beam in (2, 3):
        for hyps in beam_search(model, src, lengths, beam=beam, nbest=1, length_penalty=0.0):
            assert hyps[0].tokens == [B, C]
            assert hyps[0].log_prob == pytest.approx(best, abs=1e-6)
            assert hyps[0].score == pytest.approx(best, abs=1e-6)


def test_garden_path_nbest_lists_are_exact():
    """Beam 3: <eos> is among the 3 best at step 1 (the empty output), A <eos> at step 2, B C <eos> at step 3,
    and then the sentence holds 3 finished hypotheses and stops."""
    model = PrefixTreeModel(GARDEN_PATH, SINK)
    src, lengths = as_batch([[7, 8, 9]])
    expected = [([B, C], math.log(0.4 * 0.9 * 0.9)), ([A], math.log(0.5 * 0.3)), ([], math.log(0.05))]
    (hyps,) = beam_search(model, src, lengths, beam=3, nbest=3, length_penalty=1.0)
    assert [h.tokens for h in hyps] == [tokens for tokens, _ in expected]
    for h, (tokens, log_prob) in zip(hyps, expected):
        assert h.log_prob == pytest.approx(log_prob, abs=1e-6)
        assert h.score == pytest.approx(log_prob / (len(tokens) + 1), abs=1e-6)
    # beam 2 never keeps the empty output: <eos> is only third at step 1
    (hyps,) = beam_search(model, src, lengths, beam=2, nbest=2, length_penalty=0.0)
    assert [(h.tokens, round(h.log_prob, 6)) for h in hyps] == [(t, round(lp, 6)) for t, lp in expected[:2]]


def test_pad_and_bos_are_never_output_and_do_not_renormalise():
    """<pad> and <bos> are the likeliest tokens here; the searches skip them and keep the other log-probs as they are."""
    table = {(): {PAD: 0.3, BOS: 0.4, A: 0.2, EOS: 0.1}, (A,): {PAD: 0.5, EOS: 0.3, A: 0.2}}
    model = PrefixTreeModel(table, {EOS: 1.0})
    src, lengths = as_batch([[7, 8]])
    ((tokens, score, _),) = greedy_search(model, src, lengths)
    assert tokens == [A] and score == pytest.approx(math.log(0.2 * 0.3), abs=1e-6)
    (hyps,) = beam_search(model, src, lengths, beam=2, nbest=2, length_penalty=0.0)
    assert [(h.tokens, round(h.log_prob, 6)) for h in hyps] == [([], round(math.log(0.1), 6)),
                                                               ([A], round(math.log(0.2 * 0.3), 6))]


@pytest.mark.parametrize("name", ["gru_attn", "lstm_attn"])
def test_nbest_scores_are_the_models_log_probabilities(name):
    model = tiny_model(name)
    sentences = random_sentences(12, seed=7)
    penalty = 0.7
    results = beam_search(model, *as_batch(sentences), beam=4, nbest=4, length_penalty=penalty)
    checked_eos = checked_cut = 0
    for sentence, hyps in zip(sentences, results):
        assert len(hyps) == 4
        assert len({tuple(h.tokens) for h in hyps}) == 4  # distinct
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        for h in hyps:
            with_eos = ended_with_eos(h.tokens, sentence)
            length = len(h.tokens) + 1 if with_eos else len(h.tokens)
            assert h.log_prob == pytest.approx(teacher_forced_log_prob(model, sentence, h.tokens, with_eos), abs=1e-4)
            assert h.score == pytest.approx(h.log_prob / length ** penalty, abs=1e-5)
            if with_eos and h.tokens:
                checked_eos += 1
            checked_cut += not with_eos
    assert checked_eos >= 10 and checked_cut >= 1  # both kinds of hypothesis were really checked


@pytest.mark.parametrize("name", ["rnn_attn", "lstm", "gru"])
@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_outputs_hold_no_specials_and_respect_the_length_limit(name, ratio):
    model = tiny_model(name)
    sentences = random_sentences(16, seed=11)
    src, lengths = as_batch(sentences)
    limits = max_output_lengths(lengths, ratio).tolist()
    outputs = [[tokens] for tokens, _, _ in greedy_search(model, src, lengths, max_len_ratio=ratio)]
    beams = beam_search(model, src, lengths, beam=3, nbest=3, length_penalty=1.0, max_len_ratio=ratio)
    outputs = [o + [h.tokens for h in hyps] for o, hyps in zip(outputs, beams)]
    for limit, token_lists in zip(limits, outputs):
        for tokens in token_lists:
            assert not {EOS, PAD, BOS} & set(tokens), tokens
            assert len(tokens) <= limit
    assert any(len(t) == limit for limit, ts in zip(limits, outputs) for t in ts)  # the limit was reached
    assert any(0 < len(t) < limit for limit, ts in zip(limits, outputs) for t in ts)  # and <eos> came before it


@pytest.mark.parametrize("name", ["rnn_attn", "gru_attn", "lstm_attn"])
def test_beam_attention_has_one_row_per_output_and_matches_teacher_forcing(name):
    model = tiny_model(name)
    sentences = random_sentences(10, seed=13)
    results = beam_search(model, *as_batch(sentences), beam=3, nbest=3, return_attention=True)
    ended = 0
    for sentence, hyps in zip(sentences, results):
        for h in hyps:
            with_eos = ended_with_eos(h.tokens, sentence)
            ended += with_eos
            assert h.attention.shape == (len(h.tokens) + with_eos, len(sentence))
            assert torch.allclose(h.attention.sum(-1), torch.ones(h.attention.size(0)), atol=1e-5)
            expected = teacher_forced_attention(model, sentence, h.tokens, with_eos)
            assert torch.allclose(h.attention, expected, atol=1e-4)
    assert ended >= 5


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_beam_attention_is_none_without_attention(name):
    model = tiny_model(name)
    src, lengths = as_batch(random_sentences(4, seed=17))
    for hyps in beam_search(model, src, lengths, beam=3, nbest=2, return_attention=True):
        assert len(hyps) == 2 and all(h.attention is None for h in hyps)


def test_finished_sentences_leave_the_beam_batch():
    recorder = StepRecorder(tiny_model("gru_attn"))
    sentences = random_sentences(8, seed=19)
    beam_search(recorder, *as_batch(sentences), beam=3, nbest=1)
    sizes = recorder.sizes
    assert sizes[0] == 8 * 3 and all(size % 3 == 0 for size in sizes)
    assert all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert min(sizes) < sizes[0]
    assert len(sizes) <= max(limit_of(s) for s in sentences)
