"""The repeated n-gram guard: a hand-checked case, and no repeated n-gram in any greedy or beam output."""

import pytest
import torch
from search_models import ZOO, as_batch, random_sentences, tiny_model

from s2s.decoding.beam import beam_search
from s2s.decoding.common import block_repeated_ngrams
from s2s.decoding.greedy import greedy_search


def test_blocks_exactly_the_tokens_that_would_repeat_an_ngram():
    history = torch.tensor([[5, 6, 7, 5, 6], [5, 6, 5, 6, 5]])
    blocked = block_repeated_ngrams(torch.zeros(2, 10), history, 3)
    # row 0 ends with (5, 6), which was followed by 7: 7 is blocked. Row 1 ends with (6, 5), followed by 6 before.
    assert (blocked[0] == float("-inf")).nonzero().flatten().tolist() == [7]
    assert (blocked[1] == float("-inf")).nonzero().flatten().tolist() == [6]
    unigrams = block_repeated_ngrams(torch.zeros(1, 10), torch.tensor([[4, 9, 4]]), 1)
    assert (unigrams[0] == float("-inf")).nonzero().flatten().tolist() == [4, 9]
    short = block_repeated_ngrams(torch.zeros(1, 10), torch.tensor([[4, 4]]), 3)
    assert not torch.isinf(short).any()  # fewer tokens than n: nothing can repeat yet


def ngrams(tokens: list[int], n: int) -> list[tuple]:
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


@pytest.mark.parametrize("name", ZOO)
@pytest.mark.parametrize("n", [2, 3])
def test_no_output_repeats_an_ngram(name, n):
    model = tiny_model(name)  # random tiny models repeat tokens a lot
    src, lengths = as_batch(random_sentences(16, seed=1))
    unguarded = [h.tokens for hyps in beam_search(model, src, lengths, beam=3, nbest=3) for h in hyps]
    assert any(len(set(ngrams(t, n))) < len(ngrams(t, n)) for t in unguarded)  # the guard has work to do
    greedy = [tokens for tokens, _, _ in greedy_search(model, src, lengths, no_repeat_ngram=n)]
    beams = [h.tokens for hyps in beam_search(model, src, lengths, beam=3, nbest=3, no_repeat_ngram=n) for h in hyps]
    for tokens in greedy + beams:
        assert len(set(ngrams(tokens, n))) == len(ngrams(tokens, n))
