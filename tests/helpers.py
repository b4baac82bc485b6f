"""Test helpers: tiny configs and the path of the offline Multi30k mirror."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MULTI30K_MIRROR = REPO.parent / "shared" / "data" / "multi30k"


def tiny_config_dict(run_dir: Path, **sections) -> dict:
    """A built-in-task config small enough to train for a few steps in seconds."""
    raw = {
        "data": {"dataset": "numbers", "tokenizer": "whitespace", "numbers_train": 300, "numbers_valid": 20,
                 "numbers_test": 20, "numbers_max_digits": 6},
        "model": {"cell": "gru", "attention": "dot", "emb_size": 16, "hidden_size": 32, "dropout": 0.0},
        "train": {"epochs": 1, "batch_tokens": 400, "log_every": 2, "run_dir": str(run_dir), "seed": 3},
        "decode": {"batch_size": 16},
        "name": "tiny",
    }
    for section, values in sections.items():
        raw[section].update(values)
    return raw
