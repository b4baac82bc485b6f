"""s2s distill: sequence-level knowledge distillation, the teachers translating a config's training sources
(s2s.training.distill does the work)."""

from __future__ import annotations

from pathlib import Path

from s2s.commands.decoding import add_decode_options, decode_options, require_engine
from s2s.commands.numbers import at_least
from s2s.commands.paths import check_paths, checkpoint_inputs, input_files


def add_parser(commands) -> None:
    distill = commands.add_parser(
        "distill", help="sequence-level knowledge distillation: a teacher translates a config's training sources",
        description="Translate the training sources of --config with the teachers (beam search; several checkpoints "
                    "form an ensemble) into --output, chunk by chunk, then write there the distilled targets and two "
                    "student configs: student.yaml (the teacher's outputs alone) and student-mix.yaml (beside the "
                    "references); validation and test stay the references. Rerun the same command after a stop to go "
                    "on from the chunks done (docs/recipes.md#distillation).")
    distill.add_argument("--teacher", required=True, nargs="+", metavar="CKPT",
                         help="a .pt file, run folder or pretrained model (with --engine onnx: an export folder); "
                              "several form an ensemble")
    distill.add_argument("--config", required=True, help="the student's YAML config: its data is translated, its "
                         "model and training settings are the student's")
    distill.add_argument("--output", required=True, metavar="DIR", help="the distillation folder (created; a rerun "
                         "resumes there; files distill did not write are left alone)")
    distill.add_argument("--chunk-lines", type=at_least(1, most=10**7), metavar="N",
                         help="sentences per chunk, each written when done (default 2000)")
    add_decode_options(distill, engines=True)


def run(args) -> int:
    from s2s.training.distill import distill, owns

    require_engine(args)
    check_paths(checkpoint_inputs("--teacher", args.teacher) + input_files(("--config", args.config)),
                folders=[("--output", Path(args.output), owns)])
    distill(args.config, args.teacher, args.output, engine=args.engine, device=args.device, precision=args.precision,
            chunk_lines=args.chunk_lines, **decode_options(args))
    return 0
