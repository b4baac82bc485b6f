"""Hostile input at the command line: every number flag and every path flag of every command gets a one-line error
that names the flag (exit 2), before anything is read or written; no command writes over one of its own inputs.

In process (s2s.cli.main) with one tiny run, so the whole table takes seconds.
"""

import argparse
import json
import re

import pytest
import torch
import yaml
from helpers import tiny_config_dict

from s2s.cli import build_parser, main

UNWRITABLE = "/proc/self"  # no file can be created there, not even by root


def number_flags() -> list[tuple[list[str], str, object]]:
    """(command words, flag, its argparse type) of every option of every command that takes a number."""
    found = []

    def walk(parser, words):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, sub in action.choices.items():
                    walk(sub, words + [name])
            elif action.type in (int, float):
                raise AssertionError(f"s2s {' '.join(words)} {action.option_strings}: a bare {action.type.__name__} "
                                     f"takes nan, inf and any size; use s2s.commands.numbers.at_least")
            elif hasattr(action.type, "minimum"):
                found.append((words, max(action.option_strings, key=len), action.type))

    walk(build_parser(), [])
    return found


NUMBER_FLAGS = number_flags()


def test_the_table_covers_the_number_flags_of_every_command():
    commands = {" ".join(words) for words, _, _ in NUMBER_FLAGS}
    assert {"translate", "evaluate", "report", "average", "serve", "generate", "embeddings train", "embeddings neighbors",
            "analyze gradients"} <= commands
    assert len(NUMBER_FLAGS) >= 40
    assert all(kind.most is not None for _, _, kind in NUMBER_FLAGS)  # each has a largest value: no unbounded work


def bad_numbers(kind) -> list[str]:
    """nan, inf, negative, zero (where zero is refused) and huge, as a user types them."""
    values = ["nan", "inf", "-inf", "-1", "1" + "0" * 30]
    try:
        kind("0")
    except argparse.ArgumentTypeError:
        values.append("0")
    return values


@pytest.mark.parametrize("words, flag, kind", NUMBER_FLAGS, ids=[f"{' '.join(w)} {f}" for w, f, _ in NUMBER_FLAGS])
def test_every_number_flag_refuses_nan_inf_negative_zero_and_huge_values(capsys, words, flag, kind):
    for value in bad_numbers(kind):
        with pytest.raises(SystemExit) as exit_:
            main([*words, f"{flag}={value}"])  # with '=': argparse takes '-inf' and '-1' as values, not options
        error = capsys.readouterr().err
        assert exit_.value.code == 2, (flag, value)
        assert error.count("\n") == 1 and f"argument {flag}: " in error and "Traceback" not in error, error
        assert f"got '{value}'" in error or f"got {value}" in error, error  # the value itself was judged


