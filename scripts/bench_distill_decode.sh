#!/usr/bin/env bash
# Decoding cost of models side by side, e.g. a distilled student against its teacher ensemble: for each model, the
# wall seconds of the whole `s2s translate` (loading included) and its peak memory, one model after the other on the
# same input, each with its own decode: settings (an ensemble: its first member's).
#   usage: scripts/bench_distill_decode.sh SRC OUT NAME=CKPT[,CKPT ...] [NAME=CKPT[,CKPT ...] ...]
#   e.g.   OMP_NUM_THREADS=2 scripts/bench_distill_decode.sh val.de runs/cost \
#            teacher=old/multi30k-de-en,runs/best_de_en_seed2 student=multi30k-de-en
# Commas join an ensemble's checkpoints. Writes OUT/NAME.txt (the translations) and prints a Markdown table with the
# command, machine, date and commit. Time it on an idle machine: anything beside it distorts the seconds.
set -euo pipefail
usage="usage: scripts/bench_distill_decode.sh SRC OUT NAME=CKPT[,CKPT ...] [NAME=CKPT ...]"
[[ $# -ge 3 ]] || { echo "$usage" >&2; exit 2; }
src=$1 out=$2; shift 2
[[ -f $src ]] || { echo "error: SRC '$src' is not a file; give the source text to translate. $usage" >&2; exit 2; }
command -v /usr/bin/time > /dev/null || { echo "error: /usr/bin/time is missing (apt install time)" >&2; exit 2; }
for spec in "$@"; do
  [[ $spec == ?*=?* ]] || { echo "error: '$spec' is not NAME=CKPT[,CKPT ...]. $usage" >&2; exit 2; }
done
mkdir -p "$out"
echo "- command: \`scripts/bench_distill_decode.sh $src $out $*\` (OMP_NUM_THREADS=${OMP_NUM_THREADS:-unset})"
echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); git commit: $(git -C "$(dirname "$0")" rev-parse --short HEAD)"
echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores;" \
     "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); $(wc -l < "$src") source lines"
echo
echo "| model | checkpoints | seconds (whole command) | peak memory (MB) |"
echo "|---|---|---:|---:|"
for spec in "$@"; do
  name=${spec%%=*}
  IFS=, read -r -a checkpoints <<< "${spec#*=}"
  measure=$(mktemp)
  /usr/bin/time -f "%e %M" -o "$measure" s2s translate --checkpoint "${checkpoints[@]}" --input "$src" \
    --output "$out/$name.txt" 2> "$out/$name.log" || { echo "error: $name failed, see $out/$name.log" >&2; exit 1; }
  read -r seconds kilobytes < "$measure"
  rm -f "$measure"
  echo "| $name | ${checkpoints[*]} | $seconds | $((kilobytes / 1024)) |"
done
