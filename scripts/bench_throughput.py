#!/usr/bin/env python
"""Training throughput of the zoo models on a fixed stream of real Multi30k token batches.

For each model this measures, over the same pre-built batches:

* tokens/s: non-padding target tokens per second of training (forward, loss, backward, clipping, Adam);
* padding share: padded positions / all positions of the target (and source) tensors of the timed batches;
* peak memory: the peak resident set size (ru_maxrss) of a fresh process that trains only that model;
* MFU: the model's matmul FLOPs per second over this machine's fp32 matmul peak, which the script measures
  itself (a 4096 x 4096 @ 4096 x 4096 fp32 matmul, best of 3), so the figure means the same on any machine.
  The peak is measured in each row's process right before and right after its batches and the higher of the
  two is that row's denominator: on shared virtual machines the cores' speed drifts by tens of percent within
  minutes (92 to 152 GFLOP/s on the machine of BENCHMARKS.md), and a peak from another minute would make the
  MFU a measure of the drift. The MFU against the highest peak seen in the whole run is reported too.

It also trains the --step-loop-model with a tutorial-style decoder that is called once per target position
in a Python loop (embedding, RNN, attention and output layer per step, the logits concatenated and scored), on
the same batches from the same initial weights, and reports the speed-up of the whole-target decoder over it.
A second loop steps only the recurrence (embedding, RNN, attention) and runs the output layer and loss as the
whole-target model does; its ratio isolates what the one-call recurrence buys. With --bf16 it also trains that
model under torch.autocast("cpu", bfloat16) for a few batches (bf16 matmuls are far slower than fp32 on CPUs
without AVX512-BF16/AMX).

The training step is the trainer's (Trainer.train_step, as train_step in scripts/_machine.py): model.train(),
the model's loss (teacher forcing; output layer and summed cross-entropy fused, label smoothing 0), zero_grad,
(loss / tokens).backward(), clip_grad_norm_(1.0), Adam step (lr 1e-3, fused kernel), with the trainer's malloc
setting (s2s.device.keep_freed_memory). Batches are padded into tensors before timing, so batching is
not timed. The stream is token_batches(train, --batch-tokens, seed=1000 * --seed + 1): the first epoch of a
trainer run with train.seed = --seed. The first --warmup batches are trained but not timed. Each model (and the
step loop, and bf16) runs in its own fresh subprocess, so peak memory and timings of one do not affect another;
the step loops and the whole-target decoder are also timed side by side in one process, taking turns batch by batch.

FLOPs come from a formula (the FLOP section of scripts/_machine.py spells it out): matmuls only, 2 FLOPs per
multiply-add, training = 3 x forward. MFU counts the decoder only over the non-padding target tokens
(tgt_out != pad) and, for each of them, S (the attended source positions) as its own sentence's source length.
That is the work a padding-free implementation would need: conservative, since the whole-target decoder also
computes the padded positions (and attends over padded source positions). The FLOPs the kernels really execute
(decoder over batch x padded target length, S = padded source length) are in the JSON as "hfu" (hardware FLOP
utilisation). --verify-flops checks the formula against torch.utils.flop_counter.FlopCounterMode on one batch.

Run the full measurement (about 8 minutes on 2 idle cores; --bf16 adds about 5, --verify-flops about half a
minute), and paste the Markdown it prints into BENCHMARKS.md:

    python scripts/bench_throughput.py --verify-flops --json runs/bench_throughput.json

Run it on an otherwise idle machine: with 2 torch threads on 2 cores, any other busy process makes the threads
wait for each other at every op, and a training step can take several times longer (the report warns when the
load average at the start was high; --threads 1 is less sensitive to this but uses one core).

Progress goes to stderr, the report to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (  # noqa: E402
    run_script, REPO, Arch, current_rss_mib, describe_machine, flop_counter, forward_flops, load_batches, machine_info,
    markdown_table, measure_matmul_peak, peak_rss_mib, progress_log, run_fresh, save_batches, split_batch,
    train_flops, train_in_turns, write_json,
)

from s2s.config import Config, config_from_dict  # noqa: E402
from s2s.data.batching import Batch, token_batches  # noqa: E402
from s2s.device import keep_freed_memory  # noqa: E402
from s2s.models import build_model, count_parameters  # noqa: E402
from s2s.models.output import output_loss, sequence_loss  # noqa: E402
from s2s.training.loss import model_loss  # noqa: E402
from s2s.training.trainer import make_optimizer  # noqa: E402

ZOO = ("rnn", "rnn_attn", "lstm", "lstm_attn", "gru", "gru_attn")  # cell, then "_attn" with attention
VARIANT_NOTES = {
    "fused": "whole-target decoder",
    "steploop": "step loop: decoder (RNN, attention, output layer) called per target position (tutorial style)",
    "recurrence_loop": "step loop over RNN + attention only; output layer + loss fused over all positions as above",
    "bf16": "whole-target decoder, bf16 autocast (MFU against the fp32 peak)",
}
VARIANT_LABELS = {"steploop": "step loop", "recurrence_loop": "recurrence loop", "bf16": "bf16"}
TARGETS = {"speedup": 1.3, "mfu": 0.55, "padding": 0.10}
BUSY_LOAD = 0.5  # a 1-minute load average at least this high at the start means the machine was not idle

log = progress_log("bench_throughput")


# ---- data ---------------------------------------------------------------------------------------------------


def make_config(args: argparse.Namespace, model: str = "gru_attn") -> Config:
    if args.config_dict is not None:  # --config: the recipe as it is, with the data read from where this script reads it
        recipe = config_from_dict(args.config_dict, source=str(args.config))
        recipe.data.data_dir, recipe.data.mirror = str(args.data_dir), str(args.mirror) if args.mirror else ""
        return recipe
    return config_from_dict({
        "data": {"dataset": "multi30k", "src": args.src, "tgt": args.tgt, "data_dir": str(args.data_dir),
                 "mirror": str(args.mirror) if args.mirror else "", "tokenizer": "sentencepiece",
                 "vocab_size": args.vocab_size, "max_len": 100},
        "model": {"name": model, "emb_size": args.emb, "hidden_size": args.hidden, "layers": args.layers,
                  "bidirectional": True, "dropout": args.dropout},
        "train": {"batch_tokens": args.batch_tokens, "seed": args.seed, "lr": 1e-3, "clip_norm": 1.0,
                  "label_smoothing": 0.0, "amp": "none"},
    }, source="bench_throughput")


def build_batches(config: Config, count: int) -> tuple[list[Batch], dict]:
    from s2s.data.corpus import build_corpus

    corpus = build_corpus(config.data, log=log)
    train = corpus.splits["train"]
    stream_seed = config.train.seed * 1000 + 1  # the trainer's first epoch
    order = token_batches(train.src_ids.lengths, train.tgt_ids.lengths, config.train.batch_tokens, seed=stream_seed)
    if len(order) < count:
        raise SystemExit(f"the stream has only {len(order)} batches; ask for fewer --warmup + --batches")
    info = {"train_pairs": len(train.src_ids), "dropped": corpus.dropped, "src_vocab": len(corpus.src_vocab),
            "tgt_vocab": len(corpus.tgt_vocab), "stream_batches": len(order), "stream_seed": stream_seed}
    return [split_batch(train, indices) for indices in order[:count]], info


def stream_stats(batches: list[Batch]) -> dict:
    tgt_real = sum(batch.num_tokens for batch in batches)
    tgt_all = sum(batch.tgt_out.numel() for batch in batches)
    src_real = sum(int(batch.src_lengths.sum()) for batch in batches)
    src_all = sum(batch.src.numel() for batch in batches)
    return {"batches": len(batches), "sentences": sum(batch.src.size(0) for batch in batches),
            "tgt_tokens": tgt_real, "tgt_positions": tgt_all, "src_tokens": src_real, "src_positions": src_all,
            "tgt_padding": 1 - tgt_real / tgt_all, "src_padding": 1 - src_real / src_all}


# ---- the decoder variants' losses ---------------------------------------------------------------------------


def whole_target_loss(model, batch: Batch, label_smoothing: float = 0.0) -> torch.Tensor:
    """The trainer's loss: the model's own teacher-forced forward, one decoder call over the whole target."""
    return model_loss(model, model, batch, label_smoothing)


def step_loop_features(model, src, src_lengths, tgt_in, project: bool) -> torch.Tensor:
    """Teacher forcing with the decoder called once per target position in a Python loop, carrying the RNN state.

    project=True: the tutorial's decoder step (embedding, RNN, attention, output layer), returns the logits
    (batch, tgt_len, vocab). project=False: the step stops before the output layer and returns its input
    (batch, tgt_len, hidden). Same weights and arithmetic as the whole-target decoder.
    """
    enc_states, state, src_mask = model.encode(src, src_lengths)
    step = model.decoder if project else model.decoder.features
    steps = []
    for t in range(tgt_in.size(1)):
        out_t, state, _ = step(tgt_in[:, t:t + 1], state, enc_states, src_mask)
        steps.append(out_t)
    return torch.cat(steps, dim=1)


def step_loop_loss(model, batch: Batch) -> torch.Tensor:
    """The tutorial's training step: per-position decoder calls give the logits, scored by sequence_loss (the
    same fused-gradient cross-entropy the trainer uses for models that return logits)."""
    logits = step_loop_features(model, batch.src, batch.src_lengths, batch.tgt_in, project=True)
    return sequence_loss(logits, batch.tgt_out, 0.0)


def recurrence_loop_loss(model, batch: Batch) -> torch.Tensor:
    """Only the recurrence (embedding, RNN, attention) stepped per position; the output layer and the loss run
    once over all positions with exactly the whole-target model's code (output_loss). Its ratio to the
    whole-target decoder isolates what running the RNN and attention over the whole target buys."""
    hidden = step_loop_features(model, batch.src, batch.src_lengths, batch.tgt_in, project=False)
    return output_loss(hidden, *model.decoder.output_weights(), batch.tgt_out, 0.0)


PAIRED_VARIANTS = ("fused", "steploop", "recurrence_loop")
LOSS_FNS = {"fused": whole_target_loss, "steploop": step_loop_loss, "recurrence_loop": recurrence_loop_loss,
            "bf16": whole_target_loss}


# ---- child: one job in a fresh process ----------------------------------------------------------------------


def run_child(job_path: Path) -> None:
    """Train one model variant in this (fresh) process and write the measurements to job['result'].

    The "paired" job trains PAIRED_VARIANTS side by side instead: one model (same initial weights) and optimizer
    each, stepping batch by batch in rotating order, so that a drift of the machine's speed hits all of them
    alike; its ratios are the speed-ups the report checks against the target.
    """
    job = json.loads(job_path.read_text())
    if job["threads"]:
        torch.set_num_threads(job["threads"])
    config = config_from_dict(job["config"], source="bench_throughput job")
    warmup, timed, variant = job["warmup"], job["timed"], job["variant"]
    batches = load_batches(Path(job["batch_file"]))[job["skip"]:job["skip"] + warmup + timed]
    variants = PAIRED_VARIANTS if variant == "paired" else (variant,)
    amp = torch.bfloat16 if variant == "bf16" else None

    # The machine's matmul peak right before and after this run: on a shared (virtual) machine the speed of the
    # cores drifts by tens of percent over minutes, so each row's MFU is taken against the peak of its own time.
    # Measured before keep_freed_memory(), so its 3 x 64 MiB go back to the system and stay out of peak memory.
    peak_before = measure_matmul_peak(job["peak_size"], torch.float32, 3)
    start_rss = current_rss_mib()
    keep_freed_memory()  # as the trainer does
    runs = {}
    for v in variants:
        torch.manual_seed(config.train.seed)  # the trainer's seed_everything: same initial weights in every variant
        model = build_model(config.model, job["src_vocab"], job["tgt_vocab"])
        optimizer = make_optimizer(model, config.train.lr, config.train.weight_decay, torch.device("cpu"), config.train.optimizer)
        loss_fn = LOSS_FNS[v]
        if loss_fn is whole_target_loss and config.train.label_smoothing:  # a --config recipe's label smoothing
            loss_fn = lambda model, batch: whole_target_loss(model, batch, config.train.label_smoothing)  # noqa: E731
        runs[f"{job['model']} ({v})"] = {"variant": v, "model": model, "optimizer": optimizer, "loss_fn": loss_fn}
    # train_in_turns names a run by its key when a loss turns non-finite
    name = f"{job['model']} ({variant})"
    train_in_turns(runs, batches, warmup, config.train.clip_norm, amp, log=lambda message: log(f"{name}: {message}"))
    peak_rss = peak_rss_mib()
    peak_after = measure_matmul_peak(job["peak_size"], torch.float32, 3)

    per_variant = {r["variant"]: {"seconds": sum(r["seconds"]), "tokens": sum(r["tokens"]),
                                  "tokens_per_s": sum(r["tokens"]) / sum(r["seconds"]),
                                  "batch_seconds": [round(x, 4) for x in r["seconds"]],
                                  "loss_per_token": [round(x, 4) for x in r["losses"]]} for r in runs.values()}
    first = per_variant[variants[0]]
    result = {"model": job["model"], "variant": variant, "params": count_parameters(model),  # one model, all variants
              "warmup": warmup,
              "timed": timed, **{key: first[key] for key in ("seconds", "tokens", "batch_seconds", "loss_per_token")},
              "peak_rss_mib": round(peak_rss, 1), "start_rss_mib": round(start_rss, 1),
              "threads": torch.get_num_threads(), "peak_gflops_before": peak_before, "peak_gflops_after": peak_after,
              "peak_gflops": max(peak_before, peak_after)}
    if variant == "paired":
        result["per_variant"] = per_variant
    Path(job["result"]).write_text(json.dumps(result))


# ---- parent -------------------------------------------------------------------------------------------------


def launch(job: dict, work: Path) -> dict:
    """Run one job in a fresh process (run_child there); returns its result, or its model, variant and error."""
    name = f"{job['model']} ({job['variant']})"
    log(f"{name}: {job['warmup']} warm-up + {job['timed']} timed batches in a fresh process")
    started = time.perf_counter()
    result = run_fresh(__file__, job, work, f"{job['model']}-{job['variant']}", log)
    if "error" in result:
        return {"model": job["model"], "variant": job["variant"], **result}
    log(f"{name}: {result['tokens'] / result['seconds']:.0f} tokens/s ({time.perf_counter() - started:.0f} s wall)")
    return result


def verify_flops(args, config: Config, batch: Batch, archs: dict[str, Arch], vocab: dict) -> list[dict]:
    """Compare forward_flops(padded=True) with FlopCounterMode on one forward pass of each model.

    The check runs in eval mode with oneDNN off (see flop_counter). It also measures the fwd+bwd / fwd FLOP
    ratio (the formula assumes 3) and that the step loop gives the same logits.
    """
    rows = []
    for name, arch in archs.items():
        torch.manual_seed(config.train.seed)
        cfg = make_config(args, name).model
        cfg.dropout = 0.0
        model = build_model(cfg, vocab["src_vocab"], vocab["tgt_vocab"]).eval()
        with torch.no_grad(), flop_counter() as counter:
            logits = model(batch.src, batch.src_lengths, batch.tgt_in)
        forward = counter.get_total_flops()
        with flop_counter() as counter:
            whole_target_loss(model, batch).backward()
        both = counter.get_total_flops()
        expected = sum(forward_flops(arch, batch, padded=True).values())
        with torch.no_grad():
            looped = step_loop_features(model, batch.src, batch.src_lengths, batch.tgt_in, project=True)
        rows.append({"model": name, "flop_counter": forward, "formula": expected, "ratio": forward / expected,
                     "train_over_forward": both / forward,
                     "step_loop_max_abs_diff": float((looped - logits).abs().max())})
        log(f"verify {name}: FlopCounterMode {forward / 1e9:.4f} GFLOP, formula {expected / 1e9:.4f} GFLOP, "
            f"fwd+bwd/fwd {both / forward:.3f}")
    return rows


def report(info: dict, args, peak: dict, data: dict, stream: dict, results: list[dict], verify: list[dict]) -> str:
    lines = ["## Training throughput", "", describe_machine(info)]
    load = (info.get("load_average") or [0.0])[0]
    if load >= BUSY_LOAD:
        lines.append(f"- **warning: the 1-minute load average was {load} at the start: other processes were using the "
                     "cores, so these timings understate the machine**")
    lines.append(f"- fp32 matmul peak (MFU denominator): {peak['n']}x{peak['n']} @ {peak['n']}x{peak['n']}, best of "
                 f"{peak['repeats']}, measured in each row's process right before and after its batches; the higher of "
                 f"the two is that row's denominator (column 'peak'). The same matmul gave {peak['fp32_gflops_start']:.1f} "
                 f"GFLOP/s before all rows and {peak['fp32_gflops_end']:.1f} after them; the highest of all measurements "
                 f"was {peak.get('fp32_gflops_highest', peak['fp32_gflops']):.1f} GFLOP/s")
    if "bf16_gflops" in peak:
        n = peak["small_n"]
        lines.append(f"- bf16 matmul at {n}x{n}: {peak['bf16_gflops']:.2f} GFLOP/s, against fp32 "
                     f"{peak['fp32_small_gflops']:.1f} GFLOP/s at the same size "
                     f"({relative_speed(peak['bf16_gflops'], peak['fp32_small_gflops'])}) and the fp32 peak above "
                     f"({relative_speed(peak['bf16_gflops'], peak['fp32_gflops'])}); train.amp auto uses bf16 only on "
                     f"CPUs with native bf16 (AMX or AVX512-BF16)")
    lines.append(f"- data: Multi30k {args.src}->{args.tgt} train ({data['train_pairs']:,} pairs, max_len 100), "
                 f"SentencePiece BPE {args.vocab_size} per side, vocabularies: source {data['src_vocab']}, "
                 f"target {data['tgt_vocab']}")
    lines.append(f"- batches: token_batches(batch_tokens={args.batch_tokens}, seed={data['stream_seed']}), the first "
                 f"{args.warmup} untimed, then {stream['batches']} timed: {stream['sentences']:,} sentences, "
                 f"{stream['tgt_tokens']:,} target tokens; padding {100 * stream['tgt_padding']:.1f}% of target "
                 f"and {100 * stream['src_padding']:.1f}% of source positions")
    if args.config:
        train = args.config_dict["train"]
        lines.append(f"- model and step: the recipe `{args.config}` ({args.models[0]}, embedding {args.emb}, hidden "
                     f"{args.hidden}, {args.layers} layer(s), {'' if args.bidirectional else 'uni'}bidirectional encoder, "
                     f"{'tied' if args.tied else 'untied'} target embeddings, dropout {args.dropout}, label smoothing "
                     f"{train['label_smoothing']}); step as in the trainer: loss/tokens backward, clip "
                     f"{train['clip_norm']}, {'AdamW' if train.get('optimizer') == 'adamw' else 'Adam'} lr {train['lr']}"
                     f"{', weight decay %s' % train['weight_decay'] if train.get('weight_decay') else ''}, fp32; each row "
                     f"in a fresh process")
    else:
        lines.append(f"- models: embedding {args.emb}, hidden {args.hidden}, {args.layers} layer(s), bidirectional "
                     f"encoder, dropout {args.dropout}; step as in the trainer: loss/tokens backward, clip 1.0, Adam "
                     f"lr 1e-3; each row in a fresh process")
    lines.append("- tokens/s counts non-padding target tokens; MFU = model matmul FLOPs/s (3x forward, decoder over "
                 "non-padding target tokens only) / the row's fp32 peak; peak MiB = the process's peak RSS")
    rows = []
    for r in results:
        if r["variant"] == "paired":
            continue  # reported below the table
        label = r["model"] if r["variant"] == "fused" else f"{r['model']} ({VARIANT_LABELS[r['variant']]})"
        if "error" in r:
            rows.append([label, *[""] * 7, f"failed: {r['error']}"])
            continue
        note = VARIANT_NOTES[r["variant"]]
        if r["timed"] != stream["batches"]:
            note += f"; first {r['timed']} timed batches only"
        rows.append([label, f"{r['params']:,}", f"{r['tokens_per_s']:,.0f}", f"{100 * r['tgt_padding']:.1f}",
                     f"{r['achieved_gflops']:.1f}", f"{r['peak_gflops']:.1f}", f"{100 * r['mfu']:.1f}",
                     f"{r['peak_rss_mib']:,.0f}", note])
    lines += ["", *markdown_table(["model", "params", "tokens/s", "padding % (tgt)", "model GFLOP/s", "peak GFLOP/s",
                                   "MFU %", "peak MiB", "note"], "lrrrrrrrl", rows), ""]
    start = [r["start_rss_mib"] for r in results if "error" not in r]
    if start:
        held = f"{min(start):,.0f}" if round(min(start)) == round(max(start)) else f"{min(start):,.0f}-{max(start):,.0f}"
        lines.append(f"- peak MiB includes the {held} MiB each process holds before it builds the model "
                     "(Python, torch, the batches)")
    lines += target_checks(info, args, peak, stream, results)
    if verify:
        lines += ["", "FLOP formula check on the first timed batch (eval mode, oneDNN off so that nn.LSTM runs as "
                  "countable matmuls): torch.utils.flop_counter.FlopCounterMode against the formula over the positions "
                  "the kernels compute (padded target, padded source length):", ""]
        lines += markdown_table(["model", "FlopCounterMode fwd GFLOP", "formula fwd GFLOP", "ratio",
                                 "FlopCounterMode fwd+bwd / fwd", "step loop vs whole target: max abs logit diff"],
                                "lrrrrr", [[v["model"], f"{v['flop_counter'] / 1e9:.4f}", f"{v['formula'] / 1e9:.4f}",
                                            f"{v['ratio']:.4f}", f"{v['train_over_forward']:.3f}",
                                            f"{v['step_loop_max_abs_diff']:.1e}"] for v in verify])
    return "\n".join(lines)


def target_checks(info: dict, args, peak: dict, stream: dict, results: list[dict]) -> list[str]:
    """The report's lines below the table: the speed-up, MFU and padding against TARGETS, and bf16 against fp32."""
    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    first = {}  # variant -> its first successful result
    for r in results:
        if "error" not in r:
            first.setdefault(r["variant"], r)
    fused = {r["model"]: r for r in results if r["variant"] == "fused" and "error" not in r}
    loop, recurrence, paired, bf16 = (first.get(v) for v in ("steploop", "recurrence_loop", "paired", "bf16"))
    checks, separate = [], ""
    if loop is not None and loop["model"] in fused:
        separate = f"{fused[loop['model']]['tokens_per_s'] / loop['tokens_per_s']:.2f}x"
        if recurrence is not None:
            separate += f" and {fused[loop['model']]['tokens_per_s'] / recurrence['tokens_per_s']:.2f}x"
    if paired is not None:
        speed = {v: x["tokens_per_s"] for v, x in paired["per_variant"].items()}
        speedup, recurrence_only = speed["fused"] / speed["steploop"], speed["fused"] / speed["recurrence_loop"]
        checks.append(f"- whole-target decoder / step loop ({paired['model']}), timed side by side in one process "
                      f"(the three variants take turns on each batch, so the machine's drift hits them alike; "
                      f"{speed['fused']:,.0f} / {speed['steploop']:,.0f} / {speed['recurrence_loop']:,.0f} tokens/s for "
                      f"whole target / step loop / recurrence loop): **{speedup:.2f}x** "
                      f"(target >= {TARGETS['speedup']}x: {met(speedup >= TARGETS['speedup'])})")
        checks.append(f"- of which the recurrence alone (RNN + attention in one call vs per position, the same fused "
                      f"output layer and loss in both): {recurrence_only:.2f}x"
                      + (f"; from the separate rows of the table above: {separate}" if separate else ""))
    elif separate:
        speedup = fused[loop["model"]]["tokens_per_s"] / loop["tokens_per_s"]
        checks.append(f"- whole-target decoder / step loop and recurrence loop ({loop['model']}, separate processes): "
                      f"**{separate}** tokens/s (target >= {TARGETS['speedup']}x for the step loop: "
                      f"{met(speedup >= TARGETS['speedup'])})")
    mfu_model = args.models[0] if args.config else args.step_loop_model
    if mfu_model in fused:
        row = fused[mfu_model]
        checks.append(f"- {mfu_model} MFU: **{100 * row['mfu']:.1f}%** against its own "
                      f"{row['peak_gflops']:.1f} GFLOP/s (target >= {100 * TARGETS['mfu']:.0f}%: "
                      f"{met(row['mfu'] >= TARGETS['mfu'])}); {100 * row['mfu_vs_highest_peak']:.1f}% against the "
                      f"highest peak of the whole run ({peak['fp32_gflops_highest']:.1f} GFLOP/s)")
    pad = stream["tgt_padding"]
    checks.append(f"- target padding: **{100 * pad:.1f}%** of the batch stream (target < {100 * TARGETS['padding']:.0f}%: "
                  f"{met(pad < TARGETS['padding'])})")
    if bf16 is not None and bf16["model"] in fused:
        native = bool({"avx512_bf16", "amx_bf16"} & set(info["cpu_isa"]))
        speed = relative_speed(bf16["tokens_per_s"], fused[bf16["model"]]["tokens_per_s"])
        checks.append(f"- bf16 autocast on CPU ({bf16['model']}, measured on {bf16['timed']} batches): "
                      f"{bf16['tokens_per_s']:,.1f} tokens/s, {speed} than fp32 on this CPU, which "
                      f"{'has' if native else 'lacks'} AVX512-BF16/AMX bf16 instructions")
    return checks


