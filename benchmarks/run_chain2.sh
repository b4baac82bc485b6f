#!/usr/bin/env bash
# Second chain of this session, after run_chain.sh: training throughput with the unpacked CPU encoder (alone on
# the machine), then the de->en and en->de 60-minute recipes with 2 threads, one after the other.
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
while pgrep -f "bench_multi30k.py --config configs/multi30k/lstm" > /dev/null; do sleep 5; done
python scripts/bench_throughput.py --verify-flops --bf16 --bf16-batches 1 --json benchmarks/throughput.json > benchmarks/throughput.md 2> benchmarks/throughput.log
for pair in de_en en_de; do
  python scripts/bench_multi30k.py --config configs/multi30k/best_$pair.yaml \
    --json benchmarks/multi30k_best_$pair.json > benchmarks/multi30k_best_$pair.md 2> benchmarks/multi30k_best_$pair.log
done
