#!/usr/bin/env bash
# The CUDA path in one command, on a machine with an NVIDIA GPU. From the repository root, with the venv active:
#
#     bash scripts/gpu_check.sh
#
# Steps: the GPU it sees; the tests marked cuda (tests/training/test_cuda.py); the quickstart for 2 epochs on CUDA;
# a beam-5 decode of its test split on CUDA; bench_decode.py on CUDA (sentences/s, MFU against the GPU's fp32 matmul
# peak, BLEU); bench_throughput.py is CPU-only and reported as skipped. Ends with one PASS/FAIL/SKIP line per step; each step's log is in a temporary folder named there.
# Exit status 0 when no step failed; 1 when one did or there is no CUDA device.
set -uo pipefail

if [[ ! -f pyproject.toml || ! -d scripts ]]; then
    echo "gpu_check: run it from the repository root (bash scripts/gpu_check.sh)" >&2
    exit 1
fi
if ! python -c "import s2s" 2>/dev/null; then
    echo "gpu_check: 'import s2s' fails with this python ($(command -v python || echo none on PATH)); activate the venv: . .venv/bin/activate" >&2
    exit 1
fi

echo "== GPU"
command -v nvidia-smi >/dev/null && nvidia-smi -L
if ! python - <<'EOF'
import sys

import torch

if not torch.cuda.is_available():
    build = f"CUDA {torch.version.cuda} build" if torch.version.cuda else "a CPU-only build: install a CUDA wheel"
    sys.exit(f"gpu_check: no CUDA device: torch.cuda.is_available() is False (torch {torch.__version__}, {build}). "
             "Nothing was checked.")
for index in range(torch.cuda.device_count()):
    print(f"cuda:{index} {torch.cuda.get_device_name(index)}")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, bf16 {torch.cuda.is_bf16_supported()}")
EOF
then
    exit 1
fi

LOGS=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
RUN="$LOGS/quickstart"
SUMMARY=()
FAILED=0

record() {  # record STATUS STEP DETAIL
    SUMMARY+=("$(printf '%-4s  %-26s  %s' "$1" "$2" "$3")")
    [[ $1 == FAIL ]] && FAILED=1
}

echo "== 1. pytest -m cuda"
python -m pytest -m cuda -q -rs >"$LOGS/1-pytest-cuda.log" 2>&1
status=$?
counts=$(tail -n 1 "$LOGS/1-pytest-cuda.log")
if [[ $status -eq 0 ]] && grep -q " passed" <<<"$counts"; then
    record PASS "pytest -m cuda" "$counts"
else
    record FAIL "pytest -m cuda" "exit $status: $counts (no test may fail, and some must pass)"
fi
grep "^SKIPPED" "$LOGS/1-pytest-cuda.log"

echo "== 2. quickstart on CUDA, 2 epochs"
s2s train --config configs/quickstart.yaml --set train.device=cuda train.epochs=2 --run-dir "$RUN" \
    >"$LOGS/2-quickstart.log" 2>&1
status=$?
detail=$(python - "$RUN/metrics.jsonl" 2>&1 <<'EOF'
import json
import sys

records = [json.loads(line) for line in open(sys.argv[1])]
losses = [r["train_loss"] for r in records if "train_loss" in r]
speeds = sorted(r["tokens_per_s"] for r in records if "tokens_per_s" in r)
bleu = [r["valid_bleu"] for r in records if "valid_bleu" in r][-1]
print(f"train loss {losses[0]:.3f} -> {losses[-1]:.3f}, valid BLEU {bleu:.1f}, {speeds[len(speeds) // 2]:,.0f} tokens/s")
sys.exit(0 if losses[-1] < losses[0] else 1)
EOF
)
learned=$?
placement=$(grep -o "device cuda[^;]*" "$LOGS/2-quickstart.log" | head -n 1)
if [[ $status -eq 0 && $learned -eq 0 && -n $placement && -f $RUN/best.pt ]]; then
    record PASS "quickstart, 2 epochs" "$placement; $detail"
else
    record FAIL "quickstart, 2 epochs" "exit $status; ${placement:-not on cuda}; ${detail##*$'\n'}"
fi

echo "== 3. decode the quickstart test split on CUDA, beam 5"
s2s evaluate --checkpoint "$RUN" --src "$RUN/data/test.en" --ref "$RUN/data/test.de" --device cuda --beam 5 \
    >"$LOGS/3-decode.log" 2>&1
status=$?
bleu=$(awk -F'|' '$2 == " BLEU " {gsub(/ /, "", $3); print $3}' "$LOGS/3-decode.log")
if [[ $status -eq 0 && -n $bleu ]]; then
    record PASS "decode test split, beam 5" "test BLEU $bleu"
else
    record FAIL "decode test split, beam 5" "exit $status$([[ -f $RUN/best.pt ]] || echo ': no best.pt from step 2')"
fi

echo "== 4. bench_decode.py on CUDA: the quickstart model, test split, batch 64, greedy and beam 5"
python scripts/bench_decode.py --checkpoint "$RUN/best.pt" --src "$RUN/data/test.en" --ref "$RUN/data/test.de" \
    --device cuda --batch-sizes 64 --beams 1 5 >"$LOGS/4-bench-decode.log" 2>&1
status=$?
rows=$(awk -F'|' 'function t(x) { gsub(/^ +| +$/, "", x); return x }
    $2 ~ /fp32/ {printf "%s%s: %s sentences/s, MFU %s%%, BLEU %s", sep, t($3), t($5), t($7), t($8); sep = "; "}' \
    "$LOGS/4-bench-decode.log")
if [[ $status -eq 0 && -n $rows ]]; then
    record PASS "bench_decode.py --device cuda" "$rows"
else
    record FAIL "bench_decode.py --device cuda" "exit $status: $(tail -n 1 "$LOGS/4-bench-decode.log")"
fi
# bench_throughput.py stays CPU-only: it times training in fresh processes against a CPU matmul peak and their RSS
record SKIP "bench_throughput.py" "not run: CPU-only (CPU tensors, MFU against a CPU matmul peak, peak RSS)"

echo
echo "== gpu_check summary (logs: $LOGS)"
printf '%s\n' "${SUMMARY[@]}"
if [[ $FAILED -eq 0 ]]; then echo "gpu_check: PASS"; else echo "gpu_check: FAIL"; fi
exit $FAILED
