#!/usr/bin/env bash
# Fifth session (issue 15), last part: while the de->en recipe's decoding is chosen (run_chain7.sh), the cost of
# the model options and the slow recipe-repeats test run beside it (so the selection's decoding seconds are not
# clean timings); then the example report is regenerated from the chosen decoding. Runs from this checkout.
set -x
cd "$(dirname "$0")/.."
. .venv/bin/activate
while pgrep -f "bench_multi30k.py --config configs/multi30k/best_de_en.yaml" > /dev/null; do sleep 5; done
python scripts/bench_options.py --json benchmarks/options.json > benchmarks/options.md 2> benchmarks/options.log &
python -m pytest -q -p no:cacheprovider -m slow tests/test_recipes.py > benchmarks/pytest_slow_recipe.txt 2>&1 &
wait
while pgrep -f "run_chain7.sh" > /dev/null; do sleep 5; done
CHOSEN=$(python -c "import json; print(' '.join(json.load(open('benchmarks/select_best_de_en.json'))['chosen']['checkpoints']))")
OPTS=$(python -c "import json; c=json.load(open('benchmarks/select_best_de_en.json'))['chosen']; print(f\"--beam {c['beam']} --length-penalty {c['length_penalty']} --no-repeat-ngram {c['no_repeat_ngram']} --max-len-ratio {c['max_len_ratio']}\")")
rm -rf docs/example_report
s2s report runs/best_de_en --checkpoint $CHOSEN $OPTS --output docs/example_report
