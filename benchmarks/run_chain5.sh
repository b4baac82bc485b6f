#!/usr/bin/env bash
# Fifth session (issue 15), second part. The de->en recipe with the plateau schedule (run_chain4.sh, commit 86669d1)
# never decayed its learning rate in 20 epochs (35.60 test BLEU); its run folder and outputs are kept under the
# suffix _plateau. This trains the recipe again with the cosine schedule (the only change), then chooses the
# decoding on validation. Code from the frozen worktree SNAP (see run_chain4.sh); 2 threads, one job at a time.
set -x
cd "$(dirname "$0")/.."
. .venv/bin/activate
SNAP=${SNAP:-/tmp/snap}
export PYTHONPATH=$SNAP/src
while pgrep -f "select_decoding.py --run runs/best_de_en " > /dev/null; do sleep 5; done
mv runs/best_de_en runs/best_de_en_plateau
for f in multi30k_best_de_en.json select_best_de_en.json select_best_de_en.md select_best_de_en.log best_de_en.log; do
  mv benchmarks/$f benchmarks/${f/best_de_en/best_de_en_plateau}
done
python $SNAP/scripts/bench_multi30k.py --config configs/multi30k/best_de_en.yaml \
  --json benchmarks/multi30k_best_de_en.json > benchmarks/multi30k_best_de_en.md 2> benchmarks/best_de_en.log
python $SNAP/scripts/select_decoding.py --run runs/best_de_en --json benchmarks/select_best_de_en.json \
  > benchmarks/select_best_de_en.md 2> benchmarks/select_best_de_en.log
