#!/usr/bin/env python
"""Where a training step's time goes at a config's shapes: torch.profiler over a few of the recipe's batches.

    python scripts/profile_step.py --config configs/multi30k/best_en_de.yaml --threads 2

Trains --warmup untimed batches, then profiles --batches batches of the trainer's step (the same stream as
bench_throughput.py --config) and prints the ops by self CPU time, and the step split into forward, backward,
clipping and the optimizer. Progress on stderr; the tables on stdout. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, measure_matmul_peak, progress_log, run_script  # noqa: E402

from s2s.config import load_config  # noqa: E402
from s2s.device import keep_freed_memory  # noqa: E402
from s2s.models import build_model  # noqa: E402
from s2s.training.loss import model_loss  # noqa: E402
from s2s.training.trainer import make_optimizer  # noqa: E402

log = progress_log("profile_step")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="training config whose model and batches to profile")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches first")
    parser.add_argument("--batches", type=int, default=5, help="profiled batches")
    parser.add_argument("--rows", type=int, default=25, help="ops listed")
    parser.add_argument("--mirror", type=Path, default=(REPO / ".." / "shared" / "data" / "multi30k").resolve())
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    load_config(args.config)  # a missing or bad config: one error line (run_script), not bench_throughput's usage
    import bench_throughput

    bench_args = bench_throughput.parse_args(["--config", str(args.config), "--mirror", str(args.mirror)])
    config = bench_throughput.make_config(bench_args)
    batches, data = bench_throughput.build_batches(config, args.warmup + args.batches)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model, data["src_vocab"], data["tgt_vocab"]).train()
    optimizer = make_optimizer(model, config.train.lr, config.train.weight_decay, torch.device("cpu"), config.train.optimizer)
    keep_freed_memory()
    parts = {"forward": 0.0, "backward": 0.0, "clip": 0.0, "optimizer": 0.0}

    def step(batch, timed: bool):
        marks = [time.perf_counter()]
        with torch.profiler.record_function("forward"):
            loss = model_loss(model, model, batch, config.train.label_smoothing)
        marks.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        with torch.profiler.record_function("backward"):
            (loss / batch.num_tokens).backward()
        marks.append(time.perf_counter())
        with torch.profiler.record_function("clip"):
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.train.clip_norm)
        marks.append(time.perf_counter())
        with torch.profiler.record_function("optimizer"):
            optimizer.step()
        marks.append(time.perf_counter())
        if timed:
            for name, start, end in zip(parts, marks, marks[1:]):
                parts[name] += end - start

    for batch in batches[: args.warmup]:
        step(batch, False)
    peak = measure_matmul_peak(4096, torch.float32, 3)
    tokens = sum(batch.num_tokens for batch in batches[args.warmup:])
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for batch in batches[args.warmup:]:
            step(batch, True)
    total = sum(parts.values())
    print(describe_machine(machine_info()))
    print(f"- `{args.config}`, {args.batches} batches ({tokens:,} target tokens) after {args.warmup} untimed; "
          f"{torch.get_num_threads()} thread(s); fp32 matmul peak {peak:.1f} GFLOP/s; {tokens / total:,.0f} tokens/s "
          f"(profiler on)\n")
    print("| part | seconds | share |\n|---|---:|---:|")
    for name, seconds in parts.items():
        print(f"| {name} | {seconds:.3f} | {100 * seconds / total:.1f} % |")
    print()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.rows))
    return 0


if __name__ == "__main__":
    run_script(main)
