"""The cost of distillation's data pass (issue 39): the teacher translating the training sources with beam search,
with the torch engine and the onnx engine, on the first --lines of the Multi30k training set; sentences per second
and the minutes the whole training set (29,000 sentences) would take at that rate.

    python scripts/bench_distill_pass.py --teacher multi30k-de-en [--lines 2000] [--threads 2] [--json OUT]

Each engine runs `s2s distill` (s2s.training.distill) on the same lines with the teacher's decode settings, into a
temporary folder; the rows also say how many lines the two engines translate alike. Several --teacher entries form
an ensemble (the torch engine reads checkpoints and shipped names; the onnx engine export folders and shipped names).
Time it on an idle machine: the rate is what the lines took, so anything beside it lowers it.
"""

from __future__ import annotations

import argparse
import gzip
import os
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, markdown_table, run_script, write_json  # noqa: E402

from s2s.checkpoint import load_checkpoint  # noqa: E402
from s2s.config import config_from_dict  # noqa: E402
from s2s.data.readers import read_lines  # noqa: E402
from s2s.training.distill import distill  # noqa: E402

TRAINING_SENTENCES = 29000  # Multi30k's training set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--teacher", nargs="+", required=True, help="checkpoints or shipped names (an ensemble if several)")
    parser.add_argument("--lines", type=int, default=2000, help="training sentences to translate (default 2000)")
    parser.add_argument("--engines", nargs="+", choices=["torch", "onnx"], default=["torch", "onnx"])
    parser.add_argument("--threads", type=int, default=2, help="torch and onnxruntime threads (default 2)")
    parser.add_argument("--data-dir", default=str(REPO / "data" / "multi30k"), help="Multi30k's folder (train.LANG.gz)")
    parser.add_argument("--json", help="write the figures and the machine there")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)  # the onnx engine's threads (OnnxTranslator.from_export)
    info = machine_info()
    print(describe_machine(info), file=sys.stderr)
    data = load_checkpoint(args.teacher[0], upcast=False)["config"]["data"]
    src, tgt = data["src"], data["tgt"]
    rows, results, outputs = [], {}, {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for language in (src, tgt):
            with gzip.open(Path(args.data_dir) / f"train.{language}.gz", "rt", encoding="utf-8") as handle:
                lines = [next(handle) for _ in range(args.lines)]
            (folder / f"train.{language}").write_text("".join(lines), encoding="utf-8")
        paths = {f"{split}_{side}": str(folder / f"train.{language}") for split in ("train", "valid")
                 for side, language in (("src", src), ("tgt", tgt))}
        config = config_from_dict({"data": {"dataset": "files", "src": src, "tgt": tgt, **paths}})
        for engine in args.engines:
            summary = distill(config, args.teacher, folder / engine, engine=engine, device="cpu",
                              log=lambda message: print(message, file=sys.stderr))
            outputs[engine] = read_lines(summary["targets"][0])
            rate = summary["translated"] / summary["seconds"]
            results[engine] = {"sentences": summary["translated"], "seconds": round(summary["seconds"], 2),
                               "sentences_per_s": round(rate, 2),
                               "minutes_for_training_set": round(TRAINING_SENTENCES / rate / 60, 1)}
    first = outputs[args.engines[0]]
    for engine, figures in results.items():
        figures["same_as_" + args.engines[0]] = sum(a == b for a, b in zip(first, outputs[engine]))
        rows.append([engine, figures["sentences"], figures["seconds"], figures["sentences_per_s"],
                     figures["minutes_for_training_set"], figures["same_as_" + args.engines[0]]])
    lines = [f"Distillation data pass, teacher {' + '.join(args.teacher)} (`{info['command']}`):", "",
             *markdown_table(["engine", "sentences", "seconds", "sentences/s", f"minutes for {TRAINING_SENTENCES:,}",
                              f"lines as {args.engines[0]}"], "lrrrrr", rows), "", describe_machine(info)]
    print("\n".join(lines))
    if args.json:
        write_json(args.json, {"machine": info, "teacher": args.teacher, "results": results})
    return 0


if __name__ == "__main__":
    run_script(main)
