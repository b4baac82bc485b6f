"""Serving under load: N concurrent clients against `s2s serve`, with and without request batching.

    python scripts/bench_serve.py --checkpoint runs/best_de_en/best.pt [--clients 64] [--requests 20] [--lines 1]
        [--beam 5] [--src FILE] [--max-batch-wait-ms 5] [--max-batch-lines 64] [--json OUT]

The script starts `s2s serve` itself on a free local port, once with request batching and once with --no-batching.
Each of --clients concurrent clients sends --requests requests of --lines sentences, one after another; every answer
is checked against the Translator's own translation of its lines, in order. It reports sentences/s, requests/s, the
p50/p99 request latency and the mean lines per decode call of each, beside the ceiling: the batched decode speed of
the same sentences in this process (Translator.translate in batches of --max-batch-lines, no HTTP). The clients run in
this process, so they share the machine with the server. Sentences: --src, else the checkpoint's test split (run from
the repository root for Multi30k's data/multi30k). Exits 1 if any answer is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, markdown_table, progress_log, write_json, run_script  # noqa: E402

from s2s.data.corpus import read_splits  # noqa: E402
from s2s.data.readers import read_lines  # noqa: E402
from s2s.decoding.translator import Translator  # noqa: E402

log = progress_log("bench_serve")


def start_server(args, batching: bool) -> tuple[subprocess.Popen, str]:
    """`s2s serve` on a free port; (the process, its URL) once it is listening."""
    command = [sys.executable, "-m", "s2s", "serve", "--checkpoint", args.checkpoint, "--port", "0", "--device",
               args.device, "--max-lines", str(max(64, args.lines)), "--max-beam", str(max(16, args.beam)),
               "--max-batch-wait-ms", str(args.max_batch_wait_ms), "--max-batch-lines", str(args.max_batch_lines)]
    command += [] if batching else ["--no-batching"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}
    errors = tempfile.TemporaryFile("w+")  # the server's stderr, shown if it fails to start
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True, env=env)
    for line in server.stdout:
        if line.startswith("serving on "):
            return server, line.split()[2].rstrip("/")
    errors.seek(0)
    raise SystemExit(f"s2s serve exited ({server.wait()}) before it served: {errors.read()}command: {' '.join(command)}")


def stop_server(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGINT)
    server.wait(timeout=60)


async def run_clients(url: str, args, sentences: list[str], reference: list[str]) -> dict:
    """Every client sends its requests one after another; (latencies, wrong answers, seconds) of the whole run."""
    async with httpx.AsyncClient(base_url=url, timeout=600, limits=httpx.Limits(max_connections=args.clients)) as http:
        async def client(number: int) -> tuple[list[float], list[str]]:
            latencies, wrong = [], []
            for request in range(args.requests):
                first = (number * args.requests + request) * args.lines
                indices = [(first + k) % len(sentences) for k in range(args.lines)]
                started = time.perf_counter()
                response = await http.post("/translate", json={"text": [sentences[i] for i in indices], "beam": args.beam})
                latencies.append(time.perf_counter() - started)
                texts = [t["text"] for t in response.json()["translations"]] if response.status_code == 200 else None
                if texts != [reference[i] for i in indices]:
                    wrong.append(f"client {number} request {request}: {response.status_code} {response.text[:200]}")
            return latencies, wrong

        await http.post("/translate", json={"text": sentences[:1], "beam": args.beam})  # warm-up
        before = (await http.get("/health")).json()
        started = time.perf_counter()
        results = await asyncio.gather(*(client(number) for number in range(args.clients)))
        seconds = time.perf_counter() - started
        after = (await http.get("/health")).json()
    latencies = sorted(latency for client_latencies, _ in results for latency in client_latencies)
    calls = after["decode_calls"] - before["decode_calls"]
    return {"seconds": round(seconds, 2), "requests": len(latencies), "sentences": len(latencies) * args.lines,
            "sentences_per_s": round(len(latencies) * args.lines / seconds, 1),
            "requests_per_s": round(len(latencies) / seconds, 1),
            "p50_ms": round(1000 * statistics.median(latencies), 1),
            "p99_ms": round(1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 1),
            "decode_calls": calls, "lines_per_decode_call": round((after["lines"] - before["lines"]) / max(calls, 1), 1),
            "wrong": [message for _, wrong in results for message in wrong]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--checkpoint", required=True, help="a checkpoint or run folder")
    parser.add_argument("--src", help="source sentences, one per line (default: the checkpoint's test split)")
    parser.add_argument("--clients", type=int, default=64, help="concurrent clients")
    parser.add_argument("--requests", type=int, default=20, help="requests per client, sent one after another")
    parser.add_argument("--lines", type=int, default=1, help="sentences per request")
    parser.add_argument("--beam", type=int, default=5, help="beam size of every request (1: greedy)")
    parser.add_argument("--device", default="cpu", help="the server's --device")
    parser.add_argument("--max-batch-wait-ms", type=float, default=5.0, help="the server's --max-batch-wait-ms")
    parser.add_argument("--max-batch-lines", type=int, default=64, help="the server's --max-batch-lines and the "
                        "ceiling's batch size")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    info = machine_info()
    translator = Translator.from_checkpoint(args.checkpoint, device=args.device)
    if args.src:
        sentences = read_lines(args.src)
    else:
        (sentences, _), = read_splits(translator.checkpoint["config"].data, ("test",)).values()
    sentences = [line for line in sentences if line.strip()][: args.clients * args.requests * args.lines]
    translator.translate(sentences[:16], beam=args.beam)  # warm-up
    started = time.perf_counter()
    reference = translator.translate(sentences, beam=args.beam, batch_size=args.max_batch_lines)
    ceiling = len(sentences) / (time.perf_counter() - started)
    log(f"ceiling: {len(sentences)} sentences decoded in batches of {args.max_batch_lines}: {ceiling:.1f} sentences/s")
    del translator

    rows = {}
    for batching in (True, False):
        server, url = start_server(args, batching)
        try:
            rows["batching" if batching else "no batching"] = row = asyncio.run(run_clients(url, args, sentences, reference))
        finally:
            stop_server(server)
        log({key: value for key, value in row.items() if key != "wrong"} | {"wrong": len(row["wrong"])})

    print(describe_machine(info))
    print(f"- checkpoint `{args.checkpoint}`; {args.clients} clients x {args.requests} requests x {args.lines} "
          f"sentence(s), beam {args.beam}, {len(sentences)} distinct sentences; server on {args.device}, batching up to "
          f"{args.max_batch_lines} lines with a {args.max_batch_wait_ms:g} ms wait\n")
    print("\n".join(markdown_table(
        ["server", "sentences/s", "requests/s", "p50 ms", "p99 ms", "lines per decode call", "wrong answers"], "lrrrrrr",
        [[name, row["sentences_per_s"], row["requests_per_s"], row["p50_ms"], row["p99_ms"], row["lines_per_decode_call"],
          len(row["wrong"])] for name, row in rows.items()]
        + [[f"ceiling: batched decode in-process (batch {args.max_batch_lines})", round(ceiling, 1), "", "", "", "", ""]])))
    wrong = [message for row in rows.values() for message in row["wrong"]]
    if args.json:
        write_json(args.json, {"machine": info, "args": vars(args), "ceiling_sentences_per_s": round(ceiling, 1),
                               "rows": rows})
    if wrong:
        print(f"\n{len(wrong)} wrong answers, e.g.:\n" + "\n".join(wrong[:5]))
        raise SystemExit(1)


if __name__ == "__main__":
    run_script(main)
