"""The path rules: checked before a command reads or writes anything, so that no command writes over one of its own
inputs, over the files of a run, checkpoint, pretrained or export folder, or twice to one place."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from s2s.errors import S2SError
from s2s.outputs import check_output_file, check_output_folder, kind_of

# The files a run, checkpoint, pretrained or export folder is made of, and its subfolders: no command writes over them,
# whatever its --output says (a translation written over best.pt once replaced the model with text and exited 0).
FOLDER_FILES = frozenset({"config.yaml", "best.pt", "last.pt", "model.pt", "metrics.jsonl", "src.vocab", "tgt.vocab",
                          "src.spm.model", "tgt.spm.model", "card.json", "README.md", "manifest.json", "encoder.onnx",
                          "decoder.onnx", "src_vocab.json", "tgt_vocab.json", "embeddings.json", "src.vec", "tgt.vec"})
FOLDER_PARTS = ("checkpoints", "data", "tensorboard")
FOLDER_MARKS = ("metrics.jsonl", "best.pt", "last.pt", "model.pt", "manifest.json")  # a run, pretrained or export folder
CONFIG_FILES = ("train_src", "train_tgt", "valid_src", "valid_tgt", "test_src", "test_tgt", "train_text", "valid_text",
                "test_text")


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(path)).resolve()


def same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)  # also through links
    except OSError:  # one of them does not exist (yet)
        return _resolved(a) == _resolved(b)


def _relative(path: Path, folder: Path) -> Path | None:
    try:
        return _resolved(path).relative_to(_resolved(folder))
    except ValueError:
        return None


def folder_owns(relative: Path) -> bool:
    """Whether a path inside a run (checkpoint, export) folder is one of the files the folder is made of."""
    return (len(relative.parts) == 1 and relative.name in FOLDER_FILES) or \
        (len(relative.parts) > 1 and relative.parts[0] in FOLDER_PARTS)


def owning_folder(path: Path) -> tuple[Path, Path] | None:
    """(folder, path relative to it) when `path` is one of the files of a run, pretrained or export folder (one that
    holds any of FOLDER_MARKS), whether or not the command reads that folder; else None."""
    candidates = [path.parent] + ([path.parent.parent] if path.parent.name in FOLDER_PARTS and path.exists() else [])
    for folder in candidates:
        relative = _relative(path, folder)  # None where a link leads out of the folder (/dev/stdout)
        if relative is not None and folder_owns(relative) and any((folder / name).is_file() for name in FOLDER_MARKS):
            return folder, relative
    return None


def check_paths(inputs: list, files: list = (), folders: list = ()) -> None:
    """Refuse, before anything is read or written, a command that would write over one of its own inputs.

    inputs: (flag, path) of the files and folders the command reads; the files a folder is made of (folder_owns) are
    protected too. files: the Output (s2s.outputs) of each file it writes; path None: not asked for. folders: (flag,
    folder, owns) of the folders it writes into, owns(path relative to the folder) saying which files there it writes
    (or replaces). Each output must be writable and differ from the others; '-' (stdout) and /dev/null may be given
    to one output each, and to several, respectively."""
    inputs = [(flag, Path(path)) for flag, path in inputs if path]
    files = [output for output in files if output.path]
    for output in files:
        check_output_file(output)
    for flag, folder, _ in folders:
        check_output_folder(flag, Path(folder))
    for number, output in enumerate(files):
        path, what, flag = Path(output.path), output.name, output.flag
        if kind_of(path) == "stdout":
            for other in files[:number]:
                if kind_of(other.path) == "stdout":
                    raise S2SError(f"{what} '-' and {other.name} would both write to stdout; give one of them a file.")
            continue
        for other in files[:number]:
            if same_file(path, Path(other.path)) and not _is_character_device(path):
                raise S2SError(f"{what} '{path}' and {other.name} '{other.path}' are the same file; give each its own.")
        for in_flag, source in inputs:
            if same_file(path, source):
                raise S2SError(f"{what} '{path}' is {in_flag} '{source}', an input of this command: writing there "
                               f"would destroy it. Choose another {flag}.")
        for in_flag, source in inputs:
            relative = _relative(path, source) if source.is_dir() else None
            if relative is not None and folder_owns(relative):
                raise S2SError(f"{what} '{path}' is one of the files of {in_flag} '{source}' (its {relative}), which "
                               f"this command reads: writing there would destroy it. Choose another {flag}.")
        owner = owning_folder(path)
        if owner is not None:
            raise S2SError(f"{what} '{path}' is one of the files of the run folder '{owner[0]}' (its {owner[1]}): "
                           f"writing there would destroy it. Choose another {flag}.")
    for flag, folder, owns in folders:
        for in_flag, source in inputs:
            relative = _relative(source, Path(folder))
            if relative is not None and owns(relative):
                raise S2SError(f"{flag} '{folder}' would write over {in_flag} '{source}', an input of this command; "
                               f"choose another {flag}.")


def _is_character_device(path: Path) -> bool:
    """/dev/null, a terminal: several outputs may go there at once."""
    try:
        return stat.S_ISCHR(path.stat().st_mode)
    except OSError:
        return False


def checkpoint_inputs(flag: str, paths) -> list[tuple[str, Path]]:
    """(flag, path) of checkpoints (files, run or export folders, pretrained names) and of the folders that hold the
    files: their runs are read too. A missing path is an error naming the flag."""
    from s2s.pretrained import resolve

    inputs = []
    for given in [paths] if isinstance(paths, (str, Path)) else paths:
        path = resolve(given)
        if not path.exists():
            raise S2SError(f"{flag} '{given}' does not exist; pass a .pt file, a run folder or a pretrained model's "
                           f"name (s2s pretrained lists them).")
        inputs += [(flag, path)] + ([(f"{flag}'s folder", path.parent)] if path.is_file() else [])
    return inputs


def input_files(*flags_and_paths) -> list[tuple[str, Path]]:
    """(flag, path) of the text files a command reads, each checked to be a file (an error naming the flag)."""
    from s2s.data.readers import require_file

    for flag, path in flags_and_paths:
        if path:
            require_file(Path(path), flag)
    return [(flag, Path(path)) for flag, path in flags_and_paths if path]


def config_inputs(config, config_flag: str, config_path) -> list[tuple[str, Path]]:
    """(origin, path) of a config file and of the files its data and model sections name."""
    named = [(f"data.{key}", getattr(config.data, key)) for key in CONFIG_FILES]
    named += [(f"model.{key}", getattr(config.model, key)) for key in ("src_embeddings", "tgt_embeddings")]
    return ([(config_flag, Path(config_path))] if config_path else []) + [(key, Path(path)) for key, path in named if path]
