"""The benchmark scripts' shared behaviour: bad input is one `error:` line and exit status 2, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO


@pytest.mark.parametrize("args, message", [
    (["bench_decode.py", "--checkpoint", "runs/no-such-run/best.pt"], "error: checkpoint 'runs/no-such-run/best.pt' does not exist"),
    (["select_decoding.py", "--run", "runs/no-such-run"], "error: "),
    (["profile_step.py", "--config", "no-such.yaml"], "error: config file 'no-such.yaml' does not exist"),
    (["bench_seed_ensemble.py", "--runs", "runs/no-such-run", "x.pt"], "error: no checkpoint at runs/no-such-run: give a run folder"),
    (["bench_length_penalty.py", "--runs", "runs/no-such-run"], "error: no checkpoint at runs/no-such-run: give a run folder"),
])
def test_a_missing_checkpoint_is_one_error_line(args, message):
    done = subprocess.run([sys.executable, str(REPO / "scripts" / args[0]), *args[1:]], capture_output=True, text=True,
                          cwd=REPO, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(message) and "Traceback" not in done.stderr


def test_bench_throughput_measures_a_config_as_it_is(tmp_path):
    import importlib
    import sys

    sys.path.insert(0, str(REPO / "scripts"))
    bench = importlib.import_module("bench_throughput")
    args = bench.parse_args(["--config", str(REPO / "configs/multi30k/best_en_de.yaml")])
    assert (args.models, args.pair, args.emb, args.hidden, args.tied, args.vocab_size, args.batch_tokens, args.seed,
            args.dropout, args.no_step_loop) == (["gru_attn"], "en-de", 512, 512, True, 5000, 3000, 1, 0.3, True)
    config = bench.make_config(args)
    assert config.train.label_smoothing == 0.1 and config.data.data_dir == str(args.data_dir)
    fed = tmp_path / "fed.yaml"
    fed.write_text("model: {attention: dot, input_feeding: true}\n")
    with pytest.raises(SystemExit):
        bench.parse_args(["--config", str(fed)])


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two tiny runs of one config with different seeds: independently trained models."""
    import yaml
    from helpers import tiny_config_dict

    tmp_path = tmp_path_factory.mktemp("seeds")
    runs = []
    for seed in (3, 4):
        config = tmp_path / f"seed{seed}.yaml"
        config.write_text(yaml.safe_dump(tiny_config_dict(tmp_path / f"run{seed}", train={"seed": seed, "epochs": 2})))
        done = subprocess.run([sys.executable, "-m", "s2s", "train", "--config", str(config)], capture_output=True,
                              text=True, cwd=REPO, timeout=300)
        assert done.returncode == 0, done.stderr
        runs.append(str(tmp_path / f"run{seed}"))
    return runs


def test_bench_seed_ensemble_scores_singles_and_ensembles(tmp_path, two_runs):
    import json

    runs = two_runs
    out = tmp_path / "ensemble.json"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_seed_ensemble.py"), "--runs", *runs,
                           "--threads", "1", "--json", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    rows = result["rows"]
    assert [len(row["models"]) for row in rows] == [1, 1, 2]
    assert all(row["train_minutes"] is not None for row in rows)  # from the runs' metrics.jsonl
    assert abs(rows[2]["train_minutes"] - rows[0]["train_minutes"] - rows[1]["train_minutes"]) < 0.01
    assert result["chosen"]["valid"]["bleu"] == max(row["valid"]["bleu"] for row in rows)
    assert "test" in rows[0] and "test" in result["chosen"]
    assert "| models | training min | val BLEU |" in done.stdout and "(chosen)" in done.stdout


def test_bench_length_penalty_chooses_on_the_mean_over_models(tmp_path, two_runs):
    import json

    out = tmp_path / "lp.json"
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_length_penalty.py"), "--runs", *two_runs,
                           "--penalties", "0.0", "1.0", "--threads", "1", "--json", str(out)],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert [(Path(row["model"]).parent.name, row["length_penalty"]) for row in result["rows"]] == \
        [("run3", 0.0), ("run3", 1.0), ("run4", 0.0), ("run4", 1.0)]
    means = {entry["length_penalty"]: entry["mean_bleu"] for entry in result["summary"]}
    for penalty, mean in means.items():
        assert mean == round(sum(row["valid"]["bleu"] for row in result["rows"] if row["length_penalty"] == penalty) / 2, 2)
    assert result["chosen"] == max(means, key=means.get)
    assert sum(entry["best_on"] for entry in result["summary"]) == 2
    assert set(result["test"]) >= {"model", "1.0", str(result["chosen"])}  # the model's own penalty and the chosen
    assert "| length penalty | mean val BLEU (2 models) |" in done.stdout and "(chosen)" in done.stdout


