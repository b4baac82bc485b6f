"""s2s score and s2s significance as a user runs them (in process, one tiny run): output format and order, ensembles,
batch sizes, and the errors for unequal files and bad paths."""

import json

import pytest
import yaml
from helpers import tiny_config_dict

from s2s.cli import main
from s2s.decoding.translator import Translator


@pytest.fixture(scope="module")
def run(tmp_path_factory, one_torch_thread):
    folder = tmp_path_factory.mktemp("scoring")
    config = folder / "tiny.yaml"
    config.write_text(yaml.safe_dump(tiny_config_dict(folder / "run", train={"max_steps": 6, "valid_every": 6})))
    assert main(["train", "--config", str(config)]) == 0
    return folder / "run"


def score(capsys, *args) -> tuple[int, str, str]:
    code = main(["score", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def columns(tsv: str) -> list[tuple[float, float, int]]:
    return [(float(a), float(b), int(c)) for a, b, c in (line.split("\t") for line in tsv.splitlines())]


def test_score_writes_one_tsv_line_per_pair_in_input_order(run, tmp_path, capsys):
    src, tgt = run / "data" / "test.en", run / "data" / "test.de"
    code, out, err = score(capsys, "--checkpoint", run / "best.pt", "--src", src, "--tgt", tgt, "--batch-size", 3)
    assert code == 0, err
    rows = columns(out)
    sources, targets = src.read_text().splitlines(), tgt.read_text().splitlines()
    expected = Translator.from_checkpoint(run / "best.pt", device="cpu").score(sources, targets)
    assert len(rows) == len(sources) == 20
    assert [r[2] for r in rows] == [e["tokens"] for e in expected] == [len(t.split()) + 1 for t in targets]
    assert [r[0] for r in rows] == pytest.approx([e["log_prob"] for e in expected], abs=1e-5)
    assert [r[1] for r in rows] == pytest.approx([e["mean"] for e in expected], abs=1e-5)
    total, tokens = sum(e["log_prob"] for e in expected), sum(e["tokens"] for e in expected)
    assert err.startswith(f"scored 20 pairs: {total / tokens:.4f} nats per token (perplexity ")
    # reversed input, reversed output; batch size 1 and the JSON format give the same numbers
    (tmp_path / "src").write_text("\n".join(sources[::-1]) + "\n")
    (tmp_path / "tgt").write_text("\n".join(targets[::-1]) + "\n")
    code, out, _ = score(capsys, "--checkpoint", run, "--src", tmp_path / "src", "--tgt", tmp_path / "tgt",
                         "--batch-size", 1, "--format", "json", "--output", tmp_path / "scores.jsonl")
    assert code == 0 and out == ""
    records = [json.loads(line) for line in (tmp_path / "scores.jsonl").read_text().splitlines()]
    assert list(records[0]) == ["log_prob", "mean", "tokens"]
    assert [r["log_prob"] for r in records] == pytest.approx([r[0] for r in rows][::-1], abs=1e-5)


def test_an_ensemble_of_a_checkpoint_with_itself_scores_as_the_checkpoint(run, capsys):
    src, tgt = run / "data" / "test.en", run / "data" / "test.de"
    _, single, _ = score(capsys, "--checkpoint", run / "best.pt", "--src", src, "--tgt", tgt)
    code, pair, err = score(capsys, "--checkpoint", run / "best.pt", run / "best.pt", "--src", src, "--tgt", tgt)
    assert code == 0, err
    assert pair == single  # (x + x) / 2 is x exactly


def test_score_errors_name_the_files(run, tmp_path, capsys):
    src = run / "data" / "test.en"
    short = tmp_path / "short.de"
    short.write_text("eins\nzwei\n")
    code, _, err = score(capsys, "--checkpoint", run, "--src", src, "--tgt", short)
    assert code == 2 and f"'{short}' ends after line 2, but '{src}' goes on ('{src}' has 20 lines, '{short}' has 2)" in err
    (tmp_path / "gap.en").write_text("forty two\n\n")
    code, _, err = score(capsys, "--checkpoint", run, "--src", tmp_path / "gap.en", "--tgt", short)
    assert code == 2 and "source line 2 is empty" in err
    code, _, err = score(capsys, "--checkpoint", run, "--src", src, "--tgt", src, "--output", src)
    assert code == 2 and f"--output '{src}' is --src '{src}', an input of this command" in err


def significance(capsys, *args) -> tuple[int, str, str]:
    code = main(["significance", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def systems(tmp_path):
    references = [f"a dog runs across the field number {i}" for i in range(30)]
    baseline = [f"a dog runs the field {i}" for i in range(30)]
    better = [r if i % 2 else b for i, (r, b) in enumerate(zip(references, baseline))]
    for name, lines in (("ref.txt", references), ("base.txt", baseline), ("better.txt", better)):
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    return tmp_path


def test_significance_prints_a_table_writes_json_and_repeats_with_the_seed(systems, capsys):
    ref, base, better = systems / "ref.txt", systems / "base.txt", systems / "better.txt"
    args = ["--ref", ref, "--baseline", base, better, base, "--ar-trials", 500, "--seed", 7]
    code, out, err = significance(capsys, *args, "--json", systems / "sig.json")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[2].startswith(f"| {base} (baseline) | ") and lines[3].startswith(f"| {better} | ")
    assert lines[4].startswith(f"| {base} (identical to the baseline) | ")
    result = json.loads((systems / "sig.json").read_text())
    assert [s["name"] for s in result["systems"]] == [str(base), str(better), str(base)]
    assert result["ref"] == str(ref) and result["seed"] == 7 and result["ar_trials"] == 500
    assert result["sentences"] == 30 and result["bootstrap_samples"] == 1000
    assert result["systems"][1]["bleu"]["p_bootstrap"] < 0.05 and result["systems"][1]["chrf"]["p_ar"] < 0.05
    assert err == f"wrote {systems / 'sig.json'}\n"
    assert significance(capsys, *args)[1] == out


def test_significance_errors_name_the_files(systems, capsys):
    ref, base = systems / "ref.txt", systems / "base.txt"
    (systems / "short.txt").write_text("a dog\n" * 29)
    code, _, err = significance(capsys, "--ref", ref, "--baseline", base, systems / "short.txt")
    assert code == 2 and f"'{systems / 'short.txt'}' has 29 lines but --ref '{ref}' has 30" in err
    code, _, err = significance(capsys, "--ref", ref, "--baseline", base, systems / "missing.txt")
    assert code == 2 and f"HYP file '{systems / 'missing.txt'}' does not exist" in err
    code, _, err = significance(capsys, "--ref", ref, "--baseline", base, base, "--json", base)
    assert code == 2 and f"--json '{base}' is --baseline '{base}', an input of this command" in err
    with pytest.raises(SystemExit):
        main(["significance", "--ref", str(ref), "--baseline", str(base), str(base), "--seed", "0"])
    assert "argument --seed: must be >= 1 (sacreBLEU takes 0 as no seed), got 0" in capsys.readouterr().err
