"""The command line as a user runs it: real subprocesses, real files."""

import json
import os
import subprocess
import sys
import textwrap

import pytest
import yaml
from helpers import REPO, tiny_config_dict

from s2s.cli import COMMANDS, main
from s2s.errors import Terminated


def s2s(*args, stdin=None, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "s2s", *args], input=stdin, capture_output=True, text=True,
                          cwd=cwd or REPO, env={**os.environ, **(env or {})}, timeout=600)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config_dict(folder / "run")))
    result = s2s("train", "--config", str(config), "--set", "train.epochs=2", "model.cell=lstm")
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stderr  # stderr is a pipe here: progress comes as whole lines
    return folder / "run"


def test_train_writes_a_complete_run_folder(run):
    assert yaml.safe_load((run / "config.yaml").read_text())["model"]["cell"] == "lstm"  # --set landed
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    valid = [r for r in records if "valid_bleu" in r]
    assert [r["epoch"] for r in valid] == [1, 2]
    assert {"valid_loss", "valid_ppl", "valid_bleu", "valid_chrf"} <= set(valid[0])
    assert any("tokens_per_s" in r for r in records)


def test_translate_keeps_one_line_per_input_line(run):
    text = "forty two\n\nseven hundred one\n   \nzebra unknown words\n"
    result = s2s("translate", "--checkpoint", str(run / "best.pt"), stdin=text)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert len(lines) == 6 and lines[-1] == ""  # five lines, each ended by a newline
    assert lines[1] == "" and lines[3] == ""
    beam = s2s("translate", "--checkpoint", str(run), "--beam", "3", "--scores", stdin=text)
    assert beam.returncode == 0, beam.stderr
    assert len(beam.stdout.splitlines()) == 5 and beam.stdout.splitlines()[0].count("\t") == 1


def test_translate_files_and_missing_output_folder(run, tmp_path):
    out = tmp_path / "out.de"
    result = s2s("translate", "--checkpoint", str(run / "best.pt"), "--input", str(run / "data/test.en"), "--output", str(out))
    assert result.returncode == 0, result.stderr
    assert len(out.read_text().splitlines()) == len((run / "data/test.en").read_text().splitlines())
    bad = s2s("translate", "--checkpoint", str(run / "best.pt"), "--input", str(run / "data/test.en"),
              "--output", str(tmp_path / "missing" / "out.de"))
    assert bad.returncode == 2 and "output folder" in bad.stderr and "Traceback" not in bad.stderr


def test_evaluate_prints_table_and_writes_json_and_markdown(run, tmp_path):
    report = tmp_path / "test.json"
    result = s2s("evaluate", "--checkpoint", str(run / "best.pt"), "--src", str(run / "data/test.en"),
                 "--ref", str(run / "data/test.de"), "--report", str(report))
    assert result.returncode == 0, result.stderr
    assert "| BLEU |" in result.stdout and "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:" in result.stdout
    data = json.loads(report.read_text())
    assert {"bleu", "chrf", "signature", "num_sentences"} <= set(data) and data["num_sentences"] == 20
    assert 0 <= data["bleu"] <= 100
    assert "| chrF |" in report.with_suffix(".md").read_text()


def test_report_writes_scores_buckets_curves_and_translations(run, tmp_path):
    result = s2s("report", str(run), "--output", str(tmp_path / "rep"), "--beam", "1")
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert data["num_sentences"] == 20 and data["settings"]["beam"] == 1 and data["by_length"]
    assert len(data["attention"]) == 3 and (tmp_path / "rep" / "report_attention_3.png").is_file()  # lstm_attn
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert data["step"] == [r["step"] for r in records if r.get("best")][-1]  # best.pt: the last validation marked best
    assert len((tmp_path / "rep" / "translations.txt").read_text().splitlines()) == 20
    md = (tmp_path / "rep" / "report.md").read_text()
    assert "![training curves](report_training.png)" in md and "source: `numbers test (en)`" in md
    assert (tmp_path / "rep" / "report_training.png").is_file() and (tmp_path / "rep" / "report_bleu_by_length.png").is_file()
    half = s2s("report", str(run), "--src", str(run / "data/test.en"))
    assert half.returncode == 2 and "--src and --ref go together" in half.stderr


