"""Greedy search: agreement with a one-sentence-at-a-time reference loop, exact outputs of hand-made models,
finished sentences leaving the batch, the length limit, and attention matrices."""

from __future__ import annotations

import math

import pytest
import torch
from search_models import ZOO, StepRecorder, as_batch, limit_of, random_sentences, tiny_model

from s2s.decoding.greedy import greedy_search
from s2s.specials import BOS, EOS, PAD, UNK

A, B = 4, 5


@torch.no_grad()
def reference_greedy(model, sentence: list[int], max_len_ratio: float = 2.0):
    """The textbook loop, one sentence at a time: argmax over all tokens but <pad> and <bos> until <eos> or the limit."""
    src, lengths = as_batch([sentence])
    enc_states, state, src_mask = model.encode(src, lengths)
    prev, tokens, total, rows = BOS, [], 0.0, []
    for _ in range(limit_of(sentence, max_len_ratio)):
        log_probs, state, weights = model.decode_step(torch.tensor([prev]), state, enc_states, src_mask)
        log_probs = log_probs[0].clone()
        log_probs[[PAD, BOS]] = float("-inf")
        prev = int(log_probs.argmax())
        total += float(log_probs[prev])
        rows.append(None if weights is None else weights[0])
        if prev == EOS:
            break
        tokens.append(prev)
    return tokens, total, rows


@torch.no_grad()
def teacher_forced(model, sentence: list[int], tokens: list[int], with_eos: bool):
    """(log p(tokens [+ <eos>] | sentence), attention weights (targets, src_len) or None) by teacher forcing."""
    targets = tokens + [EOS] if with_eos else tokens
    src, lengths = as_batch([sentence])
    tgt_in = torch.tensor([[BOS] + targets[:-1]])
    log_probs = model(src, lengths, tgt_in).log_softmax(-1)[0]
    enc_states, state, src_mask = model.encode(src, lengths)
    _, _, weights = model.decoder(tgt_in, state, enc_states, src_mask)
    return float(log_probs.gather(1, torch.tensor(targets)[:, None]).sum()), None if weights is None else weights[0]


class CountdownModel:
    """A hand-made 'model': a sentence of n source tokens gets A x (n * factor) then <eos> as its likeliest output.

    The state (1, batch, 1) holds how many A's are still due; `sizes` records the rows of every decode_step call.
    """

    EMIT = {A: 0.7, B: 0.1, UNK: 0.1, EOS: 0.1}
    STOP = {EOS: 0.8, A: 0.1, UNK: 0.1}

    def __init__(self, factor: int = 1, vocab: int = 6):
        self.factor, self.vocab, self.sizes = factor, vocab, []

    def encode(self, src, src_lengths):
        batch = src.size(0)
        state = (src_lengths.float() * self.factor)[None, :, None]
        return torch.zeros(batch, src.size(1), 1), state, src != PAD

    def decode_step(self, prev_tokens, state, enc_states, src_mask):
        self.sizes.append(prev_tokens.size(0))
        assert state.size(1) == enc_states.size(0) == src_mask.size(0) == prev_tokens.size(0)
        rows = []
        for remaining in state[0, :, 0].tolist():
            probs = self.EMIT if remaining > 0 else self.STOP
            rows.append([math.log(probs[t]) if t in probs else float("-inf") for t in range(self.vocab)])
        return torch.tensor(rows), state - 1, None


@pytest.mark.parametrize("name", ZOO)
def test_batched_greedy_equals_one_sentence_at_a_time(name):
    model = tiny_model(name)
    sentences = random_sentences(10, seed=20)
    results = greedy_search(model, *as_batch(sentences))
    assert len(results) == len(sentences)
    for sentence, (tokens, score, attention) in zip(sentences, results):
        ref_tokens, ref_score, _ = reference_greedy(model, sentence)
        assert tokens == ref_tokens
        assert score == pytest.approx(ref_score, abs=1e-5)
        assert attention is None  # not asked for
        with_eos = len(tokens) < limit_of(sentence)
        assert score == pytest.approx(teacher_forced(model, sentence, tokens, with_eos)[0], abs=1e-4)
    assert any(0 < len(t) < limit_of(s) for s, (t, _, _) in zip(sentences, results))  # some end with <eos>...
    assert any(len(t) == limit_of(s) for s, (t, _, _) in zip(sentences, results))  # ...some are cut


