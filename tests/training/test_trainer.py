import json

import pytest
import torch

from s2s.training.trainer import Trainer


def quiet(config, run_dir, **options):
    return Trainer(config, run_dir, log=lambda message: None, **options)


SAMPLED_SUBWORDS = {"tokenizer": "sentencepiece", "vocab_size": 80, "subword_alpha": 0.2, "subword_sides": "both"}


@pytest.mark.parametrize("data", [{}, SAMPLED_SUBWORDS], ids=["fixed", "sampled-subwords"])
def test_same_seed_repeats_exactly_on_cpu(tmp_path, make_config, data):
    weights = []
    for name in ("a", "b"):
        trainer = quiet(make_config(tmp_path / name, train={"max_steps": 6, "epochs": 2}, data=data), tmp_path / name)
        trainer.train()
        weights.append(trainer.model.state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    losses = [[r["train_loss"] for r in map(json.loads, (tmp_path / n / "metrics.jsonl").read_text().splitlines())
               if "train_loss" in r] for n in ("a", "b")]
    assert losses[0] == losses[1] and len(losses[0]) == 3


def test_early_stopping_after_patience_validations_without_gain(tmp_path, make_config):
    config = make_config(tmp_path / "r", train={"epochs": 20, "lr": 1e-9, "patience": 2, "schedule": "constant",
                                                "early_stopping_metric": "loss"})
    trainer = quiet(config, tmp_path / "r")
    trainer.train()
    validations = [r for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) if "valid_loss" in r]
    # lr 1e-9 barely moves: the first validation is best; two more without gain stop the run (allow one tiny gain)
    assert 3 <= len(validations) <= 5 and trainer.epoch == len(validations)


def test_training_lowers_validation_loss(tmp_path, make_config):
    config = make_config(tmp_path / "r", train={"epochs": 4, "lr": 0.01})
    trainer = quiet(config, tmp_path / "r")
    first = trainer.validation_loss()[0]
    trainer.train()
    assert trainer.validation_loss()[0] < 0.8 * first


def test_plateau_schedule_halves_the_learning_rate(tmp_path, make_config):
    # a tiny model at lr 1e-4 keeps validation BLEU at 0 for a few epochs: a plateau
    config = make_config(tmp_path / "r", train={"epochs": 3, "lr": 1e-4, "min_lr": 1e-7, "patience": 0,
                                                "plateau_patience": 0, "early_stopping_metric": "bleu"})
    trainer = quiet(config, tmp_path / "r")
    trainer.train()
    lrs = [r["lr"] for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) if "valid_loss" in r]
    assert lrs == [1e-4, 5e-5, 2.5e-5]  # the first validation sets the best; each later one halves


@pytest.mark.parametrize("data", [{}, SAMPLED_SUBWORDS], ids=["fixed", "sampled-subwords"])
def test_resume_continues_bit_for_bit(tmp_path, make_config, data):
    """N steps straight == N/2 steps, stop (as on Ctrl-C), resume from last.pt, N/2 more."""
    from s2s.checkpoint import load_checkpoint

    sections = {"train": {"max_steps": 8, "log_every": 2, "epochs": 5}, "model": {"dropout": 0.3}, "data": data}
    straight = quiet(make_config(tmp_path / "a", **sections), tmp_path / "a")
    straight.train()

    first = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b")
    original_step = first.train_step

    def step_then_interrupt(batch):
        result = original_step(batch)
        if first.step == 4:
            first.stop_signal = 2  # what the SIGINT handler sets
        return result

    first.train_step = step_then_interrupt
    assert first.train()["interrupted"] == 2
    payload = load_checkpoint(tmp_path / "b" / "last.pt")
    assert payload["step"] == 4
    resumed = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b", resume=payload)
    resumed.train()

    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    losses = [[r["train_loss"] for r in map(json.loads, (tmp_path / n / "metrics.jsonl").read_text().splitlines())
               if "train_loss" in r] for n in ("a", "b")]
    assert losses[0] == losses[1] and len(losses[0]) == 4


def test_nonfinite_steps_are_skipped_then_stop_with_advice(tmp_path, make_config):
    import pytest

    from s2s.errors import S2SError

    trainer = quiet(make_config(tmp_path / "r", train={"max_nonfinite_steps": 3, "epochs": 3}), tmp_path / "r")
    original_forward = trainer.model.forward
    calls = {"n": 0}

    def poisoned(*args, **kwargs):  # returns the training loss (kwargs tgt_out=...) or logits
        out = original_forward(*args, **kwargs)
        if not trainer.model.training:  # validation
            return out
        calls["n"] += 1
        return out * float("nan") if calls["n"] in (2, 5, 6, 7) else out

    trainer.model.forward = poisoned
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    with pytest.raises(S2SError, match=r"3 training steps in a row had a non-finite loss.*\(step 7\).*Lower train.lr"):
        trainer.train()
    # the steps are read back from the device at log points (log_every 2), so the run stops at step 8, not 7
    assert trainer.nonfinite_total == 4 and trainer.step == 8
    assert any(not torch.equal(before[k], v) for k, v in trainer.model.state_dict().items())
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())


