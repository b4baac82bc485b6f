#!/usr/bin/env bash
# A/B of training throughput between two commits: scripts/bench_throughput.py at each, interleaved (A B A B ...) so
# that a shared machine's drift falls on both, with the same arguments.
#   usage: scripts/bench_ab_commits.sh OLD NEW ROUNDS OUT [bench_throughput args ...]
#   e.g.   scripts/bench_ab_commits.sh 6685a9f HEAD 3 runs/ab --config configs/multi30k/best_en_de.yaml --threads 2 --batches 30
# Each commit is checked out into a temporary worktree (git worktree) and imported from there; the Multi30k mirror
# is ../shared/data/multi30k of this checkout unless the arguments give --mirror. Writes OUT/{old,new}_N.{md,json}
# and prints each run's row (target tokens/s, model GFLOP/s, peak, MFU) and the mean tokens/s of each side.
set -euo pipefail
cd "$(dirname "$0")/.."
AB_USAGE="scripts/bench_ab_commits.sh OLD NEW ROUNDS OUT [bench_throughput args ...]"
. scripts/_ab_worktrees.sh
ab_worktrees "$@"
set -- "${args[@]}"
mirror=()
[[ " $* " == *" --mirror "* ]] || mirror=(--mirror "$(cd .. && pwd)/shared/data/multi30k")
echo "A/B: old $(git rev-parse --short "$old"), new $(git rev-parse --short "$new"), $rounds rounds: $*"
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    (cd "$trees/$side" && PYTHONPATH="$trees/$side/src" python scripts/bench_throughput.py "$@" "${mirror[@]}" \
      --json "$out/${side}_$round.json" > "$out/${side}_$round.md" 2> "$out/${side}_$round.log")
    python -c "import json, sys; r = json.load(open(sys.argv[1]))['results'][0]
print(f\"$side $round: {r['tokens_per_s']:,.0f} target tokens/s, {r['achieved_gflops']:.1f} of {r['peak_gflops']:.1f} GFLOP/s, MFU {r['mfu']:.1%}\")" "$out/${side}_$round.json"
  done
done
python - "$out" "$rounds" <<'EOF'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
for side in ("old", "new"):
    rates = [json.load(open(f"{out}/{side}_{i}.json"))["results"][0]["tokens_per_s"] for i in range(1, rounds + 1)]
    print(f"{side}: mean {sum(rates) / len(rates):,.0f} target tokens/s ({', '.join(f'{r:,.0f}' for r in rates)})")
EOF
