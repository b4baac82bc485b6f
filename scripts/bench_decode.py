"""Decoding speed on Multi30k test2016: sentences/s, MFU and peak memory for greedy and beam search at several batch sizes.

    python scripts/bench_decode.py --checkpoint runs/best_de_en/best.pt [--batch-sizes 1 16 64 128]
        [--precisions fp32 int8 int8-linear bf16] [--json OUT]
    python scripts/bench_decode.py --checkpoint multi30k-de-en --engines torch onnx --precisions fp32 int8 \
        --batch-sizes 1 64 --batch1-limit 1000

MFU = the model's matmul FLOPs actually computed while decoding (counted at every decode_step call from the rows
still in the batch: decoder RNN, attention, output layer; plus the encoder over real source tokens) per second,
over the machine's fp32 matmul peak measured here (fp32 rows only). With several --precisions each decodes the same
sentences (s2s translate --precision: int8 dynamic quantization of the linear and GRU/LSTM layers, int8-linear of the
linear layers only, bf16 autocast where native) and the table gives its speed and BLEU against fp32's. Prints a Markdown block for BENCHMARKS.md.

--engines torch onnx compares instead the torch Translator with the torch-free ONNX runtime (s2s.runtime over an
`s2s export` of the checkpoint), each in --precisions fp32 and int8 (torch: quantized linear and GRU/LSTM layers;
onnx: onnxruntime's dynamic quantization): sentences/s at every --batch-sizes (batch 1 also gives the latency, p50
and p90 ms per sentence) for each --beams, BLEU beside each, every row in a fresh process.

--align-ab ROUNDS measures instead what padding the output layer's rows buys (Decoder.project, padded to a multiple
of ALIGN_ROWS or the plain layer): fp32, --batch-sizes[0], each beam, the two taking turns on the same sentences
ROUNDS times; best times and the speed-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import (  # noqa: E402
    run_script, REPO, describe_machine, machine_info, markdown_table, measure_matmul_peak, peak_rss_mib, progress_log, rnn_gates,
    rnn_layer_flops, run_fresh, write_json,
)

from s2s.checkpoint import load_checkpoint  # noqa: E402
from s2s.data.readers import read_lines  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402
from s2s.device import resolve_device  # noqa: E402
import s2s.models.decoder as decoder_module  # noqa: E402
from s2s.evaluation.metrics import corpus_scores  # noqa: E402

log = progress_log("bench_decode")


class FlopCounter:
    """Wraps model.decode_step and model.encode to add up the matmul FLOPs of the work done."""

    def __init__(self, model):
        self.model, self.flops = model, 0
        enc, dec = model.encoder.rnn, model.decoder.rnn
        directions = 2 if enc.bidirectional else 1
        self.enc_per_token = directions * rnn_layer_flops(rnn_gates(enc), enc.input_size, enc.hidden_size)
        hidden, vocab = dec.hidden_size, model.decoder.vocab_size
        self.dec_per_row = rnn_layer_flops(rnn_gates(dec), dec.input_size, hidden) + 2 * hidden * vocab
        self.attn_per_row_per_src = 4 * hidden if model.decoder.attention is not None else 0
        self.combine_per_row = 4 * hidden * hidden if model.decoder.attention is not None else 0
        self._encode, self._step = model.encode, model.decode_step
        model.encode, model.decode_step = self.encode, self.decode_step

    def encode(self, src, src_lengths):
        self.flops += self.enc_per_token * int(src_lengths.sum())
        return self._encode(src, src_lengths)

    def decode_step(self, prev, state, enc_states, src_mask):
        rows = prev.size(0)
        self.flops += rows * (self.dec_per_row + self.combine_per_row + self.attn_per_row_per_src * enc_states.size(1))
        return self._step(prev, state, enc_states, src_mask)


def align_ab(args, info: dict, sources: list[str]) -> None:
    """Sentences/s with the output layer padded to ALIGN_ROWS rows and without, taking turns."""
    translator = Translator.from_checkpoint(args.checkpoint, device=args.device)
    decoders = [m for m in translator.model.modules() if isinstance(m, decoder_module.Decoder)]
    batch_size, rows = args.batch_sizes[0], []
    for beam in args.beams:
        times = {"padded": [], "plain": []}
        for _ in range(args.align_ab):
            for variant in times:
                for decoder in decoders:  # plain: W_o's real rows only, so each row of logits starts unaligned
                    if variant == "plain":
                        decoder.project = lambda hidden, d=decoder: F.linear(hidden, *d.output_weights())
                    else:
                        decoder.__dict__.pop("project", None)
                started = time.perf_counter()
                translator.translate(sources, beam=beam, nbest=1, batch_size=batch_size)
                times[variant].append(time.perf_counter() - started)
        row = {"beam": beam, "batch_size": batch_size, "sentences": len(sources),
               "plain_sentences_per_s": round(len(sources) / min(times["plain"]), 1),
               "padded_sentences_per_s": round(len(sources) / min(times["padded"]), 1), "times": times}
        rows.append(row)
        log(row)
    print(describe_machine(info))
    print(f"- checkpoint `{args.checkpoint}`, fp32; output layer rows padded to a multiple of {decoder_module.ALIGN_ROWS} "
          f"(now) or not (before), taking turns {args.align_ab} times; best of each\n")
    print("\n".join(markdown_table(["decoding", "batch", "plain sentences/s", "padded sentences/s", "speed-up"], "lrrrr",
                                   [["greedy" if r["beam"] == 1 else f"beam {r['beam']}", r["batch_size"],
                                     r["plain_sentences_per_s"], r["padded_sentences_per_s"],
                                     f"{r['padded_sentences_per_s'] / r['plain_sentences_per_s']:.2f}"] for r in rows])))
    if args.json:
        write_json(args.json, {"machine": info, "align_ab": rows})


def make_translator(engine: str, path: str, precision: str, threads: int):
    """The torch Translator of a checkpoint, or the onnx runtime's translator of an export folder."""
    if engine == "torch":
        return Translator.from_checkpoint(path, device="cpu", precision=precision)
    from s2s.runtime import OnnxTranslator

    return OnnxTranslator.from_export(path, precision=precision, threads=threads)


