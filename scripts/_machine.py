"""Shared helpers for the benchmark scripts: the machine, its matmul peak, model FLOPs, training steps, reports.

Import from a script in this folder with::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _machine import describe_machine, machine_info, measure_matmul_peak

``measure_matmul_peak`` is the denominator of every MFU figure the scripts report: the best
GFLOP/s of one large square matmul, measured on this machine with the current torch thread count,
so that an MFU means the same thing on any machine. ``forward_flops`` is the numerator's formula for
the zoo models.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from s2s.data.batching import Batch, gather_batch
from s2s.device import autocast
from s2s.errors import S2SError, raise_on_sigterm, stopped
from s2s.specials import PAD

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


def measure_matmul_peak(n: int = 4096, dtype: torch.dtype = torch.float32, repeats: int = 3, device: str = "cpu") -> float:
    """GFLOP/s of an n x n @ n x n matmul (2 n^3 FLOPs): one warm-up, then the best of `repeats` timings.

    Runs with the current torch.get_num_threads() on a CPU (on a CUDA device: waiting for the GPU around each
    timing); the output buffer is preallocated so only the matmul is timed. n = 4096 in fp32 uses 3 x 64 MiB and
    takes about a second per repeat on 2 CPU cores.
    """
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    b = torch.randn(n, n, generator=generator).to(device=device, dtype=dtype)
    out = torch.empty(n, n, dtype=dtype, device=device)
    synchronize = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
    torch.mm(a, b, out=out)  # warm-up: thread pool, page faults, kernel selection
    best = float("inf")
    for _ in range(max(1, repeats)):
        synchronize()
        start = time.perf_counter()
        torch.mm(a, b, out=out)
        synchronize()
        best = min(best, time.perf_counter() - start)
    return 2.0 * n**3 / best / 1e9


def peak_rss_mib() -> float:
    """The peak resident set size of this process so far, in MiB (ru_maxrss is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mib() -> float:
    """The resident set size of this process now, in MiB (nan where /proc/self/status is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def run_script(main) -> None:
    """Run a script's main() and exit with its status; bad input (an S2SError: a missing file, a checkpoint that does
    not load, a bad override) prints as one `error:` line and exits 2, as the s2s commands do, not as a traceback."""
    raise_on_sigterm()  # a killed script cleans up as after Ctrl-C (package_pretrained's staging folder)
    try:
        status = main()
    except S2SError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    except KeyboardInterrupt as stop:
        raise SystemExit(stopped(stop)) from None
    raise SystemExit(status or 0)


def progress_log(script: str):
    """A log(message) function that prints "[script] message" to stderr: progress, kept apart from the report."""
    return lambda message: print(f"[{script}] {message}", file=sys.stderr, flush=True)


# ---- reports ------------------------------------------------------------------------------------------------


def add_multi30k_run_args(parser, run_root: str, run_root_help: str = "where the runs go") -> None:
    """The options shared by the scripts that train Multi30k runs: --mirror, --set, --run-root, --json, --render."""
    parser.add_argument("--mirror", default=str(REPO.parent / "shared/data/multi30k"),
                        help="local copy of the Multi30k files (default: ../shared/data/multi30k)")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides for every run (recorded)")
    parser.add_argument("--run-root", default=run_root, help=run_root_help)
    parser.add_argument("--json", help="write the full result here")
    parser.add_argument("--render", metavar="JSON", help="print the Markdown block of an earlier --json file and exit")


def markdown_table(columns: list[str], align: str, rows: list[list]) -> list[str]:
    """The lines of a Markdown table. align has one letter per column: l (left, ---) or r (right, ---:)."""
    def line(cells: list) -> str:
        return "|" + "".join(f" {cell} |" if cell != "" else " |" for cell in cells)

    return [line(columns), "|" + "".join("---:|" if side == "r" else "---|" for side in align), *map(line, rows)]


def write_json(path: str | Path, data: dict) -> None:
    """Write data as indented JSON with a final newline, creating the folder if needed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


# ---- training -----------------------------------------------------------------------------------------------


