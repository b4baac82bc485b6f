"""s2s significance: paired bootstrap resampling and approximate randomization tests of systems against
a baseline (sacreBLEU)."""

from __future__ import annotations

import json
import sys

from s2s.commands.numbers import at_least
from s2s.commands.paths import check_paths, input_files
from s2s.commands.streams import output_stream, summary_stream
from s2s.outputs import Output


def add_parser(commands) -> None:
    significance = commands.add_parser(
        "significance", help="paired significance tests of systems against a baseline (BLEU, chrF; sacreBLEU)",
        description="Test each system's translations against the baseline's on the same references with sacreBLEU's "
                    "paired bootstrap resampling (95 % confidence intervals too) and approximate randomization, for "
                    "BLEU and chrF as s2s evaluate scores them. Prints a Markdown table; --json writes every number. "
                    "The systems are plain text files, one translation per reference line (e.g. s2s translate or "
                    "s2s evaluate --output).")
    significance.add_argument("--ref", required=True, help="the references, one per line (plain or .gz)")
    significance.add_argument("--baseline", required=True, metavar="HYP", help="the baseline's translations")
    significance.add_argument("systems", nargs="+", metavar="HYP", help="the translations of the systems to test "
                              "against the baseline")
    significance.add_argument("--seed", type=at_least(1, note=" (sacreBLEU takes 0 as no seed)", most=2**32 - 1),
                              default=12345, help="the resampling seed (default 12345, sacreBLEU's); the same seed "
                                                  "gives the same output ($SACREBLEU_SEED is not read)")
    significance.add_argument("--bootstrap-samples", type=at_least(1, most=100_000), default=1000, metavar="N",
                              help="paired bootstrap resamples (default 1000)")
    significance.add_argument("--ar-trials", type=at_least(1, most=100_000), default=10000, metavar="N",
                              help="approximate randomization trials (default 10000)")
    significance.add_argument("--json", metavar="FILE", help="write every number, the settings and sacreBLEU's "
                              "signatures as JSON")


def run(args) -> int:
    from s2s.data.readers import read_lines
    from s2s.evaluation.significance import format_significance, paired_significance

    hypotheses = [("--baseline", args.baseline)] + [("HYP", path) for path in args.systems]
    check_paths(input_files(("--ref", args.ref), *hypotheses), files=[Output("--json", args.json, "significance.json")])
    systems = [(path, read_lines(path, flag=flag)) for flag, path in hypotheses]
    result = paired_significance(read_lines(args.ref, flag="--ref"), systems, args.seed, args.bootstrap_samples,
                                 args.ar_trials, reference_name=f"--ref '{args.ref}'")
    result["ref"] = args.ref
    print(format_significance(result), file=summary_stream(args.json))  # stderr when the JSON goes to stdout
    if args.json:
        with output_stream(args.json, flag="--json") as out:
            out.write(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0
