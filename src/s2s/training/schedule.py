"""Learning-rate schedules: constant, plateau (halve when validation stalls), inverse square root with warmup."""

from __future__ import annotations

import torch

from s2s.config import TrainConfig


def build_scheduler(train: TrainConfig, optimizer: torch.optim.Optimizer):
    """plateau is stepped with the validation metric (higher is better); inverse_sqrt once per update."""
    if train.schedule == "plateau":
        return torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, mode="max", factor=train.plateau_factor,
                                                          patience=train.plateau_patience, min_lr=train.min_lr)
    if train.schedule == "inverse_sqrt":
        warmup = max(1, train.warmup_steps)
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min((step + 1) / warmup, (warmup / (step + 1)) ** 0.5))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
