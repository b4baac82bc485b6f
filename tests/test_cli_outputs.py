"""Outputs that respect what they land on: every command that writes, run against an existing user file, a folder
holding user files, its own earlier output with user files added, a device, '-', a path with spaces, an unwritable
folder, a path under a file and a read-only file. After each run the user's files are as they were, /dev/null is
still a device, '-' went to stdout (or was refused), nothing temporary is left, and every refusal is one line (exit
2, no traceback) that names the flag and the path.

In process (s2s.cli.main) with one tiny run, as tests/test_cli_inputs.py; s2s serve writes no files (its log is
stderr), so it has no row.
"""

import json
import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from helpers import tiny_config_dict, write_corpus

from s2s.cli import build_parser, main
from s2s.data.cache import DataCache, format_bytes

UNWRITABLE = "/proc/self"  # no file can be created there, not even by root
USER_FILES = {"notes.txt": "mine\n", "results/bleu.txt": "41.2\n", "model.pt": "my own model\n"}


BESIDE = "the Markdown report and the figures are written beside the JSON (OUT.md, OUT_*.png)"


@dataclass(frozen=True)
class Writer:
    """A command that writes: its words with {out} where the output goes, the flag that names it, and for a file
    the name suggested when a folder is given and why '-' (stdout) or a device cannot take it ("": they can)."""

    name: str
    command: str
    flag: str
    folder: bool = False
    example: str = ""
    no_stdout: str = ""
    no_device: str = ""
    suffix: str = ".txt"


WRITERS = [
    Writer("translate", "translate --checkpoint {ckpt} --input {src} --output {out}", "--output",
           example="translations.txt"),
    Writer("translate --attention", "translate --checkpoint {ckpt} --input {src} --output {scratch}/t.txt "
           "--attention {out}", "--attention", example="attention.jsonl", suffix=".jsonl"),
    Writer("translate --alignments", "translate --checkpoint {ckpt} --input {src} --output {scratch}/t.txt "
           "--alignments {out}", "--alignments", example="alignments.txt"),
    Writer("evaluate --output", "evaluate --checkpoint {ckpt} --src {src} --ref {ref} --output {out}", "--output",
           example="translations.txt"),
    Writer("evaluate --report", "evaluate --checkpoint {ckpt} --src {src} --ref {ref} --report {out}", "--report",
           example="report.json", no_stdout=BESIDE, no_device=BESIDE, suffix=".json"),
    Writer("score", "score --checkpoint {ckpt} --src {src} --tgt {ref} --output {out}", "--output",
           example="scores.tsv", suffix=".tsv"),
    Writer("significance", "significance --ref {ref} --baseline {ref} {hyp} --bootstrap-samples 20 --ar-trials 20 "
           "--json {out}", "--json", example="significance.json", suffix=".json"),
    Writer("average", "average {ckpt} {run}/last.pt --output {out}", "--output", example="average.pt",
           no_stdout="a checkpoint is binary data", suffix=".pt"),
    Writer("embeddings plot", "embeddings plot {vectors} seven one --output {out}", "--output", example="map.png",
           no_stdout="the words' coordinates are printed there", suffix=".png"),
    Writer("report", "report {run} --output {out}", "--output", folder=True),
    Writer("compare", "compare {run} --output {out}", "--output", folder=True),
    Writer("export", "export --checkpoint {ckpt} --output {out} --no-verify", "--output", folder=True),
    Writer("embeddings train", "embeddings train --config {config} --output {out} --epochs 1", "--output", folder=True),
    Writer("data cache --clear", "data cache --clear --dir {out}", "--dir", folder=True),
    Writer("distill", "distill --teacher {ckpt} --config {files_config} --output {out} --beam 2", "--output", folder=True),
]
CASES = ["user_file", "user_folder", "earlier_output", "device", "stdout", "spaces", "unwritable", "under_a_file",
         "read_only_file"]
TABLE = [(writer, case) for writer in WRITERS for case in CASES if not (writer.folder and case == "read_only_file")]


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, one_torch_thread):
    """A tiny run (4 updates, 2 kept checkpoints), its config, a hypothesis file, a word vectors folder, and a config
    on the write_corpus files for distill to translate."""
    folder = tmp_path_factory.mktemp("outputs")
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config_dict(folder / "run", train={"max_steps": 4, "valid_every": 2,
                                                                             "keep_checkpoints": 2})))
    assert main(["train", "--config", str(config)]) == 0
    references = (folder / "run" / "data" / "test.de").read_text().splitlines()
    (folder / "hyp.txt").write_text("".join(" ".join(line.split()[::-1]) + "\n" for line in references))
    (folder / "vectors").mkdir()
    (folder / "vectors" / "src.vec").write_text("2 2\nseven 0.1 0.2\none 0.3 0.4\n")
    text = write_corpus(folder / "text", pairs=20)
    (folder / "files.yaml").write_text(yaml.safe_dump(tiny_config_dict(folder / "student", data={
        "dataset": "files", **{f"{split}_{side}": str(text / f"{split}.{side}") for split in ("train", "valid")
                               for side in ("src", "tgt")}})))
    return folder


