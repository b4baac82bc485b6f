"""The real-data path offline: download Multi30k from the mirror, train a few dozen steps on a slice, translate, evaluate."""

import json
import os
import subprocess
import sys

import pytest
import yaml
from helpers import MULTI30K_MIRROR, REPO

pytestmark = pytest.mark.skipif(not MULTI30K_MIRROR.is_dir(), reason=f"no Multi30k mirror at {MULTI30K_MIRROR}")


def s2s(*args, cwd):
    return subprocess.run([sys.executable, "-m", "s2s", *args], capture_output=True, text=True, cwd=cwd, timeout=900,
                          env={**os.environ, "S2S_MULTI30K_MIRROR": ""})


def test_download_train_translate_evaluate(tmp_path):
    download = s2s("data", "download", "multi30k", "--dest", "data/multi30k", "--mirror", str(MULTI30K_MIRROR), cwd=tmp_path)
    assert download.returncode == 0, download.stderr
    assert len(json.loads(download.stdout)) == 12

    config = yaml.safe_load((REPO / "configs/multi30k/gru_attn.yaml").read_text())
    config["data"].update(train_limit=2000, vocab_size=400)
    config["model"].update(emb_size=32, hidden_size=64)
    config["train"].update(max_steps=30, epochs=5, batch_tokens=1500, time_budget_minutes=0, run_dir="run", log_every=10)
    config["decode"].update(beam=2)
    (tmp_path / "m30k.yaml").write_text(yaml.safe_dump(config))
    train = s2s("train", "--config", "m30k.yaml", cwd=tmp_path)
    assert train.returncode == 0, train.stderr
    assert "data: 2000 training pairs" in train.stderr

    src, ref = "data/multi30k/test_2016_flickr.de.gz", "data/multi30k/test_2016_flickr.en.gz"
    translated = s2s("translate", "--checkpoint", "run", "--input", src, "--output", "test.hyp", cwd=tmp_path)
    assert translated.returncode == 0, translated.stderr
    assert len((tmp_path / "test.hyp").read_text(encoding="utf-8").splitlines()) == 1000
    evaluated = s2s("evaluate", "--checkpoint", "run", "--src", src, "--ref", ref, "--report", "test.json", cwd=tmp_path)
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads((tmp_path / "test.json").read_text())
    assert report["num_sentences"] == 1000 and report["settings"]["beam"] == 2
    assert report["signature"]["bleu"].startswith("nrefs:1|case:mixed|eff:no|tok:13a")
