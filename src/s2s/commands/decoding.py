"""The decoding flags that translate, distill, evaluate and report share, and the translator --engine picks."""

from __future__ import annotations

import argparse

from s2s.commands.numbers import at_least, positive_float
from s2s.config import DECODE_MAXIMUM


def add_decode_options(parser: argparse.ArgumentParser, engines: bool = False) -> None:
    """The decoding flags; engines=True adds --engine: torch, or onnx for folders written by s2s export."""
    group = parser.add_argument_group("decoding (defaults come from the checkpoint's decode: section)")
    most = DECODE_MAXIMUM
    group.add_argument("--beam", type=at_least(1, note=" (1 is greedy decoding)", most=most["beam"]),
                       help="beam size; 1 is greedy decoding; at most the target vocabulary's size")
    group.add_argument("--nbest", type=at_least(1, most=most["nbest"]), help="hypotheses per sentence (<= beam); above "
                       "1, translate writes 'LINE ||| TEXT ||| SCORE' lines (Moses n-best format, LINE counts from 0)")
    group.add_argument("--length-penalty", type=at_least(0.0, float, most=most["length_penalty"]),
                       help="rank finished beams by log p / length**A (0: raw log p)")
    group.add_argument("--max-len-ratio", type=positive_float(most["max_len_ratio"]),
                       help="stop after R * source tokens + 10 output tokens")
    group.add_argument("--no-repeat-ngram", type=at_least(0, note=" (0 is off)", most=most["no_repeat_ngram"]),
                       metavar="N", help="never repeat an n-gram of N output tokens (subword pieces; 0: off)")
    group.add_argument("--batch-size", type=at_least(1, most=most["batch_size"]), help="sentences per decoding batch")
    group.add_argument("--device", default="auto", help="auto (CUDA if available, else CPU), cpu, cuda or cuda:N")
    group.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "int8", "int8-linear"],
                       help="fp32 (default); int8: dynamic quantization of the linear and GRU/LSTM layers, faster on "
                            "CPU (docs/benchmarks/hardware.md has speed and BLEU); int8-linear: the linear layers only; "
                            "bf16: autocast, on GPUs and CPUs with AMX/AVX512-BF16")
    if engines:
        group.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                           help="torch (default): --checkpoint is a checkpoint or run folder; onnx: --checkpoint is "
                                "an ONNX export folder (s2s export; several form an ensemble) or a pretrained model "
                                "(folder or name), decoded with onnxruntime on the CPU without torch (pip install -e "
                                "'.[runtime]'); --precision fp32 or int8")


def decode_options(args) -> dict:
    return {"beam": args.beam, "nbest": args.nbest, "length_penalty": args.length_penalty,
            "max_len_ratio": args.max_len_ratio, "batch_size": args.batch_size, "no_repeat_ngram": args.no_repeat_ngram}


def require_engine(args) -> None:
    """Import what --engine torch needs first: without torch, that is the error to show (run_command says how to
    install it), before any about paths."""
    if args.engine == "torch":
        import torch  # noqa: F401


def load_translator(args):
    """The translator of --engine: torch (checkpoints, one or an ensemble) or onnx (export folders)."""
    if args.engine == "onnx":
        from s2s.runtime.translator import OnnxTranslator, check_onnx_flags

        check_onnx_flags(args.precision, args.device)
        return OnnxTranslator.from_export(args.checkpoint[0] if len(args.checkpoint) == 1 else args.checkpoint,
                                          precision=args.precision)
    from s2s.decoding.translator import Translator

    return Translator.from_checkpoint(args.checkpoint, device=args.device, precision=args.precision)
