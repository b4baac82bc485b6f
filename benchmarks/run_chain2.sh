#!/usr/bin/env bash
# Second chain of this session, after run_chain.sh (the LSTM zoo rows): training throughput with the unpacked
# CPU encoder (alone on the machine, 16:05-16:14), then the de->en and en->de 60-minute recipes with 2 threads,
# one after the other. The first de->en attempt (16:13) was stopped at 16:35: a 2-thread test run had competed
# with it for 15 minutes; it was restarted with the fused loss. Anything else run meanwhile ran under nice -n 19.
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
for pair in de_en en_de; do
  python scripts/bench_multi30k.py --config configs/multi30k/best_$pair.yaml \
    --json benchmarks/multi30k_best_$pair.json > benchmarks/multi30k_best_$pair.md 2> benchmarks/multi30k_best_$pair.log
done
