"""Several runs side by side: one table from their metrics logs (and reports), and overlaid curves."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from s2s.errors import S2SError
from s2s.outputs import write_file
from s2s.evaluation.report import read_metrics


def summarize_run(run_dir: Path) -> dict:
    """One table row for a run folder: model, size, training length, best validation BLEU, speed, test BLEU."""
    from s2s.config import load_config

    run_dir = Path(run_dir)
    if not (run_dir / "config.yaml").is_file() or not (run_dir / "metrics.jsonl").is_file():
        raise S2SError(f"'{run_dir}' is not a run folder (it needs config.yaml and metrics.jsonl, as written by s2s train).")
    config = load_config(run_dir / "config.yaml")
    records = read_metrics(run_dir)
    valid = [r for r in records if "valid_bleu" in r]
    validations = [r for r in records if "valid_loss" in r]  # a language model's have no BLEU
    speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
    best = max(valid, key=lambda r: r["valid_bleu"]) if valid else {}
    row = {"run": run_dir.name, "path": str(run_dir), "model": config.model.resolved_name,
           "parameters": _parameters(run_dir), "epochs": records[-1].get("epoch") if records else 0,
           "steps": records[-1].get("step") if records else 0,
           "train_minutes": validations[-1].get("train_minutes") if validations else None,
           "best_valid_bleu": best.get("valid_bleu"), "best_step": best.get("step"),
           "best_valid_loss": min((r["valid_loss"] for r in validations), default=None),
           "tokens_per_s": round(statistics.median(speeds)) if speeds else None, "test_bleu": None, "test_chrf": None}
    report = run_dir / "report" / "report.json"
    if report.is_file():
        scores = json.loads(report.read_text(encoding="utf-8"))
        row.update(test_bleu=scores.get("bleu"), test_chrf=scores.get("chrf"))
    return row


def _parameters(run_dir: Path) -> int | None:
    from s2s.checkpoint import load_checkpoint

    for name in ("best.pt", "last.pt"):
        if (run_dir / name).is_file():
            return sum(tensor.numel() for tensor in load_checkpoint(run_dir / name)["model"].values())
    return None


def _cell(value, fmt: str = "{}") -> str:
    return "–" if value is None else fmt.format(value)


def compare_table(rows: list[dict]) -> str:
    lines = ["| run | model | parameters | epochs | steps | train min | tokens/s | best val BLEU (step) | best val loss | "
             "test BLEU | test chrF |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['run']} | {r['model']} | {_cell(r['parameters'], '{:,}')} | {r['epochs']} | {r['steps']} | "
                     f"{_cell(r['train_minutes'], '{:.1f}')} | {_cell(r['tokens_per_s'], '{:,}')} | "
                     f"{_cell(r['best_valid_bleu'], '{:.2f}')} ({_cell(r['best_step'])}) | {_cell(r['best_valid_loss'], '{:.3f}')} | "
                     f"{_cell(r['test_bleu'], '{:.2f}')} | {_cell(r['test_chrf'], '{:.2f}')} |")
    return "\n".join(lines)


def compare_runs(run_dirs: list[str | Path], output_dir: str | Path | None = None) -> tuple[list[dict], str]:
    """Summarize the runs; with output_dir, write compare.json, compare.md and compare.png there. Returns (rows, table)."""
    from s2s import plotting

    names = [Path(d).name for d in run_dirs]
    if len(set(names)) != len(names):
        names = [str(d) for d in run_dirs]  # two runs with one folder name: label them by path
    rows = [summarize_run(Path(d)) for d in run_dirs]
    for row, name in zip(rows, names):
        row["run"] = name
    table = compare_table(rows)
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        write_file(output_dir / "compare.json", json.dumps(rows, indent=2) + "\n")
        md = ["# Runs compared", "", table, "",
              "Test columns come from each run's `report/report.json` (`s2s report RUN_DIR`); tokens/s is the median "
              "of the logged training windows; model selection used validation BLEU only."]
        if plotting.pyplot() is not None:
            plotting.plot_compare({name: read_metrics(Path(d)) for name, d in zip(names, run_dirs)}, output_dir / "compare.png")
            md += ["", "![validation BLEU against training minutes, and train loss against steps](compare.png)"]
        else:
            md += ["", f"({plotting.MISSING})"]
        write_file(output_dir / "compare.md", "\n".join(md) + "\n")
    return rows, table
