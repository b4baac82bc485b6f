"""Device and mixed-precision choices: CUDA when present, else CPU; bf16 on CPU only when asked."""

from __future__ import annotations

import contextlib

import torch

from s2s.errors import S2SError


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise S2SError(f"unknown device '{name}'; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise S2SError(f"device '{name}' was asked for but CUDA is not available here; use device auto or cpu.")
    return device


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for full fp32. 'auto' is bf16 (or fp16) on CUDA and off on CPU,
    where bf16 matmuls without native hardware support run far slower than fp32."""
    if amp == "none" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if amp == "fp16" and device.type != "cuda":
        raise S2SError("train.amp=fp16 needs a CUDA device; on CPU use amp: none (or bf16 on CPUs with AMX/AVX512-BF16).")
    return torch.bfloat16 if amp == "bf16" else torch.float16


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)
