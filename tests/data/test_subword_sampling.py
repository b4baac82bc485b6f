"""Subword regularization in the corpus: sampled sides change every epoch, the vocabulary covers every piece."""

import pytest
from helpers import tiny_config_dict

from s2s.config import config_from_dict
from s2s.data.corpus import build_corpus, sampled_training_ids
from s2s.errors import S2SError
from s2s.specials import UNK


def corpus_with(tmp_path, **data):
    raw = tiny_config_dict(tmp_path, data={"tokenizer": "sentencepiece", "vocab_size": 80, "subword_alpha": 0.2, **data})
    config = config_from_dict(raw)
    return build_corpus(config.data, log=lambda message: None), config.data


@pytest.mark.parametrize("sides", ["src", "tgt", "both"])
def test_only_the_named_sides_are_resampled(tmp_path, sides):
    corpus, data = corpus_with(tmp_path, subword_sides=sides)
    split = corpus.splits["train"]
    src_ids, tgt_ids = sampled_training_ids(corpus, data, seed=1)
    assert (src_ids != split.src_ids) == (sides in ("src", "both"))
    assert (tgt_ids != split.tgt_ids) == (sides in ("tgt", "both"))
    assert sampled_training_ids(corpus, data, seed=1) == (src_ids, tgt_ids)
    assert all(UNK not in ids for ids in [*src_ids, *tgt_ids])  # sampled pieces are all in the vocabularies


def test_sampled_sides_get_every_piece_and_the_others_the_seen_tokens(tmp_path):
    corpus, _ = corpus_with(tmp_path, subword_sides="src")
    assert corpus.src_vocab.tokens[4:] == corpus.src_tokenizer.pieces()
    seen = {token for sentence in corpus.splits["train"].tgt_ids for token in sentence}
    assert len(corpus.tgt_vocab) == len(seen) + 4  # deterministic side: only tokens seen in training


def test_validation_and_test_stay_deterministic(tmp_path):
    corpus, _ = corpus_with(tmp_path, subword_sides="both")
    valid = corpus.splits["valid"]
    assert valid.src_ids == [corpus.src_vocab.encode(corpus.src_tokenizer.tokenize(line)) for line in valid.src_text]


def test_sampling_needs_sentencepiece(tmp_path):
    raw = tiny_config_dict(tmp_path, data={"subword_alpha": 0.1})  # whitespace tokenizer
    with pytest.raises(S2SError, match="'data.subword_alpha' samples SentencePiece segmentations.*data.tokenizer: sentencepiece"):
        config_from_dict(raw)
    with pytest.raises(S2SError, match="'data.subword_sides' is 'source'; choose one of both, src, tgt"):
        config_from_dict(tiny_config_dict(tmp_path, data={"subword_sides": "source"}))
