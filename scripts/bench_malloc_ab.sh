#!/usr/bin/env bash
# A/B of the trainer's malloc setting (s2s.device.keep_freed_memory): peak RSS and tokens/s of
# 3 training minutes on Multi30k with one torch thread.
#   usage: scripts/bench_malloc_ab.sh NAME MODEL VARIANT [KEY=VALUE ...]     VARIANT: on | off | mmaponly
#   e.g.   scripts/bench_malloc_ab.sh lstm_on lstm on & scripts/bench_malloc_ab.sh lstm_off lstm off & wait
# KEY=VALUE: config overrides applied after the defaults below (scripts/bench_all.sh --quick shortens the run).
# "off" replaces keep_freed_memory by a no-op; "mmaponly" raises only the mmap threshold (trimming stays on).
# Prints `/usr/bin/time`'s max RSS (KiB) and the run's last tokens/s entry. Run folders: /tmp/malloc_ab_NAME.
set -euo pipefail
cd "$(dirname "$0")/.."
name=$1 model=$2 variant=$3
shift 3
rm -rf "/tmp/malloc_ab_$name"
/usr/bin/time -f "$name maxrss_kib %M wall_s %e" python -c "
import ctypes, sys
import s2s.training.trainer as trainer
if '$variant' == 'off':
    trainer.keep_freed_memory = lambda: False
elif '$variant' == 'mmaponly':
    from s2s.device import M_MMAP_THRESHOLD
    trainer.keep_freed_memory = lambda: ctypes.CDLL('libc.so.6').mallopt(M_MMAP_THRESHOLD, 1 << 30)
from s2s.cli import main
sys.argv = ['s2s'] + sys.argv[1:]
sys.exit(main())" train --config "configs/multi30k/$model.yaml" --run-dir "/tmp/malloc_ab_$name" \
  --set train.threads=1 train.time_budget_minutes=3 "$@" > "/tmp/malloc_ab_$name.log" 2>&1
tail -1 "/tmp/malloc_ab_$name.log"
grep -h tokens_per_s "/tmp/malloc_ab_$name/metrics.jsonl" | tail -1
