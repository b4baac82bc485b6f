"""s2s report: evaluate a run's best checkpoint (or a pretrained model) on its test split, with figures."""

from __future__ import annotations

from pathlib import Path

from s2s.commands.decoding import add_decode_options, decode_options
from s2s.commands.evaluate import run_evaluation
from s2s.commands.paths import check_paths, checkpoint_inputs, input_files
from s2s.errors import S2SError

REPORT_FILES = ("report.json", "report.md", "translations.txt")  # and the figures (s2s.evaluation.report.figure_names)


def add_parser(commands) -> None:
    report = commands.add_parser("report", help="evaluate a run's best checkpoint on its test split, with figures",
                                 description="Translate the run's test split with its best.pt (or --checkpoint) and write report.json, "
                                             "report.md and PNG figures (BLEU by source length, training curves with "
                                             "the selected checkpoint, attention maps) to --output.")
    report.add_argument("run_dir", metavar="RUN_DIR", help="a run folder written by s2s train, or a pretrained model's "
                        "folder or name (s2s pretrained lists them)")
    report.add_argument("--output", help="folder for the report (default: RUN_DIR/report; for a pretrained model "
                        "runs/NAME/report)")
    report.add_argument("--src", help="score these source sentences instead of the run's test split (needs --ref)")
    report.add_argument("--ref", help="references for --src")
    report.add_argument("--checkpoint", nargs="+", metavar="CKPT", help="evaluate these instead of RUN_DIR/best.pt "
                        "(e.g. an s2s average output; several form an ensemble); the curves are still the run's")
    add_decode_options(report)


def run(args) -> int:
    from s2s.data.corpus import read_splits
    from s2s.data.readers import read_parallel
    from s2s.decoding.translator import Translator
    from s2s.evaluation.report import figure_names
    from s2s.pretrained import MODEL_FILE, is_pretrained_folder, resolve

    run_dir = resolve(args.run_dir)
    if run_dir.is_file():
        raise S2SError(f"RUN_DIR '{run_dir}' is a file; give a run folder written by s2s train (e.g. runs/quickstart) "
                       f"or a pretrained model (s2s pretrained lists them); a checkpoint file goes to --checkpoint.")
    checkpoint = run_dir / "best.pt"
    if not checkpoint.is_file() and is_pretrained_folder(run_dir):
        checkpoint = run_dir / MODEL_FILE  # a pretrained model: its config names the test split; it has no curves
    if not checkpoint.is_file():
        state = "has no best.pt" if run_dir.is_dir() else "does not exist"
        raise S2SError(f"RUN_DIR '{run_dir}' {state}; give a run folder written by s2s train (e.g. runs/quickstart) "
                       f"or a pretrained model (s2s pretrained lists them).")
    if (args.src is None) != (args.ref is None):
        raise S2SError("--src and --ref go together: give both, or neither to use the run's test split.")
    output = Path(args.output) if args.output else Path("runs", run_dir.name, "report") if checkpoint.name == MODEL_FILE \
        else run_dir / "report"
    writes = set(REPORT_FILES) | set(figure_names("report").values())
    check_paths([("RUN_DIR", run_dir)] + checkpoint_inputs("--checkpoint", args.checkpoint or []) +
                input_files(("--src", args.src), ("--ref", args.ref)),
                folders=[("--output", output, lambda relative: str(relative) in writes)])
    translator = Translator.from_checkpoint(args.checkpoint or checkpoint, device=args.device, precision=args.precision)
    if args.src:
        (sources, references), src, ref = read_parallel(args.src, args.ref, ("--src", "--ref")), args.src, args.ref
    else:
        data = translator.checkpoint["config"].data
        splits = read_splits(data, ("test",))
        if "test" not in splits:
            raise S2SError("the run's data has no test split (data.test_src / data.test_tgt are empty); pass --src and --ref.")
        (sources, references), src, ref = splits["test"], f"{data.dataset} test ({data.src})", f"{data.dataset} test ({data.tgt})"
    try:
        output.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise S2SError(f"cannot create report folder '{output}': {error.strerror}; choose another --output.") from None
    run_evaluation(translator, sources, references, decode_options(args), report=str(output / "report.json"),
                   translations=str(output / "translations.txt"), src=src, ref=ref, run_dir=run_dir)
    return 0
