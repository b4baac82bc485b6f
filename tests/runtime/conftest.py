"""Exports of tiny checkpoints (tests/onnx_models.py) for the runtime tests, made once per session."""

from __future__ import annotations

import pytest
from onnx_models import make_checkpoint


@pytest.fixture(autouse=True, scope="module")
def one_thread(one_torch_thread):
    """Tiny models: one torch thread (tests/conftest.py)."""


@pytest.fixture(autouse=True)
def one_onnxruntime_thread(monkeypatch):
    """onnxruntime sessions made without threads= (the CLI's) use one thread too, as if the process had one core."""
    monkeypatch.setattr("s2s.runtime.model.usable_cpus", lambda: 1)


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """exported(name, input_feeding=False, tokenizer="whitespace", **decode) -> (checkpoint, export folder), cached."""
    from s2s.export.onnx import export_onnx

    made = {}

    def export(name: str = "gru_attn", input_feeding: bool = False, tokenizer: str = "whitespace", seed: int = 0, **decode):
        key = (name, input_feeding, tokenizer, seed, tuple(sorted(decode.items())))
        if key not in made:
            folder = tmp_path_factory.mktemp(f"{name}{'_feeding' if input_feeding else ''}_{tokenizer}")
            checkpoint = make_checkpoint(folder / "model.pt", name, input_feeding, tokenizer, seed=seed, **decode)
            made[key] = checkpoint, export_onnx(checkpoint, folder / "export")
        return made[key]

    return export
