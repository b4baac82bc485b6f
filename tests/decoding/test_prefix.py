"""Prefix-constrained decoding: every output starts with the prefix (greedy, beam, n-best, ensembles), the scores count
the forced tokens, batches decode as single sentences do, and the text keeps the prefix as given."""

import pytest
import torch
from helpers import rounded_nbest
from search_models import as_batch, random_sentences, tiny_model

from s2s.cli import main
from s2s.config import DecodeConfig, ModelConfig
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.decoding.beam import beam_search
from s2s.decoding.common import prefix_tokens
from s2s.decoding.ensemble import Ensemble
from s2s.decoding.greedy import greedy_search
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.models import build_model


def search(model, sentences, prefixes, beam, **options):
    src, lengths = as_batch(sentences)
    prefix = prefix_tokens(prefixes)
    if beam == 1:
        return [(tokens, round(score, 4)) for tokens, score, _ in greedy_search(model, src, lengths, prefix=prefix, **options)]
    return [[(h.tokens, round(h.score, 4)) for h in hyps]
            for hyps in beam_search(model, src, lengths, beam=beam, nbest=3, prefix=prefix, **options)]


@pytest.mark.parametrize("name", ["gru_attn", "lstm", "rnn_attn"])
@pytest.mark.parametrize("beam", [1, 4])
def test_outputs_start_with_the_prefix_and_a_batch_decodes_as_single_sentences(name, beam):
    model = tiny_model(name)
    sentences = random_sentences(8, seed=4)
    prefixes = [[5, 6, 7], [], [9], [4, 4], [], [10, 11, 12, 13], [8], []]
    batched = search(model, sentences, prefixes, beam)
    assert batched == [search(model, [s], [p], beam)[0] for s, p in zip(sentences, prefixes)]
    for prefix, output in zip(prefixes, batched):
        for tokens, _ in [output] if beam == 1 else output:
            assert tokens[: len(prefix)] == prefix
    assert search(Ensemble([model, tiny_model(name)]), sentences, prefixes, beam) == batched  # two copies: the same


def test_a_prefix_longer_than_the_length_limit_is_output_whole():
    prefix = [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]  # the limit is 0.1 * 3 + 10 = 10 tokens
    for beam in (1, 3):
        output = search(tiny_model("gru_attn"), [[4, 5, 6]], [prefix], beam, max_len_ratio=0.1)[0]
        assert (output if beam == 1 else output[0])[0][:12] == prefix


def test_no_repeat_ngram_does_not_block_the_prefix():
    [(tokens, score)] = search(tiny_model("gru_attn"), [[4, 5]], [[7, 7, 7]], 1, no_repeat_ngram=1)
    assert tokens[:3] == [7, 7, 7] and score > float("-inf") and 7 not in tokens[3:]


def test_the_score_counts_the_forced_tokens(numbers_translator):
    for beam in (1, 3):
        [result] = numbers_translator.translate_detailed(["seven hundred three"], beam=beam, prefix=["acht"],
                                                         length_penalty=0.0)
        assert result.text == "acht hundert drei"
        [forced] = numbers_translator.score(["seven hundred three"], [result.text])
        assert result.score == pytest.approx(forced["log_prob"], abs=1e-4)  # log p(acht hundert drei </s> | source)


def test_prefixes_with_beam_nbest_and_batches(numbers_translator):
    lines = ["seven hundred three", "forty two", "", "nine thousand five", "sixty"] * 2
    prefixes = ["acht", "drei und", "zwei", "", "sechzig eins"] * 2
    for beam, nbest in ((1, 1), (4, 3)):
        batched = numbers_translator.translate_detailed(lines, beam=beam, nbest=nbest, prefix=prefixes, batch_size=64)
        single = [numbers_translator.translate_detailed([line], beam=beam, nbest=nbest, prefix=[prefix])[0]
                  for line, prefix in zip(lines, prefixes)]
        assert rounded_nbest(batched) == rounded_nbest(single)
        for line, prefix, translation in zip(lines, prefixes, batched):
            assert len(translation.nbest) == (nbest if line else 0)  # an empty line stays empty, prefix or not
            assert all(text.startswith(prefix) for text, _ in translation.nbest)
    # the forced (wrong) first word makes longer outputs average better: at length penalty 1 beam 4 ranks
    # "acht hundert drei und neunzig" first, above what greedy outputs
    assert "acht hundert drei" in dict(batched[0].nbest) and batched[1].text == "drei und vierzig"


