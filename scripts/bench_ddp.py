#!/usr/bin/env python
"""Training throughput with 1 and 2 data-parallel processes (DistributedDataParallel over gloo, on CPU).

For each process count N in --processes, torch.multiprocessing.spawn starts N processes that join one gloo process
group the way torchrun does (s2s.training.distributed.process_group, from RANK/WORLD_SIZE/MASTER_* variables) and
build the trainer for --config. train.batch_tokens is per process, so the global batch is N x batch_tokens. Each
process trains --warmup untimed steps, then --steps timed steps (Trainer.train_step: forward, the step's all-reduce
of token counts, backward with DDP's gradient all-reduce, clipping, Adam) on its shard of the epochs' batches
(Trainer.epoch_batches). The report is target tokens/s: the non-padding target tokens of all ranks' batches per
second of rank 0's wall time. Every run uses all cores: torch threads per process = cores / N unless --threads.

What to expect. On GPUs (NCCL, one GPU per process), DDP all-reduces gradient buckets while the backward pass is
still running, so the communication mostly hides behind computation, and these small RNN models scale nearly linearly
with the number of GPUs as long as the per-GPU batch (train.batch_tokens) is large enough to keep each GPU busy.
On this machine's 2 CPU cores, the processes share the same cores that one process with 2 threads would use, so no
real speed-up is expected: at best process-level parallelism beats intra-op threading on these small matmuls, at
worst the gloo all-reduce of every gradient costs more than that. On CPU the point of DDP is correctness (see
tests/training/test_distributed.py), not speed.

    python scripts/bench_ddp.py                                  # the built-in task (configs/quickstart.yaml)
    python scripts/bench_ddp.py --config configs/multi30k/gru_attn.yaml --set data.mirror=../shared/data/multi30k

Run it on an otherwise idle machine. Progress goes to stderr, the Markdown report to stdout.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import socket
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.multiprocessing as mp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (  # noqa: E402
    run_script, REPO, describe_machine, machine_info, markdown_table, progress_log, split_batch, write_json,
)

from s2s.config import config_from_dict, load_config  # noqa: E402
from s2s.training.distributed import process_group  # noqa: E402
from s2s.training.trainer import Trainer  # noqa: E402


log = progress_log("bench_ddp")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def worker(rank: int, processes: int, port: int, config: dict, args: argparse.Namespace, out: str) -> None:
    """One rank: join the group as torchrun would, train warmup + timed steps; rank 0 writes the timing to `out`."""
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(processes))
    with process_group("cpu"), tempfile.TemporaryDirectory() as run_dir:
        trainer = Trainer(config_from_dict(config, "bench config"), Path(run_dir), log=lambda message: None)
        split = trainer.corpus.splits["train"]

        def train_on(indices: list[int]) -> int:
            return trainer.train_step(split_batch(split, indices))[1]  # target tokens of all ranks' batches

        batches = itertools.chain.from_iterable(trainer.epoch_batches(epoch) for epoch in itertools.count(1))
        for indices in itertools.islice(batches, args.warmup):
            train_on(indices)
        trainer.ranks.sum([0])  # line the ranks up before the clock starts
        start = time.perf_counter()
        tokens = sum(train_on(indices) for indices in itertools.islice(batches, args.steps))
        seconds = time.perf_counter() - start
        if trainer.ranks.is_main:
            Path(out).write_text(json.dumps({"processes": processes, "threads_per_process": torch.get_num_threads(),
                                             "global_batch_tokens": processes * trainer.config.train.batch_tokens,
                                             "steps": args.steps, "tokens": tokens, "seconds": seconds,
                                             "tokens_per_s": tokens / seconds}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=str(REPO / "configs" / "quickstart.yaml"))
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides, as for s2s train")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per run")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0, help="torch threads per process (0: cores / processes)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    info = machine_info()
    config = load_config(args.config, args.set + ["train.device=cpu"]).to_dict()
    results = []
    for processes in args.processes:
        log(f"{processes} process(es): {args.warmup} warm-up + {args.steps} timed steps")
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            threads = args.threads or max(1, (os.cpu_count() or 1) // processes)
            run_config = {**config, "train": {**config["train"], "threads": threads}}
            mp.spawn(worker, args=(processes, free_port(), run_config, args, out.name), nprocs=processes)
            results.append(json.loads(Path(out.name).read_text()))

    print("## Data-parallel training throughput (DDP, gloo, CPU)\n")
    print(describe_machine(info))
    print(f"- config: `{args.config}` {' '.join(args.set)}; train.batch_tokens {config['train']['batch_tokens']} per process\n")
    base = next((r["tokens_per_s"] for r in results if r["processes"] == 1), None)
    print("\n".join(markdown_table(
        ["processes", "threads each", "global batch (tokens)", "timed steps", "target tokens/s", "vs 1 process"],
        "rrrrrr", [[r["processes"], r["threads_per_process"], r["global_batch_tokens"], r["steps"],
                    f"{r['tokens_per_s']:.0f}", f"{r['tokens_per_s'] / base:.2f}x" if base else "n/a"] for r in results])))
    if args.json:
        write_json(args.json, {"machine": info, "config": args.config, "set": args.set, "results": results})


if __name__ == "__main__":
    run_script(main)
