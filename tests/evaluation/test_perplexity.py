"""Perplexity = exp(mean negative log-likelihood per predicted token), checked by hand on a model whose next-token
distribution is fixed, sentence by sentence and as a stream."""

import math

import pytest
import torch

from s2s.config import ModelConfig
from s2s.data.token_ids import TokenIds
from s2s.evaluation.perplexity import perplexity, text_nll
from s2s.models import build_model
from s2s.specials import EOS

# the fixed next-token distribution over a 7-token vocabulary (<pad>, <unk>, <bos>, <eos>, a, b, c)
P = {EOS: 0.4, 4: 0.3, 5: 0.2, 6: 0.1}


def context_free_lm():
    """A language model that predicts P whatever it has read: its output layer has zero weights and bias log P."""
    model = build_model(ModelConfig(name="gru_lm", emb_size=4, hidden_size=8, dropout=0.0), 7, 7)
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.fill_(-1e4)  # <pad>, <unk>, <bos>: probability 0 (e^-10^4 underflows)
        for token, p in P.items():
            model.decoder.out.bias[token] = math.log(p)
    return model


SENTENCES = [[4, 5], [6], [], [4, 4, 5, 6]]  # a b | c | (empty) | a a b c


def hand_perplexity() -> tuple[float, int]:
    """Every word and every sentence's <eos> is predicted once; <bos> never is."""
    predicted = [token for sentence in SENTENCES for token in sentence + [EOS]]
    nll = -sum(math.log(P[token]) for token in predicted)
    return nll, len(predicted)


@pytest.mark.parametrize("bptt, batch_tokens", [(0, 4000), (0, 6), (3, 4000), (100, 4000)],
                         ids=["sentences", "sentences-small-batches", "stream-bptt3", "stream-one-window"])
def test_perplexity_is_exp_of_the_mean_nll_over_words_and_eos(bptt, batch_tokens):
    nll, tokens = text_nll(context_free_lm(), TokenIds.from_lists(SENTENCES, 7), bptt=bptt, batch_tokens=batch_tokens)
    expected_nll, expected_tokens = hand_perplexity()
    assert tokens == expected_tokens == 11
    assert nll == pytest.approx(expected_nll, rel=1e-5)
    assert perplexity(nll, tokens) == pytest.approx(math.exp(expected_nll / 11), rel=1e-5)


def test_perplexity_of_a_uniform_guess_is_the_vocabulary_size():
    assert perplexity(10 * math.log(7), 10) == pytest.approx(7.0)
    assert perplexity(1e6, 1) == math.inf
