"""Checkpoint averaging: the weights are the element-wise mean; mismatched checkpoints are clear errors."""

import pytest
import torch

from s2s.checkpoint import average_checkpoints, load_checkpoint, save_checkpoint, select_kept
from s2s.errors import S2SError
from s2s.training.trainer import Trainer


@pytest.fixture(scope="module")
def kept_run(tmp_path_factory, make_config):
    run = tmp_path_factory.mktemp("avg") / "run"
    config = make_config(run, train={"max_steps": 5, "epochs": 9, "valid_every": 1, "keep_checkpoints": 5,
                                     "patience": 0, "early_stopping_metric": "loss", "lr": 0.03})
    Trainer(config, run, log=lambda m: None).train()
    return run


def test_average_is_the_elementwise_mean(kept_run):
    paths = select_kept(kept_run, last=3)
    assert [load_checkpoint(p)["step"] for p in paths] == [3, 4, 5]
    averaged = average_checkpoints(paths)
    weights = [load_checkpoint(p)["model"] for p in paths]
    for key, value in averaged["model"].items():
        assert torch.allclose(value, (weights[0][key] + weights[1][key] + weights[2][key]) / 3, atol=1e-7)
    assert averaged["step"] == 5 and averaged["averaged_from"] == [str(p) for p in paths]
    assert "trainer" not in averaged and "valid_metric" not in averaged


def test_average_of_one_is_that_checkpoint_and_loads_for_translation(kept_run, tmp_path):
    from s2s.decoding.translator import Translator

    path = select_kept(kept_run, last=1)[0]
    save_checkpoint(average_checkpoints([path]), tmp_path / "avg.pt")
    original, averaged = load_checkpoint(path)["model"], load_checkpoint(tmp_path / "avg.pt")["model"]
    assert all(torch.equal(original[k], averaged[k]) for k in original)
    lines = ["forty two", "seven"]
    assert Translator.from_checkpoint(tmp_path / "avg.pt").translate(lines) == Translator.from_checkpoint(path).translate(lines)


def test_best_picks_by_the_validation_metric(kept_run):
    from s2s.checkpoint import kept_checkpoints

    kept = kept_checkpoints(kept_run)
    best_two = sorted(kept, key=lambda e: (-e["metric"], -e["step"]))[:2]
    assert select_kept(kept_run, best=2) == sorted((e["path"] for e in best_two), key=lambda p: p.name)


def test_mismatched_checkpoints_are_refused(kept_run, tmp_path, make_config):
    other = tmp_path / "other"
    Trainer(make_config(other, model={"hidden_size": 16}, train={"max_steps": 1}), other, log=lambda m: None).train()
    with pytest.raises(S2SError, match="hold different model shapes; average checkpoints of one run only"):
        average_checkpoints([select_kept(kept_run, last=1)[0], other / "best.pt"])
    with pytest.raises(S2SError, match="has no kept checkpoints.*train.keep_checkpoints"):
        select_kept(other)
