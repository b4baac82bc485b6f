#!/usr/bin/env bash
# Fifth session (issue 15): the fixed-compute recipes with source-side BPE-dropout and kept checkpoints, each
# followed by the decoding choice on validation (scripts/select_decoding.py), one job at a time with 2 threads.
# The de->en training was started by hand first (same command as below); this waits for it.
set -x
cd "$(dirname "$0")/.."
. .venv/bin/activate
while pgrep -f "bench_multi30k.py --config configs/multi30k/best_de_en.yaml" > /dev/null; do sleep 10; done
python scripts/select_decoding.py --run runs/best_de_en --json benchmarks/select_best_de_en.json \
  > benchmarks/select_best_de_en.md 2> benchmarks/select_best_de_en.log
python scripts/bench_multi30k.py --config configs/multi30k/best_en_de.yaml \
  --json benchmarks/multi30k_best_en_de.json > benchmarks/multi30k_best_en_de.md 2> benchmarks/best_en_de.log
python scripts/select_decoding.py --run runs/best_en_de --json benchmarks/select_best_en_de.json \
  > benchmarks/select_best_en_de.md 2> benchmarks/select_best_en_de.log
