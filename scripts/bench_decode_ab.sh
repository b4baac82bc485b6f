#!/usr/bin/env bash
# A/B of decoding speed between two commits: scripts/bench_decode.py at each, interleaved (A B A B ...) so that a
# shared machine's drift falls on both, with the same arguments (as scripts/bench_ab_commits.sh does for training).
#   usage: scripts/bench_decode_ab.sh OLD NEW ROUNDS OUT [bench_decode args ...]
#   e.g.   scripts/bench_decode_ab.sh c888bd3 one-search 3 runs/ab_decode/multi30k --checkpoint multi30k-de-en \
#            --beams 1 5 --batch-sizes 1 64
# Each commit is checked out into a temporary worktree (git worktree) and imported from there, the bench script
# included; the sources and references default to test2016 in ../shared/data/multi30k of this checkout unless the
# arguments give --src. Writes OUT/{old,new}_N.{md,json,log} and prints, per precision, decoding and batch size, the
# mean sentences/s of each side, new / old, and whether both sides' BLEU agree (rows that decode the whole
# test set: --batch1-limit cuts batch 1 rows short, and those have no BLEU).
set -euo pipefail
cd "$(dirname "$0")/.."
AB_USAGE="scripts/bench_decode_ab.sh OLD NEW ROUNDS OUT [bench_decode args ...]"
. scripts/_ab_worktrees.sh
ab_worktrees "$@"
set -- "${args[@]}"
data=()
if [[ " $* " != *" --src "* ]]; then
  mirror="$(cd .. && pwd)/shared/data/multi30k"
  data=(--src "$mirror/test_2016_flickr.de.gz" --ref "$mirror/test_2016_flickr.en.gz")
fi
echo "A/B: old $(git rev-parse --short "$old"), new $(git rev-parse --short "$new"), $rounds rounds: $* ${data[*]}"
for round in $(seq 1 "$rounds"); do
  for side in old new; do
    (cd "$trees/$side" && PYTHONPATH="$trees/$side/src" python scripts/bench_decode.py "$@" "${data[@]}" \
      --json "$out/${side}_$round.json" > "$out/${side}_$round.md" 2> "$out/${side}_$round.log")
    echo "$side $round done"
  done
done
python - "$out" "$rounds" <<'EOF'
import json, sys
out, rounds = sys.argv[1], int(sys.argv[2])
runs = {side: [json.load(open(f"{out}/{side}_{i}.json"))["rows"] for i in range(1, rounds + 1)] for side in ("old", "new")}
print("| precision | decoding | batch | old sentences/s | new sentences/s | new / old | same BLEU |")
print("|---|---|---:|---:|---:|---:|---|")
for position, row in enumerate(runs["old"][0]):
    speeds = {side: [run[position]["sentences_per_s"] for run in runs[side]] for side in runs}
    means = {side: sum(values) / len(values) for side, values in speeds.items()}
    bleus = {run[position].get("bleu") for side in runs for run in runs[side]}
    decoding = "greedy" if row["beam"] == 1 else f"beam {row['beam']}"
    print(f"| {row['precision']} | {decoding} | {row['batch_size']} | {means['old']:.1f} ({', '.join(map(str, speeds['old']))}) "
          f"| {means['new']:.1f} ({', '.join(map(str, speeds['new']))}) | {means['new'] / means['old']:.3f} "
          f"| {'–' if bleus == {None} else 'yes' if len(bleus) == 1 else f'NO: {sorted(bleus, key=str)}'} |")
EOF
