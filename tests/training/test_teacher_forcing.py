"""Switchable teacher forcing (scheduled sampling): 1.0 is today's loss, 0.0 feeds back only the model's own argmax
predictions (checked against a hand-run step loop), and the decay schedules."""

import json
import math

import pytest
import torch

from s2s.config import TrainConfig, config_from_dict
from s2s.data.batching import make_batch
from s2s.errors import S2SError
from s2s.models import build_model
from s2s.specials import BOS
from s2s.training.loss import model_loss
from s2s.training.schedule import teacher_forcing_ratio

from helpers import tiny_config_dict


def tiny_model(seed=0, **options):
    torch.manual_seed(seed)
    cfg = config_from_dict({"model": {"cell": "gru", "attention": "dot", "emb_size": 8, "hidden_size": 16,
                                      "dropout": 0.0, **options}}).model
    return build_model(cfg, 12, 12)


BATCH = make_batch([[4, 5, 6, 7], [8, 9], [10, 11, 4]], [[5, 6, 7, 8, 9], [4], [11, 10]], [0, 1, 2])


def recorded_decoder_inputs(model, ratio):
    """The tokens the decoder embedded in one training forward pass at this teacher-forcing ratio, (batch, tgt_len)."""
    inputs = []
    handle = model.decoder.embed.register_forward_hook(lambda module, args, output: inputs.append(args[0]))
    try:
        loss = model_loss(model, model, BATCH, teacher_forcing=ratio)
    finally:
        handle.remove()
    return loss, torch.cat(inputs, dim=1)


@pytest.mark.parametrize("options", [{}, {"input_feeding": True}, {"cell": "lstm", "attention": "none"}])
def test_ratio_one_is_todays_loss_and_the_step_path_agrees(options):
    model = tiny_model(**options).train()
    today = model(BATCH.src, BATCH.src_lengths, BATCH.tgt_in, tgt_out=BATCH.tgt_out)
    assert torch.equal(model_loss(model, model, BATCH, teacher_forcing=1.0), today)  # the same call, the fast path
    enc_states, state, src_mask = model.encode(BATCH.src, BATCH.src_lengths)
    stepped = model.sampled_features(BATCH.tgt_in, state, enc_states, src_mask, teacher_forcing=1.0)
    whole, _, _ = model.decoder.features(BATCH.tgt_in, state, enc_states, src_mask)
    assert torch.allclose(stepped, whole, atol=1e-5)  # step by step, always the reference: the same states


def test_ratio_zero_feeds_back_the_argmax_as_a_hand_run_greedy_loop_does():
    model = tiny_model(seed=4).train()  # dropout 0: train and eval compute the same
    loss, inputs = recorded_decoder_inputs(model, 0.0)
    # by hand: start from <bos>, feed each step's argmax to the next; score the references under those inputs
    enc_states, state, src_mask = model.encode(BATCH.src, BATCH.src_lengths)
    prev, fed, expected_loss = torch.full((3,), BOS), [], 0.0
    for t in range(BATCH.tgt_in.size(1)):
        fed.append(prev)
        log_probs, state, _ = model.decode_step(prev, state, enc_states, src_mask)
        target = BATCH.tgt_out[:, t]
        expected_loss -= (log_probs.gather(1, target[:, None])[:, 0] * (target != 0)).sum()
        prev = log_probs.argmax(-1)
    assert torch.equal(inputs, torch.stack(fed, dim=1))
    assert not torch.equal(inputs[:, 1:], BATCH.tgt_in[:, 1:])  # not the references
    assert loss.item() == pytest.approx(expected_loss.item(), rel=1e-5)


def test_a_model_that_always_predicts_seven_is_fed_sevens():
    model = tiny_model()
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.zero_()
        model.decoder.out.bias[7] = 5.0
    _, inputs = recorded_decoder_inputs(model, 0.0)
    assert inputs[:, 0].tolist() == [BOS] * 3 and inputs[:, 1:].unique().tolist() == [7]
    _, mixed = recorded_decoder_inputs(model, 0.5)
    reference = mixed[:, 1:] == BATCH.tgt_in[:, 1:]
    assert ((mixed[:, 1:] == 7) | reference).all() and reference.any() and (~reference).any()


def schedule(**options):
    return TrainConfig(**options)


def test_decay_schedules_go_from_one_to_the_floor():
    constant = schedule(teacher_forcing=0.5)
    assert [teacher_forcing_ratio(constant, step) for step in (0, 10**6)] == [0.5, 0.5]
    linear = schedule(teacher_forcing=0.25, teacher_forcing_schedule="linear", teacher_forcing_decay_steps=100)
    assert [teacher_forcing_ratio(linear, step) for step in (0, 50, 100, 1000)] == [1.0, 0.625, 0.25, 0.25]
    sigmoid = schedule(teacher_forcing=0.2, teacher_forcing_schedule="inverse_sigmoid", teacher_forcing_decay_steps=1000)
    ratios = [teacher_forcing_ratio(sigmoid, step) for step in (0, 500, 1000, 2000, 10**7)]
    assert ratios[0] == pytest.approx(0.2 + 0.8 * 0.9948, abs=1e-3)  # k / (k + 1), k ln k = 1000: k = 192.7
    assert ratios[2] == pytest.approx(0.6, abs=1e-9)  # halfway from 1.0 to the floor at decay_steps
    assert ratios == sorted(ratios, reverse=True) and ratios[-1] == pytest.approx(0.2)
    assert math.isclose(teacher_forcing_ratio(schedule(), 123), 1.0)


@pytest.mark.parametrize("train, message", [
    ({"teacher_forcing": 1.5}, "'train.teacher_forcing' must be in [0, 1], got 1.5"),
    ({"teacher_forcing_schedule": "linear", "teacher_forcing_decay_steps": 10}, "decays the ratio from 1.0 to the floor"),
    ({"teacher_forcing": 0.5, "teacher_forcing_schedule": "linear"}, "needs 'train.teacher_forcing_decay_steps' > 0"),
    ({"teacher_forcing_schedule": "cosine"}, "'train.teacher_forcing_schedule' is 'cosine'; choose one of constant, linear, inverse_sigmoid"),
    ({"teacher_forcng": 0.5}, "unknown key 'train.teacher_forcng'. Did you mean 'teacher_forcing'?"),
])
def test_bad_teacher_forcing_settings_are_config_errors(train, message):
    with pytest.raises(S2SError) as error:
        config_from_dict({"train": train}, "x.yaml")
    assert message in str(error.value)


def test_training_with_a_decaying_ratio_logs_it(tmp_path):
    from s2s.training.trainer import Trainer

    config = config_from_dict(tiny_config_dict(tmp_path / "r", train={
        "max_steps": 4, "log_every": 2, "teacher_forcing": 0.5, "teacher_forcing_schedule": "linear",
        "teacher_forcing_decay_steps": 4}))
    Trainer(config, tmp_path / "r", log=lambda message: None).train()
    logged = [r["teacher_forcing"] for r in map(json.loads, (tmp_path / "r" / "metrics.jsonl").read_text().splitlines())
              if "train_loss" in r]
    assert logged == [0.75, 0.5]  # after 2 and 4 of the 4 decay steps
