"""The exponential moving average of the weights (train.ema_decay): updated after every update, scored by validation
(the trained weights' scores beside it as valid_*_raw), saved as best.pt's weights, resumed exactly from last.pt."""

import json

import pytest
import torch

from s2s.checkpoint import kept_checkpoints, load_checkpoint
from s2s.training.trainer import Trainer

DECAY = 0.8


def quiet(config, run_dir, **options) -> Trainer:
    return Trainer(config, run_dir, log=lambda message: None, **options)


def validations(run_dir) -> list[dict]:
    return [r for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines()) if "valid_loss" in r]


def test_the_average_follows_every_update(tmp_path, make_config):
    """EMA_1 = W_1 (the first update copies), EMA_t = decay EMA_(t-1) + (1 - decay) W_t."""
    trainer = quiet(make_config(tmp_path, train={"ema_decay": DECAY, "max_steps": 5, "lr": 0.01}), tmp_path)
    original_step, expected = trainer.train_step, {}

    def step_and_average(*batches):
        result = original_step(*batches)
        weights = {name: value.detach().clone() for name, value in trainer.model.state_dict().items()}
        for name, value in weights.items():
            expected[name] = value if name not in expected else DECAY * expected[name] + (1 - DECAY) * value
        return result

    trainer.train_step = step_and_average
    trainer.train()
    averaged = trainer.ema.module.state_dict()
    assert int(trainer.ema.n_averaged) == trainer.step == 5
    for name, value in expected.items():
        torch.testing.assert_close(averaged[name], value, atol=1e-6, rtol=1e-5, msg=name)
        assert not torch.allclose(value, trainer.model.state_dict()[name], atol=1e-4)  # it is not the trained model


def test_validation_scores_the_average_and_logs_the_trained_weights_as_raw(tmp_path, make_config):
    config = make_config(tmp_path, train={"ema_decay": DECAY, "epochs": 3, "lr": 0.01, "early_stopping_metric": "loss",
                                          "keep_checkpoints": 1, "patience": 0})
    messages = []
    trainer = Trainer(config, tmp_path, log=messages.append)
    trainer.train()
    logged = validations(tmp_path)
    assert len(logged) == 3
    last = logged[-1]
    assert any(f"valid loss {last['valid_loss']:.3f} ppl {last['valid_ppl']:.2f} BLEU {last['valid_bleu']:.2f} chrF "
               f"{last['valid_chrf']:.2f}; trained weights: loss {last['valid_loss_raw']:.3f} BLEU {last['valid_bleu_raw']:.2f} "
               f"chrF {last['valid_chrf_raw']:.2f}" in message for message in messages)
    assert {"valid_loss", "valid_bleu", "valid_chrf", "valid_ppl", "valid_loss_raw", "valid_bleu_raw", "valid_chrf_raw",
            "valid_ppl_raw"} <= set(logged[-1])
    assert logged[-1]["valid_loss"] == round(trainer.validation_loss(trainer.ema.module)[0], 4)
    assert logged[-1]["valid_loss_raw"] == round(trainer.validation_loss(trainer.model)[0], 4)
    assert all(r["valid_loss"] != r["valid_loss_raw"] for r in logged)
    # the average's metric picks best.pt (and drives the plateau schedule and early stopping)
    assert trainer.best == -min(r["valid_loss"] for r in logged)
    assert [r["best"] for r in logged] == [r["valid_loss"] == min(q["valid_loss"] for q in logged[: i + 1])
                                           for i, r in enumerate(logged)]
    best, last = load_checkpoint(tmp_path / "best.pt"), load_checkpoint(tmp_path / "last.pt")
    kept = {entry["step"]: load_checkpoint(entry["path"]) for entry in kept_checkpoints(tmp_path)}
    best_step = min(logged, key=lambda r: r["valid_loss"])["step"]
    for name, value in trainer.model.state_dict().items():
        averaged = trainer.ema.module.state_dict()[name]
        assert torch.equal(last["model"][name], value)  # last.pt: the trained weights, to resume
        assert torch.equal(last["trainer"]["ema"][f"module.{name}"], averaged)  # and the average
        assert torch.equal(kept[trainer.step]["model"][name], averaged)  # what translate, average and export read
        assert torch.equal(best["model"][name], kept[best_step]["model"][name])


def test_without_ema_nothing_is_averaged_or_logged_raw(tmp_path, make_config):
    trainer = quiet(make_config(tmp_path, train={"max_steps": 2}), tmp_path)
    trainer.train()
    assert trainer.ema is None and trainer.scored_model() is trainer.model
    assert not any(key.endswith("_raw") for key in validations(tmp_path)[-1])
    assert "ema" not in load_checkpoint(tmp_path / "last.pt")["trainer"]


def test_resume_continues_the_average_bit_for_bit(tmp_path, make_config):
    """N updates straight == k updates, stop, resume from last.pt, N - k more: the same weights and the same average."""
    sections = {"train": {"max_steps": 8, "epochs": 5, "log_every": 2, "ema_decay": DECAY}}
    straight = quiet(make_config(tmp_path / "a", **sections), tmp_path / "a")
    straight.train()
    first = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b")
    first.config.train.max_steps = 3
    first.train()
    resumed = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b", resume=load_checkpoint(tmp_path / "b" / "last.pt"))
    assert int(resumed.ema.n_averaged) == 3
    resumed.train()
    for a, b in ((straight.model, resumed.model), (straight.ema, resumed.ema)):
        a, b = a.state_dict(), b.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert int(resumed.ema.n_averaged) == 8


def test_resuming_a_run_without_an_average_starts_one_from_the_resumed_weights(tmp_path, make_config):
    quiet(make_config(tmp_path, train={"max_steps": 2, "epochs": 3}), tmp_path).train()
    messages = []
    resumed = Trainer(make_config(tmp_path, train={"max_steps": 4, "epochs": 3, "ema_decay": DECAY}), tmp_path,
                      log=messages.append, resume=load_checkpoint(tmp_path / "last.pt"))
    assert any("last.pt holds no moving average of the weights" in message for message in messages)
    assert int(resumed.ema.n_averaged) == 0
    resumed.train()
    assert int(resumed.ema.n_averaged) == 2


@pytest.mark.parametrize("decay, message", [(1.0, "'train.ema_decay' must be in [0, 1), got 1.0"),
                                            (-0.1, "'train.ema_decay' must be in [0, 1), got -0.1")])
def test_ema_decay_is_checked_in_the_config(tmp_path, make_config, decay, message):
    from s2s.errors import S2SError

    with pytest.raises(S2SError, match=message.replace("[", r"\[").replace("(", r"\(").replace(")", r"\)")):
        make_config(tmp_path, train={"ema_decay": decay})
