"""How varied a model's samples are (issue 39: a distilled student puts nearly all its probability on one
translation): for each model, --samples samples of each of the first --lines source lines (s2s translate --sample,
with --top-p and --temperature), against the model's own beam search output.

    python scripts/bench_sample_diversity.py --checkpoint multi30k-de-en de-en [--src val.de] [--lines 200]
        [--samples 5] [--top-p 0.9] [--seed 1] [--threads 2] [--json OUT]

Per model: the share of samples identical to the beam output, the mean number of distinct samples per line (1 to
--samples), and the mean log-probability of a sample per token (how far into the tail the samples reach). Each
--checkpoint is one model (a .pt file, run folder or shipped name), not an ensemble. The source defaults to Multi30k's
validation set of the first model's source language, from data/multi30k.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, markdown_table, run_script, write_json  # noqa: E402

from s2s.checkpoint import load_checkpoint  # noqa: E402
from s2s.data.readers import read_lines  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.errors import S2SError  # noqa: E402


def diversity(translator: Translator, lines: list[str], samples: int, top_p: float, temperature: float,
              seed: int) -> dict:
    """{"same_as_beam", "distinct_per_line", "logprob_per_token"} of `samples` samples per line."""
    beams = translator.translate(lines)
    drawn = translator.translate_detailed(lines, sample=samples, top_p=top_p, temperature=temperature, seed=seed)
    texts = [[text for text, _ in translation.nbest] for translation in drawn]
    same = sum(text == beam for beam, line in zip(beams, texts) for text in line)
    distinct = sum(len(set(line)) for line in texts)
    scores = translator.score([source for source, line in zip(lines, texts) for _ in line],
                              [text for line in texts for text in line])  # forced decoding: log p and tokens
    return {"same_as_beam": round(same / (samples * len(lines)), 4),
            "distinct_per_line": round(distinct / len(lines), 3),
            "logprob_per_token": round(sum(s["log_prob"] for s in scores) / sum(s["tokens"] for s in scores), 4)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", nargs="+", required=True, help="models to compare, each on its own")
    parser.add_argument("--src", help="source lines (default: data/multi30k/val.SRC.gz of the first model)")
    parser.add_argument("--lines", type=int, default=200, help="source lines to sample (default 200)")
    parser.add_argument("--samples", type=int, default=5, help="samples per line (default 5)")
    parser.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling's P (default 0.9; 1 for none)")
    parser.add_argument("--temperature", type=float, default=1.0, help="sampling temperature (default 1)")
    parser.add_argument("--seed", type=int, default=1, help="sampling seed (default 1)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--json", help="write the figures and the machine there")
    args = parser.parse_args()
    if args.lines < 1 or args.samples < 2:
        raise S2SError("--lines must be at least 1 and --samples at least 2 (diversity needs two samples to compare).")
    torch.set_num_threads(args.threads)
    info = machine_info()
    print(describe_machine(info), file=sys.stderr)
    translators = [Translator.from_checkpoint(checkpoint, device="cpu") for checkpoint in args.checkpoint]
    language = load_checkpoint(args.checkpoint[0], upcast=False)["config"]["data"]["src"]
    src = args.src or str(REPO / "data" / "multi30k" / f"val.{language}.gz")
    lines = [line for line in read_lines(src) if line.strip()][: args.lines]
    results, rows = {}, []
    for checkpoint, translator in zip(args.checkpoint, translators):
        figures = diversity(translator, lines, args.samples, args.top_p, args.temperature, args.seed)
        results[checkpoint] = figures
        rows.append([checkpoint, f"{100 * figures['same_as_beam']:.1f} %", figures["distinct_per_line"],
                     figures["logprob_per_token"]])
    print("\n".join([f"Sample diversity, {args.samples} samples of each of {len(lines)} lines of {src}, top-p "
                     f"{args.top_p}, temperature {args.temperature}, seed {args.seed} (`{info['command']}`):", "",
                     *markdown_table(["model", "samples = beam output", f"distinct per line (of {args.samples})",
                                      "log-prob per token"], "lrrr", rows), "", describe_machine(info)]))
    if args.json:
        write_json(args.json, {"machine": info, "src": src, "lines": len(lines), "samples": args.samples,
                               "top_p": args.top_p, "temperature": args.temperature, "seed": args.seed,
                               "results": results})
    return 0


if __name__ == "__main__":
    run_script(main)
