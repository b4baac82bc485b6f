"""Learning-rate schedules: constant, plateau (halve when validation stalls), inverse square root with warmup, and
cosine decay over the run's fixed number of updates (to train.min_lr at the last one)."""

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