def engine_row(job: dict) -> dict:
    """One row of --engines, in this (fresh) process: warm up, then time the job's sentences."""
    torch.set_num_threads(job["threads"])
    translator = make_translator(job["engine"], job["path"], job["precision"], job["threads"])
    lines, references = job["sources"], job["references"]
    beam, batch_size = job["beam"], job["batch_size"]
    translator.translate(lines[:32], beam=beam, nbest=1, batch_size=min(batch_size, 32))  # warm-up
    row = {key: job[key] for key in ("engine", "precision", "beam", "batch_size")}
    if batch_size == 1:  # one call per sentence, as a service answering one request at a time does
        hypotheses, times = [], []
        for line in lines:
            started = time.perf_counter()
            hypotheses += translator.translate([line], beam=beam, nbest=1, batch_size=1)
            times.append(time.perf_counter() - started)
        seconds = sum(times)
        cuts = statistics.quantiles([1000 * t for t in times], n=10)
        row.update(p50_ms=round(statistics.median(times) * 1000, 2), p90_ms=round(cuts[8], 2))
    else:
        started = time.perf_counter()
        hypotheses = translator.translate(lines, beam=beam, nbest=1, batch_size=batch_size)
        seconds = time.perf_counter() - started
    row.update(sentences=len(lines), seconds=round(seconds, 2), sentences_per_s=round(len(lines) / seconds, 1),
               bleu=corpus_scores(hypotheses, references)["bleu"] if len(lines) == len(references) else None,
               peak_rss_mib=round(peak_rss_mib()), hypotheses=hypotheses)
    return row


