#!/usr/bin/env bash
# The benchmark runs of this session, in order. Timing-sensitive runs (throughput, quickstart) ran alone;
# then the 60-minute de->en recipe with 2 threads; then decoding speed on its checkpoint; 1 vs 2 DDP processes; then the
# 15-minute zoo runs, two at a time with one torch thread each (the same conditions for every zoo row).
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
while pgrep -f "best_de_en.yaml" > /dev/null; do sleep 5; done   # started by the previous version of this script
python scripts/bench_decode.py --checkpoint runs/best_de_en/best.pt --json benchmarks/decode.json > benchmarks/decode.md 2> benchmarks/decode.log
python scripts/bench_ddp.py --json benchmarks/ddp.json > benchmarks/ddp.md 2> benchmarks/ddp.log
for pair in "gru gru_attn" "rnn rnn_attn"; do
  for model in $pair; do
    python scripts/bench_multi30k.py --config configs/multi30k/$model.yaml --set train.threads=1 \
      --json benchmarks/multi30k_zoo_$model.json > benchmarks/multi30k_zoo_$model.md 2> benchmarks/multi30k_zoo_$model.log &
  done
  wait
done
