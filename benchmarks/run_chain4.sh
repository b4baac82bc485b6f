#!/usr/bin/env bash
# Fifth session (issue 15): the fixed-compute recipes with source-side BPE-dropout and kept checkpoints, each
# followed by the decoding choice on validation (scripts/select_decoding.py), one job at a time with 2 threads.
# The de->en training was started by hand first (python $SNAP/scripts/bench_multi30k.py --config
# configs/multi30k/best_de_en.yaml --json benchmarks/multi30k_best_de_en.json, commit 86669d1); this waits for it.
# The code runs from a frozen worktree of one commit (SNAP, a `git worktree` of it), so edits in this checkout
# during the chain do not change what runs; run folders and outputs stay in this checkout.
set -x
cd "$(dirname "$0")/.."
. .venv/bin/activate
SNAP=${SNAP:-/tmp/snap}
export PYTHONPATH=$SNAP/src
while pgrep -f "bench_multi30k.py --config configs/multi30k/best_de_en.yaml" > /dev/null; do sleep 10; done
python $SNAP/scripts/select_decoding.py --run runs/best_de_en --json benchmarks/select_best_de_en.json \
  > benchmarks/select_best_de_en.md 2> benchmarks/select_best_de_en.log
python $SNAP/scripts/bench_multi30k.py --config configs/multi30k/best_en_de.yaml \
  --json benchmarks/multi30k_best_en_de.json > benchmarks/multi30k_best_en_de.md 2> benchmarks/best_en_de.log
python $SNAP/scripts/select_decoding.py --run runs/best_en_de --json benchmarks/select_best_en_de.json \
  > benchmarks/select_best_en_de.md 2> benchmarks/select_best_en_de.log
