#!/usr/bin/env bash
# The benchmark runs of this session, in order, each alone on the machine unless paired on purpose.
# 1. The two LSTM zoo rows, two at a time with one torch thread each (the same conditions as the other zoo rows).
# 2. (run_chain2.sh) training throughput, then the two 60-minute recipes with 2 threads.
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
for model in lstm lstm_attn; do
  python scripts/bench_multi30k.py --config configs/multi30k/$model.yaml --set train.threads=1 \
    --json benchmarks/multi30k_zoo_$model.json > benchmarks/multi30k_zoo_$model.md 2> benchmarks/multi30k_zoo_$model.log &
done
wait
