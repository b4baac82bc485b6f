"""Data-parallel training: a 2-process torchrun job on CPU (gloo) against one process on the same global batches."""

import json

import pytest
import torch
from helpers import torchrun, train_as_two_ranks

from s2s.checkpoint import load_checkpoint
from s2s.decoding.translator import Translator
from s2s.training.distributed import Ranks
from s2s.training.trainer import Trainer

# 300 pairs in batches of 340 tokens: 6 batches an epoch, 3 per rank; 6 steps are 2 epochs with 2 validations
SECTIONS = {"train": {"max_steps": 6, "epochs": 2, "log_every": 2, "device": "cpu"}}


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, make_config):
    """(run folder, finished process) of a 2-process job on the tiny numbers task."""
    tmp_path = tmp_path_factory.mktemp("ddp")
    done = torchrun(make_config(tmp_path / "run", **SECTIONS), tmp_path)
    assert done.returncode == 0, done.stderr
    return tmp_path / "run", done


def test_shards_are_disjoint_and_equally_long():
    batches = [[i] for i in range(7)]
    shards = [Ranks(rank, 3).shard(batches) for rank in range(3)]
    assert shards == [[[0], [3]], [[1], [4]], [[2], [5]]]  # batch 6 is left out: every rank takes 2 steps


def test_two_processes_match_one_process_on_the_union_of_their_batches(two_process_run, tmp_path, make_config):
    run_dir, _ = two_process_run
    reference = Trainer(make_config(tmp_path / "one", **SECTIONS), tmp_path / "one", log=lambda message: None)
    train_as_two_ranks(reference)
    before = {name: value.clone() for name, value in reference.model.state_dict().items()}
    reference.train()

    payload = load_checkpoint(run_dir / "last.pt")
    assert payload["step"] == reference.step == 6
    for name, value in reference.model.state_dict().items():
        assert not torch.equal(value, before[name])  # it trained
        torch.testing.assert_close(payload["model"][name], value, atol=1e-5, rtol=0)
    logged = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    expected = [json.loads(line) for line in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    assert [r.get("train_loss") for r in logged] == pytest.approx([r.get("train_loss") for r in expected], abs=2e-4)


def test_rank_zero_alone_writes_logs_and_checkpoints(two_process_run):
    run_dir, done = two_process_run
    steps = [(r["step"], "valid_loss" in r) for r in map(json.loads, (run_dir / "metrics.jsonl").read_text().splitlines())]
    assert steps == [(2, False), (3, True), (4, False), (6, False), (6, True)]
    assert sorted(p.name for p in run_dir.iterdir()) == ["best.pt", "config.yaml", "data", "last.pt", "metrics.jsonl",
                                                         "src.vocab", "tgt.vocab"]
    assert done.stderr.count("data: 300 training pairs") == 1
    assert done.stderr.count("data parallel: 2 processes x train.batch_tokens 340 = global batch of 680 tokens") == 1


def test_two_process_checkpoint_translates_in_one_process(two_process_run):
    run_dir, _ = two_process_run
    payload = load_checkpoint(run_dir / "best.pt")
    assert not any(name.startswith("module.") for name in payload["model"])
    assert len(Translator.from_checkpoint(run_dir / "best.pt", device="cpu").translate(["forty two"])) == 1


def test_single_process_trainer_does_not_start_torch_distributed(tmp_path, make_config):
    trainer = Trainer(make_config(tmp_path, train={"max_steps": 2}), tmp_path, log=lambda message: None)
    trainer.train()
    assert not torch.distributed.is_initialized() and trainer.train_model is trainer.model


def test_resuming_with_another_world_size_restarts_the_epoch(tmp_path, make_config):
    config = make_config(tmp_path, train={"max_steps": 2, "epochs": 2})
    first = Trainer(config, tmp_path, log=lambda message: None)
    first.stop_signal = 15  # as if SIGTERM came during step 1: save last.pt after it, mid-epoch 1
    first.train()
    payload = load_checkpoint(tmp_path / "last.pt")
    assert (payload["epoch"], payload["trainer"]["batch_in_epoch"], payload["trainer"]["world_size"]) == (1, 1, 1)
    payload["trainer"]["world_size"] = 2  # as if written by a 2-process job
    resumed = Trainer(config, tmp_path, log=lambda message: None, resume=payload)
    assert (resumed.epoch, resumed.batch_in_epoch, resumed.step) == (0, 0, 1)  # the loop starts epoch 1 again


def test_a_stop_after_the_last_batch_of_an_epoch_resumes_with_the_next_epoch(tmp_path, make_config):
    """Short shards make this common under torchrun; last.pt once said "batch 7 of 7" and resuming looped forever."""
    config = make_config(tmp_path, train={"epochs": 2})
    first = Trainer(config, tmp_path, log=lambda message: None)
    per_epoch = len(first.epoch_batches(1))
    original_step = first.train_step

    def step_then_interrupt(batch):
        result = original_step(batch)
        if first.step == per_epoch:
            first.stop_signal = 15  # what the SIGTERM handler sets
        return result

    first.train_step = step_then_interrupt
    first.train()
    payload = load_checkpoint(tmp_path / "last.pt")
    assert (payload["epoch"], payload["trainer"]["batch_in_epoch"]) == (1, 0)
    resumed = Trainer(config, tmp_path, log=lambda message: None, resume=payload)
    assert resumed.train()["steps"] == 2 * per_epoch


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path, make_config):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = torchrun(make_config(blocker / "run", **SECTIONS), tmp_path)  # every rank refuses the run folder
    assert done.returncode != 0
    assert f"s2s train: error: train.run_dir '{blocker / 'run'}': '{blocker}' is a file, not a folder" in done.stderr
