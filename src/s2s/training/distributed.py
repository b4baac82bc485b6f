"""Data-parallel training under torchrun: joining the process group, each rank's share of the batches, and the few
values the ranks must agree on. With one process all of it does nothing."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from s2s.device import resolve_device
from s2s.errors import S2SError

# How long a rank waits for the others at a collective; the longest wait is for rank 0's validation (with BLEU).
# A rank that exits (an error) ends the others' waits at once: gloo sees the closed connection, torchrun stops the rest.
TIMEOUT = timedelta(minutes=30)


@contextlib.contextmanager
def process_group(device: str = "auto"):
    """Under torchrun (WORLD_SIZE > 1), join the job's process group for the block and leave it afterwards, also on
    errors: NCCL when `device` resolves to CUDA (one GPU per process, by LOCAL_RANK), else gloo. Otherwise do nothing."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        yield
        return
    cuda = resolve_device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group("nccl" if cuda else "gloo", timeout=TIMEOUT)
    try:
        yield
    finally:
        dist.destroy_process_group()


@dataclass(frozen=True)
class Ranks:
    """This process's place in the job. With one process (world_size 1) wrap, shard and the collectives
    (sum, max, broadcast) return their input unchanged."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @classmethod
    def current(cls) -> "Ranks":
        """From the process group when there is one (see process_group), else a single process."""
        if not dist.is_initialized():
            return cls()
        return cls(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs, validates and writes the run folder."""
        return self.rank == 0

    def device(self, name: str) -> torch.device:
        """train.device for this process; with several processes, CUDA means the GPU of this LOCAL_RANK."""
        device = resolve_device(name)
        if self.world_size == 1 or device.type != "cuda":
            return device
        if device.index is not None:
            raise S2SError(f"train.device={name} names one GPU, but under torchrun each process uses the GPU of its "
                           "LOCAL_RANK; set train.device to auto or cuda (choose GPUs with CUDA_VISIBLE_DEVICES).")
        return torch.device("cuda", self.local_rank)

    def wrap(self, model: nn.Module) -> nn.Module:
        """The module training steps call: `model`, or a DistributedDataParallel around it that averages gradients."""
        if self.world_size == 1:
            return model
        device = next(model.parameters()).device
        return DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    @staticmethod
    def gradient_sync(module: nn.Module, sync: bool):
        """A context for the forward and backward pass of one batch of an update: with sync False (every batch of an
        accumulated update but the last), DistributedDataParallel's no_sync(), so that the gradients add up on each rank
        and are averaged over the ranks once, after the last batch. Otherwise (and with one process) nothing."""
        if sync or not isinstance(module, DistributedDataParallel):
            return contextlib.nullcontext()
        return module.no_sync()

    def shard(self, batches: list) -> list:
        """This rank's batches: every world_size-th one, the same number on every rank so that collectives line up."""
        usable = len(batches) // self.world_size * self.world_size  # the last len % world_size batches are left out
        if usable == 0:
            raise S2SError(f"an epoch has {len(batches)} batch(es), fewer than the {self.world_size} processes; "
                           "lower train.batch_tokens or start fewer processes.")
        return batches[self.rank : usable : self.world_size]

    def sum(self, values: list) -> list:
        """Each value summed over the ranks, with its own type (int, float, bool)."""
        return self._all_reduce(values, dist.ReduceOp.SUM)

    def max(self, values: list) -> list:
        """Each value's maximum over the ranks, with its own type."""
        return self._all_reduce(values, dist.ReduceOp.MAX)

    def _all_reduce(self, values: list, op) -> list:
        if self.world_size == 1:
            return values
        device = "cuda" if dist.get_backend() == "nccl" else "cpu"  # NCCL reduces on this rank's GPU (set_device)
        reduced = torch.tensor([float(v) for v in values], dtype=torch.float64, device=device)
        dist.all_reduce(reduced, op=op)
        return [type(v)(r) for v, r in zip(values, reduced.tolist())]

    def broadcast(self, obj):
        """Rank 0's `obj` (any picklable object), on every rank; the other ranks pass None and wait for it here."""
        if self.world_size == 1:
            return obj
        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]
