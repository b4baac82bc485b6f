#!/usr/bin/env bash
# Fifth session (issue 15), the checks after the recipe runs: the test suite, the slow recipe-repeats test,
# the cost of the model options, and the example report from the de->en choice (runs from this checkout).
set -x
cd "$(dirname "$0")/.."
. .venv/bin/activate
while pgrep -f "run_chain5.sh" > /dev/null; do sleep 5; done
python -m pytest -q -p no:cacheprovider > benchmarks/pytest_default.txt 2>&1; tail -3 benchmarks/pytest_default.txt
python -m pytest -q -p no:cacheprovider -m slow tests/test_recipes.py > benchmarks/pytest_slow_recipe.txt 2>&1
python scripts/bench_options.py --json benchmarks/options.json > benchmarks/options.md 2> benchmarks/options.log
CHOSEN=$(python -c "import json; print(' '.join(json.load(open('benchmarks/select_best_de_en.json'))['chosen']['checkpoints']))")
OPTS=$(python -c "import json; c=json.load(open('benchmarks/select_best_de_en.json'))['chosen']; print(f\"--beam {c['beam']} --length-penalty {c['length_penalty']} --no-repeat-ngram {c['no_repeat_ngram']} --max-len-ratio {c['max_len_ratio']}\")")
rm -rf docs/example_report
s2s report runs/best_de_en --checkpoint $CHOSEN $OPTS --output docs/example_report
