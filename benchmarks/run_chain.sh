#!/usr/bin/env bash
# The benchmark runs of this session, in order. Timing-sensitive runs (throughput, quickstart) run alone;
# the two 60-minute Multi30k recipes then run side by side with one torch thread each, then the six
# 15-minute zoo runs, two at a time with one thread each (same conditions for every zoo row).
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
while pgrep -f "bench_throughput.py --verify" > /dev/null; do sleep 5; done   # started by the first version of this script
python scripts/bench_quickstart.py --json benchmarks/quickstart.json > benchmarks/quickstart.md 2> benchmarks/quickstart.log
for pair in de_en en_de; do
  python scripts/bench_multi30k.py --config configs/multi30k/best_$pair.yaml --set train.threads=1 \
    --json benchmarks/multi30k_best_$pair.json > benchmarks/multi30k_best_$pair.md 2> benchmarks/multi30k_best_$pair.log &
done
wait
for pair in "rnn rnn_attn" "lstm lstm_attn" "gru gru_attn"; do
  for model in $pair; do
    python scripts/bench_multi30k.py --config configs/multi30k/$model.yaml --set train.threads=1 \
      --json benchmarks/multi30k_zoo_$model.json > benchmarks/multi30k_zoo_$model.md 2> benchmarks/multi30k_zoo_$model.log &
  done
  wait
done
