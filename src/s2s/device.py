"""Device and mixed-precision choices: CUDA when present, else CPU; bf16 autocast where the hardware runs it natively."""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform

import torch

from s2s.errors import S2SError


def resolve_device(name: str = "auto") -> torch.device:
    if not isinstance(name, (str, torch.device)):
        raise S2SError(f"device must be a name such as auto, cpu, cuda or cuda:N, got {name!r}.")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise S2SError(f"unknown device '{name}'; use auto, cpu, cuda or cuda:N.") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise S2SError(f"device '{name}' was asked for but CUDA is not available here; use device auto or cpu.")
    return device


CPU_BF16_FEATURES = (("AMX", "_is_amx_tile_supported"), ("AVX512-BF16", "_is_avx512_bf16_supported"))


def cpu_native_bf16() -> str | None:
    """The CPU feature that runs bf16 matmuls natively ('AMX' or 'AVX512-BF16', as torch detects it), or None.

    Without one, oneDNN emulates bf16 and a bf16 matmul runs tens of times slower than fp32."""
    for feature, probe in CPU_BF16_FEATURES:
        check = getattr(torch.cpu, probe, None)  # private helpers of torch.cpu (torch >= 2.3)
        if check is not None and check():
            return feature
    return None


def amp_choice(amp: str, device: torch.device) -> tuple[torch.dtype | None, str]:
    """(autocast dtype or None for full fp32, why) for train.amp on this device.

    'auto' is bf16 (or fp16 without bf16) on CUDA; on a CPU, bf16 where it has native bf16 (AMX or AVX512-BF16)
    and fp32 elsewhere. Weights, optimizer state, softmax and the loss stay fp32 under autocast either way."""
    if amp == "none":
        return None, "fp32 (train.amp: none)"
    if amp == "fp16" and device.type != "cuda":
        raise S2SError("train.amp=fp16 needs a CUDA device; on CPU use amp: none (or bf16 on CPUs with AMX/AVX512-BF16).")
    if amp != "auto":
        return (torch.bfloat16 if amp == "bf16" else torch.float16), f"{amp} autocast (train.amp: {amp})"
    if device.type == "cuda":
        if torch.cuda.is_bf16_supported():
            return torch.bfloat16, "bf16 autocast (train.amp: auto; the GPU supports bf16)"
        return torch.float16, "fp16 autocast with loss scaling (train.amp: auto; the GPU has no bf16)"
    feature = cpu_native_bf16()
    if feature is None:
        return None, (f"fp32 (train.amp: auto; this CPU has no native bf16, {torch.backends.cpu.get_cpu_capability()}: "
                      "bf16 would run far slower)")
    return torch.bfloat16, f"bf16 autocast (train.amp: auto; this CPU has {feature}; set train.amp: none for fp32)"


def autocast(device: torch.device, dtype: torch.dtype | None):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, from glibc's <malloc.h>


ONEDNN_CACHE_VARIABLE, ONEDNN_TRAINING_CACHE = "ONEDNN_PRIMITIVE_CACHE_CAPACITY", 16


def limit_onednn_cache(capacity: int = ONEDNN_TRAINING_CACHE) -> str:
    """Keep at most `capacity` compiled oneDNN primitives (oneDNN's default: 1,024); return the capacity in effect.

    On CPU, torch runs LSTM layers (and bf16 matmuls) through oneDNN, which compiles a primitive per input shape and
    keeps it, with its buffers, in a cache. Training batches come in many (batch, length) shapes, so the cache kept
    growing: an LSTM training's peak memory was twice a GRU's (docs/benchmarks/hardware.md, issue 17), and a capacity of 16 halves
    it at the same speed (recompiling a primitive costs little next to a training step). oneDNN reads the setting
    when it creates its first primitive, so call this before the model runs; a value the user exported is kept.
    """
    return os.environ.setdefault(ONEDNN_CACHE_VARIABLE, str(capacity))


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