def relative_speed(speed: float, reference: float) -> str:
    """'2.5x faster' or '35x slower': speed against reference (both rates, higher is faster)."""
    if speed >= reference:
        return f"{speed / reference:.2f}x faster"
    ratio = reference / speed
    return f"{ratio:.0f}x slower" if ratio >= 10 else f"{ratio:.2f}x slower"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Training throughput (tokens/s, padding, peak memory, MFU) of the zoo models on a fixed stream of "
                    "Multi30k token batches, plus the tutorial-style step-loop decoder and optionally bf16 autocast. "
                    "Prints a Markdown report for BENCHMARKS.md on stdout; progress on stderr.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--config", type=Path,
                        help="measure this training config (e.g. configs/multi30k/best_en_de.yaml) as it is: its model, "
                             "data (pair, tokenizer, vocabulary size), batch tokens, seed, label smoothing, clipping and "
                             "learning rate replace the flags below, and the step loop is off unless --step-loop-model "
                             "names its model")
    parser.add_argument("--models", nargs="+", choices=list(ZOO), default=list(ZOO), metavar="MODEL",
                        help=f"zoo models to measure ({' '.join(ZOO)})")
    parser.add_argument("--batches", type=int, default=30, help="timed batches per model")
    parser.add_argument("--warmup", type=int, default=3, help="untimed batches trained first")
    parser.add_argument("--batch-tokens", type=int, default=4000, help="target tokens per batch, padding included")
    parser.add_argument("--emb", type=int, default=256, help="embedding size")
    parser.add_argument("--hidden", type=int, default=512, help="hidden size (split over the two encoder directions)")
    parser.add_argument("--layers", type=int, default=1, help="RNN layers")
    parser.add_argument("--dropout", type=float, default=0.2, help="dropout, as in the model config default")
    parser.add_argument("--vocab-size", type=int, default=8000, help="SentencePiece vocabulary size per side")
    parser.add_argument("--pair", default="de-en", help="Multi30k language pair SRC-TGT")
    parser.add_argument("--data-dir", type=Path, default=REPO / "data" / "multi30k", help="where the Multi30k files live")
    parser.add_argument("--mirror", type=Path, default=(REPO / ".." / "shared" / "data" / "multi30k").resolve(),
                        help="local folder to copy the Multi30k files from (empty string: download from GitHub)")
    parser.add_argument("--step-loop-model", choices=list(ZOO), metavar="MODEL",
                        help="model also trained with the per-position decoder loop (and with --bf16)")
    parser.add_argument("--no-step-loop", action="store_true", help="skip the step-loop run")
    parser.add_argument("--bf16", action="store_true",
                        help="also train the step-loop model under torch.autocast('cpu', torch.bfloat16). On CPUs "
                             "without AVX512-BF16/AMX bf16 matmuls are ~100x slower than fp32 (minutes per 4000-token "
                             "batch), so it times only --bf16-batches batches, without warm-up")
    parser.add_argument("--bf16-batches", type=int, default=3, help="timed batches of the bf16 run")
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch default)")
    parser.add_argument("--peak-size", type=int, default=4096, help="n of the n x n fp32 matmul that measures the peak")
    parser.add_argument("--verify-flops", action="store_true",
                        help="check the FLOP formula against torch.utils.flop_counter.FlopCounterMode on one batch")
    parser.add_argument("--json", type=Path, help="also write every measurement to this JSON file")
    parser.add_argument("--seed", type=int, default=1, help="model init seed; the batch stream uses 1000 * seed + 1")
    parser.add_argument("--single", type=Path, help=argparse.SUPPRESS)  # internal: run one job in this process
    args = parser.parse_args(argv)
    args.config_dict, args.bidirectional, args.tied = None, True, False
    if args.config is not None:
        from_recipe(parser, args)
    elif args.step_loop_model is None:
        args.step_loop_model = "gru_attn"
    if args.single is None:
        src, _, tgt = args.pair.partition("-")
        if not src or not tgt:
            parser.error(f"--pair must look like de-en, got {args.pair!r}")
        args.src, args.tgt = src, tgt
        if args.batches < 1 or args.warmup < 0 or args.bf16_batches < 1:
            parser.error("--batches and --bf16-batches must be >= 1 and --warmup >= 0")
        if str(args.mirror) in ("", "."):
            args.mirror = None
    return args