def split_batch(split, indices: list[int]) -> Batch:
    """The padded batch of these sentence pairs of a corpus split (anything with src_ids and tgt_ids as TokenIds)."""
    return gather_batch(split.src_ids, split.tgt_ids, indices)


def train_step(model, optimizer, batch: Batch, loss_fn, clip_norm: float, amp: torch.dtype | None = None) -> float:
    """The trainer's update on CPU (Trainer.train_step, whose grad scaler is off there); returns the loss per token.

    loss_fn(model, batch) gives the summed loss over the batch's target tokens.
    """
    model.train()
    tokens = batch.num_tokens
    with autocast(torch.device("cpu"), amp):
        loss = loss_fn(model, batch)
    optimizer.zero_grad(set_to_none=True)
    (loss / tokens).backward()
    if clip_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
    optimizer.step()
    return float(loss.detach()) / tokens


def train_in_turns(runs: dict[str, dict], batches: list[Batch], warmup: int, clip_norm: float,
                   amp: torch.dtype | None = None, log=None) -> None:
    """Train every run (a dict with "model", "optimizer" and "loss_fn") on each batch, timing each train_step.

    The runs take turns on every batch, who goes first rotating from batch to batch, so that a drift of the
    machine's speed hits them all alike. Adds to each run "losses" (loss per token, every batch) and, for the
    batches after the first `warmup`, "seconds" and "tokens" (non-padding target tokens). log(message), if
    given, hears of slow batches and of every tenth.
    """
    names = list(runs)
    for run in runs.values():
        run.update(losses=[], seconds=[], tokens=[])
    for i, batch in enumerate(batches):
        elapsed = 0.0
        for k in range(len(names)):
            name = names[(i + k) % len(names)]  # rotate who goes first
            run = runs[name]
            start = time.perf_counter()
            loss = train_step(run["model"], run["optimizer"], batch, run["loss_fn"], clip_norm, amp)
            took = time.perf_counter() - start
            elapsed += took
            run["losses"].append(loss)
            if i >= warmup:
                run["seconds"].append(took)
                run["tokens"].append(batch.num_tokens)
            if not math.isfinite(loss):
                raise SystemExit(f"{name}: loss became {loss} at batch {i + 1}")
        if log and (elapsed > 5 or (i + 1) % 10 == 0):
            log(f"batch {i + 1}/{len(batches)}{' (warm-up)' if i < warmup else ''} {elapsed:.2f} s")

# ---- FLOPs --------------------------------------------------------------------------------------------------
#
# Matmuls only, 2 FLOPs per multiply-add; biases, nonlinearities, softmax, embedding lookups and the loss are not
# counted. An RNN layer with G gates (rnn 1, gru 3, lstm 4), input size I and hidden size H does 2*G*H*(I + H)
# forward FLOPs per token. With E = embedding size, H = hidden size, V = target vocabulary, L = layers:
#
# * encoder, per non-padding source token (packed sequences, so pads are never computed): for each layer and
#   direction 2*G*Hd*(I + Hd), with Hd = H/2 and 2 directions when bidirectional (Hd = H, 1 direction otherwise),
#   I = E for the first layer and I = H above it;
# * decoder, per target token: 2*G*H*(I + H) per layer (I = E, then H); with attention 2*S*H (scores) +
#   2*S*H (context) + 2*(2H)*H (the combine layer W_c [c; s]) for S attended source positions; and 2*H*V for
#   the output projection;
# * training FLOPs = 3 x forward FLOPs (the backward pass needs about twice the forward's matmuls).

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def rnn_gates(rnn: torch.nn.RNNBase) -> int:
    """G of a torch RNN module, whose mode is RNN_TANH, RNN_RELU, GRU or LSTM."""
    return GATES[rnn.mode.split("_")[0].lower()]


def rnn_layer_flops(gates: int, input_size: int, hidden_size: int) -> int:
    """Forward matmul FLOPs per token of one RNN layer in one direction: 2*G*H*(I + H)."""
    return 2 * gates * hidden_size * (input_size + hidden_size)


@dataclass(frozen=True)
class Arch:
    cell: str
    attention: bool
    emb: int
    hidden: int
    layers: int
    bidirectional: bool
    tgt_vocab: int