def compare_engines(args, info: dict, sources: list[str], references: list[str]) -> None:
    """--engines: every (engine, precision, beam, batch size) row in a fresh process; a Markdown table."""
    from s2s.export.onnx import export_onnx

    work = Path(tempfile.mkdtemp(prefix="bench_engines."))
    paths = {"torch": args.checkpoint}
    if "onnx" in args.engines:
        paths["onnx"] = args.export or str(export_onnx(args.checkpoint, work / "onnx"))
    threads = torch.get_num_threads()
    rows = []
    for engine in args.engines:
        for precision in args.precisions:
            for beam in args.beams:
                for batch_size in args.batch_sizes:
                    limit = args.batch1_limit if batch_size == 1 else len(sources)
                    job = {"engine": engine, "path": paths[engine], "precision": precision, "beam": beam,
                           "batch_size": batch_size, "threads": threads, "sources": sources[:limit],
                           "references": references[:limit] if limit == len(references) else []}
                    tag = f"{engine}-{precision}-b{beam}-n{batch_size}"
                    row = run_fresh(__file__, job, work, tag, log)
                    if "error" not in row:
                        log({k: v for k, v in row.items() if k != "hypotheses"})
                        rows.append(row)
    base = {(r["beam"], r["batch_size"]): r for r in rows if r["engine"] == "torch" and r["precision"] == "fp32"}
    for row in rows:  # how many output lines differ from torch fp32's (the same sentences, the same options)
        reference = base.get((row["beam"], row["batch_size"]))
        row["lines_differing"] = None if reference is None else sum(a != b for a, b in zip(row["hypotheses"], reference["hypotheses"]))

    print(describe_machine(info))
    print(f"- checkpoint `{args.checkpoint}`; {threads} thread(s) for torch and for onnxruntime (intra-op); onnx "
          f"engine: onnxruntime over `s2s export`; each row a fresh process after a warm-up of 32 sentences; batch 1 "
          f"rows translate the first {args.batch1_limit} sentences one call each (latency = time per call)\n")

    def versus(row, key, form):
        reference = base.get((row["beam"], row["batch_size"]))
        return "–" if reference is None or row is reference or row.get(key) is None else form(row[key], reference[key])

    print("\n".join(markdown_table(
        ["engine", "precision", "decoding", "batch", "sentences/s", "× torch fp32", "p50 ms", "p90 ms", "BLEU",
         "BLEU − torch fp32", "lines ≠ torch fp32", "peak RSS MiB"], "llrrrrrrrrrr",
        [[row["engine"], row["precision"], "greedy" if row["beam"] == 1 else f"beam {row['beam']}", row["batch_size"],
          row["sentences_per_s"], versus(row, "sentences_per_s", lambda a, b: f"{a / b:.2f}"), row.get("p50_ms", "–"),
          row.get("p90_ms", "–"), "–" if row["bleu"] is None else row["bleu"],
          versus(row, "bleu", lambda a, b: f"{a - b:+.2f}"),
          "–" if row["lines_differing"] is None or row is base.get((row["beam"], row["batch_size"])) else row["lines_differing"],
          row["peak_rss_mib"]] for row in rows])))
    if args.json:
        write_json(args.json, {"machine": info, "engines": [{k: v for k, v in r.items() if k != "hypotheses"} for r in rows]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", help="a trained Multi30k checkpoint (e.g. runs/best_de_en/best.pt or multi30k-de-en)")
    parser.add_argument("--src", help="source sentences (default: the checkpoint's test2016 source file in data/multi30k)")
    parser.add_argument("--ref", help="references, to report BLEU alongside speed (default: the matching test2016 file)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 16, 64, 128], help="sentences per batch")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="beam sizes (1 = greedy)")
    parser.add_argument("--batch1-limit", type=int, default=200, help="at batch size 1, decode only the first N sentences")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "int8", "int8-linear", "bf16"],
                        help="inference precisions to compare (the first is the reference of the speed-up column)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda or auto: where the model decodes and the "
                        "fp32 matmul peak is measured")
    parser.add_argument("--align-ab", type=int, metavar="ROUNDS", help="only A/B the padded output layer against the plain one")
    parser.add_argument("--engines", nargs="+", choices=["torch", "onnx"], help="compare the torch and onnx engines "
                        "(with --precisions fp32 int8), each row in a fresh process")
    parser.add_argument("--export", help="with --engines: an existing s2s export of --checkpoint (default: export it "
                        "to a temporary folder)")
    parser.add_argument("--single", metavar="JOB.json", help=argparse.SUPPRESS)  # one --engines row (run_fresh)
    args = parser.parse_args()
    if args.single:
        job = json.loads(Path(args.single).read_text())
        write_json(job["result"], engine_row(job))
        return None
    if not args.checkpoint:
        parser.error("--checkpoint is required")

    info = machine_info()
    args.device = str(resolve_device(args.device))  # a clear error where CUDA is asked for and missing
    config = load_checkpoint(args.checkpoint)["config"]["data"]
    data_dir = REPO / config["data_dir"]
    sources = read_lines(args.src or data_dir / f"test_2016_flickr.{config['src']}.gz")
    references = read_lines(args.ref or data_dir / f"test_2016_flickr.{config['tgt']}.gz")
    if args.align_ab:
        return align_ab(args, info, sources)
    if args.engines:
        return compare_engines(args, info, sources, references)
    peak = measure_matmul_peak(device=args.device)
    rows = []
    for precision in args.precisions:
        translator = Translator.from_checkpoint(args.checkpoint, device=args.device, precision=precision)
        counter = FlopCounter(translator.model)
        translator.translate(sources[:64], beam=5)  # warm-up
        for beam in args.beams:
            for batch_size in args.batch_sizes:
                lines = sources[: args.batch1_limit] if batch_size == 1 else sources
                counter.flops = 0
                started = time.perf_counter()
                hypotheses = translator.translate(lines, beam=beam, nbest=1, batch_size=batch_size)
                seconds = time.perf_counter() - started
                row = {"precision": precision, "beam": beam, "batch_size": batch_size, "sentences": len(lines),
                       "seconds": round(seconds, 2), "sentences_per_s": round(len(lines) / seconds, 1),
                       "gflop": round(counter.flops / 1e9, 1), "peak_rss_mib": round(peak_rss_mib())}
                if precision == "fp32":
                    row["mfu"] = round(100 * counter.flops / seconds / 1e9 / peak, 1)
                if len(lines) == len(references):
                    row["bleu"] = corpus_scores(hypotheses, references)["bleu"]
                rows.append(row)
                log(row)
    reference = {(r["beam"], r["batch_size"]): r for r in rows if r["precision"] == args.precisions[0]}

    print(describe_machine(info))
    print(f"- device {args.device}; fp32 matmul peak (MFU denominator): {peak:.1f} GFLOP/s; checkpoint `{args.checkpoint}`; "
          f"batch size 1 rows decode the first {args.batch1_limit} sentences only\n")
    def versus(row, key, form):
        base = reference[row["beam"], row["batch_size"]]
        return "–" if key not in row or row is base else form(row[key], base[key])

    print("\n".join(markdown_table(
        ["precision", "decoding", "batch", "sentences/s", f"× {args.precisions[0]}", "MFU %", "BLEU",
         f"BLEU − {args.precisions[0]}", "peak RSS MiB (cumulative)"], "llrrrrrrr",
        [[row["precision"], "greedy" if row["beam"] == 1 else f"beam {row['beam']}", row["batch_size"],
          row["sentences_per_s"], versus(row, "sentences_per_s", lambda a, b: f"{a / b:.2f}"), row.get("mfu", "–"),
          row.get("bleu", "–"), versus(row, "bleu", lambda a, b: f"{a - b:+.2f}"), row["peak_rss_mib"]]
         for row in rows])))
    for beam in args.beams:
        speeds = {r["batch_size"]: r["sentences_per_s"] for r in rows if r["beam"] == beam and r["precision"] == "fp32"}
        if 1 in speeds and len(speeds) > 1:
            best = max(b for b in speeds if b != 1)
            print(f"\n- {'greedy' if beam == 1 else f'beam {beam}'}: batch {best} is "
                  f"{speeds[best] / speeds[1]:.1f}x the speed of one sentence at a time")
    if args.json:
        write_json(args.json, {"machine": info, "peak_gflops": peak, "rows": rows})


if __name__ == "__main__":
    run_script(main)
