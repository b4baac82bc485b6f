"""Train a Multi30k config under its wall-clock budget, then score val and test2016; print a BENCHMARKS.md block.

    python scripts/bench_multi30k.py --config configs/multi30k/gru_attn.yaml [--mirror DIR] [--json OUT]

The model is trained exactly as `s2s train --config CONFIG` trains it (model selection and early stopping
on validation BLEU), then best.pt is evaluated with the config's decode: settings. Reported: cased
detokenized sacreBLEU and chrF with signatures, lowercased BLEU (for papers), training minutes, epochs,
tokens/s, peak resident memory, and validation BLEU against training minutes (how fast the model learns).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, peak_rss_mib, write_json, run_script  # noqa: E402

from s2s.config import load_config  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.evaluation.metrics import corpus_scores  # noqa: E402
from s2s.training.trainer import Trainer, run_dir_for  # noqa: E402


def render(result: dict) -> str:
    """The BENCHMARKS.md block for one run (also re-rendered from its JSON with --render)."""
    test, valid, decode = result["test2016"], result["valid"], result["decode"]
    lines = [describe_machine(result["machine"]),
             "\n| config | test2016 BLEU | chrF | BLEU lc | val BLEU | epochs | train min | wall min | tok/s | peak MiB |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| {Path(result['config']).name} | {test['bleu']:.2f} | {test['chrf']:.2f} | {test['bleu_lowercase']:.2f} | "
             f"{valid['bleu']:.2f} | {result['epochs']} | {result['train_minutes']:.1f} | {result['wall_minutes']:.1f} | "
             f"{result['tokens_per_s']} | {result['peak_rss_mib']} |",
             f"\nsacreBLEU: `{test['signature']['bleu']}`, chrF: `{test['signature']['chrf']}`, "
             f"lowercased: `{test['signature']['bleu_lowercase']}`; decode: beam {decode['beam']}, "
             f"length penalty {decode['length_penalty']}",
             "\nvalidation BLEU (greedy) by training minutes: "
             + ", ".join(f"{m:.1f} min {b:.1f}" for m, b in result["valid_bleu_curve"])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", help="a Multi30k config, e.g. configs/multi30k/gru_attn.yaml")
    parser.add_argument("--render", metavar="JSON", help="print the Markdown block of an earlier run's --json file and exit")
    parser.add_argument("--mirror", default=str(REPO.parent / "shared/data/multi30k"),
                        help="local copy of the Multi30k files (default: ../shared/data/multi30k)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides (recorded)")
    parser.add_argument("--json", help="write the full result here")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    if not args.config:
        parser.error("--config is required (or --render JSON)")

    overrides = [f"data.mirror={args.mirror}"] + args.set
    config = load_config(args.config, overrides)
    if config.train.threads:  # as the trainer will, so that the recorded machine line shows the threads used
        torch.set_num_threads(config.train.threads)
    info = machine_info()
    run_dir = run_dir_for(config)
    started = time.perf_counter()
    trainer = Trainer(config, run_dir)
    summary = trainer.train()
    wall_minutes = (time.perf_counter() - started) / 60

    translator = Translator.from_checkpoint(run_dir / "best.pt", device="cpu")
    scores = {}
    for split in ("valid", "test"):
        data = trainer.corpus.splits[split]
        decode_start = time.perf_counter()
        hypotheses = translator.translate(data.src_text)
        scores[split] = corpus_scores(hypotheses, data.tgt_text)
        scores[split]["decode_seconds"] = round(time.perf_counter() - decode_start, 1)
        (run_dir / f"{split}.hyp").write_text("\n".join(hypotheses) + "\n", encoding="utf-8")

    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    curve = [(r["train_minutes"], r["valid_bleu"]) for r in records if "valid_bleu" in r]
    speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
    result = {
        "config": args.config, "overrides": overrides, "machine": info, "run_dir": str(run_dir),
        "epochs": summary["epochs"], "steps": summary["steps"], "train_minutes": round(trainer.train_seconds / 60, 2),
        "wall_minutes": round(wall_minutes, 2), "tokens_per_s": round(sum(speeds) / max(1, len(speeds))),
        "peak_rss_mib": round(peak_rss_mib()),
        "decode": vars(config.decode), "valid": scores["valid"], "test2016": scores["test"], "valid_bleu_curve": curve,
    }
    print(render(result))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    run_script(main)