def test_bench_length_penalty_refuses_a_penalty_out_of_range():
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "bench_length_penalty.py"), "--runs", "x",
                           "--penalties", "-1"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert done.returncode == 2 and "--penalties must lie in [0, 10]" in done.stderr


def test_a_script_stopped_by_sigterm_cleans_up_and_says_so(tmp_path):
    """scripts/_machine.run_script: SIGTERM runs the script's finally: blocks (package_pretrained removes its staging
    folder there) and ends with 'terminated', status 143, no traceback."""
    staging = tmp_path / ".staging"
    code = (f"import os, shutil, signal, sys\n"
            f"sys.path.insert(0, {str(REPO / 'scripts')!r})\n"
            f"from _machine import run_script\n"
            f"def main():\n"
            f"    os.mkdir({str(staging)!r})\n"
            f"    try:\n"
            f"        os.kill(os.getpid(), signal.SIGTERM)\n"
            f"    finally:\n"
            f"        shutil.rmtree({str(staging)!r})\n"
            f"run_script(main)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stderr) == (143, "terminated\n")
    assert not staging.exists()


def test_bench_distill_decode_times_each_model_and_writes_its_translations(tmp_path, two_runs):
    import os

    src = tmp_path / "src.txt"
    src.write_text("one two\nthree\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "OMP_NUM_THREADS": "1"}
    script = str(REPO / "scripts" / "bench_distill_decode.sh")
    done = subprocess.run([script, str(src), str(tmp_path / "out"), f"single={two_runs[0]}",
                           f"teacher={two_runs[0]},{two_runs[1]}"], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith(("| single ", "| teacher "))]
    assert [row.split(" | ")[1] for row in rows] == [two_runs[0], f"{two_runs[0]} {two_runs[1]}"]
    assert all(float(row.split(" | ")[2]) > 0 and int(row.split(" | ")[3].rstrip(" |")) > 0 for row in rows)
    assert "- command: `scripts/bench_distill_decode.sh" in done.stdout and "2 source lines" in done.stdout
    for name in ("single", "teacher"):
        assert len((tmp_path / "out" / f"{name}.txt").read_text().splitlines()) == 2
    bad = subprocess.run([script, str(src), str(tmp_path / "out"), "just-a-path"], capture_output=True, text=True,
                         env=env, timeout=60)
    assert bad.returncode == 2 and bad.stderr.startswith("error: 'just-a-path' is not NAME=CKPT")


def test_bench_sample_diversity_compares_samples_with_the_beam_output(tmp_path, two_runs):
    import json

    src = tmp_path / "src.txt"
    src.write_text("one two\n\nthree four five\n")
    out = tmp_path / "diversity.json"
    command = [sys.executable, str(REPO / "scripts" / "bench_sample_diversity.py"), "--checkpoint", *two_runs,
               "--src", str(src), "--samples", "4", "--threads", "1"]
    done = subprocess.run([*command, "--json", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert result["lines"] == 2  # the blank line is left out
    for figures in result["results"].values():
        assert 0 <= figures["same_as_beam"] <= 1 and 1 <= figures["distinct_per_line"] <= 4
        assert figures["logprob_per_token"] < 0
    assert "| model | samples = beam output | distinct per line (of 4) |" in done.stdout
    # temperature 0 samples are greedy decoding: every sample the same, one distinct per line
    greedy = subprocess.run([*command, "--temperature", "0", "--json", str(out)], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert greedy.returncode == 0, greedy.stderr
    assert all(f["distinct_per_line"] == 1 for f in json.loads(out.read_text())["results"].values())
    bad = subprocess.run([*command[:-4], "--samples", "1"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --lines must be at least 1 and --samples at least 2")
