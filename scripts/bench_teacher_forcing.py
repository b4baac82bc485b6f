"""Teacher forcing on and off (issue 18): ratio 1.0 vs 0.5 vs a decay from 1.0 to 0.5, on the built-in task and on
Multi30k de->en: BLEU, validation loss and training speed, for docs/teacher_forcing.md and BENCHMARKS.md.

    python scripts/bench_teacher_forcing.py [--tasks numbers multi30k] [--json OUT] [--set KEY=VALUE ...]
    python scripts/bench_teacher_forcing.py --speed-only [--batches 20]     # only the step-by-step decoder's cost
    python scripts/bench_teacher_forcing.py --variants 1.0 0.5 --json A.json   # some variants (two runs in parallel)
    python scripts/bench_teacher_forcing.py --merge A.json B.json --json OUT.json  # their rows as one result
    python scripts/bench_teacher_forcing.py --render OUT.json

Each task's config is trained three times, exactly as `s2s train` trains it, with train.teacher_forcing 1.0 (the
whole target in one call), 0.5 (each decoder input is the model's own previous prediction half of the time,
decided per token), and inverse_sigmoid from 1.0 to 0.5, halfway at half of the run's planned updates. best.pt is
scored with greedy decoding (free-running: the model reads only its own outputs, where exposure bias shows) on
validation and test; the table also has each run's mean training tokens/s. The cost of the step-by-step decoder is
timed separately: target tokens per second of full training steps at ratio 1.0 and at 0.5 (any ratio below 1 takes
the same path; a decay's ratio is below 1 from its first update on), the two taking turns on the same batches;
--speed-only measures only that. Runs go to --run-root/{task}_{ratio}_{schedule}. Prints a Markdown block with the
command, machine, date and commit. With --json the file is rewritten after every finished run, so a run cut short
keeps the rows it finished.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (run_script, add_multi30k_run_args, describe_machine, machine_info, markdown_table, progress_log, split_batch,  # noqa: E402
                      train_in_turns, write_json)

from s2s.config import load_config  # noqa: E402
from s2s.data.batching import token_batches  # noqa: E402
from s2s.data.corpus import build_corpus  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.evaluation.metrics import corpus_scores  # noqa: E402
from s2s.models import build_model  # noqa: E402
from s2s.training.loss import model_loss  # noqa: E402
from s2s.training.trainer import Trainer, make_optimizer  # noqa: E402

TASKS = {"numbers": "configs/quickstart.yaml", "multi30k": "configs/multi30k/best_de_en.yaml"}
TASK_OVERRIDES = {"numbers": ["train.amp=none"], "multi30k": ["train.epochs=10", "train.keep_checkpoints=0"]}
VARIANTS = {"1.0 (teacher forcing)": {"teacher_forcing": 1.0},
            "0.5": {"teacher_forcing": 0.5},
            "1.0 -> 0.5 (inverse sigmoid)": {"teacher_forcing": 0.5, "teacher_forcing_schedule": "inverse_sigmoid"}}
SHORT = dict(zip(["1.0", "0.5", "decay"], VARIANTS))  # --variants names


SPEED = {"1.0 (the whole target in one call)": 1.0, "below 1.0 (step by step)": 0.5}  # any ratio < 1 costs the same


def measure_speed(config, batches: int, log) -> dict[str, float]:
    """Target tokens/s of full training steps (loss, backward, clipping, Adam) at ratio 1.0 and below, taking turns
    on each batch."""
    corpus = build_corpus(config.data, log=lambda message: None)
    split = corpus.splits["train"]
    orders = token_batches(split.src_ids.lengths, split.tgt_ids.lengths, config.train.batch_tokens, seed=1)[: batches + 2]
    runs = {}
    for name, ratio in SPEED.items():
        torch.manual_seed(config.train.seed)
        model = build_model(config.model, len(corpus.src_vocab), len(corpus.tgt_vocab)).train()
        runs[name] = {"model": model, "optimizer": make_optimizer(model, config.train.lr, 0.0, torch.device("cpu")),
                      "loss_fn": lambda model, batch, ratio=ratio: model_loss(model, model, batch, config.train.label_smoothing, ratio)}
    warmup = min(2, len(orders) - 1)  # untimed batches (a tiny check may have few batches in all)
    train_in_turns(runs, [split_batch(split, indices) for indices in orders], warmup, config.train.clip_norm, log=log)
    return {name: sum(run["tokens"]) / sum(run["seconds"]) for name, run in runs.items()}


def planned_updates(config) -> int:
    """The updates a run of this config plans (epochs x batches per epoch), counted by a Trainer in a scratch folder."""
    with tempfile.TemporaryDirectory() as scratch:
        return Trainer(config, Path(scratch) / "run", log=lambda message: None).planned_steps()


def merge(results: list[dict]) -> dict:
    """One result from several --variants runs of the same tasks: rows in VARIANTS order; the first file's machine
    and step timing (each file keeps its own in its JSON)."""
    merged = json.loads(json.dumps(results[0]))
    for task, task_result in merged["tasks"].items():
        rows = {r["variant"]: r for result in results for r in result["tasks"].get(task, {}).get("rows", [])}
        task_result["rows"] = [rows[name] for name in VARIANTS if name in rows]
    merged["merged_from"] = [r["machine"]["command"] for r in results]
    merged["wall_minutes"] = max(r["wall_minutes"] for r in results)
    return merged


def render(result: dict) -> str:
    lines = [describe_machine(result["machine"]), ""]
    if result.get("merged_from"):
        lines += ["rows merged from: " + "; ".join(f"`{command}`" for command in result["merged_from"]), ""]
    for task, task_result in result["tasks"].items():
        lines += [f"{task}: config `{task_result['config']}`, overrides `{' '.join(task_result['overrides'])}`", ""]
        if task_result.get("rows"):
            rows = [[r["variant"], f"{r['valid_loss']:.3f}", f"{r['valid_bleu']:.2f}", f"{r['test_bleu']:.2f}", r["epochs"],
                     f"{r['train_minutes']:.1f}", f"{r['tokens_per_s']:,}"] for r in task_result["rows"]]
            lines += markdown_table(["teacher forcing", "val loss (teacher-forced)", "val BLEU (greedy)",
                                     "test BLEU (greedy)", "epochs", "train min", "tokens/s"], "lrrrrrr", rows) + [""]
        speed = task_result["speed"]
        base = speed[next(iter(SPEED))]
        lines.append("training speed, the two taking turns on the same batches: " + "; ".join(
            f"ratio {name} {tokens:,.0f} target tokens/s ({base / tokens:.2f}x the time per step)" for name, tokens in speed.items()))
        lines.append("")
    return "\n".join(lines).rstrip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", nargs="+", choices=list(TASKS), default=list(TASKS))
    parser.add_argument("--speed-only", action="store_true", help="only time training steps at ratio 1.0 and below 1")
    parser.add_argument("--batches", type=int, default=20, help="timed batches per variant (after 2 untimed)")
    parser.add_argument("--variants", nargs="+", choices=list(SHORT), default=list(SHORT),
                        help="which runs to train (default all three): 1.0, 0.5, decay (1.0 -> 0.5, inverse sigmoid)")
    parser.add_argument("--merge", nargs="+", metavar="JSON", help="merge the rows of earlier --json files (runs of "
                        "different --variants), print the Markdown block and write it to --json")
    add_multi30k_run_args(parser, "runs/bench_teacher_forcing")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    if args.merge:
        result = merge([json.loads(Path(path).read_text()) for path in args.merge])
        print(render(result))
        if args.json:
            write_json(args.json, result)
        return
    log = progress_log("bench_teacher_forcing")
    info, tasks, started = machine_info(), {}, time.perf_counter()
    for task in args.tasks:
        overrides = [f"data.mirror={args.mirror}", *TASK_OVERRIDES[task], *args.set]
        config = load_config(TASKS[task], overrides)
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        log(f"{task}: timing {args.batches} training steps at ratio 1.0 and at 0.5")
        tasks[task] = {"config": TASKS[task], "overrides": overrides, "speed": measure_speed(config, args.batches, log), "rows": []}
        if args.speed_only:
            continue
        planned = planned_updates(config) if "decay" in args.variants else 0
        for name in (SHORT[short] for short in args.variants):
            options = VARIANTS[name]
            variant = dataclasses.replace(config, train=dataclasses.replace(config.train, **options))
            if "teacher_forcing_schedule" in options:
                variant.train.teacher_forcing_decay_steps = max(1, planned // 2)
            run_dir = Path(args.run_root) / f"{task}_{options['teacher_forcing']}_{options.get('teacher_forcing_schedule', 'constant')}"
            log(f"{task}, teacher forcing {name}: training into {run_dir}")
            trainer = Trainer(variant, run_dir, log=log)
            summary = trainer.train()
            translator = Translator.from_checkpoint(run_dir / "best.pt", device="cpu")
            scores = {split: corpus_scores(translator.translate(trainer.corpus.splits[split].src_text, beam=1),
                                           trainer.corpus.splits[split].tgt_text) for split in ("valid", "test")}
            records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
            speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
            best = [r for r in records if r.get("best")][-1]
            tasks[task]["rows"].append({
                "variant": name, "options": {**options, "teacher_forcing_decay_steps": variant.train.teacher_forcing_decay_steps},
                "valid_loss": best["valid_loss"], "valid_bleu": scores["valid"]["bleu"], "test_bleu": scores["test"]["bleu"],
                "epochs": summary["epochs"], "steps": summary["steps"], "train_minutes": round(trainer.train_seconds / 60, 2),
                "tokens_per_s": round(sum(speeds) / max(1, len(speeds))), "run_dir": str(run_dir)})
            log(f"{task}, {name}: test BLEU (greedy) {scores['test']['bleu']:.2f}")
            if args.json:  # a run cut short keeps the rows it finished
                write_json(args.json, {"machine": info, "tasks": tasks, "wall_minutes": round((time.perf_counter() - started) / 60, 1)})
    result = {"machine": info, "tasks": tasks, "wall_minutes": round((time.perf_counter() - started) / 60, 1)}
    print(render(result))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    run_script(main)