def test_new_run_refuses_a_folder_holding_another_run(tmp_path, make_config):
    import pytest

    from s2s.errors import S2SError

    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "metrics.jsonl").write_text('{"step": 1}\n')
    with pytest.raises(S2SError, match=r"run folder '.*r' already holds a run \(metrics.jsonl\).*s2s train --resume"):
        quiet(make_config(tmp_path / "r"), tmp_path / "r")
    assert (tmp_path / "r" / "metrics.jsonl").read_text() == '{"step": 1}\n'


def test_sampled_subwords_change_between_epochs_and_repeat_within_one(tmp_path, make_config):
    trainer = quiet(make_config(tmp_path / "r", data=SAMPLED_SUBWORDS), tmp_path / "r")
    assert trainer.epoch_ids(1) != trainer.epoch_ids(2)
    assert trainer.epoch_ids(1) == trainer.epoch_ids(1)


def test_kept_checkpoints_are_the_latest_and_the_best(tmp_path, make_config):
    from s2s.checkpoint import kept_checkpoints, load_checkpoint

    config = make_config(tmp_path / "r", train={"max_steps": 7, "epochs": 9, "valid_every": 1, "keep_checkpoints": 2,
                                                "patience": 0, "early_stopping_metric": "loss", "lr": 0.03})
    quiet(config, tmp_path / "r").train()
    validations = [r for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) if "valid_loss" in r]
    assert len(validations) == 7
    latest = {r["step"] for r in validations[-2:]}
    best = {r["step"] for r in sorted(validations, key=lambda r: (r["valid_loss"], -r["step"]))[:2]}
    kept = kept_checkpoints(tmp_path / "r")
    assert {entry["step"] for entry in kept} == latest | best
    by_step = {r["step"]: r for r in validations}
    assert all(entry["metric"] == -by_step[entry["step"]]["valid_loss"] for entry in kept)
    assert "trainer" not in load_checkpoint(kept[0]["path"])  # weights only: no optimizer state


def test_cosine_schedule_decays_to_min_lr_at_the_planned_last_update(tmp_path, make_config):
    config = make_config(tmp_path / "r", train={"epochs": 3, "schedule": "cosine", "lr": 0.01, "min_lr": 0.0001,
                                                "patience": 0, "log_every": 1})
    trainer = quiet(config, tmp_path / "r")
    planned = trainer.planned_steps()
    assert planned == 3 * len(trainer.epoch_batches(1))
    trainer.train()
    lrs = [r["lr"] for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()) if "train_loss" in r]
    assert trainer.step == planned and len(lrs) == planned
    assert lrs[0] < 0.01 and lrs == sorted(lrs, reverse=True)  # logged after each update: already decaying
    assert abs(lrs[planned // 2 - 1] - (0.01 + 0.0001) / 2) < 0.01 / planned * 2  # half way: half way down
    assert abs(lrs[-1] - 0.0001) < 1e-12


def test_cosine_schedule_resumes_bit_for_bit(tmp_path, make_config):
    from s2s.checkpoint import load_checkpoint

    sections = {"train": {"max_steps": 8, "epochs": 5, "schedule": "cosine", "log_every": 2}}
    straight = quiet(make_config(tmp_path / "a", **sections), tmp_path / "a")
    straight.train()
    first = quiet(make_config(tmp_path / "b", **{"train": {**sections["train"]}}), tmp_path / "b")
    first.config.train.max_steps = 4  # stop half way, then resume with the original plan of 8
    first.train()
    resumed = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b", resume=load_checkpoint(tmp_path / "b" / "last.pt"))
    resumed.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert resumed.optimizer.param_groups[0]["lr"] == straight.optimizer.param_groups[0]["lr"]


def test_resume_moves_the_interrupted_runs_later_metrics_aside(tmp_path, make_config):
    """A run killed after its last.pt has logged steps the resumed run repeats: they go to metrics.interrupted.jsonl,
    so metrics.jsonl counts up once and the report's curves keep the whole run."""
    from s2s.checkpoint import load_checkpoint
    from s2s.evaluation.report import read_metrics

    sections = {"train": {"max_steps": 8, "epochs": 5, "log_every": 2}}
    first = quiet(make_config(tmp_path / "r", **{"train": {**sections["train"]}}), tmp_path / "r")
    first.config.train.max_steps = 4
    first.train()
    metrics = tmp_path / "r" / "metrics.jsonl"
    killed = [json.dumps({"step": step, "epoch": 9, "train_loss": 1.0}) + "\n" for step in (5, 6)]
    with open(metrics, "a") as handle:  # what a run killed at step 6 leaves after last.pt (step 4)
        handle.writelines(killed)
    resumed = quiet(make_config(tmp_path / "r", **sections), tmp_path / "r", resume=load_checkpoint(tmp_path / "r" / "last.pt"))
    resumed.train()
    steps = [json.loads(line)["step"] for line in metrics.read_text().splitlines()]
    assert steps == sorted(steps) and steps[0] <= 2 and steps[-1] == 8
    assert (tmp_path / "r" / "metrics.interrupted.jsonl").read_text() == "".join(killed)
    assert read_metrics(tmp_path / "r")[0]["step"] == steps[0]  # the report sees the run from its start
