"""s2s score: forced decoding, the log-probability of given translations under a model."""

from __future__ import annotations

import json
import sys

from s2s.commands.numbers import at_least
from s2s.commands.paths import check_paths, checkpoint_inputs, input_files
from s2s.commands.streams import output_stream
from s2s.config import DECODE_MAXIMUM
from s2s.outputs import STDOUT, Output


def add_parser(commands) -> None:
    score = commands.add_parser(
        "score", help="score given translations: their log-probability under a model (forced decoding)",
        description="Forced decoding: for each line pair of --src and --tgt, log p(target | source) under the model, "
                    "the sum over the target's tokens and </s>, the mean per token and the number of tokens. TSV: one "
                    "line per pair, in input order, no header: LOG_PROB<TAB>MEAN<TAB>TOKENS; JSON: one object per "
                    "line. An empty target scores </s> alone; an empty source is an error. The total (nats per token "
                    "and perplexity) goes to stderr.")
    score.add_argument("--checkpoint", required=True, nargs="+", metavar="CKPT",
                       help="a .pt file, a run folder (uses best.pt), or a pretrained model's folder or name; several "
                            "form an ensemble (each step's log-probabilities are averaged over them, as in search)")
    score.add_argument("--src", required=True, help="source sentences, one per line (plain or .gz)")
    score.add_argument("--tgt", required=True, help="the translations to score, line-aligned with --src")
    score.add_argument("--output", help="output file (written whole, then renamed; '-' or none: stdout)")
    score.add_argument("--format", choices=["tsv", "json"], default="tsv", help='tsv (default) or json: one '
                       '{"log_prob", "mean", "tokens"} object per line')
    score.add_argument("--batch-size", type=at_least(1, most=DECODE_MAXIMUM["batch_size"]),
                       help="sentence pairs per batch (default: the checkpoint's decode.batch_size); pairs are sorted "
                            "by length for batching, the output keeps the input order")
    score.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")


def run(args) -> int:
    from s2s.data.readers import read_parallel
    from s2s.decoding.translator import Translator
    from s2s.evaluation.perplexity import perplexity

    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint) + input_files(("--src", args.src), ("--tgt", args.tgt)),
                files=[Output("--output", args.output or STDOUT, "scores.jsonl" if args.format == "json" else "scores.tsv")])
    sources, targets = read_parallel(args.src, args.tgt, ("--src", "--tgt"))
    scores = Translator.from_checkpoint(args.checkpoint, device=args.device).score(sources, targets, args.batch_size)
    with output_stream(args.output) as out:
        for score in scores:
            out.write(json.dumps(score) + "\n" if args.format == "json" else
                      f"{score['log_prob']:.6f}\t{score['mean']:.6f}\t{score['tokens']}\n")
    sys.stdout.flush()  # the scores before the summary where both go to one terminal or pipe
    total, tokens = sum(s["log_prob"] for s in scores), sum(s["tokens"] for s in scores)
    if tokens:
        print(f"scored {len(scores):,} pairs: {total / tokens:.4f} nats per token (perplexity "
              f"{perplexity(-total, tokens):.3f}) over {tokens:,} target tokens, </s> included", file=sys.stderr)
    return 0