def encoder_flops_per_token(arch: Arch) -> int:
    gates, directions = GATES[arch.cell], 2 if arch.bidirectional else 1
    h_dir = arch.hidden // directions
    return sum(directions * rnn_layer_flops(gates, arch.emb if layer == 0 else arch.hidden, h_dir)
               for layer in range(arch.layers))


def decoder_rnn_flops_per_token(arch: Arch) -> int:
    gates = GATES[arch.cell]
    return sum(rnn_layer_flops(gates, arch.emb if layer == 0 else arch.hidden, arch.hidden)
               for layer in range(arch.layers))


def forward_flops(arch: Arch, batch: Batch, padded: bool = False) -> dict[str, int]:
    """Forward matmul FLOPs of one batch, by part.

    padded=False: the useful work (decoder over non-padding target tokens, attention over each sentence's own
    source length). padded=True: what the whole-target decoder computes (every target position of the padded
    tensor, attention over the padded source length). The encoder runs on packed sequences either way.
    """
    src_len = batch.src_lengths.to(torch.long)
    tgt_len = (batch.tgt_out != PAD).sum(1).to(torch.long)
    batch_size, src_pad, tgt_pad = batch.src.size(0), batch.src.size(1), batch.tgt_out.size(1)
    if padded:
        positions, attended = batch_size * tgt_pad, batch_size * tgt_pad * src_pad  # attended: sum of S over positions
    else:
        positions, attended = int(tgt_len.sum()), int((tgt_len * src_len).sum())
    h = arch.hidden
    return {
        "encoder_rnn": int(src_len.sum()) * encoder_flops_per_token(arch),
        "decoder_rnn": positions * decoder_rnn_flops_per_token(arch),
        "attention_scores": 2 * h * attended if arch.attention else 0,
        "attention_context": 2 * h * attended if arch.attention else 0,
        "attention_combine": positions * 2 * (2 * h) * h if arch.attention else 0,
        "output": positions * 2 * h * arch.tgt_vocab,
    }


def train_flops(arch: Arch, batches: list[Batch], padded: bool = False) -> int:
    """Training FLOPs = 3 x forward FLOPs, summed over the batches."""
    return 3 * sum(sum(forward_flops(arch, batch, padded).values()) for batch in batches)


@contextmanager
def flop_counter():
    """torch.utils.flop_counter.FlopCounterMode with oneDNN off; read counter.get_total_flops() after the block.

    FlopCounterMode counts the aten matmuls (mm, addmm, bmm) that torch's native RNN decomposes into, but not
    the fused oneDNN RNN op that nn.LSTM uses on CPU.
    """
    from torch.utils.flop_counter import FlopCounterMode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter:
            yield counter


# ---- one job per fresh process ------------------------------------------------------------------------------


def save_batches(batches: list[Batch], path: Path) -> None:
    torch.save([{"src": b.src, "src_lengths": b.src_lengths, "tgt_in": b.tgt_in, "tgt_out": b.tgt_out}
                for b in batches], path)


def load_batches(path: Path) -> list[Batch]:
    return [Batch(d["src"], d["src_lengths"], d["tgt_in"], d["tgt_out"], [])
            for d in torch.load(path, weights_only=True)]


def run_fresh(script: str, job: dict, work: Path, tag: str, log) -> dict:
    """Run `python SCRIPT --single TAG.job.json` in a fresh process, so that its timings and peak memory are its own.

    The child reads the job from that file and writes its result dict to job["result"]; returns that dict, or
    {"error": ...} when the child failed (its messages went to stderr).
    """
    job = {**job, "result": str(work / f"{tag}.result.json")}
    job_path = work / f"{tag}.job.json"
    job_path.write_text(json.dumps(job))
    done = subprocess.run([sys.executable, str(Path(script).resolve()), "--single", str(job_path)])
    if done.returncode != 0 or not Path(job["result"]).is_file():
        log(f"{tag}: the subprocess failed (exit {done.returncode}); see its messages above")
        return {"error": f"subprocess exit {done.returncode}"}
    return json.loads(Path(job["result"]).read_text())
