"""The training cost of the model options of issue 15, timed side by side on the same Multi30k batches.

    python scripts/bench_options.py [--config configs/multi30k/best_de_en.yaml] [--batches 20] [--json OUT]

Each variant is the config's model with one option changed (input feeding, two layers, tied target embeddings,
word dropout). The variants take turns on every batch (same batches, same order, who goes first rotating), so
the shared machine's speed drift hits them alike; a full training step as the trainer runs it (loss, backward,
clipping, Adam). Also reported: how many more source/target tokens an epoch holds with sampled segmentations
(data.subword_alpha), the cost of subword regularization. Prints a Markdown block for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, split_batch, train_in_turns, write_json, run_script  # noqa: E402

from s2s.config import load_config  # noqa: E402
from s2s.data.batching import token_batches  # noqa: E402
from s2s.data.corpus import build_corpus, sampled_training_ids  # noqa: E402
from s2s.models import build_model, count_parameters  # noqa: E402
from s2s.training.loss import model_loss  # noqa: E402
from s2s.training.trainer import make_optimizer  # noqa: E402

VARIANTS = {
    "recipe model": {},
    "input feeding": {"input_feeding": True},
    "2 layers": {"layers": 2},
    "tied target embeddings (emb 512)": {"tie_embeddings": True, "emb_size": 512},
    "word dropout 0.1": {"word_dropout": 0.1},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/multi30k/best_de_en.yaml")
    parser.add_argument("--mirror", default=str(REPO.parent / "shared/data/multi30k"))
    parser.add_argument("--batches", type=int, default=20, help="timed batches per variant (after 2 untimed)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="write the result here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = machine_info()
    config = load_config(args.config, [f"data.mirror={args.mirror}"])
    corpus = build_corpus(config.data, log=lambda message: None)
    split = corpus.splits["train"]

    sampling = {}
    if config.data.subword_alpha:
        src_ids, tgt_ids = sampled_training_ids(corpus, config.data, seed=1)
        sampling = {side: round(int(sampled.lengths.sum()) / int(fixed.lengths.sum()), 3) for side, sampled, fixed in
                    (("src", src_ids, split.src_ids), ("tgt", tgt_ids, split.tgt_ids))}

    orders = token_batches(split.src_ids.lengths, split.tgt_ids.lengths, config.train.batch_tokens, seed=1)[: args.batches + 2]
    batches = [split_batch(split, indices) for indices in orders]

    def loss_fn(model, batch):
        return model_loss(model, model, batch, config.train.label_smoothing)

    runs = {}
    for name, options in VARIANTS.items():
        torch.manual_seed(config.train.seed)
        model_config = dataclasses.replace(config.model, **options)
        model = build_model(model_config, len(corpus.src_vocab), len(corpus.tgt_vocab)).train()
        runs[name] = {"model": model, "optimizer": make_optimizer(model, config.train.lr, 0.0, torch.device("cpu")),
                      "loss_fn": loss_fn}
    train_in_turns(runs, batches, 2, config.train.clip_norm)
    speed = {name: sum(run["tokens"]) / sum(run["seconds"]) for name, run in runs.items()}
    rows = [{"variant": name, "parameters": count_parameters(run["model"]), "tokens_per_s": round(speed[name]),
             "relative_time": round(speed["recipe model"] / speed[name], 2)} for name, run in runs.items()]
    lines = [describe_machine(info), "", f"config: `{args.config}`; {args.batches} timed batches per variant, taking turns",
             "", "| variant | parameters | target tokens/s | time per step vs recipe model |", "|---|---:|---:|---:|"]
    lines += [f"| {r['variant']} | {r['parameters']:,} | {r['tokens_per_s']:,} | {r['relative_time']:.2f}× |" for r in rows]
    if sampling:
        lines.append(f"\nsampled segmentations (data.subword_alpha {config.data.subword_alpha}, sides "
                     f"{config.data.subword_sides}): tokens per epoch × {sampling['src']} (source), × {sampling['tgt']} (target)")
    print("\n".join(lines))
    if args.json:
        write_json(args.json, {"machine": info, "config": args.config, "rows": rows, "sampled_tokens_ratio": sampling})


if __name__ == "__main__":
    run_script(main)
