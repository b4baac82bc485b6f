"""Test helpers: tiny configs, a torchrun job, and the path of the offline Multi30k mirror."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from s2s.config import save_config
from s2s.training.distributed import Ranks

REPO = Path(__file__).resolve().parents[1]
MULTI30K_MIRROR = REPO.parent / "shared" / "data" / "multi30k"
TATOEBA_MIRROR = REPO.parent / "shared" / "data" / "tatoeba"


def tiny_config_dict(run_dir: Path, **sections) -> dict:
    """A built-in-task config small enough to train for a few steps in seconds."""
    raw = {
        "data": {"dataset": "numbers", "tokenizer": "whitespace", "numbers_train": 300, "numbers_valid": 20,
                 "numbers_test": 20, "numbers_max_digits": 6},
        "model": {"cell": "gru", "attention": "dot", "emb_size": 16, "hidden_size": 32, "dropout": 0.0},
        "train": {"epochs": 1, "batch_tokens": 340, "log_every": 2, "run_dir": str(run_dir), "seed": 3, "amp": "none"},
        "decode": {"batch_size": 16},
        "name": "tiny",
    }
    for section, values in sections.items():
        raw[section].update(values)
    return raw


CORPUS_WORDS = "the a cat dog sees runs big small red house tree near far blue".split()


def write_corpus(folder: Path, pairs: int = 60, seed: int = 0) -> Path:
    """Parallel files train.src/.tgt (`pairs` lines) and valid.src/.tgt (6 lines) of a word-reversal 'translation',
    with one blank line (5) and one long line (9, 150 tokens) in training, to drop."""
    rng = np.random.default_rng(seed)
    src = [" ".join(rng.choice(CORPUS_WORDS, rng.integers(2, 9))) for _ in range(pairs)]
    src[5], src[9] = "", " ".join(["tree"] * 150)  # dropped: blank, longer than max_len (100) in any tokenization
    tgt = [" ".join(reversed(line.split())) or "empty" for line in src]
    folder.mkdir(exist_ok=True)
    for name, lines in (("train.src", src), ("train.tgt", tgt), ("valid.src", src[:6]), ("valid.tgt", tgt[:6])):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def files_config(tmp_path: Path, **data):
    """A tiny config on the write_corpus files in tmp_path/text, with its data cache in tmp_path/cache."""
    from s2s.config import config_from_dict

    folder = tmp_path / "text"
    settings = {"dataset": "files", "train_src": str(folder / "train.src"), "train_tgt": str(folder / "train.tgt"),
                "valid_src": str(folder / "valid.src"), "valid_tgt": str(folder / "valid.tgt"),
                "cache_dir": str(tmp_path / "cache"), **data}
    return config_from_dict(tiny_config_dict(tmp_path / "run", data=settings))


def build_logged(config, vocabularies=None) -> tuple:
    """(corpus, log messages) of build_corpus."""
    from s2s.data.corpus import build_corpus

    messages = []
    return build_corpus(config.data, log=messages.append, vocabularies=vocabularies), messages


def said(messages: list[str], text: str) -> bool:
    return any(text in message for message in messages)


def torchrun(config, tmp_path: Path) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc-per-node 2 -m s2s train --config CONFIG` with the config saved as YAML."""
    config_path = tmp_path / "config.yaml"
    save_config(config, config_path)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
               "-m", "s2s", "train", "--config", str(config_path)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})


def train_as_two_ranks(trainer) -> None:
    """Make a single-process trainer take, at each step, the union of the two batches two ranks would take."""
    all_batches = trainer.epoch_batches  # a single process gets all of the epoch's batches

    def union_of_two_shards(epoch):
        batches = all_batches(epoch)
        return [np.concatenate([first, second]) for first, second in zip(Ranks(0, 2).shard(batches), Ranks(1, 2).shard(batches))]

    trainer.epoch_batches = union_of_two_shards


def rounded_nbest(translations) -> list:
    """Each Translation's n-best list with its scores to 4 places: a batch decodes the texts of single sentences, its
    scores differ in the last float bits (padding changes the order of the sums)."""
    return [[(text, round(score, 4)) for text, score in t.nbest] for t in translations]
