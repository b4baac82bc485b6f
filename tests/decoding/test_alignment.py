"""Word alignments from attention: pieces merged into words by hand-made matrices, and a trained model of the number
task, whose alignment is known, aligning as the words correspond."""

import pytest
import torch
from search_models import tiny_model

from s2s.cli import main
from s2s.config import DecodeConfig
from s2s.data.numbers import english, german
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.decoding.alignment import pharaoh, word_alignment, word_ids
from s2s.decoding.translator import Translator
from s2s.errors import S2SError


def test_word_tokenizers_make_each_token_a_word():
    assert word_ids(["forty", "two", "."], subword=False) == [0, 1, 2]


def test_sentencepiece_pieces_join_the_word_their_first_piece_starts():
    pieces = ["▁Ein", "▁Hu", "nd", "▁", "läuft", "."]
    assert word_ids(pieces, subword=True) == [0, 1, 1, 2, 2, 2]


def test_char_pieces_split_at_spaces_and_a_space_alone_is_no_word():
    assert word_ids(list("ab▁c▁"), subword=True) == [0, 0, 1, 1, None]
    assert word_ids(["x", "▁", "▁", "y"], subword=True) == [0, None, 1, 1]


def test_a_target_word_goes_to_the_source_word_with_the_most_attention_over_all_pieces():
    # source words: 0 = "▁New", 1 = "▁Yor" + "k"; target words: 0 = "▁Neu" + "en", 1 = "▁York"; last row: </s>
    attention = [[0.6, 0.2, 0.2],  # the largest single weight is on source word 0 ...
                 [0.1, 0.45, 0.45],  # ... but word 1's pieces hold 0.4 + 0.9 of the two rows, word 0 only 0.7
                 [0.55, 0.25, 0.2],  # "▁York": 0.55 on word 0, 0.45 on word 1
                 [1.0, 0.0, 0.0]]  # </s> is no word
    src_words, out_words = word_ids(["▁New", "▁Yor", "k"], True), word_ids(["▁Neu", "en", "▁York"], True)
    assert word_alignment(attention, src_words, out_words) == [(1, 0), (0, 1)]
    assert word_alignment(torch.tensor(attention), src_words, out_words) == [(1, 0), (0, 1)]  # a tensor too


def test_a_tie_goes_to_the_first_source_word_and_pharaoh_writes_i_j_pairs():
    pairs = word_alignment([[0.5, 0.5], [0.2, 0.8]], [0, 1], [0, 1])
    assert pairs == [(0, 0), (1, 1)]
    assert pharaoh(pairs) == "0-0 1-1" and pharaoh([]) == ""


MONOTONE = [n for n in range(200, 10000, 13) if n % 100 < 20 and n % 100 != 1 and n % 1000 // 100 > 1
            and not 1000 <= n < 2000]  # German says these words in the English order: "vier tausend zwei hundert drei"


def test_a_trained_model_aligns_the_number_task_word_for_word(numbers_translator):
    results = numbers_translator.translate_detailed([english(n) for n in MONOTONE], return_alignment=True)
    right = [(n, r) for n, r in zip(MONOTONE, results) if r.text == german(n)]
    assert len(right) >= 0.8 * len(MONOTONE)  # the model translates; where it is right, the alignment is diagonal
    for n, result in right:
        assert result.alignment == [(i, i) for i in range(len(english(n).split()))], (english(n), result.alignment)
    [reordered] = numbers_translator.translate_detailed(["forty two"], return_alignment=True)
    assert reordered.text == "zwei und vierzig"
    assert {(1, 0), (0, 2)} <= set(reordered.alignment)  # zwei <- two, vierzig <- forty


def test_every_nbest_entry_has_its_alignment_and_an_empty_line_has_none(numbers_translator):
    results = numbers_translator.translate_detailed(["seven hundred three", ""], beam=3, nbest=3, return_alignment=True)
    assert len(results[0].nbest_alignments) == 3 and results[0].alignment == results[0].nbest_alignments[0]
    assert results[0].alignment == [(0, 0), (1, 1), (2, 2)]
    assert results[0].attention is None  # asked for alignments, not for the attention
    assert results[1].alignment == [] and results[1].nbest_alignments == [[]]


def test_a_model_without_attention_has_no_alignment():
    tokenizer = build_tokenizer("whitespace")
    vocab = Vocab.build([[str(i) for i in range(16)]])
    translator = Translator(tiny_model("gru"), tokenizer, tokenizer, vocab, vocab, DecodeConfig(beam=1))
    with pytest.raises(S2SError, match="come from the attention, and this model has none"):
        translator.translate_detailed(["1 2"], return_alignment=True)


def test_translate_writes_one_alignment_line_per_output_line(numbers_checkpoint, tmp_path):
    (tmp_path / "in.txt").write_text("seven hundred three\n\nforty two\n")
    out, alignments = tmp_path / "out.txt", tmp_path / "align.txt"
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(tmp_path / "in.txt"),
                 "--output", str(out), "--alignments", str(alignments)]) == 0
    assert out.read_text().splitlines() == ["sieben hundert drei", "", "zwei und vierzig"]
    assert alignments.read_text() == "0-0 1-1 2-2\n\n1-0 0-1 0-2\n"
    assert main(["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(tmp_path / "in.txt"),
                 "--output", str(out), "--alignments", str(alignments), "--beam", "2", "--nbest", "2"]) == 0
    assert len(alignments.read_text().splitlines()) == len(out.read_text().splitlines()) == 5  # one per hypothesis


def test_the_alignments_file_may_not_overwrite_an_input_or_the_output(numbers_checkpoint, tmp_path, capsys):
    source = tmp_path / "in.txt"
    source.write_text("nine\n")
    translate = ["translate", "--checkpoint", str(numbers_checkpoint), "--input", str(source)]
    assert main(translate + ["--alignments", str(source)]) == 2
    assert f"--alignments '{source}' is --input '{source}', an input of this command" in capsys.readouterr().err
    assert main(translate + ["--output", str(tmp_path / "o"), "--alignments", str(tmp_path / "o")]) == 2
    assert "are the same file; give each its own" in capsys.readouterr().err
    assert source.read_text() == "nine\n"
