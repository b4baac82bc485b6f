"""Optional TensorBoard logging (train.tensorboard): the metrics of metrics.jsonl, and attention maps at validation."""

from __future__ import annotations

from pathlib import Path

import torch

from s2s.errors import S2SError

NOT_SCALARS = ("step", "epoch", "best")
PIXELS_PER_WEIGHT = 8  # attention maps are tiny (output x source tokens); enlarge them for the image tab


class TensorBoardLog:
    def __init__(self, log_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise S2SError("train.tensorboard is on but the tensorboard package is not installed: "
                           "pip install 's2s[tensorboard]' (or set train.tensorboard=false).") from None
        self.writer = SummaryWriter(str(log_dir))

    def record(self, entry: dict) -> None:
        """Scalars of one metrics.jsonl entry: valid_* under valid/, the rest under train/, against the step."""
        for key, value in entry.items():
            if key in NOT_SCALARS or isinstance(value, bool) or not isinstance(value, (int, float)):
                continue
            tag = f"valid/{key.removeprefix('valid_')}" if key.startswith("valid_") else f"train/{key}"
            self.writer.add_scalar(tag, value, entry["step"])
        self.writer.flush()

    def attention(self, name: str, weights: torch.Tensor, step: int) -> None:
        """A (outputs, sources) attention matrix as a grayscale image: rows are output tokens, columns source tokens."""
        image = weights.float().clamp(0, 1).repeat_interleave(PIXELS_PER_WEIGHT, 0).repeat_interleave(PIXELS_PER_WEIGHT, 1)
        self.writer.add_image(f"attention/{name}", image.unsqueeze(0), step)  # (1, H, W)
        self.writer.flush()
