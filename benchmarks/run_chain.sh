#!/usr/bin/env bash
# The benchmark runs of this session, one after another on an otherwise idle machine.
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
python scripts/bench_throughput.py --verify-flops --bf16 --bf16-batches 1 --json benchmarks/throughput.json > benchmarks/throughput.md 2> benchmarks/throughput.log
python scripts/bench_quickstart.py --json benchmarks/quickstart.json > benchmarks/quickstart.md 2> benchmarks/quickstart.log
python scripts/bench_multi30k.py --config configs/multi30k/best_de_en.yaml --json benchmarks/multi30k_best_de_en.json > benchmarks/multi30k_best_de_en.md 2> benchmarks/multi30k_best_de_en.log
