"""Device and mixed-precision choices: CUDA when present, else CPU; bf16 on CPU only when asked."""

from __future__ import annotations

import contextlib
import ctypes
import platform

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


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's <malloc.h>


def keep_freed_memory() -> bool:
    """Make glibc's malloc serve large CPU tensors from the heap and keep freed memory for reuse.

    By default glibc maps every allocation above 32 MB (the logits of a large batch, their gradient, big
    matmul outputs) fresh from the kernel and unmaps it when freed, so each training step page-faults
    through hundreds of megabytes of new zero pages: measured here, that made an exp() over 3705 x 7330
    floats 2.6x slower and a training step 10 % slower. Raising the mmap threshold to 1 GB and never trimming
    the heap lets the next step reuse the pages (what jemalloc or tcmalloc, which PyTorch's CPU tuning
    guide recommends, would do). The process keeps its peak memory until it exits. Returns whether it applied
    (only on Linux with glibc).
    """
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)) and bool(libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1))
    except (OSError, AttributeError):
        return False
