"""Translator: line alignment, odd input, streaming, the Python API."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2s import Translator
from s2s.config import DecodeConfig, ModelConfig
from s2s.data.tokenizers import build_tokenizer
from s2s.data.vocab import Vocab
from s2s.errors import S2SError
from s2s.models import build_model


@pytest.fixture(scope="module")
def translator():
    torch.manual_seed(0)
    tokenizer = build_tokenizer("char")
    vocab = Vocab.build([list("abcdefghijklmnopqrstuvwxyzäöü▁.,")])
    model = build_model(ModelConfig(name="gru_attn", emb_size=16, hidden_size=32, dropout=0.0), len(vocab), len(vocab))
    return Translator(model, tokenizer, tokenizer, vocab, vocab, DecodeConfig(max_len_ratio=1.0), max_input_tokens=50)


def test_one_output_per_input_and_empty_stays_empty(translator):
    lines = ["abc", "", "   ", "zzz zz", "\t", "a" * 5]
    out = translator.translate(lines, beam=3)
    assert len(out) == len(lines)
    assert out[1] == "" and out[2] == "" and out[4] == ""
    assert all("\n" not in line for line in out)


def test_long_lines_are_capped_with_a_warning(translator, capsys):
    out = translator.translate(["ab" * 200, "abc"])
    assert len(out) == 2
    assert "line 1 has 400 tokens; translating only the first 50" in capsys.readouterr().err


def test_batch_size_and_order_do_not_change_translations(translator):
    lines = ["abc def", "ghi", "jklmn opq", "r", "stu vwx yz", "äöü"] * 3
    reference = translator.translate(lines, beam=4, batch_size=64)
    assert translator.translate(lines, beam=4, batch_size=1) == reference
    assert translator.translate(lines, beam=4, batch_size=7) == reference
    assert translator.translate(lines[::-1], beam=4, batch_size=5) == reference[::-1]


def test_stream_matches_list(translator):
    lines = ["abc\n", "\n", "de\n", "fgh\n"] * 5
    streamed = [t.text for t in translator.translate_stream(iter(lines), chunk_size=3)]
    assert streamed == translator.translate([line.rstrip("\n") for line in lines])


def test_nbest_and_attention_details(translator):
    [result] = translator.translate_detailed(["abc"], beam=4, nbest=3, return_attention=True)
    assert len(result.nbest) == 3 and result.nbest[0] == (result.text, result.score)
    assert [s for _, s in result.nbest] == sorted((s for _, s in result.nbest), reverse=True)
    assert result.attention.shape[1] == 3  # three source characters


@pytest.mark.parametrize("options, shown", [
    ({"beam": 2, "nbest": 3}, "decoding option nbest (3) cannot exceed beam (2)"),
    ({"beam": 0}, "decoding option beam must be >= 1, got 0"),  # a falsy value is refused, not replaced by the default
    ({"nbest": 0}, "decoding option nbest must be >= 1, got 0"),
    ({"batch_size": 0}, "decoding option batch_size must be >= 1, got 0"),
    ({"max_len_ratio": 0.0}, "decoding option max_len_ratio must be > 0, got 0.0"),
    ({"length_penalty": -0.5}, "decoding option length_penalty must be >= 0, got -0.5"),
    ({"no_repeat_ngram": -1}, "decoding option no_repeat_ngram must be >= 0, got -1"),
    ({"length_penalty": float("nan")}, "decoding option length_penalty must be a finite number, got nan"),
    ({"max_len_ratio": float("inf")}, "decoding option max_len_ratio must be a finite number, got inf"),
    ({"beam": 2.5}, "decoding option beam must be an integer, got 2.5"),
    ({"beam": True}, "decoding option beam must be an integer, got True"),
    ({"beam": 100_000}, "decoding option beam must be <= 1000, got 100000"),
    ({"nbest": 5000, "beam": 5000}, "decoding option beam must be <= 1000, got 5000"),
    ({"beam": 999}, "decoding option beam 999 is larger than the target vocabulary"),
    ({"max_len_ratio": 1e9}, "decoding option max_len_ratio must be <= 100.0, got 1000000000.0"),
])
def test_bad_decoding_options_are_clear_errors(translator, options, shown):
    with pytest.raises(S2SError) as error:
        translator.translate(["abc"], **options)
    assert shown in str(error.value)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.text(max_size=30), max_size=6))
def test_random_unicode_never_crashes_and_keeps_alignment(translator, lines):
    lines = [line.replace("\n", " ").replace("\r", " ") for line in lines]
    if any("\x00" in line for line in lines):  # no text: refused by name (tests/test_api_inputs.py), as the CLI does
        with pytest.raises(S2SError, match=r"^Translator.translate: lines\[\d+\] contains a NUL character"):
            translator.translate(lines)
        return
    out = translator.translate(lines)
    assert len(out) == len(lines)
    assert all("\n" not in line and "\r" not in line for line in out)


def test_attention_rows_end_with_eos_only_when_the_output_ended():
    from s2s.decoding.translator import Translation

    ended = Translation("a b", out_tokens=["a", "b"], attention=torch.rand(3, 4))
    cut = Translation("a b", out_tokens=["a", "b"], attention=torch.rand(2, 4))
    assert ended.attention_rows() == ["a", "b", "</s>"] and cut.attention_rows() == ["a", "b"]


@pytest.mark.parametrize("tokens, expected", [
    (["▁Wie", "▁geht", "?"], (0, 8)),
    (["▁", "<0xD0>", "<0x9F>", "<0xD1>", "<0x80>", "!"], (2, 3)),  # "Пр!": two 2-byte characters
    (["▁Ich", "▁", "<0xF0>", "<0x9F>", "<0x8D>", "<0x95>"], (1, 4)),  # one 4-byte emoji
    (["<0x41>", "▁<0x42>"], (1, 7)),  # a byte piece for "A"; a piece that only looks like one is 6 characters
    ([], (0, 0)),
])
def test_byte_spelled_counts_the_characters_fed_as_bytes(tokens, expected):
    from s2s.decoding.translation import byte_spelled

    assert byte_spelled(tokens) == expected
