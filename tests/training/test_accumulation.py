"""Gradient accumulation (train.accum_steps): k batches make one update, its loss divided by all their target tokens,
the same update as one batch holding them all; with fp16's grad scaler each batch's loss is scaled, the sum unscaled
once."""

import contextlib
import copy
import json

import numpy as np
import pytest
import torch
from helpers import torchrun, train_as_two_ranks

from s2s.checkpoint import load_checkpoint
from s2s.data.batching import gather_batch
from s2s.training.distributed import Ranks
from s2s.training.loss import model_loss
from s2s.training.trainer import Trainer

# 300 pairs in batches of 340 tokens: 6 batches an epoch


def quiet(config, run_dir) -> Trainer:
    return Trainer(config, run_dir, log=lambda message: None)


def batch_of(trainer: Trainer, indices):
    split = trainer.corpus.splits["train"]
    return gather_batch(split.src_ids, split.tgt_ids, indices)


def take_unions_of(trainer: Trainer, k: int) -> None:
    """Make a trainer take, at each step, one batch holding the next k batches of the epoch (the same tokens)."""
    all_batches = trainer.epoch_batches

    def unions(epoch):
        batches = all_batches(epoch)
        return [np.concatenate(batches[first : first + k]) for first in range(0, len(batches), k)]

    trainer.epoch_batches = unions


def train_losses(run_dir) -> list[float]:
    records = map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())
    return [record["train_loss"] for record in records if "train_loss" in record]


