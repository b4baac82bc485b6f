"""Device and precision choices: train.amp auto follows the hardware; bf16 training tracks fp32."""

import json
import os

import pytest
import torch

from s2s.device import amp_choice, cpu_native_bf16
from s2s.errors import S2SError

CPU = torch.device("cpu")


@pytest.fixture
def cpu_features(monkeypatch):
    """cpu_features(amx=..., avx512_bf16=...) mocks what torch reports about the CPU."""
    def set_features(amx: bool, avx512_bf16: bool):
        monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
        monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    return set_features


@pytest.mark.parametrize("amx, avx512_bf16, feature", [(True, True, "AMX"), (False, True, "AVX512-BF16"),
                                                        (True, False, "AMX"), (False, False, None)])
def test_native_bf16_is_read_from_the_cpu(cpu_features, amx, avx512_bf16, feature):
    cpu_features(amx, avx512_bf16)
    assert cpu_native_bf16() == feature


def test_auto_is_bf16_on_cpus_with_native_bf16_and_fp32_elsewhere(cpu_features):
    cpu_features(amx=True, avx512_bf16=True)
    dtype, why = amp_choice("auto", CPU)
    assert dtype == torch.bfloat16 and "this CPU has AMX" in why
    cpu_features(amx=False, avx512_bf16=False)
    dtype, why = amp_choice("auto", CPU)
    assert dtype is None and why.startswith("fp32 (train.amp: auto; this CPU has no native bf16")


def test_explicit_choices_win_over_the_hardware(cpu_features):
    cpu_features(amx=True, avx512_bf16=True)
    assert amp_choice("none", CPU) == (None, "fp32 (train.amp: none)")
    cpu_features(amx=False, avx512_bf16=False)
    assert amp_choice("bf16", CPU)[0] == torch.bfloat16  # asked for: honoured, even where it is slow
    with pytest.raises(S2SError, match="train.amp=fp16 needs a CUDA device"):
        amp_choice("fp16", CPU)


def test_the_trainer_logs_its_precision_and_why(tmp_path, make_config, cpu_features):
    from s2s.training.trainer import Trainer

    cpu_features(amx=False, avx512_bf16=True)
    messages = []
    trainer = Trainer(make_config(tmp_path, train={"amp": "auto", "max_steps": 1}), tmp_path, log=messages.append)
    assert trainer.amp == torch.bfloat16
    assert any("bf16 autocast (train.amp: auto; this CPU has AVX512-BF16" in m for m in messages)


def test_bf16_training_tracks_fp32(tmp_path, make_config):
    """Same seed and batches: the bf16-autocast run's losses and weights stay close to the fp32 run's."""
    from s2s.training.trainer import Trainer

    results = {}
    for amp in ("none", "bf16"):
        run_dir = tmp_path / amp
        trainer = Trainer(make_config(run_dir, train={"amp": amp, "epochs": 3, "lr": 0.005}), run_dir,
                          log=lambda message: None)
        trainer.train()
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        results[amp] = ([r["train_loss"] for r in records if "train_loss" in r],
                        [r["valid_loss"] for r in records if "valid_loss" in r], trainer.model.state_dict())
    (fp32_train, fp32_valid, fp32_weights), (bf16_train, bf16_valid, bf16_weights) = results["none"], results["bf16"]
    assert len(fp32_train) == len(bf16_train) >= 6
    assert fp32_valid[-1] < 0.9 * fp32_valid[0]  # it learned something worth comparing
    torch.testing.assert_close(torch.tensor(bf16_train), torch.tensor(fp32_train), rtol=0.01, atol=0.0)
    torch.testing.assert_close(torch.tensor(bf16_valid), torch.tensor(fp32_valid), rtol=0.01, atol=0.0)
    assert all(weight.dtype == torch.float32 for weight in bf16_weights.values())  # master weights stay fp32
    drift = max((bf16_weights[k] - fp32_weights[k]).abs().max().item() for k in fp32_weights)
    assert drift < 0.03


def test_the_onednn_cache_is_capped_for_training_unless_the_user_set_it(tmp_path, make_config, monkeypatch):
    from s2s.device import ONEDNN_CACHE_VARIABLE, limit_onednn_cache
    from s2s.training.trainer import Trainer

    monkeypatch.delenv(ONEDNN_CACHE_VARIABLE, raising=False)
    Trainer(make_config(tmp_path / "a"), tmp_path / "a", log=lambda message: None)
    assert os.environ[ONEDNN_CACHE_VARIABLE] == "16"  # set before the model runs
    monkeypatch.setenv(ONEDNN_CACHE_VARIABLE, "1024")
    assert limit_onednn_cache() == "1024" and os.environ[ONEDNN_CACHE_VARIABLE] == "1024"  # the user's value wins
