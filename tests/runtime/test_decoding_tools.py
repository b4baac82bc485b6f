"""The onnx engine and the decoding tools (docs/decoding_tools.md): word alignments as the torch engine gives them,
greedy 'samples' at temperature 0, and prefixes and sampling refused by name."""

from __future__ import annotations

import pytest
from onnx_models import SOURCES

from s2s.cli import main
from s2s.decoding.translator import Translator
from s2s.errors import S2SError
from s2s.runtime import OnnxTranslator

LINES = SOURCES + [""]


@pytest.mark.parametrize("tokenizer", ["whitespace", "sentencepiece"])
def test_alignments_are_the_torch_engines(exported, tokenizer):
    checkpoint, folder = exported("gru_attn", tokenizer=tokenizer)
    onnx, torch_engine = OnnxTranslator.from_export(folder, threads=1), Translator.from_checkpoint(checkpoint, device="cpu")
    for options in ({"beam": 1}, {"beam": 3, "nbest": 2}):
        expected = torch_engine.translate_detailed(LINES, return_alignment=True, **options)
        got = onnx.translate_detailed(LINES, return_alignment=True, **options)
        assert [t.nbest_alignments for t in got] == [t.nbest_alignments for t in expected]
        assert any(t.alignment for t in expected)


def test_temperature_zero_samples_are_greedy_on_the_onnx_engine(exported):
    _, folder = exported("gru_attn")
    onnx = OnnxTranslator.from_export(folder, threads=1)
    greedy = onnx.translate(LINES, beam=1)
    samples = onnx.translate_detailed(LINES, sample=2, temperature=0)
    assert [[text for text, _ in t.nbest] for t in samples] == [[text] * 2 if line else [] for text, line in zip(greedy, LINES)]


@pytest.mark.parametrize("options, flag", [({"prefix": ["a"] * len(LINES)}, "--prefix"), ({"sample": 2}, "--sample")])
def test_prefixes_and_sampling_are_refused_by_name(exported, options, flag):
    _, folder = exported("gru_attn")
    with pytest.raises(S2SError) as error:
        OnnxTranslator.from_export(folder, threads=1).translate(LINES, **options)
    assert str(error.value).startswith(f"{flag} ({flag[2:]}= in the Python API): the onnx engine does not ")
    assert f"use --engine torch (s2s.Translator) for {flag}" in str(error.value)


def test_translate_refuses_them_before_writing(exported, tmp_path, capsys):
    _, folder = exported("gru_attn")
    (tmp_path / "in.txt").write_text("the cat\n")
    (tmp_path / "prefix.txt").write_text("a\n")
    out = tmp_path / "out.txt"
    assert main(["translate", "--engine", "onnx", "--checkpoint", str(folder), "--input", str(tmp_path / "in.txt"),
                 "--prefix", str(tmp_path / "prefix.txt"), "--output", str(out)]) == 2
    assert "--prefix (prefix= in the Python API): the onnx engine does not" in capsys.readouterr().err
    assert not out.exists()