def test_finished_sentences_leave_the_batch():
    model = CountdownModel()
    src, lengths = as_batch([[7, 8, 9], [7], [7, 8, 9, 10], [7, 8]])
    results = greedy_search(model, src, lengths)
    assert [tokens for tokens, _, _ in results] == [[A] * 3, [A], [A] * 4, [A] * 2]
    for n, (_, score, _) in zip([3, 1, 4, 2], results):
        assert score == pytest.approx(n * math.log(0.7) + math.log(0.8), abs=1e-5)
    # step 1 and 2: all four; after step 2 the 1-token sentence is done, after step 3 the 2-token one, ...
    assert model.sizes == [4, 4, 3, 2, 1]


def test_zoo_model_batch_shrinks_as_sentences_finish():
    recorder = StepRecorder(tiny_model("gru_attn"))
    sentences = random_sentences(12, seed=29)
    results = greedy_search(recorder, *as_batch(sentences))
    sizes = recorder.sizes
    assert sizes[0] == 12 and all(a >= b for a, b in zip(sizes, sizes[1:]))
    assert min(sizes) < 12
    assert len(sizes) == max(len(t) + (len(t) < limit_of(s)) for s, (t, _, _) in zip(sentences, results))
    # every sentence is decoded exactly for its own steps: rows summed over calls = output lengths incl. <eos>
    assert sum(sizes) == sum(len(t) + (len(t) < limit_of(s)) for s, (t, _, _) in zip(sentences, results))


@pytest.mark.parametrize("ratio", [0.5, 1.0, 2.0])
def test_greedy_stops_at_the_length_limit(ratio):
    model = CountdownModel(factor=100)  # would emit A for ever
    sentences = [[7, 8, 9], [7], [7, 8, 9, 10, 11]]
    results = greedy_search(model, *as_batch(sentences), max_len_ratio=ratio)
    for sentence, (tokens, score, _) in zip(sentences, results):
        limit = int(len(sentence) * ratio) + 10
        assert tokens == [A] * limit
        assert score == pytest.approx(limit * math.log(0.7), abs=1e-5)


@pytest.mark.parametrize("name", ["rnn_attn", "lstm_attn", "gru_attn"])
def test_greedy_attention_has_one_row_per_output_and_matches_teacher_forcing(name):
    model = tiny_model(name)
    sentences = random_sentences(10, seed=31)
    results = greedy_search(model, *as_batch(sentences), return_attention=True)
    ended = 0
    for sentence, (tokens, _, attention) in zip(sentences, results):
        with_eos = len(tokens) < limit_of(sentence)
        ended += with_eos
        assert attention.shape == (len(tokens) + with_eos, len(sentence))
        assert torch.allclose(attention.sum(-1), torch.ones(attention.size(0)), atol=1e-5)
        assert torch.allclose(attention, teacher_forced(model, sentence, tokens, with_eos)[1], atol=1e-4)
    assert ended >= 3


@pytest.mark.parametrize("name", ["rnn", "lstm", "gru"])
def test_greedy_attention_is_none_without_attention(name):
    model = tiny_model(name)
    for tokens, _, attention in greedy_search(model, *as_batch(random_sentences(4, seed=37)), return_attention=True):
        assert attention is None


@pytest.mark.parametrize("name", ["rnn_attn", "lstm_attn", "gru_attn"])
def test_input_fed_models_decode_batched_as_one_at_a_time(name):
    model = tiny_model(name, input_feeding=True)
    sentences = random_sentences(10, seed=21)
    for sentence, (tokens, score, _) in zip(sentences, greedy_search(model, *as_batch(sentences))):
        ref_tokens, ref_score, _ = reference_greedy(model, sentence)
        assert tokens == ref_tokens and score == pytest.approx(ref_score, abs=1e-5)
        with_eos = len(tokens) < limit_of(sentence)
        assert score == pytest.approx(teacher_forced(model, sentence, tokens, with_eos)[0], abs=1e-4)
