"""s2s average: a checkpoint whose weights are the mean of several checkpoints' weights."""

from __future__ import annotations

from pathlib import Path

from s2s.commands.numbers import at_least
from s2s.commands.paths import check_paths, checkpoint_inputs
from s2s.errors import S2SError
from s2s.outputs import Output, open_output


def add_parser(commands) -> None:
    average = commands.add_parser(
        "average", help="average the weights of several checkpoints into one",
        description="Write a checkpoint whose weights are the mean of several checkpoints' weights (usually better "
                    "than any one of them). Give .pt files, or a run folder trained with train.keep_checkpoints and "
                    "--last N or --best N to pick among its kept checkpoints (RUN_DIR/checkpoints/).")
    average.add_argument("inputs", nargs="+", metavar="CKPT_OR_RUN_DIR", help="checkpoints, or one run folder")
    picker = average.add_mutually_exclusive_group()
    picker.add_argument("--last", type=at_least(1, most=100_000), metavar="N", help="the N latest kept checkpoints of the run folder")
    picker.add_argument("--best", type=at_least(1, most=100_000), metavar="N", help="the N best kept checkpoints (validation metric)")
    average.add_argument("--output", required=True, help="the averaged checkpoint (.pt)")


def run(args) -> int:
    from s2s.checkpoint import average_checkpoints, checkpoint_bytes, select_kept

    picking = args.last is not None or args.best is not None
    if picking and (len(args.inputs) != 1 or not Path(args.inputs[0]).is_dir()):
        raise S2SError("--last/--best pick among one run folder's kept checkpoints; give exactly one RUN_DIR "
                       "(or give .pt files without --last/--best).")
    output = Output("--output", args.output, "average.pt", no_stdout="a checkpoint is binary data")
    check_paths(checkpoint_inputs("CKPT_OR_RUN_DIR", args.inputs), files=[output])
    if picking:
        paths = select_kept(args.inputs[0], last=args.last or 0, best=args.best or 0)
        asked = args.last or args.best
        if len(paths) < asked:
            flag = "--last" if args.last else "--best"
            raise S2SError(f"{flag} {asked}: '{args.inputs[0]}' keeps only {len(paths)} checkpoints "
                           f"(checkpoints/); ask for at most {len(paths)}.")
    else:
        paths = [Path(p) for p in args.inputs]
    content = checkpoint_bytes(average_checkpoints(paths))
    with open_output(output, binary=True, durable=True) as handle:
        handle.write(content)
    print(f"averaged {len(paths)} checkpoints ({', '.join(p.name for p in paths)}) into {args.output}")
    return 0
