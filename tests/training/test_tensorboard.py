import sys

import pytest

from s2s.errors import S2SError
from s2s.training.trainer import Trainer


def test_tensorboard_logs_the_metrics_and_validation_attention(tmp_path, make_config):
    event_accumulator = pytest.importorskip("tensorboard.backend.event_processing.event_accumulator")
    config = make_config(tmp_path / "r", train={"max_steps": 4, "valid_every": 4, "tensorboard": True})
    Trainer(config, tmp_path / "r", log=lambda message: None).train()
    events = event_accumulator.EventAccumulator(str(tmp_path / "r" / "tensorboard"))
    events.Reload()
    tags = events.Tags()
    assert {"train/train_loss", "train/tokens_per_s", "train/lr", "valid/loss", "valid/bleu", "valid/ppl"} <= set(tags["scalars"])
    assert [e.step for e in events.Scalars("train/train_loss")] == [2, 4]
    assert [e.step for e in events.Scalars("valid/loss")] == [4]
    assert tags["images"] == ["attention/valid_line_1", "attention/valid_line_2"]


def test_tensorboard_without_the_package_is_a_clear_error(tmp_path, make_config, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # makes the import fail
    config = make_config(tmp_path / "r", train={"max_steps": 1, "tensorboard": True})
    with pytest.raises(S2SError, match=r"tensorboard package is not installed: pip install 's2s\[tensorboard\]'"):
        Trainer(config, tmp_path / "r", log=lambda message: None)
