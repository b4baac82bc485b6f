"""Learning-rate schedules: constant, plateau (halve when validation stalls), inverse square root with warmup, and
cosine decay over the run's fixed number of updates (to train.min_lr at the last one); and the teacher-forcing
ratio's decay (scheduled sampling)."""

from __future__ import annotations

import math

import torch

from s2s.config import TrainConfig

PER_UPDATE = ("inverse_sqrt", "cosine")  # stepped after every update; plateau after every validation


def build_scheduler(train: TrainConfig, optimizer: torch.optim.Optimizer, total_steps: int = 0):
    """plateau is stepped with the validation metric (higher is better); inverse_sqrt and cosine once per update.
    cosine needs total_steps, the number of updates the run will make."""
    if train.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=train.plateau_factor,
                                                          patience=train.plateau_patience, min_lr=train.min_lr)
    if train.schedule == "inverse_sqrt":
        warmup = max(1, train.warmup_steps)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min((step + 1) / warmup, (warmup / (step + 1)) ** 0.5))
    if train.schedule == "cosine":
        if total_steps < 1:
            raise ValueError("the cosine schedule needs the run's total number of updates")
        warmup, floor = train.warmup_steps, train.min_lr / train.lr

        def cosine(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
            return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

        return torch.optim.lr_scheduler.LambdaLR(optimizer, cosine)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def teacher_forcing_ratio(train: TrainConfig, step: int) -> float:
    """The probability that a decoder input is the reference token at update `step` (0 first).

    constant: train.teacher_forcing. The decays of Bengio et al. (2015) go from 1.0 towards the floor
    train.teacher_forcing over D = train.teacher_forcing_decay_steps updates:
        linear:          floor + (1 - floor) * max(0, 1 - step / D)
        inverse_sigmoid: floor + (1 - floor) * k / (k + exp(step / k)), with k ln k = D so that it is halfway at D
    """
    floor = train.teacher_forcing
    if train.teacher_forcing_schedule == "constant" or floor >= 1.0:
        return floor
    decay = train.teacher_forcing_decay_steps
    if train.teacher_forcing_schedule == "linear":
        return floor + (1 - floor) * max(0.0, 1 - step / decay)
    k = _halfway_k(decay)
    return floor + (1 - floor) * k / (k + math.exp(min(step / k, 700.0)))


def _halfway_k(decay_steps: int) -> float:
    """The k >= 1 of the inverse sigmoid k / (k + exp(i / k)) that is 1/2 at i = decay_steps: k ln k = decay_steps."""
    low, high = 1.0, decay_steps + math.e
    for _ in range(100):
        middle = (low + high) / 2
        low, high = (middle, high) if middle * math.log(middle) < decay_steps else (low, middle)
    return (low + high) / 2
