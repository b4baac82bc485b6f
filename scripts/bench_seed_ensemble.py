"""Independently trained models of one recipe, alone and ensembled: what each adds on validation, and what it costs.

    python scripts/bench_seed_ensemble.py --runs runs/best_en_de runs/best_en_de_s2 runs/best_en_de_s3 \
        [--threads 2] [--json OUT]

Each --runs entry is a run folder (its best.pt) or a .pt file, all trained with one vocabulary (the same data config).
Rows: each model alone, then the ensembles of the first 2, 3, ... models in the order given (s2s evaluate
--checkpoint A B ...: the mean of the models' log-probabilities at each search step), all with the first model's
decode settings (beam, length penalty). Each row records validation BLEU and chrF, decoding seconds, and the
training minutes behind it (the runs' metrics.jsonl). The row kept is the best validation BLEU (ties keep fewer
models); test2016 is decoded only for the first model alone and for that row, and chooses nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe_machine, machine_info, run_script, write_json  # noqa: E402
from select_decoding import score  # noqa: E402

from s2s.checkpoint import load_checkpoint  # noqa: E402
from s2s.config import config_from_dict  # noqa: E402
from s2s.data.corpus import read_splits  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.errors import S2SError  # noqa: E402


def checkpoint_of(entry: str) -> Path:
    path = Path(entry)
    if path.is_dir():
        path = path / "best.pt"
    if not path.is_file():
        raise S2SError(f"no checkpoint at {path}: give a run folder that holds best.pt, or a .pt file")
    return path


def training_minutes(checkpoint: Path) -> float | None:
    """The training minutes of the run the checkpoint sits in (the last line of its metrics.jsonl), if it has one."""
    metrics = checkpoint.parent / "metrics.jsonl"
    if not metrics.is_file():
        return None
    lines = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    minutes = [line["train_minutes"] for line in lines if "train_minutes" in line]
    return round(minutes[-1], 2) if minutes else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", nargs="+", required=True, help="run folders or .pt files, 2 or more")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--json", help="write every row here")
    args = parser.parse_args()
    if len(args.runs) < 2:
        parser.error("--runs needs at least 2 models to ensemble")
    torch.set_num_threads(args.threads)
    info = machine_info()
    paths = [checkpoint_of(entry) for entry in args.runs]
    config = config_from_dict(load_checkpoint(paths[0])["config"], str(paths[0]))
    splits = read_splits(config.data)
    lang = config.data.tgt
    settings = {"beam": config.decode.beam, "length_penalty": config.decode.length_penalty}
    minutes = {path: training_minutes(path) for path in paths}

    rows = []
    groups = [[path] for path in paths] + [paths[:k] for k in range(2, len(paths) + 1)]
    for group in groups:
        translator = Translator.from_checkpoint(group, device="cpu")
        spent = [minutes[path] for path in group]
        row = {"models": [str(path) for path in group], "train_minutes": None if None in spent else round(sum(spent), 2),
               "valid": score(translator, splits["valid"], lang, **settings)}
        rows.append(row)
        print(f"{len(group)} model(s) {', '.join(row['models'])}: valid BLEU {row['valid']['bleu']:.2f}, "
              f"chrF {row['valid']['chrf']:.2f} ({row['valid']['seconds']} s)", flush=True)
    chosen = max(rows, key=lambda row: (row["valid"]["bleu"], -len(row["models"])))
    for row in [rows[0]] if chosen is rows[0] else [rows[0], chosen]:
        row["test"] = score(Translator.from_checkpoint([Path(p) for p in row["models"]], device="cpu"), splits["test"],
                            lang, **settings)
    print(render(info, rows, chosen, settings))
    if args.json:
        write_json(args.json, {"machine": info, "settings": settings, "rows": rows, "chosen": chosen})


def cost(seconds: float, single: float) -> str:
    """Decoding time against the first model alone's; '–' when that rounded to 0 s (a tiny validation set)."""
    return f"{seconds / single:.2f}×" if single else "–"


def render(info: dict, rows: list[dict], chosen: dict, settings: dict) -> str:
    single = rows[0]["valid"]["seconds"]
    lines = [describe_machine(info), "", f"decoding: beam {settings['beam']}, length penalty {settings['length_penalty']}", "",
             "| models | training min | val BLEU | val chrF | decode s (val) | decode cost | test2016 BLEU |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        v, t = row["valid"], row.get("test")
        mark = " **(chosen)**" if row is chosen else ""
        lines.append(f"| {' + '.join(row['models'])}{mark} | {row['train_minutes'] if row['train_minutes'] is not None else '?'} | "
                     f"{v['bleu']:.2f} | {v['chrf']:.2f} | {v['seconds']} | {cost(v['seconds'], single)} | "
                     f"{'%.2f' % t['bleu'] if t else '–'} |")
    singles = [row["valid"]["bleu"] for row in rows if len(row["models"]) == 1]
    lines.append(f"\nsingle models on validation: mean {sum(singles) / len(singles):.2f}, "
                 f"range {min(singles):.2f}–{max(singles):.2f}; test2016 decoded only for the first model and the "
                 f"row chosen on validation")
    return "\n".join(lines)


if __name__ == "__main__":
    run_script(main)