def write_user_files(folder: Path) -> None:
    for name, text in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def cache_entry(folder: Path, key: str) -> Path:
    """A real entry of the data cache in `folder`."""
    return DataCache(folder, log=lambda message: None).save("ids", key, {}, {"ids.npy": np.arange(3)})


def write_lookalikes(folder: Path) -> tuple[list[str], list[Path]]:
    """A user's folders named like cache entries (no manifest of the cache's in them), and an entry of the cache's
    that the user put a file in: (the names of all four, the files of the cache's entry)."""
    for name in ("ids-0123456789abcdef0123456789abcdef", "vocabularies-notes", ".trash-mine"):
        write_user_files(folder / name)
    entry = cache_entry(folder, "b" * 64)
    files = list(entry.iterdir())
    (entry / "mine.txt").write_text("mine\n")
    return sorted([".trash-mine", "ids-0123456789abcdef0123456789abcdef", entry.name, "vocabularies-notes"]), files


def snapshot(folder: Path) -> dict:
    """Every file under `folder` and its bytes, and every folder."""
    return {path: path.read_bytes() if path.is_file() else None for path in sorted(folder.rglob("*"))}


def run(capsys, workspace, writer: Writer, out) -> tuple[int, str, str]:
    places = {"{run}": workspace / "run", "{ckpt}": workspace / "run" / "best.pt", "{config}": workspace / "tiny.yaml",
              "{src}": workspace / "run" / "data" / "test.en", "{ref}": workspace / "run" / "data" / "test.de",
              "{hyp}": workspace / "hyp.txt", "{vectors}": workspace / "vectors", "{scratch}": workspace,
              "{files_config}": workspace / "files.yaml"}
    words = []
    for word in writer.command.split():
        for name, path in places.items():
            word = word.replace(name, str(path))
        words.append(str(out) if word == "{out}" else word)
    code = main(words)
    out_text, err = capsys.readouterr()
    return code, out_text, err


def output_path(writer: Writer, folder: Path, name: str = "out") -> Path:
    return folder / (name if writer.folder else name + writer.suffix)


def refusal(writer: Writer, case: str, out: Path, place: Path) -> str | None:
    """The one-line error a case must give, or None where the command writes."""
    flag = writer.flag
    if writer.name == "data cache --clear":
        what = {"user_file": "a file", "device": "a character device"}.get(case)
        if case == "stdout":
            return "the cache folder '-' (--dir) cannot be stdout; give a folder."
        return f"the cache folder '{out}' (--dir) is {what}; give a folder." if what else None
    if case == "unwritable":  # then the reason /proc gives, and "; choose another FLAG."
        return f"{flag} '{out}': cannot write in '{UNWRITABLE}' ("
    if case == "under_a_file":
        return f"{flag} '{out}': '{place / 'notes.txt'}' is a file, not a folder; choose another {flag}."
    if writer.folder:
        if case == "user_file":
            return f"{flag} '{out}' is a file; give a folder."
        if case == "device":
            return f"{flag} '/dev/null' is a character device; give a folder."
        if case == "stdout":
            return f"{flag} '-' would write to stdout, but {flag} is a folder of files; give a folder."
        if case == "user_folder" and writer.name == "export":
            return (f"{flag} '{out}' is a folder that holds other files; give a new or empty folder (an earlier s2s "
                    f"export there is replaced, nothing else is).")
        return None
    if case == "user_folder":
        return f"{flag} '{out}' is a folder; give a file name (e.g. {out / writer.example})."
    if case == "device" and writer.no_device:
        return (f"{flag} '/dev/null' is a character device, but {writer.no_device}; give a file name (e.g. "
                f"{writer.example}).")
    if case == "stdout" and writer.no_stdout:
        return f"{flag} '-' would write to stdout, but {writer.no_stdout}; give a file name (e.g. {writer.example})."
    if case == "read_only_file":
        return f"{flag} '{out}' is read-only; make it writable (chmod u+w) or choose another {flag}."
    return None


def test_the_table_covers_every_command_that_writes():
    commands = build_parser()._subparsers._group_actions[0].choices
    named = {writer.command.split()[0] for writer in WRITERS}
    writes = {name for name, parser in commands.items()
              if any(option in action.option_strings for action in parser._actions
                     for option in ("--output", "--report", "--json", "--attention", "--alignments"))}
    assert writes - {"analyze"} <= named  # analyze gradients writes its folder as compare does
    assert {"translate", "evaluate", "score", "significance", "export", "average", "report", "data",
            "embeddings", "distill"} <= named
    serve = {option for action in commands["serve"]._actions for option in action.option_strings}
    assert not {"--output", "--log", "--log-file", "--access-log"} & serve  # serve writes no files: its log is stderr


