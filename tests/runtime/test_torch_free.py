"""The onnx engine without torch: the Python API and `s2s translate / evaluate --engine onnx` in processes where
importing torch fails, giving the torch engine's translations; the CLI's checks of --engine onnx's flags."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from onnx_models import SOURCES

from s2s.cli import main
from s2s.decoding.translator import Translator
from s2s.models import count_parameters

LINES = SOURCES + ["", "cat cat cat dog the the"]
NO_TORCH = """
import os, sys
sys.modules["torch"] = None  # any import of torch now fails
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core: onnxruntime's default threads
"""


def run_without_torch(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", NO_TORCH + textwrap.dedent(code), *args], capture_output=True,
                          text=True, timeout=300)


def test_the_python_api_translates_without_torch_as_the_torch_engine(exported):
    checkpoint, folder = exported("lstm_attn", tokenizer="sentencepiece")
    result = run_without_torch("""
        import json
        from s2s.runtime import OnnxTranslator
        translator = OnnxTranslator.from_export(sys.argv[1])
        lines = json.loads(sys.argv[2])
        print(json.dumps([[[t.text, t.score] for t in translator.translate_detailed(lines, beam=beam, nbest=2)]
                          for beam in (2, 4)]))
        assert sys.modules["torch"] is None and "s2s.models" not in sys.modules
    """, str(folder), json.dumps(LINES))
    assert result.returncode == 0, result.stderr
    torch_engine = Translator.from_checkpoint(checkpoint, device="cpu")
    for got, beam in zip(json.loads(result.stdout), (2, 4)):
        expected = torch_engine.translate_detailed(LINES, beam=beam, nbest=2)
        assert [text for text, _ in got] == [t.text for t in expected]
        assert [score for _, score in got] == pytest.approx([t.score for t in expected], abs=1e-4)


def test_s2s_translate_and_evaluate_run_without_torch(exported, tmp_path, capsys):
    checkpoint, folder = exported("gru_attn")
    source, reference = tmp_path / "src.txt", tmp_path / "ref.txt"
    source.write_text("\n".join(LINES) + "\n")
    reference.write_text("\n".join(reversed(LINES)) + "\n")
    translate = ["translate", "--input", str(source), "--beam", "3"]
    result = run_without_torch("from s2s.cli import main; sys.exit(main(sys.argv[1:]))",
                               *translate, "--engine", "onnx", "--checkpoint", str(folder))
    assert result.returncode == 0, result.stderr
    assert main([*translate, "--checkpoint", str(checkpoint), "--device", "cpu"]) == 0
    assert result.stdout == capsys.readouterr().out
    assert len(result.stdout.splitlines()) == len(LINES)

    report = tmp_path / "report.json"
    result = run_without_torch("from s2s.cli import main; sys.exit(main(sys.argv[1:]))", "evaluate", "--engine", "onnx",
                               "--checkpoint", str(folder), "--src", str(source), "--ref", str(reference),
                               "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert "| BLEU |" in result.stdout
    written = json.loads(report.read_text())
    assert written["checkpoint"] == str(folder) and written["step"] == 7
    assert written["parameters"] == count_parameters(Translator.from_checkpoint(checkpoint, device="cpu").model)


@pytest.mark.parametrize("command", [["zoo"], ["translate", "--checkpoint", "run"]])
def test_commands_that_need_torch_say_so_without_it(command):
    result = run_without_torch("from s2s.cli import main; sys.exit(main(sys.argv[1:]))", *command)
    assert result.returncode == 2
    assert f"s2s {command[0]}: error: s2s {command[0]} needs torch, which is not installed: pip install torch==2.13.0" \
        in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flags, message", [
    (["--precision", "bf16"], "--engine onnx runs --precision fp32 or int8, not bf16"),
    (["--precision", "int8-linear"], "--engine onnx runs --precision fp32 or int8, not int8-linear"),
    (["--device", "cuda"], "--engine onnx runs on the CPU; drop --device cuda, or use --engine torch."),
])
def test_onnx_engine_flags_are_checked(exported, capsys, flags, message):
    _, folder = exported("gru_attn")
    assert main(["translate", "--engine", "onnx", "--checkpoint", str(folder), *flags]) == 2
    assert f"s2s translate: error: {message}" in capsys.readouterr().err


def test_onnx_engine_refuses_a_checkpoint_and_a_language_model_text(exported, capsys, tmp_path):
    checkpoint, folder = exported("gru_attn")
    assert main(["translate", "--engine", "onnx", "--checkpoint", str(checkpoint)]) == 2
    assert "is a file, not an ONNX export folder" in capsys.readouterr().err
    assert main(["evaluate", "--engine", "onnx", "--checkpoint", str(folder), "--text", str(tmp_path / "t.txt")]) == 2
    assert "--text scores a language model, which the torch engine runs; drop --engine onnx." in capsys.readouterr().err


def test_int8_and_an_ensemble_from_the_command_line(exported, tmp_path, capsys):
    _, first = exported("gru_attn")
    _, second = exported("gru_attn", seed=1)
    source = tmp_path / "src.txt"
    source.write_text("\n".join(LINES) + "\n")
    assert main(["translate", "--engine", "onnx", "--checkpoint", str(first), str(second), "--input", str(source),
                 "--precision", "int8", "--nbest", "2", "--beam", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 * len(LINES) - 1  # Moses n-best: two per line, one for the empty line
    assert out[0].startswith("0 ||| ")
