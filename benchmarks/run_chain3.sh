#!/usr/bin/env bash
# Fourth session: re-measure the rows taken before the speed work of issue 4 (fused output loss, fused Adam,
# malloc setting). The six de->en zoo rows, two at a time with one torch thread each (as before), then the
# en->de 60-minute recipe with 2 threads. Nothing else ran meanwhile except reading and editing.
set -x
cd "$(dirname "$0")/.."
. /work/venv/bin/activate
for pair in "gru gru_attn" "rnn rnn_attn" "lstm lstm_attn"; do
  for model in $pair; do
    python scripts/bench_multi30k.py --config configs/multi30k/$model.yaml --set train.threads=1 \
      --json benchmarks/multi30k_zoo_$model.json > benchmarks/multi30k_zoo_$model.md 2> benchmarks/multi30k_zoo_$model.log &
  done
  wait
done
python scripts/bench_multi30k.py --config configs/multi30k/best_en_de.yaml \
  --json benchmarks/multi30k_best_en_de.json > benchmarks/multi30k_best_en_de.md 2> benchmarks/multi30k_best_en_de.log
