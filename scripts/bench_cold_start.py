"""Cold start: each command in fresh processes, wall time to its answer and peak memory (issue 41's targets).

    python scripts/bench_cold_start.py [--checkpoint multi30k-de-en de-en] [--repeats 5] [--python PYTHON]
        [--sentence TEXT] [--json OUT.json] [--markdown OUT.md] [--cases translate-onnx translate-torch pretrained serve-onnx]

Cases, each run --repeats times in a new process (run from the repository root; the checkout's src/ is imported):
  translate-onnx   echo SENTENCE | s2s translate --engine onnx --checkpoint NAME   (to the process's exit)
  translate-torch  echo SENTENCE | s2s translate --checkpoint NAME
  pretrained       s2s pretrained
  serve-onnx       s2s serve --engine onnx --checkpoint NAME --port 0, until GET /health answers
It reports the median wall time and the median peak resident memory (the process's VmHWM / ru_maxrss) of each
case beside its target. --python runs the commands with another interpreter, e.g. the runtime install's
(.venv-runtime/bin/python, where torch is not installed: the torch case then fails with its one-line error and is
reported as such). The file cache is warm after the first repeat; to measure a cold disk too, drop the caches
between runs (not done here). Exits 1 if a command fails.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import REPO, describe_machine, machine_info, markdown_table, progress_log, run_script, write_json  # noqa: E402

log = progress_log("bench_cold_start")
TARGETS = {"translate-onnx": (1.0, 200), "translate-torch": (2.0, None), "pretrained": (0.3, None),
           "serve-onnx": (2.0, None)}  # (seconds, MB) from issue 41, on the 2-core development machine
SENTENCES = {"de": "Ein Hund läuft im Schnee.", "en": "A dog runs in the snow."}


def environment() -> dict:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))}


def run_once(command: list[str], stdin: str) -> tuple[float, float, int, str]:
    """(wall seconds, peak RSS MB, exit status, stderr's last line) of one command run to its exit, fed `stdin`. A
    small helper process starts it and waits for it with os.wait4, so that the peak RSS is the command's own and the
    helper's start is not in the wall time."""
    helper = ("import os, subprocess, sys, time, json\n"
              "start = time.perf_counter()\n"
              "p = subprocess.Popen(sys.argv[1:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
              "p.stdin.write(sys.stdin.buffer.read()); p.stdin.close()\n"
              "errors = p.stderr.read()\n"
              "_, status, usage = os.wait4(p.pid, 0)\n"
              "wall = time.perf_counter() - start\n"
              "lines = errors.decode(errors='replace').strip().splitlines()\n"
              "print(json.dumps([wall, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), lines[-1] if lines else '']))\n")
    done = subprocess.run([sys.executable, "-c", helper, *command], input=stdin.encode(), capture_output=True,
                          env=environment(), cwd=REPO)
    wall, peak, status, last = json.loads(done.stdout)
    return wall, peak, status, last


def serve_once(python: str, name: str) -> tuple[float, float, int, str]:
    """(seconds until GET /health answers, the server's peak RSS MB then, 0, '') of s2s serve --engine onnx."""
    start = time.perf_counter()
    server = subprocess.Popen([python, "-m", "s2s", "serve", "--engine", "onnx", "--checkpoint", name, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment(), cwd=REPO)
    try:
        url = None
        for line in server.stdout:
            if line.startswith("serving on "):
                url = line.split()[2].rstrip("/")
                break
        if url is None:
            return time.perf_counter() - start, float("nan"), server.wait(), server.stderr.read().strip()[-300:]
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                time.sleep(0.01)
        wall = time.perf_counter() - start
        status = Path(f"/proc/{server.pid}/status").read_text()
        peak = next(int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM:"))
        return wall, peak, 0, ""
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", nargs="+", default=["multi30k-de-en", "de-en"], metavar="NAME",
                        help="pretrained models (names or folders) or, for the onnx cases, export folders")
    parser.add_argument("--cases", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--repeats", type=int, default=5, help="fresh processes per case (the median is reported)")
    parser.add_argument("--python", default=sys.executable, help="the interpreter that runs s2s (default: this one)")
    parser.add_argument("--sentence", help="the sentence to translate (default: a German or English one by the name)")
    parser.add_argument("--json", metavar="OUT", help="write every run's numbers as JSON")
    parser.add_argument("--markdown", metavar="OUT", help="write the report as Markdown too")
    args = parser.parse_args()
    info = machine_info()
    rows, runs = [], {}
    for case in args.cases:
        for name in ([None] if case == "pretrained" else args.checkpoint):
            source = "en" if str(name).endswith("en-de") else "de"
            sentence = (args.sentence or SENTENCES[source]) + "\n"
            engine = ["--engine", "onnx"] if case == "translate-onnx" else []
            command = [args.python, "-m", "s2s", "pretrained"] if case == "pretrained" else \
                [args.python, "-m", "s2s", "translate", *engine, "--checkpoint", name]
            label = case if name is None else f"{case} {name}"
            results = []
            for repeat in range(args.repeats):
                results.append(serve_once(args.python, name) if case == "serve-onnx" else run_once(command, sentence))
                log(f"{label} run {repeat + 1}: {results[-1][0]:.3f} s, {results[-1][1]:.0f} MB, status {results[-1][2]}")
            failed = [last for _, _, status, last in results if status != 0]
            wall = statistics.median(r[0] for r in results)
            peak = statistics.median(r[1] for r in results)
            seconds, megabytes = TARGETS[case]
            met = "failed: " + failed[0] if failed else \
                "yes" if wall <= seconds and (megabytes is None or peak <= megabytes) else "no"
            shown = f"s2s serve --engine onnx --checkpoint {name} --port 0 (until /health answers)" \
                if case == "serve-onnx" else " ".join(["s2s", *command[3:]]) if case == "pretrained" else \
                f"echo {sentence.strip()!r} | {' '.join(['s2s', *command[3:]])}"
            rows.append([label, f"`{shown}`", f"{wall:.3f}", f"{peak:.0f}",
                         f"{seconds} s" + (f", {megabytes} MB" if megabytes else ""), met])
            runs[label] = {"command": shown, "wall_s": [round(r[0], 4) for r in results],
                           "peak_rss_mb": [round(r[1], 1) for r in results], "failed": failed,
                           "median_wall_s": round(wall, 4), "median_peak_rss_mb": round(peak, 1)}
    lines = [describe_machine(info), f"- interpreter: `{args.python}`; {args.repeats} fresh processes per case; "
             f"medians\n", *markdown_table(["case", "command", "wall s", "peak RSS MB", "target", "met"], "llrrll", rows)]
    report = "\n".join(lines)
    print(report)
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(report + "\n")
    if args.json:
        write_json(args.json, {"machine": info, "args": vars(args), "runs": runs})
    return 1 if any(run["failed"] for run in runs.values()) else 0


if __name__ == "__main__":
    run_script(main)
