"""Runs saved before the target vocabulary was padded at build time (Decoder: rows up to a multiple of ALIGN_ROWS)
resume as before: their Adam moments hold the real rows only and are padded back with zeros."""

import torch

from s2s.checkpoint import load_checkpoint
from s2s.training.trainer import Trainer


def quiet(config, run_dir, **options):
    return Trainer(config, run_dir, log=lambda message: None, **options)


def test_a_last_pt_with_unpadded_optimizer_state_resumes_bit_for_bit(tmp_path, make_config):
    sections = {"train": {"max_steps": 6, "log_every": 2, "epochs": 5}, "model": {"dropout": 0.0}}
    straight = quiet(make_config(tmp_path / "a", **sections), tmp_path / "a")
    straight.train()

    first = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b")
    vocab, rows = first.model.decoder.vocab_size, first.model.decoder.out.out_features
    assert rows > vocab  # the tiny target vocabulary is not a multiple of ALIGN_ROWS
    original_step = first.train_step

    def step_then_interrupt(batch):
        result = original_step(batch)
        if first.step == 3:
            first.stop_signal = 2
        return result

    first.train_step = step_then_interrupt
    first.train()
    payload = load_checkpoint(tmp_path / "b" / "last.pt")
    trimmed = 0
    for state in payload["trainer"]["optimizer"]["state"].values():  # as an older s2s saved them
        for key, value in state.items():
            if torch.is_tensor(value) and value.dim() and value.size(0) == rows:
                assert value[vocab:].abs().max() == 0  # the padding rows never get a gradient
                state[key] = value[:vocab].clone()
                trimmed += 1
    assert trimmed == 6  # exp_avg and exp_avg_sq of the target embedding, W_o and b_o (the tiny model is untied)
    resumed = quiet(make_config(tmp_path / "b", **sections), tmp_path / "b", resume=payload)
    resumed.train()
    a, b = straight.model.state_dict(), resumed.model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
