"""Dropout whose masks are drawn on every core, and the same on every CPU.

torch's CPU dropout draws its mask with `bernoulli_`, which runs on one core on AMD CPUs (ATen takes MKL's parallel
generator only on Intel): at the recipes' shapes its three masks a step were 5.4 % of a 2-thread training step on
the AVX2 EPYC, the one part the second core could not help (docs/benchmarks/multi30k_recipes.md, issue 30). And since Intel and AMD draw
from different generators, the same seed gave different masks, so a recipe trained a different model on each.

Here a mask of n numbers is cut into a fixed number of pieces that depends on n alone; each piece draws uniform
numbers from its own generator, seeded from torch's global one, and the pieces are drawn in parallel threads
(torch releases the GIL inside the op). A unit is kept where u >= p, so P(keep) = 1 - p, and kept units are scaled
by 1 / (1 - p), as nn.Dropout does. The mask depends only on the seed and the tensor's size: not on the thread
count or the CPU's vendor. On CUDA this is F.dropout, whose fused kernel is parallel already. (A decoder of
several layers is one nn.GRU/nn.LSTM, whose dropout between layers is still torch's own.)
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import torch
import torch.nn.functional as F
from torch import nn

PIECE = 1 << 16  # numbers a piece draws at least: below this a thread costs more than it saves
MAX_PIECES = 8

_pool: ThreadPoolExecutor | None = None
_pool_key: tuple[int, int] = (0, 0)  # (process id, threads) the pool was made for


def _drawing_pool() -> ThreadPoolExecutor:
    """Threads to draw the pieces on, one per torch thread; made anew when the thread count changes, and in a forked
    child, which inherits the pool but not its threads."""
    global _pool, _pool_key
    key = (os.getpid(), torch.get_num_threads())
    if _pool is None or _pool_key != key:
        if _pool is not None and _pool_key[0] == key[0]:
            _pool.shutdown(wait=False)
        _pool, _pool_key = ThreadPoolExecutor(max_workers=key[1], thread_name_prefix="s2s-dropout"), key
    return _pool


def keep_mask(shape: torch.Size, p: float) -> torch.Tensor:
    """A bool mask of `shape` on the CPU, True with probability 1 - p, drawn from torch's global generator."""
    numel = shape.numel()
    pieces = max(1, min(MAX_PIECES, numel // PIECE))
    seeds = torch.randint(0, 2**62, (pieces,), dtype=torch.int64).tolist()  # from the global generator: manual_seed holds
    uniform = torch.empty(numel)
    bounds = [numel * i // pieces for i in range(pieces + 1)]

    def draw(i: int) -> None:
        uniform[bounds[i] : bounds[i + 1]].uniform_(generator=torch.Generator().manual_seed(seeds[i]))

    if pieces == 1 or torch.get_num_threads() == 1:
        for i in range(pieces):
            draw(i)
    else:
        list(_drawing_pool().map(draw, range(pieces)))
    return (uniform >= p).view(shape)


class _MaskedScale(torch.autograd.Function):
    """x * mask * scale, keeping only the bool mask for the backward pass (as torch's own dropout does)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, mask: torch.Tensor, scale: float) -> torch.Tensor:
        ctx.save_for_backward(mask)
        ctx.scale = scale
        return torch.ops.aten.native_dropout_backward(x, mask, scale)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (mask,) = ctx.saved_tensors
        return torch.ops.aten.native_dropout_backward(grad, mask, ctx.scale), None, None


def dropout(x: torch.Tensor, p: float, training: bool) -> torch.Tensor:
    """F.dropout(x, p, training), with the mask drawn as the module docstring says on the CPU."""
    if not training or p == 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return F.dropout(x, p, training)
    return _MaskedScale.apply(x, keep_mask(x.shape, p), 1.0 / (1.0 - p))


class Dropout(nn.Module):
    """nn.Dropout with the masks of dropout() above."""

    def __init__(self, p: float):
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return dropout(x, self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
