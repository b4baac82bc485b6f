"""s2s analyze gradients: how the loss gradient at each encoder state shrinks with distance, per cell type."""

from __future__ import annotations

from s2s.commands.numbers import at_least
from s2s.commands.paths import check_paths, checkpoint_inputs, input_files
from s2s.errors import S2SError

GRADIENT_FILES = ("gradients.json", "gradients.csv", "gradients.png", "clipping.png")


def add_parser(commands) -> None:
    analyze = commands.add_parser("analyze", help="analyses of models (the gradient story of RNN, LSTM and GRU)",
                                  description="Analyses of models.")
    analyses = analyze.add_subparsers(dest="analysis", metavar="ANALYSIS")
    gradients = analyses.add_parser(
        "gradients", help="how ∂L/∂h_t shrinks with distance, per cell type",
        description="Measure the mean norm of ∂L/∂h_t (the loss gradient at each encoder state) against the distance "
                    "from the last encoder step, on real batches; one line per cell. Writes gradients.json, "
                    "gradients.csv, gradients.png and clipping.png (what gradient-norm clipping does to an exploding "
                    "vanilla RNN). See docs/gradients.md for how to read them.")
    source = gradients.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="build fresh models of this config's sizes and data (one per --cells entry), "
                                         "without attention and with a unidirectional encoder")
    source.add_argument("--checkpoint", help="analyse this trained model (no attention, unidirectional encoder)")
    gradients.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"], choices=["rnn", "lstm", "gru"],
                           help="cell types to compare (with --config)")
    gradients.add_argument("--length", type=at_least(1, most=10_000), default=16, help="source tokens per sentence (longer ones are cut)")
    gradients.add_argument("--sentences", type=at_least(1, most=1_000_000), default=256, help="validation pairs to average over")
    gradients.add_argument("--output", required=True, help="folder for the figures and numbers")


def run(args) -> int:
    if args.analysis != "gradients":
        raise S2SError("usage: s2s analyze gradients (--config CFG | --checkpoint CKPT) --output DIR")
    from s2s.analysis.gradients import analyze_gradients, load_subjects

    inputs = input_files(("--config", args.config)) if args.config else checkpoint_inputs("--checkpoint", args.checkpoint)
    check_paths(inputs, folders=[("--output", args.output, lambda relative: str(relative) in GRADIENT_FILES)])
    models, examples = load_subjects(args.config, args.checkpoint, args.cells, args.sentences)
    results = analyze_gradients(models, examples, args.length, args.output)
    for name, data in results["models"].items():
        norms = data["grad_norm_by_distance"]
        print(f"{name:>6}: |dL/dh| at distance 0 {norms[0]:.3g}, at {len(norms) - 1} {norms[-1]:.3g} "
              f"(ratio {norms[-1] / norms[0]:.2g})")
    print(f"wrote {args.output}/gradients.json, gradients.csv and figures")
    return 0
