"""Train configs/quickstart.yaml with and without attention and compare test BLEU, overall and by input length.

    python scripts/bench_quickstart.py [--out runs/bench_quickstart] [--json OUT.json] [--set KEY=VALUE ...]

Prints a Markdown block (machine, command, table) for BENCHMARKS.md. Each model is trained exactly as
`s2s train --config configs/quickstart.yaml` trains it (the no-attention row adds model.attention=none);
--set overrides apply to both rows (scripts/bench_all.sh --quick uses them for a smoke run).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, markdown_table, write_json, run_script  # noqa: E402

from s2s.config import load_config  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.evaluation.metrics import corpus_scores  # noqa: E402
from s2s.training.trainer import Trainer  # noqa: E402

BUCKETS = [(1, 5), (6, 10), (11, 15), (16, 99)]


def run(name: str, overrides: list[str], out: Path) -> dict:
    config = load_config(REPO / "configs/quickstart.yaml", overrides)
    run_dir = out / name
    started = time.perf_counter()
    trainer = Trainer(config, run_dir)
    summary = trainer.train()
    wall_minutes = (time.perf_counter() - started) / 60
    test = trainer.corpus.splits["test"]
    hypotheses = Translator.from_checkpoint(run_dir / "best.pt", device="cpu").translate(test.src_text)
    result = {"model": config.model.resolved_name, "overrides": overrides, "wall_minutes": round(wall_minutes, 2),
              "train_minutes": round(trainer.train_seconds / 60, 2), "epochs": summary["epochs"],
              "test": corpus_scores(hypotheses, test.tgt_text), "by_length": {}}
    for low, high in BUCKETS:
        picked = [i for i, s in enumerate(test.src_text) if low <= len(s.split()) <= high]
        scores = corpus_scores([hypotheses[i] for i in picked], [test.tgt_text[i] for i in picked])
        exact = sum(hypotheses[i] == test.tgt_text[i] for i in picked) / max(1, len(picked))
        result["by_length"][f"{low}-{high}"] = {"n": len(picked), "bleu": scores["bleu"], "exact": round(100 * exact, 1)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench_quickstart", help="folder for the two run folders")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE", help="config overrides for both rows (recorded)")
    args = parser.parse_args()
    info = machine_info()
    results = [run("gru_attn", args.set, Path(args.out)), run("gru", args.set + ["model.attention=none"], Path(args.out))]
    print(describe_machine(info))
    print()
    columns = ["model", "test BLEU", "chrF", *(f"BLEU / exact % ({b} words)" for b in results[0]["by_length"]),
               "epochs", "train min", "wall min"]
    print("\n".join(markdown_table(columns, "l" * len(columns), [
        [r["model"], f"{r['test']['bleu']:.2f}", f"{r['test']['chrf']:.2f}",
         *(f"{v['bleu']:.1f} / {v['exact']:.0f} (n={v['n']})" for v in r["by_length"].values()),
         r["epochs"], f"{r['train_minutes']:.2f}", f"{r['wall_minutes']:.2f}"] for r in results])))
    print(f"\nsacreBLEU: `{results[0]['test']['signature']['bleu']}`")
    if args.json:
        write_json(args.json, {"machine": info, "results": results})


if __name__ == "__main__":
    run_script(main)
