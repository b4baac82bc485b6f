"""Every help text and usage error of the command line, word for word: `s2s --help`, each command's and each
sub-action's --help (s2s data download --help, ...), the error of each command given none of its required arguments
or no action, and of an unknown command, compared with tests/snapshots/cli_help.txt at 100 columns. Moving code
between modules must leave all of it as it was.

After a deliberate change to a flag or its help, rewrite the snapshot and read its diff:
S2S_UPDATE_SNAPSHOT=1 python -m pytest tests/test_cli_help.py
"""

import argparse
import os
from pathlib import Path

import pytest

from s2s.cli import build_parser, main

SNAPSHOT = Path(__file__).parent / "snapshots" / "cli_help.txt"
ACTIONLESS = [["data"], ["embeddings"], ["analyze"]]  # their parsers take no action; the command says how to give one


def parsers(parser: argparse.ArgumentParser, words: list[str]):
    """(words, parser) of the program and of every command and sub-action under it, in the order --help lists them."""
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, words + [name])


def usage_error(capsys, argv: list[str]) -> str | None:
    """What s2s prints to stderr, and its exit code, for argv; None where argv parses (a command that would run)."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as exit_:
        return f"exit {exit_.code}\n{capsys.readouterr().err}"
    return None


def help_snapshot(capsys) -> str:
    sections = []
    for words, parser in parsers(build_parser(), []):
        sections.append((" ".join(["s2s", *words, "--help"]), parser.format_help()))
        if words:
            error = usage_error(capsys, words)
            if error is not None:
                sections.append((" ".join(["s2s", *words]), error))
    sections.append(("s2s frobnicate", usage_error(capsys, ["frobnicate"])))
    for words in ACTIONLESS:
        code = main(words)
        sections.append((" ".join(["s2s", *words]), f"exit {code}\n{capsys.readouterr().err}"))
    return "".join(f"==== {title}\n{text}" for title, text in sections)


def test_help_texts_and_usage_errors_are_word_for_word_the_snapshot(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal's width
    monkeypatch.setenv("NO_COLOR", "1")
    text = help_snapshot(capsys)
    if os.environ.get("S2S_UPDATE_SNAPSHOT"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text, encoding="utf-8")
        pytest.skip(f"wrote {SNAPSHOT}")
    assert text == SNAPSHOT.read_text(encoding="utf-8")


def test_the_snapshot_covers_every_command_and_sub_action():
    titles = {line.removeprefix("==== ") for line in SNAPSHOT.read_text(encoding="utf-8").splitlines()
              if line.startswith("==== ")}
    for words, _ in parsers(build_parser(), []):
        assert " ".join(["s2s", *words, "--help"]) in titles
    assert {"s2s --help", "s2s translate --help", "s2s data download --help", "s2s embeddings train --help",
            "s2s analyze gradients --help", "s2s translate", "s2s data"} <= titles
