"""Translate the 20 everyday sentences of docs/data/everyday_sentences.tsv with every shipped pretrained model and
write the table into docs/pretrained.md (between its everyday-table markers), or print it:

    python scripts/everyday_table.py [--write docs/pretrained.md] [--threads 2]

German sentences go to the de->en models, English ones to the en->de models; each model decodes with its card's
decoding. Besides each translation the table counts, per model, the sentences whose digits all came through.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, run_script  # noqa: E402

from s2s.decoding.translator import Translator  # noqa: E402
from s2s.pretrained import list_pretrained  # noqa: E402

SENTENCES = REPO / "docs" / "data" / "everyday_sentences.tsv"
BEGIN, END = "<!-- everyday: written by scripts/everyday_table.py -->", "<!-- /everyday -->"


def read_sentences(path: Path = SENTENCES) -> dict[str, list[str]]:
    """{"en": [...], "de": [...]}: the two columns of the file, comments skipped."""
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    return {"en": [row[0] for row in rows], "de": [row[1] for row in rows]}


def digits_kept(source: str, output: str) -> bool:
    return sorted(re.findall(r"\d+", source)) == sorted(re.findall(r"\d+", output))


def table(models: list[dict], sentences: dict[str, list[str]]) -> list[str]:
    lines = []
    for src in ("de", "en"):
        chosen = [model for model in models if model["card"].get("src") == src]
        if not chosen:
            continue
        outputs = [Translator.from_checkpoint(model["folder"], device="cpu").translate(sentences[src]) for model in chosen]
        lines += [f"**{src}→{chosen[0]['card']['tgt']}**", "",
                  "| " + " | ".join(["source"] + [model["name"] for model in chosen]) + " |",
                  "|" + "---|" * (len(chosen) + 1)]
        for row, source in enumerate(sentences[src]):
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in [source] + [output[row] for output in outputs]) + " |")
        numbered = [row for row, source in enumerate(sentences[src]) if re.search(r"\d", source)]
        lines.append("| *numbers kept as digits* | " + " | ".join(
            f"{sum(digits_kept(sentences[src][row], output[row]) for row in numbered)} of {len(numbered)}"
            for output in outputs) + " |")
        lines.append("")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", metavar="MD", help="rewrite the table between the markers of this file")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    info = machine_info()
    print(describe_machine(info), file=sys.stderr)
    lines = table(list_pretrained(REPO / "pretrained"), read_sentences())
    lines.append(f"*Written by `{info['command']}` at commit {info['git_commit']}, {info['date_utc']}.*")
    if not args.write:
        print("\n".join(lines))
        return 0
    path = Path(args.write)
    text = path.read_text(encoding="utf-8")
    before, rest = text.split(BEGIN, 1)
    path.write_text(before + BEGIN + "\n" + "\n".join(lines) + "\n" + END + rest.split(END, 1)[1], encoding="utf-8")
    print(f"wrote the table into {path}")
    return 0


if __name__ == "__main__":
    run_script(main)