def test_an_ensemble_follows_the_prefix(numbers_checkpoint):
    ensemble = Translator.from_checkpoint([numbers_checkpoint, numbers_checkpoint], device="cpu")
    assert ensemble.translate(["seven hundred three", "forty two"], prefix=["acht", ""]) == \
        ["acht hundert drei", "zwei und vierzig"]


def test_words_outside_the_vocabulary_warn_once_and_keep_their_text(numbers_translator, capsys):
    out = numbers_translator.translate(["seven hundred three", "forty two", "nine"], prefix=["Acht", "zebra und", "zebra"])
    assert out[0].startswith("Acht ") and out[1].startswith("zebra und") and out[2].startswith("zebra")
    assert "<unk>" not in " ".join(out)
    err = capsys.readouterr().err
    assert err.count("warning") == 1
    assert "the target vocabulary lacks the prefix words 'Acht', 'zebra'; the model is fed <unk> for them" in err


def test_a_subword_prefix_keeps_its_text_and_the_output_goes_on_after_it():
    torch.manual_seed(0)
    tokenizer = build_tokenizer("char")
    vocab = Vocab.build([list("abcdefghij▁")])
    model = build_model(ModelConfig(name="gru_attn", emb_size=16, hidden_size=32, dropout=0.0), len(vocab), len(vocab))
    translator = Translator(model, tokenizer, tokenizer, vocab, vocab, DecodeConfig(max_len_ratio=1.0))
    lines, prefixes = ["abc de", "fgh", "ij"], ["ab c", "  x ", "j"]
    for beam in (1, 3):
        out = translator.translate(lines, beam=beam, prefix=prefixes)
        assert out[0].startswith("ab c") and out[1].startswith("x") and out[2].startswith("j"), out
        assert out == [translator.translate([line], beam=beam, prefix=[p])[0] for line, p in zip(lines, prefixes)]


def test_one_prefix_per_line_or_a_clear_error(numbers_translator, numbers_checkpoint, tmp_path, capsys):
    with pytest.raises(S2SError, match=r"prefix has 1 entries for 2 input lines"):
        numbers_translator.translate(["one", "two"], prefix=["eins"])
    (tmp_path / "in.txt").write_text("seven hundred three\nforty two\n\n")
    (tmp_path / "prefix.txt").write_text("acht\n")
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(tmp_path / "in.txt"),
                 "--prefix", str(tmp_path / "prefix.txt")]) == 2
    assert (f"--prefix '{tmp_path / 'prefix.txt'}' has 1 lines and --input '{tmp_path / 'in.txt'}' has 3; give one "
            f"prefix line per input line") in capsys.readouterr().err
    (tmp_path / "prefix.txt").write_text("acht\n\nzwei\n")
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(tmp_path / "in.txt"),
                 "--prefix", str(tmp_path / "prefix.txt")]) == 0
    assert capsys.readouterr().out == "acht hundert drei\nzwei und vierzig\n\n"


def test_a_subword_prefix_names_the_words_whose_pieces_are_unknown(tmp_path, capsys):
    from onnx_models import make_checkpoint

    translator = Translator.from_checkpoint(make_checkpoint(tmp_path / "sp.pt", tokenizer="sentencepiece"), device="cpu")
    assert translator.tgt_tokenizer.tokenize("the zebra")[:3] == ["▁the", "▁", "z"]  # 'z': a piece it never saw
    out = translator.translate(["the cat", "a dog"], prefix=["the zebra sees", "Quiz"], beam=1)
    assert out[0].startswith("the zebra sees") and out[1].startswith("Quiz")
    assert "lacks the prefix words 'zebra', 'Quiz'; the model is fed <unk> for them" in capsys.readouterr().err


def test_a_missing_prefix_file_is_named(numbers_checkpoint, tmp_path, capsys):
    (tmp_path / "in.txt").write_text("nine\n")
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(tmp_path / "in.txt"),
                 "--prefix", str(tmp_path / "missing.txt")]) == 2
    assert f"--prefix file '{tmp_path / 'missing.txt'}' does not exist" in capsys.readouterr().err
