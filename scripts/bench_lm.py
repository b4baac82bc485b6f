"""The perplexity table of issue 18: RNN vs LSTM vs GRU language models on Multi30k English, the same budget each.

    python scripts/bench_lm.py [--modes sentence stream] [--bptt 35] [--json OUT] [--set KEY=VALUE ...]
    python scripts/bench_lm.py --render OUT.json

Each of configs/lm/{rnn,lstm,gru}_lm.yaml is trained exactly as `s2s train --config CONFIG` trains it (10 epochs,
early stopping on validation loss), sentence by sentence and, with --modes stream, as one stream with truncated
BPTT (train.bptt); then best.pt scores the validation set and test2016 (English side) in the mode it was trained
in. Both modes count the same tokens (every word and every sentence's <eos>), so their perplexities compare. Runs
go to --run-root/{model}_{mode}; a folder that holds a run is refused (delete it to rerun). Prints a Markdown
block for BENCHMARKS.md with the command, machine, date and commit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import add_multi30k_run_args, describe_machine, machine_info, markdown_table, progress_log, write_json, run_script  # noqa: E402

from s2s.config import load_config  # noqa: E402
from s2s.decoding.generator import TextGenerator  # noqa: E402
from s2s.evaluation.perplexity import perplexity, text_nll  # noqa: E402
from s2s.models import count_parameters  # noqa: E402
from s2s.training.lm_trainer import make_trainer  # noqa: E402

CONFIGS = [f"configs/lm/{cell}_lm.yaml" for cell in ("rnn", "lstm", "gru")]


def render(result: dict) -> str:
    rows = [[r["model"], r["mode"], f"{r['parameters']:,}", r["epochs"], f"{r['train_minutes']:.1f}", f"{r['tokens_per_s']:,}",
             f"{r['valid_ppl']:.2f}", f"{r['test_ppl']:.2f}"] for r in result["rows"]]
    lines = [describe_machine(result["machine"]), "",
             f"configs: {', '.join(f'`{c}`' for c in result['configs'])}; overrides: `{' '.join(result['overrides']) or 'none'}`",
             "", *markdown_table(["model", "mode", "parameters", "epochs", "train min", "tokens/s", "valid ppl",
                                  "test2016 ppl"], "llrrrrrr", rows),
             "", "perplexity = exp(mean negative log-likelihood per token) over every word and each sentence's <eos>, "
                 "scored by best.pt (lowest validation loss) in the mode it trained in",
             "", "samples (prompt \"a\", temperature 0.7, seed 1):"]
    lines += [f"- {r['model']} ({r['mode']}): {r['sample']}" for r in result["rows"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", nargs="+", default=CONFIGS)
    parser.add_argument("--modes", nargs="+", choices=["sentence", "stream"], default=["sentence", "stream"])
    parser.add_argument("--bptt", type=int, default=35, help="window length of stream mode (train.bptt)")
    add_multi30k_run_args(parser, "runs/bench_lm")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    started = time.perf_counter()
    log = progress_log("bench_lm")
    overrides = [f"data.mirror={args.mirror}", *args.set]
    info, rows = machine_info(), []
    for path in args.configs:
        for mode in args.modes:
            config = load_config(path, overrides + [f"train.bptt={args.bptt if mode == 'stream' else 0}"])
            if config.train.threads:
                torch.set_num_threads(config.train.threads)
            run_dir = Path(args.run_root) / f"{config.model.resolved_name}_{mode}"
            log(f"training {config.model.resolved_name} ({mode}) into {run_dir}")
            trainer = make_trainer(config, run_dir, log=log)
            summary = trainer.train()
            generator = TextGenerator.from_checkpoint(run_dir / "best.pt", device="cpu")
            train = config.train
            scores = {}
            for split in ("valid", "test"):
                nll, tokens = text_nll(generator.model, trainer.corpus.splits[split].tgt_ids, train.bptt, train.batch_tokens)
                scores[split] = perplexity(nll, tokens)
            records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
            speeds = [r["tokens_per_s"] for r in records if "tokens_per_s" in r]
            rows.append({"model": config.model.resolved_name, "mode": mode if mode == "sentence" else f"stream, bptt {args.bptt}",
                         "config": path, "parameters": count_parameters(trainer.model), "epochs": summary["epochs"],
                         "steps": summary["steps"], "train_minutes": round(trainer.train_seconds / 60, 2),
                         "tokens_per_s": round(sum(speeds) / max(1, len(speeds))), "valid_ppl": scores["valid"],
                         "test_ppl": scores["test"], "run_dir": str(run_dir),
                         "sample": generator.generate("a", temperature=0.7, seed=1)[0]})
            log(f"{rows[-1]['model']} ({mode}): valid ppl {scores['valid']:.2f}, test ppl {scores['test']:.2f}")
            result = {"machine": info, "configs": args.configs, "overrides": overrides, "modes": args.modes, "rows": rows,
                      "wall_minutes": round((time.perf_counter() - started) / 60, 1)}
            if args.json:  # rewritten after every run, so a benchmark cut short keeps the rows it finished
                write_json(args.json, result)
    print(render(result))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    run_script(main)
