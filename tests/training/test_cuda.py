"""The CUDA path: a training step equal to the CPU one, fp16/bf16 autocast, checkpoints across devices, pinned
batches, a 2-GPU NCCL job. Skipped without a GPU; scripts/gpu_check.sh runs them with `pytest -m cuda`."""

import json

import pytest
import torch
from helpers import torchrun, train_as_two_ranks

from s2s.checkpoint import load_checkpoint
from s2s.data.batching import make_batch
from s2s.decoding.translator import Translator
from s2s.training.trainer import Trainer

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (torch.cuda.is_available() is False)")]

TRAINED = {"epochs": 8, "lr": 0.01, "log_every": 5}  # a few seconds; confident enough that greedy argmaxes are not ties


@pytest.fixture(autouse=True)
def full_fp32(monkeypatch):
    """No TF32 in cuDNN's RNNs or in matmuls, so that CUDA and CPU compute the same fp32 numbers."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


def quiet(config, run_dir, **options) -> Trainer:
    return Trainer(config, run_dir, log=lambda message: None, **options)


def first_batch(trainer: Trainer, pin: bool = False):
    split = trainer.corpus.splits["train"]
    indices = trainer.epoch_batches(1)[0]
    return make_batch([split.src_ids[i] for i in indices], [split.tgt_ids[i] for i in indices], indices, pin)


def step_and_read(trainer: Trainer, batch) -> list[tuple[float, int]]:
    trainer.unread.append(trainer.train_step(batch))
    return trainer.read_steps()


def test_a_cuda_step_equals_the_cpu_step(tmp_path, make_config):
    trainers = {device: quiet(make_config(tmp_path / device, train={"device": device, "amp": "none"}), tmp_path / device)
                for device in ("cpu", "cuda")}
    assert next(trainers["cuda"].model.parameters()).is_cuda
    [(cpu_loss, cpu_tokens)] = step_and_read(trainers["cpu"], first_batch(trainers["cpu"]))
    [(cuda_loss, cuda_tokens)] = step_and_read(trainers["cuda"], first_batch(trainers["cuda"]))
    assert cuda_tokens == cpu_tokens and cuda_loss == pytest.approx(cpu_loss, rel=1e-5)
    cpu_weights = trainers["cpu"].model.state_dict()
    for name, value in trainers["cuda"].model.state_dict().items():
        torch.testing.assert_close(value.cpu(), cpu_weights[name], atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.parametrize("amp", ["fp16", "bf16"])
def test_autocast_steps_have_finite_losses_and_update_the_weights(tmp_path, make_config, amp):
    if amp == "bf16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bf16")
    trainer = quiet(make_config(tmp_path, train={"device": "cuda", "amp": amp}), tmp_path)
    assert trainer.amp == {"fp16": torch.float16, "bf16": torch.bfloat16}[amp]
    assert trainer.scaler.is_enabled() == (amp == "fp16")
    before = {name: value.clone() for name, value in trainer.model.state_dict().items()}
    batch = first_batch(trainer)
    for _ in range(8):  # fp16: the scaler may skip the first steps while it lowers its scale from 65536
        trainer.unread.append(trainer.train_step(batch))
    trained = trainer.read_steps()
    assert len(trained) == 8 and trainer.nonfinite_total == 0
    assert all(torch.isfinite(torch.tensor(loss)) for loss, _ in trained)
    assert trained[-1][0] < trained[0][0]  # the same batch 8 times: its loss falls
    changed = [name for name, value in trainer.model.state_dict().items() if not torch.equal(value, before[name])]
    assert len(changed) == len(before)


@pytest.mark.parametrize("amp", ["none", "fp16"])
def test_a_nonfinite_step_is_skipped_on_the_device(tmp_path, make_config, amp):
    """The skip is decided on the GPU: fused Adam's found_inf (amp none) or the grad scaler (fp16)."""
    trainer = quiet(make_config(tmp_path, train={"device": "cuda", "amp": amp}), tmp_path)
    forward = trainer.model.forward
    trainer.model.forward = lambda *args, **kwargs: forward(*args, **kwargs) * float("nan")
    before = {name: value.clone() for name, value in trainer.model.state_dict().items()}
    assert step_and_read(trainer, first_batch(trainer)) == []  # nothing trained
    assert trainer.nonfinite_total == 1
    assert all(torch.equal(value, before[name]) for name, value in trainer.model.state_dict().items())
    assert all(float(state["step"]) == 0 and not state["exp_avg"].any() for state in trainer.optimizer.state.values())
    if amp == "fp16":
        assert trainer.scaler.get_scale() == 2.0**15  # halved from 65536, as for an overflow


