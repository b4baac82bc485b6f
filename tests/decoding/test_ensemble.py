"""Ensembles: one member decodes exactly as the model alone, two identical members too, and a step's scores are
the mean of the members' log-probabilities."""

import pytest
import torch
from search_models import as_batch, random_sentences, tiny_model

from s2s.decoding.beam import beam_search
from s2s.decoding.ensemble import Ensemble
from s2s.decoding.greedy import greedy_search
from s2s.specials import BOS


def outputs(model, sentences, beam):
    src, lengths = as_batch(sentences)
    if beam == 1:
        return [(tokens, round(score, 4)) for tokens, score, _ in greedy_search(model, src, lengths)]
    return [[(h.tokens, round(h.score, 4)) for h in hyps] for hyps in beam_search(model, src, lengths, beam=beam, nbest=3)]


@pytest.mark.parametrize("name", ["gru_attn", "lstm_attn", "rnn"])
@pytest.mark.parametrize("beam", [1, 4])
def test_an_ensemble_of_one_or_of_two_copies_decodes_like_the_model(name, beam):
    model = tiny_model(name)
    sentences = random_sentences(7, seed=3)
    alone = outputs(model, sentences, beam)
    assert outputs(Ensemble([model]), sentences, beam) == alone
    assert outputs(Ensemble([model, tiny_model(name)]), sentences, beam) == alone


def test_a_step_averages_the_members_log_probabilities():
    first, second = tiny_model("gru_attn"), tiny_model("lstm")  # different cells, one without attention
    src, lengths = as_batch(random_sentences(4, seed=5))
    prev = torch.full((4,), BOS)
    expected, weights = [], None
    for model in (first, second):
        enc_states, state, mask = model.encode(src, lengths)
        log_probs, _, member_weights = model.decode_step(prev, state, enc_states, mask)
        expected.append(log_probs)
        weights = member_weights if member_weights is not None else weights
    ensemble = Ensemble([first, second])
    enc_states, states, mask = ensemble.encode(src, lengths)
    log_probs, new_states, mean_weights = ensemble.decode_step(prev, states, enc_states, mask)
    assert torch.allclose(log_probs, (expected[0] + expected[1]) / 2)
    assert torch.allclose(mean_weights, weights)  # the mean over the members that have attention
    assert len(new_states) == 2 and isinstance(new_states[1], tuple)  # the LSTM member keeps its (h, c)


def test_ensembles_of_different_models_decode_with_beam_and_greedy():
    fed = tiny_model("lstm_attn", input_feeding=True)  # its state nests: ((h, c), fed attentional state)
    ensemble = Ensemble([tiny_model("gru_attn"), tiny_model("lstm_attn"), fed])
    sentences = random_sentences(6, seed=9)
    src, lengths = as_batch(sentences)
    assert len(greedy_search(ensemble, src, lengths)) == 6
    hyps = beam_search(ensemble, src, lengths, beam=3, nbest=2, return_attention=True)
    assert [len(h) for h in hyps] == [2] * 6
