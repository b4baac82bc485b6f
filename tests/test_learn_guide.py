"""docs/learn.md stays true: every command of its ```bash blocks runs (with tiny sizes added), every section has a
command and a test, and every test it names exists."""

import re
import shlex

import pytest
from helpers import REPO

from s2s.cli import main

GUIDE = REPO / "docs" / "learn.md"
TINY_DATA = ["data.numbers_train=2000", "data.numbers_valid=20", "data.numbers_test=20", "data.numbers_max_digits=10"]
TINY_MODEL = ["model.emb_size=16", "model.hidden_size=32"]
TINY_TRAIN = TINY_DATA + TINY_MODEL + ["train.epochs=1", "train.max_steps=4", "train.amp=none", "decode.beam=1"]


def guide_commands() -> list[list[str]]:
    """The guide's commands in order, each as argv (lines of ```bash blocks; a trailing backslash continues a line)."""
    blocks = re.findall(r"```bash\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    return [shlex.split(line) for block in blocks for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def tiny(argv: list[str]) -> list[str]:
    """The command with tiny data and model sizes: --set values go first, so the guide's own settings still win."""
    assert argv[0] == "s2s", f"the guide's bash blocks hold s2s commands only: {shlex.join(argv)}"
    args = argv[1:]
    overrides = TINY_TRAIN if args[0] == "train" else TINY_DATA + TINY_MODEL if args[:2] == ["embeddings", "train"] else []
    if overrides:
        at = args.index("--set") + 1 if "--set" in args else len(args)
        args = args[:at] + ([] if "--set" in args else ["--set"]) + overrides + args[at:]
    if args[:2] == ["analyze", "gradients"]:
        args += ["--sentences", "8", "--length", "6"]
    return args


def test_every_command_of_the_guide_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("gensim")
    pytest.importorskip("matplotlib")
    (tmp_path / "configs").symlink_to(REPO / "configs")
    monkeypatch.chdir(tmp_path)
    commands = guide_commands()
    assert len(commands) >= 15
    for argv in commands:
        status = main(tiny(argv))
        output = capsys.readouterr()
        assert status == 0, f"{shlex.join(argv)} failed:\n{output.err[-3000:]}"
    runs = tmp_path / "runs" / "learn"
    for produced in ("vectors/src.vec", "vectors/tgt.vec", "words.png", "lm/best.pt", "lm_bptt/best.pt",
                     "gradients/gradients.png", "gru/report/report.md", "gru_attn/report/report_attention_1.png"):
        assert (runs / produced).is_file(), produced


def test_the_guide_sections_each_have_a_command_and_name_existing_tests():
    sections = re.split(r"^## ", GUIDE.read_text(encoding="utf-8"), flags=re.M)[1:]
    assert len(sections) == 9
    for section in sections:
        title = section.splitlines()[0]
        assert "```bash" in section, f"section {title!r} has no command"
        assert re.search(r"`tests/\S+\.py::\w+`", section), f"section {title!r} names no test"
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", GUIDE.read_text(encoding="utf-8"))
    for path, name in named:
        assert re.search(rf"^def {name}\(", (REPO / path).read_text(encoding="utf-8"), re.M), f"{path}::{name} does not exist"


def test_tiny_keeps_the_guides_own_settings_last():
    assert tiny(["s2s", "train", "--config", "c.yaml", "--set", "model.name=rnn_lm", "--run-dir", "r"]) == \
        ["train", "--config", "c.yaml", "--set", *TINY_TRAIN, "model.name=rnn_lm", "--run-dir", "r"]
    assert tiny(["s2s", "generate", "--checkpoint", "r"]) == ["generate", "--checkpoint", "r"]
