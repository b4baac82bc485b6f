#!/usr/bin/env bash
# Fifth session (issue 15), third part. Both BPE-dropout runs of the de->en recipe (plateau: run_chain4.sh, cosine:
# run_chain5.sh) scored below the recipe without it, so the shipped recipe is the earlier one in fixed compute
# (20 epochs instead of 55 minutes) with kept checkpoints; this measures it and chooses its decoding on validation.
# The cosine run's folder and outputs get the suffix _cosine (its decoding choice was skipped for time).
# Code from the frozen worktree SNAP (see run_chain4.sh); 2 threads, one job at a time.
set -x
cd "$(dirname "$0")/.."
. .venv/bin/activate
SNAP=${SNAP:-/tmp/snap2}
export PYTHONPATH=$SNAP/src
while pgrep -f "bench_multi30k.py --config configs/multi30k/best_de_en.yaml" > /dev/null; do sleep 5; done
mv runs/best_de_en runs/best_de_en_cosine
for f in multi30k_best_de_en.json multi30k_best_de_en.md best_de_en.log; do
  mv benchmarks/$f benchmarks/${f/best_de_en/best_de_en_cosine}
done
python $SNAP/scripts/bench_multi30k.py --config configs/multi30k/best_de_en.yaml \
  --json benchmarks/multi30k_best_de_en.json > benchmarks/multi30k_best_de_en.md 2> benchmarks/best_de_en.log
python $SNAP/scripts/select_decoding.py --run runs/best_de_en --json benchmarks/select_best_de_en.json \
  > benchmarks/select_best_de_en.md 2> benchmarks/select_best_de_en.log
