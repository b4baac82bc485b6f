"""s2s export: a checkpoint as ONNX graphs, to translate without torch (s2s.export does the work)."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from s2s.commands.paths import check_paths, checkpoint_inputs


def add_parser(commands) -> None:
    export = commands.add_parser(
        "export", help="export a checkpoint to ONNX, to translate without torch (s2s.runtime)",
        description="Write the model's encoder and one decoder step as ONNX graphs with dynamic batch and length "
                    "axes, with its vocabularies, tokenizers and a manifest.json, into --output; checked with "
                    "onnx.checker and against the torch model with onnxruntime. Translate with the export: "
                    "s2s translate --engine onnx --checkpoint DIR. Needs the onnx extra: pip install -e '.[onnx]'.")
    export.add_argument("--checkpoint", required=True, metavar="CKPT",
                        help="a .pt file, run folder or pretrained model (average checkpoints first with s2s average)")
    export.add_argument("--format", default="onnx", choices=["onnx"], help="the export format (default onnx)")
    export.add_argument("--output", required=True, metavar="DIR", help="a new or empty folder, or an earlier export "
                        "(the files its manifest lists are replaced; nothing else there is touched)")
    export.add_argument("--no-verify", action="store_true", help="skip running the graphs beside the torch model")


def run(args) -> int:
    from s2s.export.onnx import EXPORT_FILES, earlier_export, export_onnx

    check_paths(checkpoint_inputs("--checkpoint", args.checkpoint),
                folders=[("--output", args.output, lambda relative: str(relative) in EXPORT_FILES)])
    replaced = earlier_export(Path(args.output))
    others = sorted(set(os.listdir(args.output)) - set(replaced)) if replaced else []
    output = export_onnx(args.checkpoint, args.output, verify=not args.no_verify)
    news = f", replacing the {len(replaced)} files of the earlier export there" if replaced else ""
    if others:
        named = ", ".join(others[:5]) + (", ..." if len(others) > 5 else "")
        entries = f"{len(others)} other entr{'y' if len(others) == 1 else 'ies'}"
        news += f" and leaving the {entries} there as they were ({named})"
    print(f"exported {args.checkpoint} to {output}/ (encoder.onnx, decoder.onnx, manifest.json){news}; translate with: "
          f"s2s translate --engine onnx --checkpoint {shlex.quote(str(output))}")
    return 0
