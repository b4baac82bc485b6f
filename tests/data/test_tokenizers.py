import numpy as np
import pytest

from s2s.data.tokenizers import SentencePieceTokenizer, build_tokenizer, same_tokenization, tokenizer_from_state
from s2s.registry import TOKENIZERS

LINES = ["Ein Hund läuft über die Wiese.", "Zwei Männer spielen Fußball im Park.", "Eine Frau liest ein Buch."] * 30


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_sentencepiece_trains_round_trips_and_restores_from_state(model_type):
    tokenizer = build_tokenizer("sentencepiece", vocab_size=60, model_type=model_type)
    tokenizer.train(LINES)
    pieces = tokenizer.tokenize("Ein Mann liest.")
    assert len(pieces) > 3 and tokenizer.detokenize(pieces) == "Ein Mann liest."
    restored = tokenizer_from_state(tokenizer.state())
    assert restored.tokenize("Ein Mann liest.") == pieces


def test_word_and_char_tokenizers_need_no_downloads():
    assert set(TOKENIZERS.names()) >= {"sentencepiece", "whitespace", "treebank", "wordpunct", "toktok", "char"}
    assert build_tokenizer("treebank").tokenize("A dog's ball.") == ["A", "dog", "'s", "ball", "."]
    assert build_tokenizer("treebank").detokenize(["A", "dog", "'s", "ball", "."]) == "A dog's ball."
    assert build_tokenizer("wordpunct").tokenize("x-ray!") == ["x", "-", "ray", "!"]
    assert build_tokenizer("toktok").tokenize("Hallo, Welt.") == ["Hallo", ",", "Welt", "."]
    char = build_tokenizer("char", lowercase=True)
    assert char.tokenize("Ab c") == ["a", "b", "▁", "c"]
    assert char.detokenize(char.tokenize("ab  c")) == "ab c"


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_sentencepiece_sampling_is_seeded_varied_and_detokenizes_to_the_text(model_type):
    tokenizer = build_tokenizer("sentencepiece", vocab_size=60, model_type=model_type)
    tokenizer.train(LINES)
    lines = LINES[:3] * 10
    first, again, other = (tokenizer.sample(lines, 0.3, seed) for seed in (7, 7, 8))
    assert first == again  # the same seed, the same segmentation
    assert first != other
    assert len({tuple(pieces) for pieces in first}) > 3  # the same three lines segmented several ways
    assert [tokenizer.detokenize(pieces) for pieces in first] == lines
    assert set().union(*first) <= set(tokenizer.pieces())  # every sampled piece has a vocabulary entry
    assert "<unk>" not in tokenizer.pieces() and "<s>" not in tokenizer.pieces()


@pytest.mark.parametrize("name", ["sentencepiece", "whitespace", "char"])
def test_tokenize_to_ids_is_tokenize_as_indices_into_a_table(name):
    tokenizer = build_tokenizer(name, **({"vocab_size": 40} if name == "sentencepiece" else {}))
    tokenizer.train(["the cat sees the dog", "a dog runs near the red house"] * 20)
    lines = ["the cat runs", "", "a red dog sees the café 日本", "日本 house"]  # é, 日, 本: not in training
    table, ids, lengths = tokenizer.tokenize_to_ids(lines)
    expected = [tokenizer.tokenize(line) for line in lines]
    assert lengths.tolist() == [len(tokens) for tokens in expected]
    flat = [table[i] for i in ids.tolist()]
    assert [flat[end - length : end] for end, length in zip(np.cumsum(lengths).tolist(), lengths.tolist())] == expected
    assert "日本" in flat or name != "sentencepiece"  # an unknown piece keeps its text


@pytest.mark.parametrize("model_type", ["bpe", "unigram"])
def test_a_sentencepiece_vocabulary_too_small_for_the_text_names_the_key_and_the_minimum(model_type):
    from s2s.errors import S2SError

    lines = ["the cat sees the dog", "a big red house near the tree"] * 20  # 15 characters + 3 special pieces
    with pytest.raises(S2SError) as error:
        build_tokenizer("sentencepiece", vocab_size=10, model_type=model_type).train(lines)
    assert str(error.value) == ("'data.vocab_size' 10 is too small for SentencePiece: the training text has characters "
                                "and special pieces that alone need 18 entries; set data.vocab_size to at least 18 "
                                "(thousands are usual, e.g. --set data.vocab_size=8000).")
    build_tokenizer("sentencepiece", vocab_size=18, model_type=model_type).train(lines)  # the minimum it named works


def train_directly(lines, **options) -> SentencePieceTokenizer:
    """A model trained with s2s's trainer settings, plus options, without s2s."""
    import io

    import sentencepiece

    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, vocab_size=60, model_type="bpe", character_coverage=1.0,
        hard_vocab_limit=False, input_sentence_size=2_000_000, shuffle_input_sentence=True, num_threads=2,
        minloglevel=2, **options)
    return SentencePieceTokenizer(vocab_size=60, model_proto=model.getvalue())


def test_a_model_without_byte_fallback_is_the_one_s2s_trained_before_it_and_cuts_alike_to_the_aa79a38_ones():
    tokenizer = build_tokenizer("sentencepiece", vocab_size=60)
    tokenizer.train(LINES)
    assert tokenizer.model_proto == train_directly(LINES).model_proto  # as before byte_fallback existed
    older = train_directly(LINES, byte_fallback=False, split_digits=False)  # as s2s from aa79a38 to 2026-12-07
    assert older.model_proto != tokenizer.model_proto  # the explicit 'off' record alone
    assert older.piece_table() == tokenizer.piece_table()
    assert same_tokenization(tokenizer, older) and same_tokenization(older, tokenizer)


def test_tokenizers_that_cut_otherwise_are_not_the_same():
    tokenizer = build_tokenizer("sentencepiece", vocab_size=60)
    tokenizer.train(LINES)
    other_text = build_tokenizer("sentencepiece", vocab_size=60)
    other_text.train(["Der Zug fährt heute nicht nach Hamburg."] * 30 + LINES[:3])
    digits = build_tokenizer("sentencepiece", vocab_size=60, split_digits=True)
    digits.train(LINES)
    lowercase = build_tokenizer("sentencepiece", vocab_size=60, lowercase=True)
    lowercase.train(LINES)
    for other in (other_text, digits, lowercase, build_tokenizer("whitespace")):
        assert not same_tokenization(tokenizer, other)