@pytest.mark.parametrize("writer, case", TABLE, ids=[f"{writer.name}-{case}" for writer, case in TABLE])
def test_every_output_respects_what_it_lands_on(capsys, workspace, tmp_path, monkeypatch, writer, case):
    monkeypatch.chdir(tmp_path)  # where a file named '-' would appear
    place = tmp_path / "place"
    place.mkdir()
    write_user_files(place)
    mine = set()  # what the command may replace or delete: its own earlier output, the cache's entries
    out = output_path(writer, place)
    if case == "user_file":
        out = place / "notes.txt"
    elif case == "user_folder":
        out = place
        if writer.name == "data cache --clear":
            entry = cache_entry(place, "a" * 64)
            lookalikes, entry_files = write_lookalikes(place)
            mine = {entry, *entry.iterdir(), *entry_files}
    elif case == "earlier_output":
        if writer.name == "data cache --clear":
            out.mkdir()
            cache_entry(out, "c" * 64)
        code, _, err = run(capsys, workspace, writer, out)
        assert code == 0, err
        mine = set(snapshot(out)) if writer.folder else set()
        if writer.folder:
            write_user_files(out)
        else:
            out.chmod(0o640)  # the mode the user gave the earlier output is kept
    elif case == "device":
        out = Path(os.devnull)
    elif case == "stdout":
        out = "-"
    elif case == "spaces":
        (tmp_path / "a folder with spaces").mkdir()
        out = output_path(writer, tmp_path / "a folder with spaces", "out name")
        if writer.name == "data cache --clear":
            out.mkdir()
            entry = cache_entry(out, "d" * 64)
            mine = {entry, *entry.iterdir()}
    elif case == "unwritable":
        out = output_path(writer, Path(UNWRITABLE))
    elif case == "under_a_file":
        out = output_path(writer, place / "notes.txt")
    elif case == "read_only_file":
        out = place / ("locked" + writer.suffix)
        out.write_text("mine\n")
        out.chmod(0o444)
    before = snapshot(tmp_path)
    code, stdout, err = run(capsys, workspace, writer, out)

    message = refusal(writer, case, Path(out), place)
    if writer.name == "data cache --clear" and case in ("unwritable", "under_a_file"):
        assert code == 0 and stdout == f"data cache: deleted 0 entries (0 B) from {out}\n"  # nothing there to delete
    elif message is not None:
        assert code == 2 and stdout == "", (stdout, err)
        if case == "unwritable":
            assert err.startswith(f"s2s {writer.command.split()[0]}: error: {message}"), err
            assert err.endswith(f"); choose another {writer.flag}.\n"), err
        else:
            assert err == f"s2s {writer.command.split()[0]}: error: {message}\n", err
        assert "Traceback" not in err
    else:
        assert code == 0, err
        if not writer.folder and case not in ("device", "stdout"):
            mine = {Path(out)}  # the file the flag names, and the report's Markdown and figures beside it
            if writer.name == "evaluate --report":
                mine |= {path for path in snapshot(tmp_path) if path.parent == Path(out).parent and
                         (path.name.startswith(Path(out).stem + "_") or path == Path(out).with_suffix(".md"))}
    after = snapshot(tmp_path)
    untouched = {path: data for path, data in before.items() if path not in mine}
    assert {path: after.get(path, "gone") for path in untouched} == untouched  # the user's files are as they were
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)  # /dev/null is still a device
    assert not (tmp_path / "-").exists() and not any(".tmp" in path.name for path in after)  # nothing half-written

    if message is None and case == "stdout":
        if writer.name == "significance":
            assert json.loads(stdout)["ref"] == str(workspace / "run" / "data" / "test.de")  # the table went to stderr
        else:
            assert len(stdout.splitlines()) == 20, stdout  # one line per test sentence, nothing else
    if message is None and case in ("user_file", "earlier_output", "spaces") and not writer.folder:
        assert Path(out).read_bytes() != b"mine\n" and Path(out).stat().st_size > 0
    if case == "earlier_output" and not writer.folder:
        assert stat.S_IMODE(Path(out).stat().st_mode) == 0o640
    if message is None and writer.name == "export":
        command = stdout.split("translate with: ")[1]
        assert shlex.split(command) == ["s2s", "translate", "--engine", "onnx", "--checkpoint", str(out)]
        if case == "earlier_output":
            assert (", replacing the 5 files of the earlier export there and leaving the 3 other entries there as "
                    "they were (model.pt, notes.txt, results)") in stdout
    if writer.name == "data cache --clear" and case in ("user_folder", "spaces"):
        assert not any(path.exists() for path in mine)  # the cache's own entries are gone
        deleted = sum(len(before[path]) for path in mine if before[path] is not None)
        assert stdout.startswith(f"data cache: deleted 1 entry ({format_bytes(deleted)}) from {out}\n")
    if writer.name == "data cache --clear" and case == "user_folder":
        assert stdout.splitlines()[1] == ("data cache: left 4 folders named like entries alone: they hold files the "
                                          "cache did not write, or no manifest.json of its own: " + ", ".join(lookalikes))
        assert [path.name for path in (place / ("ids-" + "b" * 32)).iterdir()] == ["mine.txt"]