def test_compare_puts_runs_side_by_side(run, tmp_path):
    import shutil

    other = shutil.copytree(run, tmp_path / "b" / run.name)
    result = s2s("compare", str(run), str(other), "--output", str(tmp_path / "cmp"))
    assert result.returncode == 0, result.stderr
    rows = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert len(rows) == 2 and rows[0]["run"] != rows[1]["run"]  # same folder name twice: labelled by path
    assert rows[0]["model"] == "lstm_attn" and rows[0]["epochs"] == 2 and rows[0]["parameters"] > 1000
    assert "| run | model | parameters |" in result.stdout
    assert (tmp_path / "cmp" / "compare.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("args, message", [
    (["train", "--config", "nope.yaml"], "config file 'nope.yaml' does not exist"),
    (["train", "--config", "configs/quickstart.yaml", "--set", "model.hiden_size=3"], "Did you mean 'hidden_size'?"),
    (["translate", "--checkpoint", "configs/quickstart.yaml"], "corrupt or truncated"),
    (["translate", "--checkpoint", "missing.pt"], "checkpoint 'missing.pt' does not exist"),
    (["evaluate", "--checkpoint", "x.pt", "--src", "a", "--ref", "b"], "--checkpoint 'x.pt' does not exist"),
    (["report", "configs"], "'configs' has no best.pt; give a run folder written by s2s train"),
    (["compare", "configs"], "'configs' is not a run folder (it needs config.yaml and metrics.jsonl"),
    (["average", "configs", "--last", "2", "--output", "x.pt"], "'configs' has no kept checkpoints"),
    (["average", "a.pt", "b.pt", "--best", "2", "--output", "x.pt"], "give exactly one RUN_DIR"),
    (["train", "--config", "configs/quickstart.yaml", "--set", "decode.no_repeat_ngram=-1"],
     "'decode.no_repeat_ngram' must be >= 0, got -1"),
    (["evaluate", "--checkpoint", "x.pt", "--src", "a"], "evaluate needs --src and --ref (a translation model) or --text FILE"),
    (["embeddings", "neighbors", "configs", "seven"], "'configs' is neither a word vectors file nor a folder holding src.vec"),
])
def test_errors_are_one_line_without_traceback(args, message):
    result = s2s(*args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("stop, code, said", [(KeyboardInterrupt, 130, "interrupted"), (Terminated, 143, "terminated")])
def test_ctrl_c_and_sigterm_end_a_command_with_one_line_and_the_shells_status(monkeypatch, capsys, stop, code, said):
    def run(args):
        raise stop

    monkeypatch.setattr(COMMANDS["pretrained"], "run", run)
    assert main(["pretrained"]) == code
    assert capsys.readouterr().err == said + "\n"


def test_debug_shows_the_traceback():
    result = s2s("--debug", "train", "--config", "nope.yaml")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_zoo_and_help():
    zoo = s2s("zoo")
    assert zoo.returncode == 0
    rows = zoo.stdout.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["rnn", "rnn_attn", "lstm", "lstm_attn", "gru", "gru_attn",
                                                "rnn_lm", "lstm_lm", "gru_lm"]
    assert all(int(row.split()[1].replace(",", "")) > 1_000_000 for row in rows)
    for command in ("train", "translate", "evaluate", "report", "compare", "average", "serve", "zoo", "data", "analyze",
                    "generate", "embeddings"):
        assert s2s(command, "--help").returncode == 0
    assert "--length-penalty" in s2s("translate", "--help").stdout


def test_user_registered_model_named_in_config(tmp_path):
    (tmp_path / "my_models.py").write_text(textwrap.dedent('''
        from s2s.models.seq2seq import Seq2Seq
        from s2s.registry import MODELS

        @MODELS.register("my_lstm", "an LSTM model registered outside s2s")
        def my_lstm(cfg, src_vocab_size, tgt_vocab_size):
            return Seq2Seq.from_config(cfg, src_vocab_size, tgt_vocab_size, cell="lstm", attention=True)
    '''))
    raw = tiny_config_dict(tmp_path / "run")
    raw["model"]["name"] = "my_lstm"
    raw["imports"] = ["my_models"]
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = s2s("train", "--config", "c.yaml", "--set", "train.max_steps=3", cwd=tmp_path,
                 env={"PYTHONPATH": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert "model my_lstm:" in result.stderr
    translated = s2s("translate", "--checkpoint", "run/best.pt", stdin="one\n", cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert translated.returncode == 0 and len(translated.stdout.splitlines()) == 1


def test_nbest_and_attention_outputs(run, tmp_path):
    attention = tmp_path / "attn.jsonl"
    result = s2s("translate", "--checkpoint", str(run), "--beam", "4", "--nbest", "3", "--attention", str(attention),
                 stdin="forty two\n\nseven\n")
    assert result.returncode == 0, result.stderr
    lines = [line.split(" ||| ") for line in result.stdout.splitlines()]
    assert [fields[0] for fields in lines] == ["0", "0", "0", "1", "2", "2", "2"]
    scores = [float(fields[2]) for fields in lines[:3]]
    assert scores == sorted(scores, reverse=True)
    records = [json.loads(line) for line in attention.read_text().splitlines()]
    assert [r["line"] for r in records] == [0, 1, 2] and records[1]["weights"] is None
    assert len(records[0]["weights"]) == len(records[0]["out"]) and len(records[0]["weights"][0]) == len(records[0]["src"])


def test_resume_and_a_changed_config_is_refused(run, tmp_path):
    config = tmp_path / "changed.yaml"
    raw = yaml.safe_load((run / "config.yaml").read_text())
    raw["model"]["hidden_size"] = 64
    config.write_text(yaml.safe_dump(raw))
    refused = s2s("train", "--resume", str(run), "--config", str(config))
    assert refused.returncode == 2
    assert "model.hidden_size: run has 32, --config has 64" in refused.stderr and "Traceback" not in refused.stderr


def test_sigint_saves_a_checkpoint_and_resume_finishes_the_run(tmp_path):
    import signal
    import time

    raw = tiny_config_dict(tmp_path / "run", train={"epochs": 1000, "log_every": 1})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    process = subprocess.Popen([sys.executable, "-m", "s2s", "train", "--config", str(tmp_path / "c.yaml")],
                               cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    metrics = tmp_path / "run" / "metrics.jsonl"
    deadline = time.time() + 120
    while time.time() < deadline and not (metrics.exists() and len(metrics.read_text().splitlines()) >= 3):
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Continue with: s2s train --resume" in stderr and "Traceback" not in stderr
    step = yaml.safe_load(json.dumps(json.loads(metrics.read_text().splitlines()[-1])))["step"]
    resumed = s2s("train", "--resume", str(tmp_path / "run"), "--set", f"train.max_steps={step + 3}")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at step {step}" in resumed.stderr
    assert "encoded training pairs memory-mapped from" in resumed.stderr  # --resume reuses the encoded data
    last = json.loads(metrics.read_text().splitlines()[-1])
    assert last["step"] == step + 3 and "valid_bleu" in last


def test_data_cache_lists_and_clears_its_entries(tmp_path):
    from s2s.config import config_from_dict
    from s2s.data.corpus import build_corpus

    raw = tiny_config_dict(tmp_path / "run", data={"cache_dir": str(tmp_path / "cache")})
    build_corpus(config_from_dict(raw).data, log=lambda message: None)
    (tmp_path / "cache" / "notes.txt").write_text("not the cache's")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    listed = s2s("data", "cache", "--config", str(tmp_path / "c.yaml"))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"data cache: {tmp_path / 'cache'} (2 entries, ") and len(lines) == 3
    assert lines[1].startswith("  ids-") and lines[1].endswith("ok: 300 training pairs (0 dropped) from generated text")
    assert lines[2].startswith("  vocabularies-") and "ok: tokenizers and vocabularies (source 34, target 36 tokens)" in lines[2]
    cleared = s2s("data", "cache", "--clear", "--dir", str(tmp_path / "cache"))
    assert cleared.returncode == 0 and cleared.stdout.startswith("data cache: deleted 2 entries (")
    assert os.listdir(tmp_path / "cache") == ["notes.txt"]
    assert s2s("data", "cache", "--list", "--dir", str(tmp_path / "cache")).stdout.startswith(
        f"data cache: {tmp_path / 'cache'} (0 entries, 0 B)")


def test_a_cache_folder_that_is_a_file_names_where_the_folder_came_from(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    raw = tiny_config_dict(tmp_path / "run", data={"cache_dir": str(tmp_path / "file")})
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    env = {**os.environ, "S2S_CACHE": str(tmp_path / "file")}
    for args, origin in ((["--dir", str(tmp_path / "file")], "--dir"),
                         (["--config", str(tmp_path / "c.yaml")], f"data.cache_dir of {tmp_path / 'c.yaml'}"),
                         ([], "$S2S_CACHE")):
        result = s2s("data", "cache", *args, env=env)
        assert result.returncode == 2
        assert result.stderr == f"s2s data: error: the cache folder '{tmp_path / 'file'}' ({origin}) is a file; give a folder.\n"


def test_translate_a_latin1_file_warns_and_keeps_every_line(run, tmp_path):
    source = tmp_path / "latin1.txt"
    source.write_bytes("forty two\nm\xfcnf caf\xe9\nseven\n".encode("latin-1"))
    result = s2s("translate", "--checkpoint", str(run), "--input", str(source))
    assert result.returncode == 0, result.stderr
    assert "line 2: not valid UTF-8" in result.stderr
    assert len(result.stdout.splitlines()) == 3


def test_empty_training_data_and_full_disk_are_clear_errors(tmp_path):
    (tmp_path / "empty.en").write_text("")
    (tmp_path / "empty.de").write_text("")
    raw = tiny_config_dict(tmp_path / "run")
    raw["data"] = {"dataset": "files", "train_src": str(tmp_path / "empty.en"), "train_tgt": str(tmp_path / "empty.de"),
                   "valid_src": str(tmp_path / "empty.en"), "valid_tgt": str(tmp_path / "empty.de")}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    result = s2s("train", "--config", str(tmp_path / "c.yaml"))
    assert result.returncode == 2 and "are empty" in result.stderr and "Traceback" not in result.stderr


def test_write_failure_of_an_output_file_is_a_clear_error(tmp_path, monkeypatch):
    from s2s.commands.streams import output_stream
    from s2s.errors import S2SError

    target = tmp_path / "out.txt"
    target.write_text("previous\n")
    with pytest.raises(S2SError, match="writing '.*out.txt' failed: No space left on device"):
        with output_stream(str(target)) as handle:
            handle.write("new\n")
            raise OSError(28, "No space left on device")
    assert target.read_text() == "previous\n"  # nothing the user had is lost
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_interactive_translation_from_a_terminal(run):
    import pty

    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "s2s", "translate", "--checkpoint", str(run)], cwd=REPO,
                               stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(terminal)
    os.write(controller, b"forty two\n\n")
    os.write(controller, b"\x04")  # Ctrl-D: end of input
    stdout, stderr = process.communicate(timeout=120)
    os.close(controller)
    assert process.returncode == 0, stderr
    assert "interactive translation" in stderr and "> " in stderr
    assert len(stdout.splitlines()) == 2 and stdout.splitlines()[1] == ""


def test_average_and_ensemble_from_the_command_line(tmp_path):
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config_dict(tmp_path / "run", train={"epochs": 3, "keep_checkpoints": 2})))
    assert s2s("train", "--config", str(config)).returncode == 0
    run = tmp_path / "run"
    kept = sorted(str(p) for p in (run / "checkpoints").glob("step*.pt"))
    assert 2 <= len(kept) <= 3  # the 2 latest and the 2 best validations of 3
    averaged = s2s("average", str(run), "--last", "2", "--output", str(tmp_path / "avg.pt"))
    assert averaged.returncode == 0, averaged.stderr
    assert averaged.stdout.startswith("averaged 2 checkpoints") and (tmp_path / "avg.pt").is_file()
    test = [str(run / "data/test.en"), str(run / "data/test.de")]
    alone = s2s("evaluate", "--checkpoint", str(tmp_path / "avg.pt"), "--src", test[0], "--ref", test[1])
    twice = s2s("evaluate", "--checkpoint", str(tmp_path / "avg.pt"), str(tmp_path / "avg.pt"), "--src", test[0], "--ref", test[1])
    assert alone.returncode == twice.returncode == 0, twice.stderr
    assert alone.stdout == twice.stdout  # an ensemble of two copies scores exactly as the model alone
    report = s2s("report", str(run), "--checkpoint", str(tmp_path / "avg.pt"), "--output", str(tmp_path / "rep"))
    assert report.returncode == 0, report.stderr
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["checkpoint"] == str(tmp_path / "avg.pt")
    guarded = s2s("translate", "--checkpoint", *kept, "--input", test[0], "--no-repeat-ngram", "2")
    assert guarded.returncode == 0 and len(guarded.stdout.splitlines()) == 20


def test_ensemble_of_different_vocabularies_is_refused(run, tmp_path):
    config = tmp_path / "other.yaml"
    config.write_text(yaml.safe_dump(tiny_config_dict(tmp_path / "other", data={"numbers_train": 50})))
    assert s2s("train", "--config", str(config)).returncode == 0
    result = s2s("translate", "--checkpoint", str(run / "best.pt"), str(tmp_path / "other" / "best.pt"), stdin="one\n")
    assert result.returncode == 2 and "have different src vocabs, so they cannot be ensembled" in result.stderr


@pytest.mark.parametrize("flag, value, message", [
    ("--beam", "0", "argument --beam: must be >= 1 (1 is greedy decoding), got 0"),
    ("--nbest", "0", "argument --nbest: must be >= 1, got 0"),
    ("--batch-size", "0", "argument --batch-size: must be >= 1, got 0"),
    ("--batch-size", "many", "argument --batch-size: expected an integer, got 'many'"),
    ("--length-penalty", "-1", "argument --length-penalty: must be >= 0.0, got -1"),
    ("--max-len-ratio", "0", "argument --max-len-ratio: must be > 0, got 0"),
    ("--max-len-ratio", "-1", "argument --max-len-ratio: must be > 0, got -1"),  # was: 'must be >= 0.0', then 0 refused
    ("--no-repeat-ngram", "-2", "argument --no-repeat-ngram: must be >= 0 (0 is off), got -2"),
])
@pytest.mark.parametrize("command", ["translate", "evaluate", "report"])
def test_every_decoding_flag_refuses_values_outside_its_range(capsys, command, flag, value, message):
    from s2s.cli import build_parser

    required = {"translate": ["--checkpoint", "x.pt"], "evaluate": ["--checkpoint", "x.pt", "--src", "a", "--ref", "b"],
                "report": ["runs/x"]}[command]
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args([command, *required, flag, value])
    assert exit_.value.code == 2 and message in capsys.readouterr().err


def test_a_yaml_syntax_error_names_the_file_and_line(tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("train:\n  epochs: 3\n lr: 0.1\n")
    result = s2s("train", "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"config file '{config}', line 3, column 2: YAML syntax error" in result.stderr
    assert "<unicode string>" not in result.stderr


def test_language_model_train_generate_and_perplexity(tmp_path):
    raw = tiny_config_dict(tmp_path / "lm")
    raw["model"]["name"] = "gru_lm"
    raw["train"].update(early_stopping_metric="loss", bptt=8)
    (tmp_path / "lm.yaml").write_text(yaml.safe_dump(raw))
    trained = s2s("train", "--config", str(tmp_path / "lm.yaml"))
    assert trained.returncode == 0, trained.stderr
    assert "model gru_lm:" in trained.stderr and " ppl " in trained.stderr and "BLEU" not in trained.stderr
    first = s2s("generate", "--checkpoint", str(tmp_path / "lm"), "--prompt", "drei", "-n", "3", "--seed", "7", "--top-k", "5")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    assert len(lines) == 3 and all(line.startswith("drei") for line in lines)
    again = s2s("generate", "--checkpoint", str(tmp_path / "lm"), "--prompt", "drei", "-n", "3", "--seed", "7", "--top-k", "5")
    assert again.stdout == first.stdout
    scored = s2s("evaluate", "--checkpoint", str(tmp_path / "lm"), "--text", str(tmp_path / "lm" / "data" / "test.de"),
                 "--report", str(tmp_path / "ppl.json"))
    assert scored.returncode == 0, scored.stderr
    report = json.loads((tmp_path / "ppl.json").read_text())
    assert report["sentences"] == 20 and report["mode"] == "one stream, windows of 8 tokens"
    assert scored.stdout.startswith(f"perplexity {report['perplexity']:.3f} (mean negative log-likelihood")
    refused = s2s("translate", "--checkpoint", str(tmp_path / "lm"), stdin="drei\n")
    assert refused.returncode == 2 and "holds a language model (gru_lm), which does not translate" in refused.stderr


def test_embeddings_train_neighbors_and_plot(tmp_path):
    pytest.importorskip("gensim")
    raw = tiny_config_dict(tmp_path / "run")
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(raw))
    trained = s2s("embeddings", "train", "--config", str(tmp_path / "c.yaml"), "--output", str(tmp_path / "vec"),
                  "--dim", "8", "--method", "cbow")
    assert trained.returncode == 0, trained.stderr
    manifest = json.loads((tmp_path / "vec" / "embeddings.json").read_text())
    assert manifest["method"] == "cbow" and manifest["dim"] == 8 and set(manifest["files"]) == {"src", "tgt"}
    src = manifest["files"]["src"]
    assert src["language"] == "en" and src["sentences"] == 300 and src["vocabulary_covered"] == src["vocabulary_size"] - 4
    assert (tmp_path / "vec" / "src.vec").read_text().splitlines()[0] == f"{src['words']} 8"
    nearest = s2s("embeddings", "neighbors", str(tmp_path / "vec"), "seven", "-k", "3")
    assert nearest.returncode == 0, nearest.stderr
    assert nearest.stdout.splitlines()[0] == "src: nearest to 'seven' by cosine similarity" and len(nearest.stdout.splitlines()) == 4
    drawn = s2s("embeddings", "plot", str(tmp_path / "vec"), "one", "two", "hundred", "--output", str(tmp_path / "map.png"))
    assert drawn.returncode == 0, drawn.stderr
    assert [line.split("\t")[0] for line in drawn.stdout.splitlines()[:3]] == ["one", "two", "hundred"]
    assert (tmp_path / "map.png").read_bytes()[:4] == b"\x89PNG"
    used = s2s("train", "--config", str(tmp_path / "c.yaml"), "--set", "train.max_steps=1",
               f"model.src_embeddings={tmp_path / 'vec' / 'src.vec'}")
    assert used.returncode == 2 and "holds 8-dimensional vectors, but 'model.emb_size' is 16" in used.stderr


def test_the_program_exits_quickly_with_its_output_whole_and_its_exit_handlers_run(tmp_path, capsys):
    """console_main skips Python's teardown of torch's modules (os._exit) only after flushing and running atexit."""
    from s2s.cli import main

    mark = tmp_path / "atexit-ran"
    code = ("import atexit, os, sys\n"
            "atexit.register(lambda: open(os.environ['MARK'], 'w').write('ran'))\n"
            "sys.argv = ['s2s', 'pretrained']\n"
            "from s2s.cli import console_main\n"
            "console_main()\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, "MARK": str(mark)})
    assert done.returncode == 0, done.stderr
    assert main(["pretrained"]) == 0
    assert done.stdout == capsys.readouterr().out and done.stdout.count("\n") > 4
    assert mark.read_text() == "ran"
    refused = s2s("translate", "--checkpoint", str(tmp_path / "missing.pt"), stdin="Hallo\n")
    assert refused.returncode == 2 and "error:" in refused.stderr