@pytest.mark.parametrize("k", [2, 4])
def test_k_accumulated_batches_update_as_one_batch_holding_them_all(tmp_path, make_config, k):
    """An epoch of 6 batches: k=2 makes 3 updates of 2 batches; k=4 one of 4 and one of the 2 left."""
    sections = {"train": {"epochs": 2, "log_every": 1, "patience": 0, "schedule": "constant"}}
    accumulated = quiet(make_config(tmp_path / "a", train={**sections["train"], "accum_steps": k}), tmp_path / "a")
    union = quiet(make_config(tmp_path / "u", **sections), tmp_path / "u")
    take_unions_of(union, k)
    before = {name: value.clone() for name, value in accumulated.model.state_dict().items()}
    assert len(accumulated.epoch_batches(1)) == 6 and accumulated.planned_steps() == 2 * -(-6 // k)
    accumulated.train()
    union.train()
    assert accumulated.step == union.step == 2 * -(-6 // k)
    for name, value in union.model.state_dict().items():
        assert not torch.equal(value, before[name])  # it trained
        torch.testing.assert_close(accumulated.model.state_dict()[name], value, atol=1e-5, rtol=0, msg=name)
    assert train_losses(tmp_path / "a") == pytest.approx(train_losses(tmp_path / "u"), abs=2e-4)
    assert len(train_losses(tmp_path / "a")) == accumulated.step  # one record per update (log_every 1)


def test_the_update_divides_the_summed_loss_by_all_the_batches_tokens(tmp_path, make_config):
    trainer = quiet(make_config(tmp_path, train={"accum_steps": 2, "clip_norm": 0}), tmp_path)
    batches = [batch_of(trainer, indices) for indices in trainer.epoch_batches(1)[:2]]
    counts = [batch.num_tokens for batch in batches]
    assert counts[0] != counts[1]  # else a mean of the batches' means could not be told apart

    def gradients(loss_of) -> dict:
        model = copy.deepcopy(trainer.model)
        loss_of([model_loss(model, model, batch) for batch in batches]).backward()
        return {name: parameter.grad for name, parameter in model.named_parameters()}

    by_tokens = gradients(lambda losses: sum(losses) / sum(counts))
    mean_of_means = gradients(lambda losses: sum(loss / count for loss, count in zip(losses, counts)) / 2)
    with torch.no_grad():
        summed = sum(float(model_loss(trainer.model, trainer.model, batch)) for batch in batches)

    trainer.unread.append(trainer.train_step(*batches))
    [(loss, tokens)] = trainer.read_steps()
    assert tokens == sum(counts) and loss == pytest.approx(summed, rel=1e-5)
    differs = False
    for name, parameter in trainer.model.named_parameters():  # the gradients of the update stay after it
        torch.testing.assert_close(parameter.grad, by_tokens[name], atol=1e-7, rtol=1e-5, msg=name)
        differs |= not torch.allclose(by_tokens[name], mean_of_means[name], atol=1e-6, rtol=1e-3)
    assert differs


def test_with_a_grad_scaler_each_batch_is_scaled_and_the_sum_unscaled_once(tmp_path, make_config):
    """fp16 training (CUDA) scales the loss; on CPU the same GradScaler checks the accumulation: scaling by a power of
    two changes no gradient, and a batch whose loss overflows skips the whole update and lowers the scale."""
    plain = quiet(make_config(tmp_path / "p", train={"accum_steps": 3}), tmp_path / "p")
    scaled = quiet(make_config(tmp_path / "s", train={"accum_steps": 3}), tmp_path / "s")
    scaled.scaler = torch.amp.GradScaler("cpu", init_scale=2.0**12)
    groups = [[batch_of(plain, indices) for indices in plain.epoch_batches(1)[first : first + 3]] for first in (0, 3)]
    for trainer in (plain, scaled):
        trainer.unread.append(trainer.train_step(*groups[0]))
    assert len(scaled.read_steps()) == len(plain.read_steps()) == 1 and scaled.scaler.get_scale() == 2.0**12
    for name, parameter in plain.model.named_parameters():
        scaled_parameter = scaled.model.get_parameter(name)
        torch.testing.assert_close(scaled_parameter.grad, parameter.grad, atol=1e-7, rtol=1e-6, msg=name)
        torch.testing.assert_close(scaled_parameter, parameter, atol=1e-6, rtol=0, msg=name)

    weights = {name: value.clone() for name, value in scaled.model.state_dict().items()}
    forward, calls = scaled.model.forward, []

    def overflow_in_the_second_batch(*args, **kwargs):
        calls.append(1)
        loss = forward(*args, **kwargs)
        return loss * float("inf") if len(calls) == 2 else loss

    scaled.model.forward = overflow_in_the_second_batch
    scaled.unread.append(scaled.train_step(*groups[1]))
    assert scaled.read_steps() == [] and scaled.nonfinite_total == 1 and len(calls) == 3
    assert scaled.scaler.get_scale() == 2.0**11  # halved, as for an fp16 overflow
    assert all(torch.equal(value, weights[name]) for name, value in scaled.model.state_dict().items())


def test_every_batch_but_the_last_of_an_update_skips_the_gradient_all_reduce(tmp_path, make_config, monkeypatch):
    calls = []
    monkeypatch.setattr(Ranks, "gradient_sync", staticmethod(lambda module, sync: calls.append(sync) or contextlib.nullcontext()))
    trainer = quiet(make_config(tmp_path, train={"accum_steps": 3}), tmp_path)
    trainer.train_step(*[batch_of(trainer, indices) for indices in trainer.epoch_batches(1)[:3]])
    trainer.train_step(batch_of(trainer, trainer.epoch_batches(1)[3]))
    assert calls == [False, False, True, True]


def test_gradient_sync_is_no_sync_of_a_distributed_model(tmp_path):
    torch.distributed.init_process_group("gloo", init_method=f"file://{tmp_path / 'rendezvous'}", rank=0, world_size=1)
    try:
        model = torch.nn.parallel.DistributedDataParallel(torch.nn.Linear(2, 1))
        with Ranks.gradient_sync(model, sync=False):
            assert not model.require_backward_grad_sync
        with Ranks.gradient_sync(model, sync=True):
            assert model.require_backward_grad_sync
    finally:
        torch.distributed.destroy_process_group()
    assert isinstance(Ranks.gradient_sync(torch.nn.Linear(2, 1), sync=False), contextlib.nullcontext)


@pytest.mark.slow  # a 2-process torchrun job: about 12 s
def test_two_processes_accumulating_match_one_process_on_the_union_of_their_batches(tmp_path, make_config):
    """Under torchrun each rank accumulates its own batches (no_sync), and the ranks average once per update: 3 batches
    per rank and epoch make updates of 2 and 1; one process on the union of the ranks' batches makes the same."""
    sections = {"train": {"max_steps": 4, "epochs": 2, "log_every": 1, "device": "cpu", "accum_steps": 2}}
    done = torchrun(make_config(tmp_path / "run", **sections), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "gradient accumulation: train.accum_steps 2 batches per update, up to 1360 tokens" in done.stderr
    reference = quiet(make_config(tmp_path / "one", **sections), tmp_path / "one")
    train_as_two_ranks(reference)
    reference.train()
    payload = load_checkpoint(tmp_path / "run" / "last.pt")
    assert payload["step"] == reference.step == 4 and payload["epoch"] == 2
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(payload["model"][name], value, atol=1e-5, rtol=0, msg=name)
    assert train_losses(tmp_path / "run") == pytest.approx(train_losses(tmp_path / "one"), abs=2e-4)


def test_accum_steps_is_checked_in_the_config(make_config, tmp_path):
    from s2s.errors import S2SError

    with pytest.raises(S2SError, match=r"'train.accum_steps' must be > 0, got 0"):
        make_config(tmp_path, train={"accum_steps": 0})
    with pytest.raises(S2SError, match=r"'train.accum_steps' must be <= 1024, got 1025"):
        make_config(tmp_path, train={"accum_steps": 1025})
