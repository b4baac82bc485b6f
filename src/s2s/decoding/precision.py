"""Inference precision: fp32, bf16 autocast (where the hardware has it), or int8 dynamic quantization (CPU)."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from s2s.device import cpu_native_bf16
from s2s.errors import S2SError

PRECISIONS = ("fp32", "bf16", "int8", "int8-linear")


def apply_precision(model: nn.Module, precision: str, device: torch.device) -> tuple[nn.Module, torch.dtype | None]:
    """(the model to decode with, the autocast dtype or None) for `precision` on `device`.

    int8: torch's dynamic quantization of every nn.Linear (the output layer W_o and attention's W_c) and of the GRU
    and LSTM layers (torch has no quantized vanilla RNN, so a tanh RNN stays fp32); weights are stored as int8 with
    a scale per tensor and activations are quantized on the fly. The encoder then runs its RNN packed, since the
    unpacked CPU route reads float weight tensors that a quantized RNN does not have. int8-linear: the linear
    layers only (the recurrent layers stay fp32). bf16: autocast, only where it is native
    (a GPU with bf16, or a CPU with AMX or AVX512-BF16), since emulated bf16 runs far slower than fp32.
    """
    if precision == "fp32":
        return model, None
    if precision == "bf16":
        if device.type == "cuda" and not torch.cuda.is_bf16_supported():
            raise S2SError("--precision bf16: this GPU has no bf16; use fp32.")
        if device.type == "cpu" and cpu_native_bf16() is None:
            raise S2SError(f"--precision bf16: this CPU has no native bf16 (AMX or AVX512-BF16; it reports "
                           f"{torch.backends.cpu.get_cpu_capability()}), where bf16 runs far slower than fp32; "
                           f"use --precision int8 (faster) or fp32.")
        return model, torch.bfloat16
    if precision in ("int8", "int8-linear"):
        if device.type != "cpu":
            raise S2SError(f"--precision {precision} is torch's CPU dynamic quantization; on {device} use bf16 or "
                           f"fp32, or add --device cpu.")
        layers = {nn.Linear} if precision == "int8-linear" else {nn.Linear, nn.GRU, nn.LSTM}
        with warnings.catch_warnings():  # torch.ao's eager quantization warns that torchao is its successor
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.filterwarnings("ignore", message=".*quantize_per_tensor.*", category=UserWarning)
            return torch.ao.quantization.quantize_dynamic(model, layers, dtype=torch.qint8), None
    raise S2SError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}.")
