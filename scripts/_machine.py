"""Shared helpers for the benchmark scripts: describe the machine and measure its matmul peak.

Import from a script in this folder with::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import describe_machine, machine_info, measure_matmul_peak

``measure_matmul_peak`` is the denominator of every MFU figure the scripts report: the best
GFLOP/s of one large square matmul, measured on this machine with the current torch thread count,
so that an MFU means the same thing on any machine.
"""

from __future__ import annotations

import datetime
import os
import platform
import shlex
import subprocess
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]

# CPU flags that decide whether bf16 (and fast fp32) matmuls have hardware support.
_ISA_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _cpuinfo() -> tuple[str, list[str]]:
    """(CPU model name, the ISA flags of interest that the CPU has) from /proc/cpuinfo."""
    model, flags = "", set()
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return platform.processor() or platform.machine() or "unknown", []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return model or platform.processor() or "unknown", [f for f in _ISA_FLAGS if f in flags]


def machine_info(argv: list[str] | None = None) -> dict:
    """Everything needed to reproduce or compare a benchmark: command, date, commit, software, CPU."""
    argv = sys.argv if argv is None else argv
    model, isa = _cpuinfo()
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = []
    return {
        "command": shlex.join(["python", *argv]),
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "git_commit": _git("rev-parse", "--short", "HEAD") or "unknown",
        # benchmarks/ is left out: a re-run rewrites its own committed output there while it runs
        "git_dirty": bool(_git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)benchmarks")),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "platform": platform.platform(),
        "cpu_model": model,
        "cpu_isa": isa,
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "load_average": load,  # 1, 5, 15 minutes when the header was taken: other work competes for the cores
    }


def describe_machine(info: dict | None = None) -> str:
    """Markdown bullet lines for a benchmark header (pass machine_info() to reuse one snapshot)."""
    info = machine_info() if info is None else info
    commit = info["git_commit"] + (" (with uncommitted changes)" if info.get("git_dirty") else "")
    load = ", ".join(str(x) for x in info.get("load_average") or []) or "n/a"
    lines = [
        f"- command: `{info['command']}`",
        f"- date: {info['date_utc']}",
        f"- git commit: {commit}",
        f"- torch {info['torch']}, Python {info['python']}, {info['platform']}",
        f"- CPU: {info['cpu_model']}; os.cpu_count() = {info['cpu_count']}; torch threads = {info['torch_threads']}; "
        f"ISA: {', '.join(info['cpu_isa']) or 'none of ' + '/'.join(_ISA_FLAGS)}",
        f"- load average at start (1/5/15 min): {load}",
    ]
    return "\n".join(lines)


def measure_matmul_peak(n: int = 4096, dtype: torch.dtype = torch.float32, repeats: int = 3) -> float:
    """GFLOP/s of an n x n @ n x n matmul (2 n^3 FLOPs): one warm-up, then the best of `repeats` timings.

    Runs with the current torch.get_num_threads(); the output buffer is preallocated so only the
    matmul is timed. n = 4096 in fp32 uses 3 x 64 MiB and takes about a second per repeat on 2 cores.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(dtype)
    b = torch.randn(n, n, generator=generator).to(dtype)
    out = torch.empty(n, n, dtype=dtype)
    torch.mm(a, b, out=out)  # warm-up: thread pool, page faults, kernel selection
    best = float("inf")
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9
