"""Forced decoding (Translator.score): the scores are the training loss's log-probabilities, batching and order do not
change them, an ensemble scores the mean of its members' log-probabilities, and search's own scores come back."""

import pytest
import torch
from search_models import SRC_VOCAB, tiny_model

from s2s.config import DecodeConfig
from s2s.data.batching import make_batch
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.decoding.ensemble import Ensemble
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.training.loss import model_loss

WORDS = list("abcdefghijklmnop")  # 16 words + 4 specials: the tiny models' 20 ids
SOURCES = ["a b c", "d e f g h i", "j", "k l m n", "o p a b c d e f", "c c c", "p o n", "b"]
TARGETS = ["b c", "e f g h i j k", "", "l m n o", "a", "d d d d", "n o p a b", "f g"]


def translator_of(model) -> Translator:
    tokenizer, vocab = build_tokenizer("whitespace"), Vocab(["<pad>", "<unk>", "<bos>", "<eos>"] + WORDS)
    assert len(vocab) == SRC_VOCAB
    return Translator(model, tokenizer, tokenizer, vocab, vocab, DecodeConfig(batch_size=3))


@pytest.mark.parametrize("name, feeding", [("gru_attn", False), ("lstm_attn", True), ("rnn", False), ("lstm", False)])
def test_the_token_weighted_mean_is_the_training_loss_without_label_smoothing(name, feeding):
    model = tiny_model(name, input_feeding=feeding)
    translator = translator_of(model)
    scores = translator.score(SOURCES, TARGETS)
    vocab = translator.src_vocab
    batch = make_batch([vocab.encode(s.split()) for s in SOURCES], [vocab.encode(t.split()) for t in TARGETS],
                       range(len(SOURCES)))
    with torch.no_grad():
        loss = float(model_loss(model, model, batch, label_smoothing=0.0))  # the fused output layer + loss, summed
    assert sum(s["tokens"] for s in scores) == batch.num_tokens == 33  # 25 words and 8 </s>
    mean = sum(s["log_prob"] for s in scores) / batch.num_tokens
    assert mean == pytest.approx(-loss / batch.num_tokens, abs=1e-5)
    assert [s["tokens"] for s in scores] == [len(t.split()) + 1 for t in TARGETS]
    assert all(s["mean"] == pytest.approx(s["log_prob"] / s["tokens"], abs=1e-12) for s in scores)


def test_batch_size_and_order_do_not_change_the_scores():
    translator = translator_of(tiny_model("gru_attn"))
    reference = [s["log_prob"] for s in translator.score(SOURCES, TARGETS, batch_size=1)]
    for batch_size in (2, 3, 64):
        scores = [s["log_prob"] for s in translator.score(SOURCES, TARGETS, batch_size=batch_size)]
        assert scores == pytest.approx(reference, abs=1e-5)
    backwards = [s["log_prob"] for s in translator.score(SOURCES[::-1], TARGETS[::-1], batch_size=5)]
    assert backwards == pytest.approx(reference[::-1], abs=1e-5)


def test_an_ensemble_scores_the_mean_of_its_members_log_probabilities():
    first, second = tiny_model("gru_attn"), tiny_model("lstm")
    alone = [translator_of(m).score(SOURCES, TARGETS) for m in (first, second)]
    pair = translator_of(Ensemble([first, second])).score(SOURCES, TARGETS)
    expected = [(a["log_prob"] + b["log_prob"]) / 2 for a, b in zip(*alone)]
    assert [s["log_prob"] for s in pair] == pytest.approx(expected, abs=1e-5)
    twice = translator_of(Ensemble([first, tiny_model("gru_attn")])).score(SOURCES, TARGETS)
    assert [s["log_prob"] for s in twice] == pytest.approx([s["log_prob"] for s in alone[0]], abs=1e-6)


@pytest.mark.parametrize("name, beam", [("gru_attn", 1), ("rnn_attn", 1), ("lstm_attn", 4)])
def test_a_translation_scores_the_log_probability_search_gave_it(name, beam):
    translator = translator_of(tiny_model(name))
    # length penalty 0: at 1, beam search ranks these random models' outputs cut at the limit first
    results = translator.translate_detailed(SOURCES, beam=beam, length_penalty=0.0)
    ended = [(src, t) for src, t in zip(SOURCES, results) if len(t.out_tokens) + 1 < 2 * len(src.split()) + 10]
    assert len(ended) >= 3  # outputs that ended with </s> (not cut at the length limit), empty ones included
    scores = translator.score([src for src, _ in ended], [t.text for _, t in ended])
    assert [s["log_prob"] for s in scores] == pytest.approx([t.log_prob for _, t in ended], abs=1e-5)


def test_an_empty_target_scores_the_end_of_sentence_alone():
    translator = translator_of(tiny_model("gru_attn"))
    [empty] = translator.score(["a b c"], [""])
    model = translator.model
    src = torch.tensor([translator.src_vocab.encode(["a", "b", "c"])])
    with torch.no_grad():
        enc_states, state, mask = model.encode(src, torch.tensor([3]))
        log_probs, _, _ = model.decode_step(torch.tensor([2]), state, enc_states, mask)  # after <bos>
    assert empty["tokens"] == 1 and empty["log_prob"] == pytest.approx(float(log_probs[0, 3]), abs=1e-6)  # p(</s>)


def test_empty_sources_unequal_counts_and_bad_batch_sizes_are_refused():
    translator = translator_of(tiny_model("gru_attn"))
    with pytest.raises(S2SError, match="source line 2 is empty"):
        translator.score(["a", "  ", "b"], ["a", "b", "c"])
    with pytest.raises(S2SError, match="3 source lines but 2 target lines"):
        translator.score(["a", "b", "c"], ["a", "b"])
    with pytest.raises(S2SError, match="batch_size must be >= 1, got 0"):
        translator.score(["a"], ["b"], batch_size=0)


def test_unknown_target_words_are_scored_as_unk_with_a_warning(capsys):
    translator = translator_of(tiny_model("gru_attn"))
    translator.score(["a", "b", "c"], ["a", "zebra", "q"])
    assert "2 target lines (first: line 2) hold tokens outside the model's vocabulary" in capsys.readouterr().err
