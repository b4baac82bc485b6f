"""Which length penalty a recipe should ship: every penalty on every independently trained model, on validation.

    python scripts/bench_length_penalty.py --runs runs/best_en_de runs/best_en_de_s3 ... \
        [--penalties 0.8 1.0 1.2 1.4 1.6 2.0 2.5 3.0] [--threads 2] [--json OUT]

Each --runs entry is a run folder (its best.pt) or a .pt file trained on one dataset. Each model is decoded on
validation with its own beam size and every --penalties value (beam search ranks finished hypotheses by
log p / length**A). The penalty chosen is the one with the highest mean validation BLEU over the models (ties keep
the one listed first), so one lucky model cannot choose it; the table also counts on how many models each penalty
is the best. test2016 is decoded only for the first model, with its own penalty and with the chosen one: it
reports, it chooses nothing.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe_machine, machine_info, run_script, write_json  # noqa: E402
from bench_seed_ensemble import checkpoint_of  # noqa: E402
from select_decoding import score  # noqa: E402

from s2s.checkpoint import load_checkpoint  # noqa: E402
from s2s.config import config_from_dict  # noqa: E402
from s2s.data.corpus import read_splits  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="run folders or .pt files")
    parser.add_argument("--penalties", nargs="+", type=float, default=[0.8, 1.0, 1.2, 1.4, 1.6, 2.0, 2.5, 3.0],
                        help="length penalties to try (default: 0.8 1.0 1.2 1.4 1.6 2.0 2.5 3.0)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--json", help="write every row here")
    args = parser.parse_args()
    if any(not 0 <= penalty <= 10 for penalty in args.penalties):
        parser.error("--penalties must lie in [0, 10]")
    torch.set_num_threads(args.threads)
    info = machine_info()
    paths = [checkpoint_of(entry) for entry in args.runs]
    configs = [config_from_dict(load_checkpoint(path)["config"], str(path)) for path in paths]
    splits = read_splits(configs[0].data)
    lang = configs[0].data.tgt

    rows = []
    for path, config in zip(paths, configs):
        translator = Translator.from_checkpoint([path], device="cpu")
        for penalty in args.penalties:
            valid = score(translator, splits["valid"], lang, beam=config.decode.beam, length_penalty=penalty)
            rows.append({"model": str(path), "beam": config.decode.beam, "length_penalty": penalty, "valid": valid})
            print(f"{path}, lp {penalty}: valid BLEU {valid['bleu']:.2f}, chrF {valid['chrf']:.2f}, "
                  f"length {valid['length_ratio']:.3f} ({valid['seconds']} s)", flush=True)
    summary = summarize(rows, args.penalties, len(paths))
    chosen = max(summary, key=lambda entry: entry["mean_bleu"])["length_penalty"]  # max keeps the first of ties
    first, shipped = paths[0], configs[0].decode.length_penalty
    translator = Translator.from_checkpoint([first], device="cpu")
    test = {penalty: score(translator, splits["test"], lang, beam=configs[0].decode.beam, length_penalty=penalty)
            for penalty in dict.fromkeys([shipped, chosen])}
    print(render(info, rows, summary, chosen, first, test))
    if args.json:
        write_json(args.json, {"machine": info, "rows": rows, "summary": summary, "chosen": chosen,
                               "test": {"model": str(first), **{str(p): s for p, s in test.items()}}})


def summarize(rows: list[dict], penalties: list[float], models: int) -> list[dict]:
    """Per penalty: the mean validation BLEU, chrF and length ratio over the models, and on how many it is the best."""
    by_model: dict[str, list[dict]] = {}
    for row in rows:
        by_model.setdefault(row["model"], []).append(row)
    best = [max(group, key=lambda row: row["valid"]["bleu"])["length_penalty"] for group in by_model.values()]
    summary = []
    for penalty in penalties:
        mine = [row["valid"] for row in rows if row["length_penalty"] == penalty]
        summary.append({"length_penalty": penalty, "mean_bleu": round(sum(v["bleu"] for v in mine) / models, 2),
                        "mean_chrf": round(sum(v["chrf"] for v in mine) / models, 2),
                        "mean_length_ratio": round(sum(v["length_ratio"] for v in mine) / models, 4),
                        "best_on": best.count(penalty)})
    return summary


def render(info: dict, rows: list[dict], summary: list[dict], chosen: float, first: Path, test: dict) -> str:
    lines = [describe_machine(info), "", "| model | length penalty | val BLEU | val chrF | output/reference length | decode s |",
             "|---|---:|---:|---:|---:|---:|"]
    for row in rows:
        v = row["valid"]
        lines.append(f"| {row['model']} | {row['length_penalty']} | {v['bleu']:.2f} | {v['chrf']:.2f} | "
                     f"{v['length_ratio']:.3f} | {v['seconds']} |")
    lines += ["", f"| length penalty | mean val BLEU ({len(rows) // len(summary)} models) | mean val chrF | "
              "mean length ratio | best on |", "|---:|---:|---:|---:|---:|"]
    for entry in summary:
        mark = " **(chosen)**" if entry["length_penalty"] == chosen else ""
        lines.append(f"| {entry['length_penalty']}{mark} | {entry['mean_bleu']:.2f} | {entry['mean_chrf']:.2f} | "
                     f"{entry['mean_length_ratio']:.3f} | {entry['best_on']} |")
    lines.append(f"\ntest2016, {first} only (reports; chose nothing): " +
                 ", ".join(f"lp {penalty}: BLEU {s['bleu']:.2f}, chrF {s['chrf']:.2f}" for penalty, s in test.items()))
    return "\n".join(lines)


if __name__ == "__main__":
    run_script(main)
