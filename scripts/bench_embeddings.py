"""Does word2vec initialisation help translation? Issue 18's table: random vs word2vec-initialised embeddings on a
small slice of Multi30k de->en (3,000 pairs) and on all of it (29,000), BLEU on test2016.

    python scripts/bench_embeddings.py [--config configs/multi30k/embeddings_de_en.yaml] [--limits 3000 29000]
        [--epochs 3000=40 29000=10] [--json OUT] [--set KEY=VALUE ...]
    python scripts/bench_embeddings.py --render OUT.json

For each slice (data.train_limit) the script learns word vectors as `s2s embeddings train` does, with the model's
own tokenizer (learned on the slice) but on all 29,000 training sentences of each language: the monolingual text
that a small parallel corpus typically comes with, where pretrained vectors should help. Then it trains the config
twice, with random embedding rows and with rows from those vectors (model.src_embeddings / tgt_embeddings), each for
the slice's epochs (a small slice gets more epochs, so that both slices train a comparable number of updates), and
scores best.pt on validation and test2016 with the config's decode: settings. Runs go to --run-root; a folder that
holds a run is refused. Prints a Markdown block for BENCHMARKS.md with the command, machine, date and commit.
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
from s2s.data.corpus import _split_paths  # noqa: E402
from s2s.data.word_vectors import train_for_config  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.evaluation.metrics import corpus_scores  # noqa: E402
from s2s.training.trainer import Trainer  # noqa: E402

DEFAULT_EPOCHS = {3000: 40, 29000: 10}


def render(result: dict) -> str:
    rows = [[f"{r['pairs']:,}", r["embeddings"], f"{r['valid_bleu']:.2f}", f"{r['test_bleu']:.2f}", f"{r['test_chrf']:.2f}",
             r["epochs"], r["steps"], f"{r['train_minutes']:.1f}", r["coverage"]] for r in result["rows"]]
    w2v = result["word2vec"]
    lines = [describe_machine(result["machine"]), "",
             f"config: `{result['config']}`; overrides: `{' '.join(result['overrides']) or 'none'}`; word2vec: {w2v['method']}, "
             f"dim = model.emb_size, window {w2v['window']}, {w2v['negative']} negative samples, {w2v['epochs']} epochs, "
             f"on all {result['vector_sentences']:,} training sentences of each side",
             "", *markdown_table(["training pairs", "embeddings", "val BLEU", "test2016 BLEU", "chrF", "epochs", "steps",
                                  "train min", "rows found (src / tgt)"], "llrrrrrrl", rows),
             "", f"sacreBLEU: `{result['signature']}`; decode: beam {result['decode']['beam']}, length penalty "
                 f"{result['decode']['length_penalty']}"]
    return "\n".join(lines)


def parse_epochs(items: list[str]) -> dict[int, int]:
    epochs = dict(DEFAULT_EPOCHS)
    for item in items:
        limit, _, count = item.partition("=")
        epochs[int(limit)] = int(count)
    return epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="configs/multi30k/embeddings_de_en.yaml")
    parser.add_argument("--limits", nargs="+", type=int, default=[3000, 29000], help="training pairs (data.train_limit)")
    parser.add_argument("--epochs", nargs="*", default=[], metavar="PAIRS=EPOCHS",
                        help=f"epochs per slice (default {' '.join(f'{k}={v}' for k, v in DEFAULT_EPOCHS.items())}; "
                             f"others: the config's)")
    parser.add_argument("--method", choices=["skipgram", "cbow"], default="skipgram")
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--negative", type=int, default=5)
    parser.add_argument("--w2v-epochs", type=int, default=5, help="word2vec passes over the text")
    add_multi30k_run_args(parser, "runs/bench_embeddings", "where the vectors and runs go")
    args = parser.parse_args()
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return
    log = progress_log("bench_embeddings")
    overrides = [f"data.mirror={args.mirror}", *args.set]
    epochs = parse_epochs(args.epochs)
    word2vec = {"method": args.method, "window": args.window, "negative": args.negative, "epochs": args.w2v_epochs,
                "seed": 1, "workers": 1}
    info, rows, signature, root = machine_info(), [], "", Path(args.run_root)
    started = time.perf_counter()
    vector_sentences = 0
    for limit in args.limits:
        slice_overrides = overrides + [f"data.train_limit={limit}"] + ([f"train.epochs={epochs[limit]}"] if limit in epochs else [])
        config = load_config(args.config, slice_overrides)
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        full_text = _split_paths(config.data)["train"]  # every training sentence of each side, whatever the slice
        vectors_dir = root / f"vectors_{limit}"
        log(f"{limit} pairs: word2vec on {full_text[0]} and {full_text[1]} -> {vectors_dir}")
        manifest = train_for_config(config.data, vectors_dir, ("src", "tgt"), {"src": full_text[0], "tgt": full_text[1]},
                                    monolingual=False, log=log, dim=config.model.emb_size, **word2vec)
        vector_sentences = manifest["files"]["src"]["sentences"]
        for embeddings in ("random", "word2vec"):
            arm = slice_overrides + ([f"model.src_embeddings={vectors_dir / 'src.vec'}",
                                      f"model.tgt_embeddings={vectors_dir / 'tgt.vec'}"] if embeddings == "word2vec" else [])
            config = load_config(args.config, arm)
            run_dir = root / f"{limit}_{embeddings}"
            trainer = Trainer(config, run_dir, log=log)
            summary = trainer.train()
            translator = Translator.from_checkpoint(run_dir / "best.pt", device="cpu")
            scores = {}
            for split in ("valid", "test"):
                data = trainer.corpus.splits[split]
                scores[split] = corpus_scores(translator.translate(data.src_text), data.tgt_text)
            signature = scores["test"]["signature"]["bleu"]
            found = [f"{rows_found:,} of {size:,}" for rows_found, size in trainer.embedding_coverage.values()]
            rows.append({"pairs": limit, "embeddings": embeddings, "valid_bleu": scores["valid"]["bleu"],
                         "test_bleu": scores["test"]["bleu"], "test_chrf": scores["test"]["chrf"], "epochs": summary["epochs"],
                         "steps": summary["steps"], "train_minutes": round(trainer.train_seconds / 60, 2),
                         "coverage": " / ".join(found) or "-", "run_dir": str(run_dir)})
            log(f"{limit} pairs, {embeddings}: test2016 BLEU {rows[-1]['test_bleu']:.2f}")
    result = {"machine": info, "config": args.config, "overrides": overrides, "word2vec": word2vec, "rows": rows,
              "vector_sentences": vector_sentences, "signature": signature, "decode": vars(config.decode),
              "wall_minutes": round((time.perf_counter() - started) / 60, 1)}
    print(render(result))
    if args.json:
        write_json(args.json, result)


if __name__ == "__main__":
    run_script(main)
