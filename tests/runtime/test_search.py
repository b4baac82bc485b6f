"""The numpy searches of s2s.runtime against the torch ones of s2s.decoding: driven by the same tiny random models
(through an adapter that turns numpy arrays into tensors and back), they must pick the same tokens with the same
scores, including n-best lists, the n-gram guard, hypotheses cut at the length limit and attention rows; on hand-made
step models and random tiny ones, the numpy beam search's best never scores below its greedy output."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from search_models import (GREEDY_PRUNED, LIVE_BEATS_FINISHED, SPREAD, SRC_VOCAB, TGT_VOCAB, ZOO, A, B, C,
                           PrefixTreeModel, as_batch, limit_of, random_sentences, tiny_model)

from s2s.config import ModelConfig
from s2s.decoding.beam import beam_search as torch_beam_search
from s2s.decoding.common import block_repeated_ngrams as torch_block_repeated_ngrams
from s2s.decoding.common import max_output_lengths as torch_max_output_lengths
from s2s.decoding.greedy import greedy_search as torch_greedy_search
from s2s.models import build_model
from s2s.runtime.search import beam_search, block_repeated_ngrams, greedy_search, max_output_lengths, top_candidates
from s2s.specials import EOS


class TorchSteps:
    """A torch model behind the numpy step-model interface, its states as {"h", "c" (LSTM), "fed" (input feeding)}."""

    def __init__(self, model):
        self.model = model
        self.input_feeding = hasattr(model, "decoder") and model.decoder.input_feeding  # a PrefixTreeModel has none

    @torch.no_grad()
    def encode(self, src: np.ndarray, src_lengths: np.ndarray):
        enc_states, state, src_mask = self.model.encode(torch.from_numpy(src), torch.from_numpy(src_lengths))
        return enc_states.numpy(), self.flatten(state), src_mask.numpy()

    @torch.no_grad()
    def decode_step(self, prev_tokens, states, enc_states, src_mask):
        log_probs, state, weights = self.model.decode_step(torch.from_numpy(prev_tokens), self.unflatten(states),
                                                           torch.from_numpy(enc_states), torch.from_numpy(src_mask))
        return log_probs.numpy(), self.flatten(state), None if weights is None else weights.numpy()

    def flatten(self, state) -> dict:
        named = {}
        if self.input_feeding:
            state, named["fed"] = state
        rnn = dict(zip(("h", "c"), state)) if isinstance(state, tuple) else {"h": state}
        return {**{name: value.numpy() for name, value in rnn.items()}, **{name: value.numpy() for name, value in named.items()}}

    def unflatten(self, states: dict):
        tensors = {name: torch.from_numpy(value) for name, value in states.items()}
        rnn = (tensors["h"], tensors["c"]) if "c" in tensors else tensors["h"]
        return (rnn, tensors["fed"]) if self.input_feeding else rnn


MODELS = [(name, False) for name in ZOO] + [(name, True) for name in ZOO if name.endswith("_attn")]
SENTENCES = random_sentences(12, seed=1)  # lengths 1 to 6, in one padded batch


def numpy_batch(sentences):
    src, src_lengths = as_batch(sentences)
    return src.numpy(), src_lengths.numpy()


@pytest.fixture(scope="module", params=MODELS, ids=[f"{n}{'+feeding' if f else ''}" for n, f in MODELS])
def model(request):
    name, input_feeding = request.param
    return tiny_model(name, input_feeding)


@pytest.mark.parametrize("max_len_ratio, no_repeat_ngram", [(2.0, 0), (2.0, 2), (0.5, 0)])
def test_greedy_matches_torch(model, max_len_ratio, no_repeat_ngram):
    expected = torch_greedy_search(model, *as_batch(SENTENCES), max_len_ratio, True, no_repeat_ngram)
    got = greedy_search(TorchSteps(model), *numpy_batch(SENTENCES), max_len_ratio, True, no_repeat_ngram)
    assert [tokens for tokens, _, _ in got] == [tokens for tokens, _, _ in expected]
    np.testing.assert_allclose([score for _, score, _ in got], [score for _, score, _ in expected], rtol=0, atol=1e-5)
    for (_, _, attention), (_, _, expected_attention) in zip(got, expected):
        if expected_attention is None:
            assert attention is None
        else:
            np.testing.assert_allclose(attention, expected_attention.numpy(), rtol=0, atol=1e-6)


@pytest.mark.parametrize("beam, nbest, length_penalty, max_len_ratio, no_repeat_ngram", [
    (5, 3, 1.0, 2.0, 0), (5, 3, 1.0, 2.0, 2), (3, 3, 0.0, 0.5, 0), (2, 1, 0.6, 1.0, 1)])
def test_beam_matches_torch(model, beam, nbest, length_penalty, max_len_ratio, no_repeat_ngram):
    expected = torch_beam_search(model, *as_batch(SENTENCES), beam, nbest, length_penalty, max_len_ratio, True,
                                 no_repeat_ngram)
    got = beam_search(TorchSteps(model), *numpy_batch(SENTENCES), beam, nbest, length_penalty, max_len_ratio, True,
                      no_repeat_ngram)
    assert_same_hypotheses(got, expected)
    for hyps, expected_hyps in zip(got, expected):
        for h, e in zip(hyps, expected_hyps):
            if e.attention is None:
                assert h.attention is None
            else:
                np.testing.assert_allclose(h.attention, e.attention.numpy(), rtol=0, atol=1e-6)


def assert_same_hypotheses(got, expected):
    assert [[h.tokens for h in hyps] for hyps in got] == [[h.tokens for h in hyps] for hyps in expected]
    for hyps, expected_hyps in zip(got, expected):
        np.testing.assert_allclose([(h.score, h.log_prob) for h in hyps],
                                   [(h.score, h.log_prob) for h in expected_hyps], rtol=0, atol=1e-5)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_hand_made_cases_decode_as_torch(length_penalty):
    """Issue 38's case (B C A still live when beam 2 holds two worse finished hypotheses) and the greedy output that
    pruning drops (A C): the numpy search finds both, as the torch one does (tests/decoding/test_beam.py)."""
    src, src_lengths = numpy_batch([[7, 8, 9], [7]])
    for table, default, best in [(LIVE_BEATS_FINISHED, {EOS: 1.0}, ([B, C, A], math.log(0.45))),
                                 (GREEDY_PRUNED, SPREAD, ([A, C], math.log(0.12)))]:
        got = beam_search(TorchSteps(PrefixTreeModel(table, default)), src, src_lengths, 2, 2, length_penalty)
        expected = torch_beam_search(PrefixTreeModel(table, default), *as_batch([[7, 8, 9], [7]]), 2, 2, length_penalty)
        assert_same_hypotheses(got, expected)
        for hyps in got:
            assert (hyps[0].tokens, round(hyps[0].log_prob, 6)) == (best[0], round(best[1], 6))


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(ZOO), seed=st.integers(0, 10_000), eos_bias=st.floats(-1.0, 3.0), feeding=st.booleans(),
       length_penalty=st.sampled_from([0.0, 0.6, 1.0, 2.0]), beam=st.integers(2, 5), nbest_share=st.floats(0.0, 1.0),
       no_repeat_ngram=st.sampled_from([0, 2]), max_len_ratio=st.sampled_from([0.5, 2.0]),
       sentences=st.lists(st.lists(st.integers(4, SRC_VOCAB - 1), min_size=1, max_size=5), min_size=1, max_size=3))
def test_random_models_decode_as_torch_and_never_below_greedy(name, seed, eos_bias, feeding, length_penalty, beam,
                                                              nbest_share, no_repeat_ngram, max_len_ratio, sentences):
    model = tiny_model(name, feeding and name.endswith("_attn"), seed, eos_bias)
    nbest = 1 + int(nbest_share * (beam - 1))
    options = (beam, nbest, length_penalty, max_len_ratio, False, no_repeat_ngram)
    got = beam_search(TorchSteps(model), *numpy_batch(sentences), *options)
    assert_same_hypotheses(got, torch_beam_search(model, *as_batch(sentences), *options))
    limits = max_output_lengths(np.array([len(s) for s in sentences]), max_len_ratio).tolist()
    greedy = greedy_search(TorchSteps(model), *numpy_batch(sentences), max_len_ratio, False, no_repeat_ngram)
    for hyps, (tokens, log_prob, _), limit in zip(got, greedy, limits):
        assert hyps[0].score >= log_prob / min(len(tokens) + 1, limit) ** length_penalty


def test_the_comparisons_cover_outputs_cut_at_the_limit_and_ended_by_eos():
    """Over the zoo, beam 5 ends some hypotheses with <eos> and cuts others at the length limit; greedy too."""
    beam_cut = beam_ended = greedy_cut = greedy_ended = 0
    for name, input_feeding in MODELS:
        steps = TorchSteps(tiny_model(name, input_feeding))
        for sentence, hyps in zip(SENTENCES, beam_search(steps, *numpy_batch(SENTENCES), 5, 5)):
            cut = sum(len(h.tokens) == limit_of(sentence) for h in hyps)
            beam_cut, beam_ended = beam_cut + cut, beam_ended + len(hyps) - cut
        for sentence, (tokens, _, _) in zip(SENTENCES, greedy_search(steps, *numpy_batch(SENTENCES))):
            greedy_cut += len(tokens) == limit_of(sentence)
            greedy_ended += len(tokens) < limit_of(sentence)
    assert min(beam_cut, beam_ended, greedy_cut, greedy_ended) > 0, (beam_cut, beam_ended, greedy_cut, greedy_ended)


def test_length_limits_match_torch_float32_arithmetic():
    """torch multiplies the lengths by the ratio in float32: 50 * 2.3 gives 115 there, 114 in float64."""
    assert max_output_lengths(np.array([50]), 2.3).tolist() == [125] != [int(50 * 2.3) + 10]
    lengths = np.arange(1, 401)
    for ratio in (0.1, 0.3, 0.7, 1.1, 1.2, 1.3, 1.5, 1.7, 2.3, 2.9):
        expected = torch_max_output_lengths(torch.from_numpy(lengths), ratio).numpy()
        assert (max_output_lengths(lengths, ratio) == expected).all(), ratio


@pytest.mark.parametrize("n", [1, 2, 3])
def test_ngram_blocking_matches_torch(n):
    generator = np.random.default_rng(n)
    history = generator.integers(4, 8, (6, 9))
    log_probs = generator.standard_normal((6, 10)).astype(np.float32)
    expected = torch_block_repeated_ngrams(torch.from_numpy(log_probs.copy()), torch.from_numpy(history), n).numpy()
    got = block_repeated_ngrams(log_probs.copy(), history, n)
    assert (got == expected).all()
    assert np.isinf(got).sum() > 0


def test_top_candidates_are_best_first_and_ties_go_to_the_lower_index():
    candidates = np.array([[0.5, -np.inf, 2.0, 0.5, 2.0, -1.0]], np.float32)
    values, ids = top_candidates(candidates, 4)
    assert ids.tolist() == [[2, 4, 0, 3]]
    assert values.tolist() == [[2.0, 2.0, 0.5, 0.5]]


def test_a_two_layer_unidirectional_lstm_matches_torch():
    torch.manual_seed(1)
    cfg = ModelConfig(name="lstm_attn", emb_size=8, hidden_size=16, layers=2, dropout=0.0, bidirectional=False)
    model = build_model(cfg, SRC_VOCAB, TGT_VOCAB).eval()
    expected = torch_beam_search(model, *as_batch(SENTENCES), 4, 4, 1.0, 1.5, True)
    got = beam_search(TorchSteps(model), *numpy_batch(SENTENCES), 4, 4, 1.0, 1.5, True)
    assert [[h.tokens for h in hyps] for hyps in got] == [[h.tokens for h in hyps] for hyps in expected]
    np.testing.assert_allclose([h.score for hyps in got for h in hyps], [h.score for hyps in expected for h in hyps],
                               rtol=0, atol=1e-5)


def test_the_runtime_never_outputs_a_token_that_writes_a_control_character():
    """The onnx engine's translator decodes through the same rule as the torch one (BatchTranslator.search_model):
    here a step model that makes <0x0A> (id 7, a newline) the likeliest token at every step."""
    from s2s.config import DecodeConfig
    from s2s.data.tokenizers import build_tokenizer
    from s2s.data.vocab import Vocab
    from s2s.runtime.translator import OnnxTranslator

    class Newlines(TorchSteps):
        def decode_step(self, *args):
            log_probs, state, weights = super().decode_step(*args)
            log_probs[:, 7] += 50.0
            return log_probs, state, weights

    words = list("abcdefghijklmnop")
    words[3] = "<0x0A>"
    vocab = Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + words)
    translator = OnnxTranslator(Newlines(tiny_model("gru_attn")), build_tokenizer("whitespace"),
                                build_tokenizer("whitespace"), vocab, vocab, DecodeConfig(beam=1, batch_size=4))
    sources = ["a b c", "e f", "g h i j"]
    assert translator.never_output == [7]
    for beam in (1, 3):
        assert not any("<0x0A>" in text for text in translator.translate(sources, beam=beam))
    translator.never_output = []
    assert all("<0x0A>" in text for text in translator.translate(sources))  # the step model as it is: newlines
