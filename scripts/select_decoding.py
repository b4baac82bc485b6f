"""Choose what to decode a trained run with, on validation only; then report the choice (and the plain best.pt) on test.

    python scripts/select_decoding.py --run runs/best_de_en [--json OUT] [--threads 2] [--single]

The run must have kept checkpoints (train.keep_checkpoints). Three stages, each keeping the best validation BLEU
(cased sacreBLEU; a run on several corpora: the mean of its dev sets' BLEU, as training chose) of the previous one;
ties keep the earlier, simpler option:
  1. the model: best.pt; the average of the last 3 / last 5 / best 5 kept checkpoints (s2s average); an ensemble
     of the last 5 kept checkpoints (s2s evaluate --checkpoint A B ...) — all with the run's decode settings;
  2. the length penalty: 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 2.0 (up to 1.2 before 2026-12-03; on the en->de recipe's
     three seed runs validation peaked at 1.6-2.0, scripts/bench_length_penalty.py);
  3. the repeated n-gram guard: off, 3, 4 (subword pieces);
  4. the maximum output length: 2.0 (the default), 1.5 and 1.2 times the source tokens, plus 10.
--single leaves the ensemble out of stage 1: the choice for a model shipped as one file (pretrained/).
Every row records validation BLEU, chrF, output/reference length ratio and decoding seconds. Test sets are decoded
only for the run's own best.pt and for the final choice; nothing is chosen by them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe_machine, machine_info, write_json, run_script  # noqa: E402

from s2s.checkpoint import average_checkpoints, load_checkpoint, save_checkpoint, select_kept  # noqa: E402
from s2s.config import config_from_dict  # noqa: E402
from s2s.data.corpus import read_split_parts, read_splits  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.evaluation.metrics import corpus_scores, papers_bleu  # noqa: E402


LENGTH_PENALTIES = (0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 2.0)


def score(translator: Translator, split, lang: str, **options) -> dict:
    """Scores of the translations of `split`: one (sources, references) pair, or {corpus: (sources, references)}; with
    several sets (a run on data.corpora) BLEU, chrF and papers' BLEU are their means, as training chose its best
    checkpoint."""
    if isinstance(split, tuple):
        split = {"": split}
    started = time.perf_counter()
    per_set, system, reference = {}, 0, 0
    for name, (sources, references) in split.items():
        hypotheses = translator.translate(sources, **options)
        scores = corpus_scores(hypotheses, references)
        per_set[name] = {"bleu": scores["bleu"], "chrf": scores["chrf"],
                         "papers_bleu": papers_bleu(hypotheses, references, lang)["bleu"],
                         "signature": scores["signature"]["bleu"]}
        system, reference = system + scores["bleu_details"]["sys_len"], reference + scores["bleu_details"]["ref_len"]
    mean = {key: round(sum(row[key] for row in per_set.values()) / len(per_set), 2) for key in ("bleu", "chrf", "papers_bleu")}
    return {**mean, "length_ratio": round(system / reference, 4), "seconds": round(time.perf_counter() - started, 1),
            "signature": next(iter(per_set.values()))["signature"],
            **({"sets": {name: row["bleu"] for name, row in per_set.items()}} if len(per_set) > 1 else {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a run folder trained with train.keep_checkpoints")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--json", help="write every row here")
    parser.add_argument("--single", action="store_true", help="single models only (no ensemble), as a shipped model")
    parser.add_argument("--length-penalties", type=float, nargs="+", default=LENGTH_PENALTIES, metavar="LP",
                        help=f"stage 2's length penalties (default: {' '.join(map(str, LENGTH_PENALTIES))})")
    parser.add_argument("--stages", type=int, default=4, choices=(1, 2, 3, 4),
                        help="run stages 1 to N only (default 4: all)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    run = Path(args.run)
    info = machine_info()
    config = config_from_dict(load_checkpoint(run / "best.pt")["config"], f"{run}/best.pt")
    if config.data.dataset == "corpora":
        splits = read_split_parts(config.data, ("valid", "test"))
    else:
        splits = {name: {config.data.dataset: split} for name, split in read_splits(config.data).items()}
    lang, decode = config.data.tgt, config.decode

    models, averaged = {"best.pt": [run / "best.pt"]}, []
    for label, picked in (("average of last 3", select_kept(run, last=3)), ("average of last 5", select_kept(run, last=5)),
                          ("average of best 5", select_kept(run, best=5))):
        if any(sorted(picked) == sorted(seen) for seen in averaged):
            continue  # a run that kept few checkpoints: the same average again
        averaged.append(picked)
        path = run / f"{label.replace(' ', '_')}.pt"
        save_checkpoint(average_checkpoints(picked), path)
        models[label] = [path]
    if not args.single:
        models["ensemble of last 5"] = select_kept(run, last=5)

    rows = []

    def evaluate(stage: str, label: str, paths, **options) -> dict:
        translator = Translator.from_checkpoint(paths, device="cpu")
        settings = {"beam": decode.beam, "length_penalty": decode.length_penalty, "no_repeat_ngram": 0,
                    "max_len_ratio": 2.0, **options}
        row = {"stage": stage, "model": label, "checkpoints": [str(p) for p in paths], **settings,
               "valid": score(translator, splits["valid"], lang, **settings)}
        rows.append(row)
        print(f"{stage:<14} {label:<20} lp {settings['length_penalty']:<4} ngram {settings['no_repeat_ngram']} "
              f"max len {settings['max_len_ratio']}: "
              f"valid BLEU {row['valid']['bleu']:.2f} (length ratio {row['valid']['length_ratio']:.3f}, "
              f"{row['valid']['seconds']} s){' ' + str(row['valid']['sets']) if 'sets' in row['valid'] else ''}",
              flush=True)
        return row

    def best_of(candidates: list[dict]) -> dict:
        return max(candidates, key=lambda row: row["valid"]["bleu"])  # max keeps the first of equal scores

    chosen = best_of([evaluate("1 model", label, paths) for label, paths in models.items()])
    baseline = rows[0]
    if args.stages >= 2:
        chosen = best_of([chosen] + [evaluate("2 length", chosen["model"], models[chosen["model"]], length_penalty=lp)
                                     for lp in args.length_penalties if lp != chosen["length_penalty"]])
    if args.stages >= 3:
        chosen = best_of([chosen] + [evaluate("3 n-gram", chosen["model"], models[chosen["model"]],
                                              length_penalty=chosen["length_penalty"], no_repeat_ngram=n) for n in (3, 4)])
    if args.stages >= 4:
        chosen = best_of([chosen] + [evaluate("4 max length", chosen["model"], models[chosen["model"]],
                                              length_penalty=chosen["length_penalty"],
                                              no_repeat_ngram=chosen["no_repeat_ngram"], max_len_ratio=ratio)
                                     for ratio in (1.5, 1.2)])

    for row in (baseline, chosen):
        translator = Translator.from_checkpoint(models[row["model"]], device="cpu")
        row["test"] = score(translator, splits["test"], lang, beam=row["beam"], length_penalty=row["length_penalty"],
                            no_repeat_ngram=row["no_repeat_ngram"], max_len_ratio=row["max_len_ratio"])
    print(render(run, info, rows, baseline, chosen))
    if args.json:
        write_json(args.json, {"run": str(run), "machine": info, "rows": rows, "baseline": baseline, "chosen": chosen})


def render(run: Path, info: dict, rows: list[dict], baseline: dict, chosen: dict) -> str:
    lines = [describe_machine(info), "", f"run: `{run}`", "",
             "| stage | model | beam | length penalty | no-repeat n-gram | max length | val BLEU | val chrF | "
             "val BLEU (papers) | output/ref length | decode s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        v = row["valid"]
        mark = " **(chosen)**" if row is chosen else ""
        lines.append(f"| {row['stage']} | {row['model']}{mark} | {row['beam']} | {row['length_penalty']} | "
                     f"{row['no_repeat_ngram'] or 'off'} | {row['max_len_ratio']} | {v['bleu']:.2f} | {v['chrf']:.2f} | {v['papers_bleu']:.2f} | "
                     f"{v['length_ratio']:.3f} | {v['seconds']} |")
    lines += ["", f"| on {' + '.join(chosen['test'].get('sets', ['test']))} | val BLEU | test BLEU | test chrF | test BLEU (papers) | output/ref length |",
              "|---|---:|---:|---:|---:|---:|"]
    for name, row in (("best.pt, recipe decoding", baseline), ("chosen on validation", chosen)):
        t = row["test"]
        lines.append(f"| {name}: {row['model']}, lp {row['length_penalty']}, n-gram guard {row['no_repeat_ngram'] or 'off'}, "
                     f"max length {row['max_len_ratio']} | "
                     f"{row['valid']['bleu']:.2f} | {t['bleu']:.2f} | {t['chrf']:.2f} | {t['papers_bleu']:.2f} | "
                     f"{t['length_ratio']:.3f} |")
    lines.append(f"\nsacreBLEU `{chosen['test']['signature']}`; papers' convention: lowercased, sacremoses "
                 f"tokenizer with aggressive hyphen splitting, tok:none")
    for name, row in (("best.pt", baseline), ("chosen", chosen)):
        for split in ("valid", "test"):
            if "sets" in row[split]:
                lines.append(f"- {name}, {split} BLEU by set: " + ", ".join(f"{k} {v:.2f}" for k, v in row[split]["sets"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    run_script(main)