@pytest.mark.parametrize("trained_on, loaded_on", [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_checkpoint_translates_the_same_on_the_other_device(tmp_path, make_config, trained_on, loaded_on):
    trainer = quiet(make_config(tmp_path, train={"device": trained_on, **TRAINED}), tmp_path)
    trainer.train()  # writes best.pt from the trained_on device
    sources = trainer.corpus.splits["valid"].src_text
    translators = {device: Translator.from_checkpoint(tmp_path / "best.pt", device=device) for device in (trained_on, loaded_on)}
    assert next(translators[loaded_on].model.parameters()).device.type == loaded_on
    assert translators[loaded_on].translate(sources, beam=1) == translators[trained_on].translate(sources, beam=1)


@pytest.mark.parametrize("trained_on, resumed_on", [("cuda", "cpu"), ("cpu", "cuda")])
def test_last_checkpoint_resumes_training_on_the_other_device(tmp_path, make_config, trained_on, resumed_on):
    quiet(make_config(tmp_path, train={"device": trained_on, "max_steps": 3, "epochs": 2}), tmp_path).train()
    payload = load_checkpoint(tmp_path / "last.pt")
    resumed = quiet(make_config(tmp_path, train={"device": resumed_on, "max_steps": 6, "epochs": 2}), tmp_path, resume=payload)
    assert next(resumed.model.parameters()).device.type == resumed_on
    resumed.train()
    assert resumed.step == 6 and resumed.nonfinite_total == 0
    assert all(torch.isfinite(value).all() for value in resumed.model.state_dict().values())


def test_pinned_batches_arrive_on_the_gpu_unchanged(tmp_path, make_config):
    trainer = quiet(make_config(tmp_path, train={"device": "cuda"}), tmp_path)
    batch = first_batch(trainer, pin=True)
    assert batch.src.is_pinned() and batch.tgt_in.is_pinned() and batch.tgt_out.is_pinned()
    on_gpu = batch.to(trainer.device)
    for name in ("src", "tgt_in", "tgt_out"):
        assert getattr(on_gpu, name).is_cuda
        assert torch.equal(getattr(on_gpu, name).cpu(), getattr(batch, name))
    assert on_gpu.src_lengths.device.type == "cpu"  # pack_padded_sequence takes the lengths on the CPU


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 CUDA GPUs for a 2-process NCCL job")
def test_a_two_gpu_nccl_job_matches_one_gpu_on_the_union_of_their_batches(tmp_path, make_config):
    sections = {"train": {"max_steps": 4, "epochs": 2, "log_every": 2, "device": "cuda"}}
    done = torchrun(make_config(tmp_path / "run", **sections), tmp_path)
    assert done.returncode == 0, done.stderr
    assert "data parallel: 2 processes" in done.stderr
    reference = quiet(make_config(tmp_path / "one", **sections), tmp_path / "one")
    train_as_two_ranks(reference)
    reference.train()
    payload = load_checkpoint(tmp_path / "run" / "last.pt")
    assert payload["step"] == reference.step == 4
    for name, value in reference.model.state_dict().items():
        torch.testing.assert_close(payload["model"][name], value.cpu(), atol=1e-4, rtol=0, msg=name)
    def train_losses(run: str) -> list[float]:
        records = map(json.loads, (tmp_path / run / "metrics.jsonl").read_text().splitlines())
        return [record["train_loss"] for record in records if "train_loss" in record]

    assert len(train_losses("run")) == 2 and train_losses("run") == pytest.approx(train_losses("one"), abs=1e-3)
