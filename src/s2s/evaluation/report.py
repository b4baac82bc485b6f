"""Evaluation reports: a JSON file and a Markdown summary beside it."""

from __future__ import annotations

import json
from pathlib import Path

from s2s.errors import S2SError


def format_table(result: dict) -> str:
    rows = [("BLEU", result["bleu"], result["signature"]["bleu"]),
            ("chrF", result["chrf"], result["signature"]["chrf"]),
            ("BLEU (lowercased, for papers)", result["bleu_lowercase"], result["signature"]["bleu_lowercase"])]
    lines = ["| metric | score | sacreBLEU signature |", "|---|---:|---|"]
    lines += [f"| {name} | {score:.2f} | `{signature}` |" for name, score, signature in rows]
    return "\n".join(lines)


def write_report(result: dict, json_path: str | Path) -> Path:
    """Write result as JSON at json_path and as Markdown at the same path with .md; return the Markdown path."""
    json_path = Path(json_path)
    if not json_path.parent.is_dir():
        raise S2SError(f"cannot write report '{json_path}': folder '{json_path.parent}' does not exist. Create it first.")
    md_path = json_path.with_suffix(".md")
    details = result.get("settings", {})
    md = [f"# Evaluation: {result.get('checkpoint', '')}", "", format_table(result), "",
          f"Sentences: {result['num_sentences']}  ",
          f"Source: `{result.get('src', '')}`  ", f"Reference: `{result.get('ref', '')}`  ",
          "Decoding: " + ", ".join(f"{k}={v}" for k, v in details.items()), ""]
    if result.get("model"):
        md += [f"Model: {result['model']}", ""]
    try:
        json_path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        md_path.write_text("\n".join(md), encoding="utf-8")
    except OSError as error:
        raise S2SError(f"cannot write report '{json_path}': {error.strerror}.") from None
    return md_path