def from_recipe(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """--config: the recipe's settings replace the model, data and batch flags."""
    from s2s.config import load_config
    from s2s.errors import S2SError

    try:
        recipe = load_config(args.config)
    except S2SError as error:
        parser.error(str(error))
    model, data, train = recipe.model, recipe.data, recipe.train
    name = model.resolved_name
    if data.dataset != "multi30k" or name not in ZOO or model.input_feeding:
        parser.error(f"--config {args.config}: this script measures the zoo's {', '.join(ZOO)} models on Multi30k without "
                     f"input feeding (the FLOP formula of scripts/_machine.py); this config has model {name}, "
                     f"input_feeding {model.input_feeding}, dataset {data.dataset}")
    args.config_dict = recipe.to_dict()
    args.models, args.pair = [name], f"{data.src}-{data.tgt}"
    args.emb, args.hidden, args.layers, args.dropout = model.emb_size, model.hidden_size, model.layers, model.dropout
    args.bidirectional, args.tied, args.vocab_size = model.bidirectional, model.tie_embeddings, data.vocab_size
    args.batch_tokens, args.seed = train.batch_tokens, train.seed
    if args.step_loop_model is None:
        args.no_step_loop = True
    elif args.step_loop_model != name:
        parser.error(f"--step-loop-model {args.step_loop_model}: with --config it can only be the config's model, {name}")


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.single is not None:
        run_child(args.single)
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    wall = time.perf_counter()

    config = make_config(args)
    batches, data = build_batches(config, args.warmup + args.batches)
    timed = batches[args.warmup:]
    stream = stream_stats(timed)
    log(f"{len(batches)} batches; timed: {stream['tgt_tokens']} target tokens, "
        f"padding {100 * stream['tgt_padding']:.1f}% (target), {100 * stream['src_padding']:.1f}% (source)")

    log(f"measuring the fp32 matmul peak ({args.peak_size}^3)")
    peak = {"n": args.peak_size, "repeats": 3, "fp32_gflops_start": measure_matmul_peak(args.peak_size, torch.float32, 3)}
    if args.bf16:
        peak.update(small_n=512, bf16_gflops=measure_matmul_peak(512, torch.bfloat16, 3),
                    fp32_small_gflops=measure_matmul_peak(512, torch.float32, 10))
    log(f"fp32 peak {peak['fp32_gflops_start']:.1f} GFLOP/s")

    archs = {name: Arch(name.removesuffix("_attn"), name.endswith("_attn"), args.emb, args.hidden, args.layers,
                        args.bidirectional, data["tgt_vocab"])
             for name in dict.fromkeys([*args.models, *([] if args.no_step_loop else [args.step_loop_model])])}
    verify = verify_flops(args, config, timed[0], {n: archs[n] for n in args.models}, data) if args.verify_flops else []

    jobs = [(name, "fused") for name in args.models]
    if not args.no_step_loop:
        jobs += [(args.step_loop_model, "steploop"), (args.step_loop_model, "recurrence_loop"),
                 (args.step_loop_model, "paired")]
    if args.bf16:
        jobs.append((args.step_loop_model, "bf16"))
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_throughput-") as tmp:
        work = Path(tmp)
        save_batches(batches, work / "batches.pt")
        for name, variant in jobs:
            bf16 = variant == "bf16"
            count = min(args.bf16_batches, args.batches) if bf16 else args.batches
            job = {"model": name, "variant": variant, "config": make_config(args, name).to_dict(),
                   "batch_file": str(work / "batches.pt"), "src_vocab": data["src_vocab"], "tgt_vocab": data["tgt_vocab"],
                   "skip": args.warmup if bf16 else 0, "warmup": 0 if bf16 else args.warmup, "timed": count,
                   "threads": args.threads, "peak_size": args.peak_size}
            result = launch(job, work)
            if "error" not in result:
                used = timed[:result["timed"]]
                used_stats = stream_stats(used)
                flops = train_flops(archs[name], used)
                flops_computed = train_flops(archs[name], used, padded=True)
                result.update(
                    tokens_per_s=result["tokens"] / result["seconds"], tgt_padding=used_stats["tgt_padding"],
                    src_padding=used_stats["src_padding"], train_flops=flops, train_flops_computed=flops_computed)
            results.append(result)

    # The denominator is the higher of the peaks measured before and after the runs: if other work on the
    # machine slowed one of the two measurements, the MFU is understated rather than inflated.
    peak["fp32_gflops_end"] = measure_matmul_peak(args.peak_size, torch.float32, 3)
    peak["fp32_gflops"] = max(peak["fp32_gflops_start"], peak["fp32_gflops_end"])
    log(f"fp32 peak after the runs {peak['fp32_gflops_end']:.1f} GFLOP/s")
    ok = [r for r in results if "error" not in r]
    peak["fp32_gflops_highest"] = max([peak["fp32_gflops"]] + [r["peak_gflops"] for r in ok])
    for result in ok:
        achieved = result["train_flops"] / result["seconds"] / 1e9  # GFLOP/s
        result.update(achieved_gflops=achieved, mfu=achieved / result["peak_gflops"],
                      mfu_vs_highest_peak=achieved / peak["fp32_gflops_highest"],
                      hfu=result["train_flops_computed"] / result["seconds"] / 1e9 / result["peak_gflops"])

    text = report(info, args, peak, data, stream, results, verify)
    print(text)
    log(f"done in {time.perf_counter() - wall:.0f} s")
    if args.json:
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "single"}
        write_json(args.json, {"machine": info, "settings": settings, "peak": peak, "data": data, "stream": stream,
                               "results": results, "verify_flops": verify, "markdown": text})
        log(f"wrote {args.json}")
    return 1 if any("error" in r for r in results) else 0


if __name__ == "__main__":
    run_script(main)