@pytest.mark.parametrize("words, flag, kind", NUMBER_FLAGS, ids=[f"{' '.join(w)} {f}" for w, f, _ in NUMBER_FLAGS])
def test_every_number_flag_states_the_bound_it_checks(words, flag, kind):
    """'must be >= B' means B itself is taken, 'must be > B' that it is not (--max-len-ratio once said >= 0.0 and
    then refused 0)."""
    for value in ["-1", "0", "-0.5", "1" + "0" * 30]:
        try:
            kind(value)
        except argparse.ArgumentTypeError as error:
            if str(error).startswith("expected "):  # not a number of the flag's kind: no bound to check
                continue
            match = re.match(r"must be (>=|>|<=) (\S+?)[ ,]", str(error))
            assert match, (flag, value, str(error))
            relation, bound = match.groups()
            if relation == ">":
                with pytest.raises(argparse.ArgumentTypeError):
                    kind(bound)
            else:
                kind(bound)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A tiny run (4 updates, 2 kept checkpoints), its config and a folder of files to point flags at."""
    folder = tmp_path_factory.mktemp("inputs")
    config = folder / "tiny.yaml"
    raw = tiny_config_dict(folder / "run", train={"max_steps": 4, "valid_every": 2, "keep_checkpoints": 2})
    config.write_text(yaml.safe_dump(raw))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", "--config", str(config)]) == 0
    finally:
        torch.set_num_threads(threads)
    (folder / "vectors").mkdir()
    (folder / "vectors" / "src.vec").write_text("2 2\nseven 0.1 0.2\none 0.3 0.4\n")
    (folder / "vectors" / "notes.txt").write_text("mine\n")
    (folder / "a.txt").write_text("x\n")
    for figure in ("e_training.png", "e_attention_3.png", "report_bleu_by_length.png"):  # inputs named as figures
        (folder / figure).write_text("seven\n")
    return folder


def fill(words: list[str], folder) -> list[str]:
    run = folder / "run"
    places = {"{run}": run, "{ckpt}": run / "best.pt", "{src}": run / "data" / "test.en", "{ref}": run / "data" / "test.de",
              "{config}": folder / "tiny.yaml", "{dir}": folder, "{file}": folder / "a.txt",
              "{missing}": folder / "missing" / "x.txt", "{vectors}": folder / "vectors", "{unwritable}": UNWRITABLE}
    filled = []
    for word in words:
        for name, path in places.items():
            word = word.replace(name, str(path))
        filled.append(word)
    return filled


PATH_CASES = [
    # translate: --checkpoint, --input, --output, --attention
    ("translate --checkpoint {missing}", "--checkpoint '{missing}' does not exist"),
    ("translate --checkpoint {dir}", "holds no best.pt, last.pt or model.pt"),
    ("translate --checkpoint {ckpt} --input {missing}", "--input file '{missing}' does not exist"),
    ("translate --checkpoint {ckpt} --input {dir}", "--input file '{dir}' is a folder"),
    ("translate --checkpoint {ckpt} --input {src} --output {dir}", "--output '{dir}' is a folder"),
    ("translate --checkpoint {ckpt} --input {src} --output {missing}", "--output '{missing}': output folder"),
    ("translate --checkpoint {ckpt} --input {src} --output {unwritable}/out.txt", "--output '{unwritable}/out.txt': cannot write"),
    ("translate --checkpoint {ckpt} --input {src} --output {ckpt}", "--output '{ckpt}' is --checkpoint '{ckpt}', an input"),
    ("translate --checkpoint {run} --input {src} --output {run}/config.yaml",
     "--output '{run}/config.yaml' is one of the files of --checkpoint '{run}' (its config.yaml)"),
    ("translate --checkpoint {ckpt} --input {src} --output {run}/last.pt", "one of the files of --checkpoint's folder"),
    ("translate --checkpoint {run} --input {src} --output {run}/checkpoints/step0000002.pt", "(its checkpoints/step0000002.pt)"),
    ("translate --checkpoint {ckpt} --input {src} --output {src}", "--output '{src}' is --input '{src}'"),
    ("translate --checkpoint {ckpt} --input {src} --attention {src}", "--attention '{src}' is --input '{src}'"),
    ("translate --checkpoint {ckpt} --input {src} --attention {dir}", "--attention '{dir}' is a folder"),
    ("translate --checkpoint {ckpt} --input {src} --attention {unwritable}/a.jsonl", "--attention '{unwritable}/a.jsonl': cannot"),
    ("translate --checkpoint {ckpt} --input {src} --output {dir}/o --attention {dir}/o", "--attention '{dir}/o' and --output"),
    # evaluate: --src, --ref, --text, --output, --report
    ("evaluate --checkpoint {missing} --src {src} --ref {ref}", "--checkpoint '{missing}' does not exist"),
    ("evaluate --checkpoint {ckpt} --src {missing} --ref {ref}", "--src file '{missing}' does not exist"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {dir}", "--ref file '{dir}' is a folder"),
    ("evaluate --checkpoint {ckpt} --text {missing}", "--text file '{missing}' does not exist"),
    ("evaluate --checkpoint {ckpt} --text {dir}", "--text file '{dir}' is a folder"),
    ("evaluate --checkpoint {ckpt} --text {src} --report {src}", "--report '{src}' is --text '{src}'"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --output {ref}", "--output '{ref}' is --ref '{ref}'"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --output {unwritable}/o", "--output '{unwritable}/o': cannot"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --report {ckpt}", "--report '{ckpt}' is --checkpoint"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --report {dir}", "--report '{dir}' is a folder"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --report {dir}/r.md", "--report '{dir}/r.md' names the JSON"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --report {run}/README.json",
     "the Markdown report of --report '{run}/README.md' is one of the files of --checkpoint's folder '{run}'"),
    # evaluate --report's figures (OUT_*.png beside the JSON)
    ("evaluate --checkpoint {ckpt} --src {dir}/e_training.png --ref {ref} --report {dir}/e.json",
     "the figure of --report '{dir}/e_training.png' is --src '{dir}/e_training.png', an input of this command"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {dir}/e_attention_3.png --report {dir}/e.json",
     "the figure of --report '{dir}/e_attention_3.png' is --ref '{dir}/e_attention_3.png', an input"),
    ("evaluate --checkpoint {dir}/e_training.png --src {src} --ref {ref} --report {dir}/e.json",
     "the figure of --report '{dir}/e_training.png' is --checkpoint '{dir}/e_training.png', an input"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --output {dir}/o_bleu_by_length.png --report {dir}/o.json",
     "the figure of --report '{dir}/o_bleu_by_length.png' and --output '{dir}/o_bleu_by_length.png' are the same file"),
    ("evaluate --checkpoint {ckpt} --src {src} --ref {ref} --report {unwritable}/e.json", "--report '{unwritable}/e.json': "
                                                                                          "cannot write"),
    # report: RUN_DIR, --checkpoint, --src, --ref, --output
    ("report {missing}", "RUN_DIR '{missing}' does not exist"),
    ("report {dir}", "RUN_DIR '{dir}' has no best.pt"),
    ("report {ckpt}", "RUN_DIR '{ckpt}' is a file"),
    ("report {run} --checkpoint {missing}", "--checkpoint '{missing}' does not exist"),
    ("report {run} --src {missing} --ref {ref}", "--src file '{missing}' does not exist"),
    ("report {run} --src {src} --ref {dir}", "--ref file '{dir}' is a folder"),
    ("report {run} --output {file}", "--output '{file}' is a file; give a folder"),
    ("report {run} --output {unwritable}/report", "--output '{unwritable}/report': cannot write"),
    ("report {run} --src {dir}/translations.txt --ref {ref} --output {dir}", None),  # set up in the test: a real file
    ("report {run} --src {src} --ref {dir}/report_bleu_by_length.png --output {dir}",
     "--output '{dir}' would write over --ref '{dir}/report_bleu_by_length.png'"),
    # compare: RUN_DIR, --output
    ("compare {run} {missing}", "RUN_DIR '{missing}' does not exist"),
    ("compare {run} {ckpt}", "RUN_DIR '{ckpt}' is a file"),
    ("compare {run} --output {file}", "--output '{file}' is a file; give a folder"),
    ("compare {run} --output {unwritable}/cmp", "--output '{unwritable}/cmp': cannot write"),
    # average: inputs, --output, --last/--best beyond the kept checkpoints
    ("average {missing} --output {dir}/avg.pt", "CKPT_OR_RUN_DIR '{missing}' does not exist"),
    ("average {ckpt} {run}/last.pt --output {ckpt}", "--output '{ckpt}' is CKPT_OR_RUN_DIR '{ckpt}', an input"),
    ("average {run} --last 2 --output {run}/best.pt", "--output '{run}/best.pt' is one of the files of CKPT_OR_RUN_DIR"),
    ("average {ckpt} --output {dir}", "--output '{dir}' is a folder"),
    ("average {ckpt} --output {missing}", "--output '{missing}': output folder"),
    ("average {ckpt} --output {unwritable}/avg.pt", "--output '{unwritable}/avg.pt': cannot write"),
    ("average {run}/checkpoints/step0000002.pt --output {run}/best.pt",
     "--output '{run}/best.pt' is one of the files of the run folder '{run}' (its best.pt)"),
    ("translate --checkpoint {run}/checkpoints/step0000002.pt --input {src} --output {run}/metrics.jsonl",
     "--output '{run}/metrics.jsonl' is one of the files of the run folder '{run}' (its metrics.jsonl)"),
    ("average {run} --last 50 --output {dir}/avg.pt", "--last 50: '{run}' keeps only 2 checkpoints"),
    ("average {run} --best 3 --output {dir}/avg.pt", "--best 3: '{run}' keeps only 2 checkpoints"),
    # export: --checkpoint, --output (replaced whole)
    ("export --checkpoint {missing} --output {dir}/onnx", "--checkpoint '{missing}' does not exist"),
    ("export --checkpoint {ckpt} --output {file}", "--output '{file}' is a file; give a folder"),
    ("export --checkpoint {ckpt} --output {run}", "--output '{run}' is a folder that holds other files"),
    ("export --checkpoint {dir}/onnx/decoder.onnx --output {dir}/onnx", None),  # set up in the test
    ("export --checkpoint {ckpt} --output {unwritable}/onnx", "--output '{unwritable}/onnx': cannot write"),
    # serve: --checkpoint [NAME=]PATH, checked before the port is bound or a model loaded
    ("serve --checkpoint {missing} --port 0", "--checkpoint '{missing}' does not exist; pass a .pt file"),
    ("serve --checkpoint {ckpt} --checkpoint de={missing} --port 0", "--checkpoint '{missing}' does not exist"),
    ("serve --engine onnx --checkpoint {missing} --port 0", "--checkpoint '{missing}' does not exist"),
    # generate, analyze gradients
    ("generate --checkpoint {missing}", "--checkpoint '{missing}' does not exist"),
    ("analyze gradients --config {missing} --output {dir}/g", "--config file '{missing}' does not exist"),
    ("analyze gradients --config {dir} --output {dir}/g", "--config file '{dir}' is a folder"),
    ("analyze gradients --checkpoint {missing} --output {dir}/g", "--checkpoint '{missing}' does not exist"),
    ("analyze gradients --config {config} --output {file}", "--output '{file}' is a file; give a folder"),
    ("analyze gradients --config {config} --output {unwritable}/g", "--output '{unwritable}/g': cannot write"),
    ("analyze gradients --config {dir}/gradients.json --output {dir}", None),  # set up in the test
    # embeddings train / plot
    ("embeddings train --config {missing} --output {dir}/v", "config file '{missing}' does not exist; pass a YAML file "
                                                              "such as configs/quickstart.yaml to --config"),
    ("embeddings train --config {dir} --output {dir}/v", "config file '{dir}' is a folder"),
    ("embeddings train --config {config} --src-text {missing} --output {dir}/v", "--src-text file '{missing}' does not"),
    ("embeddings train --config {config} --tgt-text {dir} --output {dir}/v", "--tgt-text file '{dir}' is a folder"),
    ("embeddings train --config {config} --output {file}", "--output '{file}' is a file; give a folder"),
    ("embeddings train --config {config} --output {unwritable}/v", "--output '{unwritable}/v': cannot write"),
    ("embeddings train --config {config} --src-text {vectors}/src.vec --output {vectors}",
     "--output '{vectors}' would write over --src-text '{vectors}/src.vec'"),
    ("embeddings plot {vectors} seven one --output {vectors}/src.vec", "is one of the files of DIR '{vectors}' (its src.vec)"),
    ("embeddings plot {vectors} seven one --output {dir}", "--output '{dir}' is a folder"),
    ("embeddings plot {vectors} seven one --output {unwritable}/map.png", "--output '{unwritable}/map.png': cannot"),
    ("embeddings neighbors {missing} seven", "is neither a word vectors file nor a folder"),
    # train: --config, --run-dir, --resume, the config's own files
    ("train --config {missing}", "config file '{missing}' does not exist"),
    ("train --config {dir}", "config file '{dir}' is a folder"),
    ("train --config {config} --run-dir {file}", "--run-dir '{file}' is a file; give a folder"),
    ("train --config {config} --run-dir {unwritable}/run", "--run-dir '{unwritable}/run': cannot write"),
    ("train --config {run}/config.yaml --run-dir {run}", "--run-dir '{run}' would write over --config '{run}/config.yaml'"),
    ("train --config {config} --run-dir {run} --set data.dataset=files data.train_src={run}/data/train.en "
     "data.train_tgt={run}/data/train.de", "--run-dir '{run}' would write over data.train_src '{run}/data/train.en'"),
    ("train --resume {missing}", "--resume '{missing}' does not exist"),
    ("train --resume {ckpt}", "--resume '{ckpt}' is a file"),
    ("train --resume {dir}", "--resume '{dir}' has no last.pt"),
    ("train --config {config} --init-from {missing}", "--init-from '{missing}' does not exist"),
    ("train --config {config} --init-from {dir}", "holds no best.pt, last.pt or model.pt"),
    ("train --config {config} --init-from {ckpt} --run-dir {run}", "--run-dir '{run}' would write over --init-from"),
    # data download, data cache
    ("data download multi30k --dest {file}", "--dest '{file}' is a file; give a folder"),
    ("data download multi30k --dest {unwritable}/m", "--dest '{unwritable}/m': cannot write"),
    ("data download multi30k --dest {dir} --mirror {dir}", "--dest '{dir}' is the --mirror folder"),
    ("data download multi30k --dest {dir}/m --mirror {missing}", "(from --mirror {missing}) does not exist"),
    ("data cache --config {missing}", "config file '{missing}' does not exist"),
    ("data cache --dir {file}", "the cache folder '{file}' (--dir) is a file"),
]


@pytest.mark.parametrize("command, message", PATH_CASES, ids=[command for command, _ in PATH_CASES])
def test_every_path_flag_refuses_missing_folder_unwritable_and_input_paths(capsys, workspace, command, message):
    if message is None:  # an output folder that holds an input under a name the command writes
        if command.startswith("report"):
            (workspace / "translations.txt").write_text("7\n" * 20)
            message = "--output '{dir}' would write over --src '{dir}/translations.txt'"
        elif command.startswith("export"):  # a checkpoint under a name an export writes
            (workspace / "onnx").mkdir(exist_ok=True)
            (workspace / "onnx" / "decoder.onnx").write_bytes((workspace / "run" / "best.pt").read_bytes())
            message = "--output '{dir}/onnx' would write over --checkpoint '{dir}/onnx/decoder.onnx'"
        else:
            (workspace / "gradients.json").write_text(json.dumps(tiny_config_dict(workspace / "g")))
            message = "--output '{dir}' would write over --config '{dir}/gradients.json'"
    before = {path: path.read_bytes() for path in (workspace / "run").rglob("*") if path.is_file()}
    assert main(fill(command.split(), workspace)) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Traceback" not in error, error
    assert " ".join(fill([message], workspace)) in error
    assert {path: path.read_bytes() for path in (workspace / "run").rglob("*") if path.is_file()} == before  # nothing lost


def test_numbers_beyond_what_the_model_allows_are_refused_at_run_time(capsys, workspace):
    source = str(workspace / "run" / "data" / "test.en")
    assert main(["translate", "--checkpoint", str(workspace / "run"), "--input", source, "--beam", "500"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("s2s translate: error: decoding option beam 500 is larger than the target vocabulary (")
    assert main(["translate", "--checkpoint", str(workspace / "run"), "--input", source, "--beam", "3", "--nbest", "4"]) == 2
    assert "decoding option nbest (4) cannot exceed beam (3)" in capsys.readouterr().err
    config = str(workspace / "tiny.yaml")
    assert main(["train", "--config", config, "--run-dir", str(workspace / "wide"), "--set", "train.valid_beam=500"]) == 2
    assert "error: 'train.valid_beam' 500 is larger than the target vocabulary (" in capsys.readouterr().err
    assert main(["train", "--config", config, "--run-dir", str(workspace / "spm"), "--set", "data.tokenizer=sentencepiece",
                 "data.vocab_size=10"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "error: 'data.vocab_size' 10 is too small for SentencePiece" in error
    assert "set data.vocab_size to at least " in error
    assert not (workspace / "wide").exists() and not (workspace / "spm").exists()  # refused before writing a run


@pytest.mark.parametrize("override, message", [
    ("train.lr=nan", "--set train.lr=nan: 'train.lr' must be a finite number, got nan."),
    ("train.lr=.inf", "--set train.lr=.inf: 'train.lr' must be a finite number, got inf."),
    ("train.time_budget_minutes=-.inf", "--set train.time_budget_minutes=-.inf: 'train.time_budget_minutes' must be a "
                                        "finite number"),
    ("train.epochs=0", "--set train.epochs=0: 'train.epochs' must be > 0, got 0 (train.max_steps can stop a run earlier)."),
    ("decode.beam=100000", "--set decode.beam=100000: 'decode.beam' must be <= 1000, got 100000."),
    ("train.epochs=" + "9" * 40, "'train.epochs' has 40 digits, too large for an integer setting (at most 2**63 - 1)."),
    ("train.lr=" + "9" * 400, "--set train.lr=" + "9" * 400 + ": 'train.lr' has 400 digits, too large for a number"),
    ("model.dropout=1.5", "--set model.dropout=1.5: 'model.dropout' must be in [0, 1), got 1.5."),
])
def test_a_bad_set_value_is_blamed_on_the_set_flag(capsys, workspace, override, message):
    assert main(["train", "--config", str(workspace / "tiny.yaml"), "--set", override]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and message in error and "tiny.yaml" not in error


def test_a_key_given_twice_is_refused_in_yaml_and_in_set(capsys, tmp_path):
    config = tmp_path / "twice.yaml"
    config.write_text("train:\n  epochs: 2\n  lr: 0.1\n  epochs: 3\n")
    assert main(["train", "--config", str(config)]) == 2
    assert capsys.readouterr().err == (f"s2s train: error: config file '{config}', line 4: 'epochs' is given twice "
                                       f"(first on line 2); keep one (PyYAML would silently use the last).\n")
    assert main(["train", "--set", "train.epochs=3", "train.epochs=4"]) == 2
    assert "--set train.epochs is given twice (--set train.epochs=3 and --set train.epochs=4)" in capsys.readouterr().err


def test_resume_refuses_a_new_model_shape_before_writing_and_a_finished_run(capsys, workspace):
    folder = workspace / "run"
    before = {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()}
    assert main(["train", "--resume", str(folder), "--set", "model.hidden_size=64", "train.max_steps=8"]) == 2
    assert capsys.readouterr().err == (
        "s2s train: error: --set model.hidden_size=64: a resumed run keeps its model's shape, tokenizers and "
        "vocabularies, so 'model.hidden_size' stays 32 (asked: 64); train a new run with --run-dir to change it.\n")
    assert main(["train", "--resume", str(folder)]) == 2  # max_steps 4 reached
    assert "has already made 4 updates (train.max_steps is 4), so there is nothing to continue" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in folder.rglob("*") if path.is_file()} == before


def test_invalid_utf8_on_stdin_warns_as_in_a_file(capsys, workspace, monkeypatch):
    import io
    import sys

    stdin = io.TextIOWrapper(io.BytesIO("forty two\nm\xfcnf\nseven\n".encode("latin-1")))
    monkeypatch.setattr(sys, "stdin", stdin)
    assert main(["translate", "--checkpoint", str(workspace / "run")]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 3
    assert "warning: stdin, line 2: not valid UTF-8; undecodable bytes are replaced by U+FFFD" in err


def test_train_without_a_config_checks_its_run_folder_too(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["train", "--set", f"train.run_dir={blocker / 'run'}", "train.epochs=1"]) == 2
    assert f"'{blocker}' is a file, not a folder; choose another train.run_dir." in capsys.readouterr().err


@pytest.mark.parametrize("command", [["train"], ["embeddings", "train", "--config", "c.yaml", "--output", "x"]])
def test_set_given_twice_adds_its_overrides(command) -> None:
    args = build_parser().parse_args([*command, "--set", "train.epochs=2", "--set", "data.vocab_size=100", "model.cell=lstm"])
    assert args.set == ["train.epochs=2", "data.vocab_size=100", "model.cell=lstm"]  # not the last flag's only
