"""s2s compare: several runs side by side, a table and overlaid curves."""

from __future__ import annotations

from pathlib import Path

from s2s.commands.paths import check_paths
from s2s.errors import S2SError

COMPARE_FILES = ("compare.md", "compare.json", "compare.png")


def add_parser(commands) -> None:
    compare = commands.add_parser("compare", help="put several runs side by side: a table and overlaid curves",
                                  description="One table row per run (model, parameters, epochs, training minutes, "
                                              "tokens/s, best validation BLEU, test BLEU from RUN_DIR/report when "
                                              "present) and, with --output, compare.md, compare.json and compare.png.")
    compare.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run folders written by s2s train")
    compare.add_argument("--output", help="folder for compare.md, compare.json and compare.png")


def run(args) -> int:
    from s2s.evaluation.compare import compare_runs

    for run_dir in map(Path, args.run_dirs):
        if not run_dir.is_dir():
            raise S2SError(f"RUN_DIR '{run_dir}' {'is a file' if run_dir.exists() else 'does not exist'}; give run "
                           f"folders written by s2s train.")
    if args.output:
        check_paths([("RUN_DIR", run_dir) for run_dir in args.run_dirs],
                    folders=[("--output", args.output, lambda relative: str(relative) in COMPARE_FILES)])
    _, table = compare_runs(args.run_dirs, args.output)
    print(table)
    if args.output:
        print(f"wrote {args.output}/compare.md, compare.json and compare.png")
    return 0
