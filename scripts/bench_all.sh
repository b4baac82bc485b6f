#!/usr/bin/env bash
# Reproduce every figure of BENCHMARKS.md (its summary table and the pages of docs/benchmarks/), one step after another.
#
#   scripts/bench_all.sh                  all steps (about 5½ hours on a 2-core CPU, plus ~5½ for lm, embeddings, teacher_forcing)
#   scripts/bench_all.sh --only NAME      one step (repeat --only for several; they run in the order below)
#   scripts/bench_all.sh --quick          a smoke run of every step with tiny settings, into benchmarks/quick/
#   scripts/bench_all.sh --list           the steps, in order
#
# Run it from the repository root with the virtual environment active (`. .venv/bin/activate`), on an
# otherwise idle machine. It runs one job at a time: every timing and MFU here is only meaningful that way.
# The one exception is on purpose: the zoo and malloc_ab steps run two 1-thread trainings side by side, as
# their figures were measured (BENCHMARKS.md says so next to them).
#
# Steps and their durations on the 2-core EPYC of BENCHMARKS.md (as recorded there or in the step's output files):
#   throughput        scripts/bench_throughput.py: six zoo models, the step loops, bf16       ~12 min
#   quickstart        scripts/bench_quickstart.py: the built-in task with and without attention ~6.5 min
#   recipe_de_en      scripts/bench_multi30k.py, configs/multi30k/best_de_en.yaml (19 epochs at most, tied embeddings)
#                       50.4 min wall on the AVX2 EPYC, 2 threads (timed 2026-12-03, docs/benchmarks/multi30k_recipes.md)
#   select_de_en      scripts/select_decoding.py on runs/best_de_en                          ~7 min
#   example_report    s2s report runs/best_de_en with the chosen decoding -> docs/example_report (not timed)
#   ablation_plateau  bench_multi30k.py + select_decoding.py, ablations/de_en_bpe_dropout_plateau.yaml
#                       ~51 min wall + ~6 min
#   ablation_cosine   bench_multi30k.py + select_decoding.py, ablations/de_en_bpe_dropout_cosine.yaml
#                       the recorded run was stopped after 47.5 min wall, in epoch 19 of 20; no selection run yet
#   options           scripts/bench_options.py: the training cost of the model options (no full run recorded)
#   recipe_en_de      scripts/bench_multi30k.py, configs/multi30k/best_en_de.yaml (16 epochs, tied embeddings)
#                       32.1-45.5 min wall on the AVX2 EPYC, 2 threads (timed 2026-12-03, docs/benchmarks/multi30k_recipes.md)
#   hardware          scripts/bench_throughput.py: fp32 vs bf16, 8k vs 5k pieces, LSTM rows       ~3 min
#   precision         scripts/bench_decode.py --precisions fp32 int8 int8-linear bf16 on runs/best_de_en ~3 min
#   select_en_de      scripts/select_decoding.py on runs/best_en_de                          ~7 min (as de->en)
#   decode            scripts/bench_decode.py on runs/best_de_en/best.pt                     ~2 min
#   engines           scripts/bench_decode.py --engines torch onnx on pretrained/multi30k-de-en, 1 and 2 threads
#                       ~10 min (two runs of 16 rows, test2016 whole at batch 1 too)
#   ddp               scripts/bench_ddp.py: 1 vs 2 processes on the built-in task            ~1 min
#   zoo               scripts/bench_multi30k.py on the six zoo configs, 15 training minutes each, two at a time
#                       ~52 min (three pairs)
#   malloc_ab         scripts/bench_malloc_ab.sh: three rounds of two 3-minute trainings     ~11 min
#   zoo_compare       s2s compare of the six zoo runs -> docs/zoo_compare                    (seconds)
#   lm                scripts/bench_lm.py: rnn/lstm/gru LMs on Multi30k English, sentence and stream mode
#                       ~2 h (sentence mode 61 training minutes, stream mode ~25 min wall per model, one shared core)
#   embeddings        scripts/bench_embeddings.py: random vs word2vec rows at 3,000 and 29,000 pairs
#                       ~1¾ h (3,000 pairs ~28 min, 29,000 pairs 77 min wall, one shared core)
#   teacher_forcing   scripts/bench_teacher_forcing.py: ratio 1.0 vs 0.5 vs decay, built-in task and Multi30k
#                       ~2½ h (Multi30k, 10 epochs: 43 + 50 + 45.5 training minutes on one shared core; --variants
#                       splits the three runs over two processes)
#
# Outputs: benchmarks/STEM.json (the full result), benchmarks/STEM.md (the Markdown the script printed) and
# benchmarks/STEM.log (its progress on stderr; *.log is git-ignored), with the stems the benchmark pages link to;
# run folders under runs/ (git-ignored); the two linked reports under docs/. A training step refuses to
# start when its run folder exists already (the trainer never mixes two runs): move the old one aside.
# The decode figure was measured on the de->en checkpoint of its day; the step decodes whatever
# runs/best_de_en/best.pt holds now. The code runs from this checkout: to measure one commit while
# editing, run this from a `git worktree` of that commit (as the issue-15 figures were).
#
# --quick: the same steps with tiny settings (Multi30k: 1 epoch on the first 1,000 pairs, a 1,000-piece
# vocabulary, a 64-unit model, greedy decoding; the other scripts: a few batches or steps), written under
# benchmarks/quick/ (git-ignored; cleared first unless --only is given), never over the recorded figures.
# Its numbers mean nothing: it checks that every script and step still runs. Not timed yet; expect minutes,
# most of them data preparation and validation decoding.
set -euo pipefail

STEPS=(throughput quickstart recipe_de_en select_de_en example_report ablation_plateau ablation_cosine options
       recipe_en_de select_en_de hardware precision decode engines ddp zoo malloc_ab zoo_compare lm embeddings teacher_forcing)
declare -A ABOUT=(
    [throughput]="training tokens/s, padding, memory and MFU of the zoo models (bench_throughput.py)"
    [quickstart]="the built-in task, attention vs no attention (bench_quickstart.py)"
    [recipe_de_en]="the de->en recipe, 19 epochs at most, scored on val and test2016 (bench_multi30k.py)"
    [select_de_en]="the de->en recipe's decoding chosen on validation (select_decoding.py)"
    [example_report]="docs/example_report from the de->en recipe with the chosen decoding (s2s report)"
    [ablation_plateau]="de->en with source BPE-dropout, plateau schedule: training + decoding choice"
    [ablation_cosine]="de->en with source BPE-dropout, cosine schedule: training + decoding choice"
    [options]="training cost of input feeding, 2 layers, tied embeddings, word dropout (bench_options.py)"
    [recipe_en_de]="the en->de recipe, 16 epochs (bench_multi30k.py)"
    [hardware]="fp32 vs bf16 training, 8k vs 5k pieces, the LSTM rows at the recipe's batch size (bench_throughput.py)"
    [precision]="fp32 vs int8 vs int8-linear vs bf16 decoding of runs/best_de_en/best.pt (bench_decode.py --precisions)"
    [select_en_de]="the en->de recipe's decoding chosen on validation (select_decoding.py)"
    [decode]="decoding speed and MFU, greedy and beam 5, on runs/best_de_en/best.pt (bench_decode.py)"
    [engines]="torch vs the ONNX runtime, fp32 and int8, on the shipped multi30k-de-en model, 1 and 2 threads (bench_decode.py --engines)"
    [ddp]="data-parallel training, 1 vs 2 processes on CPU (bench_ddp.py)"
    [zoo]="the six de->en zoo models, 15 training minutes each, two 1-thread runs at a time (bench_multi30k.py)"
    [malloc_ab]="peak memory and speed with and without the malloc setting (bench_malloc_ab.sh)"
    [zoo_compare]="docs/zoo_compare from the six zoo runs (s2s compare)"
    [lm]="perplexity of RNN, LSTM and GRU language models on Multi30k English (bench_lm.py)"
    [embeddings]="BLEU with random vs word2vec-initialised embeddings, 3k and 29k pairs (bench_embeddings.py)"
    [teacher_forcing]="teacher forcing 1.0 vs 0.5 vs a decay: BLEU and speed (bench_teacher_forcing.py)"
)
ZOO_PAIRS=("gru gru_attn" "rnn rnn_attn" "lstm lstm_attn")

usage() {
    cat <<EOF
usage: scripts/bench_all.sh [--quick] [--only NAME]... | --list | --help
  (no flag)    run every step of BENCHMARKS.md in order (hours; see the header of this script)
  --only NAME  run only step NAME (repeatable); the names: --list
  --quick      tiny settings, outputs under benchmarks/quick/ (a smoke run of every script)
  --list       print the steps in order and exit
Run from the repository root with the virtual environment active.
EOF
}

die() {
    echo "bench_all.sh: $*" >&2
    exit 1
}

usage_error() {
    echo "bench_all.sh: $*" >&2
    usage >&2
    exit 2
}

QUICK=0
ONLY=()
while (($#)); do
    case $1 in
        --quick) QUICK=1 ;;
        --only)
            [[ $# -ge 2 ]] || usage_error "--only needs a step name (see --list)"
            [[ -n $2 && -n ${ABOUT[$2]:-} ]] || usage_error "unknown step '$2'; the steps are: ${STEPS[*]}"
            ONLY+=("$2")
            shift ;;
        --list)
            for step in "${STEPS[@]}"; do printf '%-17s %s\n' "$step" "${ABOUT[$step]}"; done
            exit 0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage_error "unknown argument '$1'" ;;
    esac
    shift
done

[[ -f BENCHMARKS.md && -f scripts/bench_all.sh ]] || die "run me from the repository root: scripts/bench_all.sh"
command -v s2s > /dev/null || die "the s2s command is not on PATH; activate the virtual environment first: . .venv/bin/activate"

# Per-step extra arguments: none in a full run (each command is then exactly the one BENCHMARKS.md shows),
# tiny settings in a quick one.
if ((QUICK)); then
    OUT=benchmarks/quick RUNS=benchmarks/quick/runs DOCS=benchmarks/quick
    TINY_MULTI30K=(data.train_limit=1000 data.vocab_size=1000 model.emb_size=32 model.hidden_size=64 train.epochs=1)
    TRAIN_SET=("${TINY_MULTI30K[@]}" decode.beam=1 "train.run_dir=$RUNS/{name}")
    ZOO_BUDGET=(train.time_budget_minutes=0.5)
    MALLOC_SET=("${TINY_MULTI30K[@]}" train.time_budget_minutes=0.3 train.log_every=1)
    MALLOC_PREFIX=quick_
    QUICKSTART_FLAGS=(--out "$RUNS/bench_quickstart" --set train.epochs=1 data.numbers_train=2000)
    THROUGHPUT_FLAGS=(--models gru_attn --warmup 1 --batches 2 --batch-tokens 500 --emb 32 --hidden 64
                      --vocab-size 1000 --peak-size 512)
    OPTIONS_FLAGS=(--batches 1)
    DECODE_FLAGS=(--batch-sizes 1 16 --batch1-limit 10)
    DDP_FLAGS=(--warmup 1 --steps 2 --set data.numbers_train=2000)
    HARDWARE_FLAGS=(--no-step-loop --warmup 1 --batches 2 --batch-tokens 500 --emb 32 --hidden 64 --peak-size 512)
    PRECISION_FLAGS=(--batch-sizes 16 --beams 1 --batch1-limit 10)
    ENGINES_FLAGS=(--batch-sizes 1 16 --beams 1 --batch1-limit 10)
    LM_FLAGS=(--set data.train_limit=1000 model.emb_size=32 model.hidden_size=64 train.epochs=1)
    EMBEDDINGS_FLAGS=(--limits 1000 --epochs 1000=1 --w2v-epochs 1 --set data.vocab_size=1000 model.emb_size=32
                      model.hidden_size=64 decode.beam=1)
    TEACHER_FORCING_FLAGS=(--batches 1 --set data.numbers_train=2000 data.train_limit=1000 data.vocab_size=1000
                           model.emb_size=32 model.hidden_size=64 train.epochs=1)
    ((${#ONLY[@]})) || rm -rf "$OUT"
else
    OUT=benchmarks RUNS=runs DOCS=docs
    TRAIN_SET=()
    ZOO_BUDGET=(train.time_budget_minutes=15)
    MALLOC_SET=()
    MALLOC_PREFIX=
    QUICKSTART_FLAGS=(--set train.amp=none) THROUGHPUT_FLAGS=() OPTIONS_FLAGS=() DECODE_FLAGS=() DDP_FLAGS=()
    HARDWARE_FLAGS=(--no-step-loop --batches 15 --batch-tokens 3000 --dropout 0.3)
    PRECISION_FLAGS=(--batch-sizes 64 --beams 1 5)
    ENGINES_FLAGS=(--batch-sizes 1 64 --beams 1 5 --batch1-limit 1000)
    LM_FLAGS=() EMBEDDINGS_FLAGS=() TEACHER_FORCING_FLAGS=()
fi

# Runs a command with its stdout in $OUT/STEM.md and its stderr in $OUT/STEM.log, after echoing it.
record() {
    local stem=$1
    shift
    echo "+ $* > $OUT/$stem.md 2> $OUT/$stem.log" >&2
    "$@" > "$OUT/$stem.md" 2> "$OUT/$stem.log"
}

# Waits for every background job given (a pair of trainings) and fails if any of them failed.
wait_all() {
    local pid failed=0
    for pid in "$@"; do wait "$pid" || failed=1; done
    ((failed == 0)) || die "a run of the pair failed; its .log (or the /tmp/malloc_ab_NAME.log) says why"
}

need() {
    [[ -e $1 ]] || die "$1 is missing; run the step that writes it first (scripts/bench_all.sh --list shows the order)"
}

# The run folders a step trains into (the trainer refuses a folder that holds a run).
run_dirs() {
    case $1 in
        quickstart) echo "$RUNS/bench_quickstart/gru_attn $RUNS/bench_quickstart/gru" ;;
        recipe_de_en) echo "$RUNS/best_de_en" ;;
        recipe_en_de) echo "$RUNS/best_en_de" ;;
        ablation_plateau) echo "$RUNS/de_en_bpe_dropout_plateau" ;;
        ablation_cosine) echo "$RUNS/de_en_bpe_dropout_cosine" ;;
        zoo) echo "$RUNS/rnn $RUNS/rnn_attn $RUNS/gru $RUNS/gru_attn $RUNS/lstm $RUNS/lstm_attn" ;;
        lm) echo "$RUNS/bench_lm" ;;
        embeddings) echo "$RUNS/bench_embeddings" ;;
        teacher_forcing) echo "$RUNS/bench_teacher_forcing" ;;
    esac
}

multi30k() {  # STEM CONFIG [KEY=VALUE ...]: train one Multi30k config, score val and test2016
    local stem=$1 config=$2
    shift 2
    local overrides=("${TRAIN_SET[@]}" "$@") set_flag=()
    ((${#overrides[@]} == 0)) || set_flag=(--set "${overrides[@]}")
    record "$stem" python scripts/bench_multi30k.py --config "$config" "${set_flag[@]}" --json "$OUT/$stem.json"
}

select_decoding() {  # STEM RUN_DIR
    need "$2/best.pt"
    record "$1" python scripts/select_decoding.py --run "$2" --json "$OUT/$1.json"
}

step_throughput() {
    record throughput python scripts/bench_throughput.py --verify-flops --bf16 --bf16-batches 1 "${THROUGHPUT_FLAGS[@]}" \
        --json "$OUT/throughput.json"
}

step_quickstart() {
    record quickstart python scripts/bench_quickstart.py "${QUICKSTART_FLAGS[@]}" --json "$OUT/quickstart.json"
}

step_recipe_de_en() { multi30k multi30k_best_de_en configs/multi30k/best_de_en.yaml; }
step_select_de_en() { select_decoding select_best_de_en "$RUNS/best_de_en"; }

step_example_report() {
    need "$OUT/select_best_de_en.json"
    local chosen report_args
    chosen=$(python -c 'import json, sys
c = json.load(open(sys.argv[1]))["chosen"]
print(" ".join(["--checkpoint", *c["checkpoints"], "--beam", str(c["beam"]), "--length-penalty", str(c["length_penalty"]),
                "--no-repeat-ngram", str(c["no_repeat_ngram"]), "--max-len-ratio", str(c["max_len_ratio"])]))' \
        "$OUT/select_best_de_en.json")
    read -r -a report_args <<< "$chosen"
    rm -rf "$DOCS/example_report"
    echo "+ s2s report $RUNS/best_de_en ${report_args[*]} --output $DOCS/example_report" >&2
    s2s report "$RUNS/best_de_en" "${report_args[@]}" --output "$DOCS/example_report"
}

step_ablation_plateau() {
    multi30k multi30k_best_de_en_plateau configs/multi30k/ablations/de_en_bpe_dropout_plateau.yaml
    select_decoding select_best_de_en_plateau "$RUNS/de_en_bpe_dropout_plateau"
}

step_ablation_cosine() {
    multi30k multi30k_best_de_en_cosine configs/multi30k/ablations/de_en_bpe_dropout_cosine.yaml
    select_decoding select_best_de_en_cosine "$RUNS/de_en_bpe_dropout_cosine"
}

step_options() {
    record options python scripts/bench_options.py "${OPTIONS_FLAGS[@]}" --json "$OUT/options.json"
}

step_recipe_en_de() { multi30k multi30k_best_en_de configs/multi30k/best_en_de.yaml; }
step_select_en_de() { select_decoding select_best_en_de "$RUNS/best_en_de"; }

step_hardware() {
    record throughput_avx512 python scripts/bench_throughput.py --models gru_attn lstm lstm_attn --bf16 --bf16-batches 15 \
        "${HARDWARE_FLAGS[@]}" --json "$OUT/throughput_avx512.json"
    record throughput_avx512_v5k python scripts/bench_throughput.py --models gru_attn --vocab-size 5000 "${HARDWARE_FLAGS[@]}" \
        --json "$OUT/throughput_avx512_v5k.json"
}

step_precision() {
    need "$RUNS/best_de_en/best.pt"
    record decode_precision python scripts/bench_decode.py --checkpoint "$RUNS/best_de_en/best.pt" "${PRECISION_FLAGS[@]}" \
        --precisions fp32 int8 int8-linear bf16 --json "$OUT/decode_precision.json"
}

step_decode() {
    need "$RUNS/best_de_en/best.pt"
    record decode python scripts/bench_decode.py --checkpoint "$RUNS/best_de_en/best.pt" "${DECODE_FLAGS[@]}" \
        --json "$OUT/decode.json"
}

step_engines() {
    record decode_engines_1thread env OMP_NUM_THREADS=1 python scripts/bench_decode.py --checkpoint multi30k-de-en \
        --engines torch onnx --precisions fp32 int8 "${ENGINES_FLAGS[@]}" --json "$OUT/decode_engines_1thread.json"
    record decode_engines python scripts/bench_decode.py --checkpoint multi30k-de-en \
        --engines torch onnx --precisions fp32 int8 "${ENGINES_FLAGS[@]}" --json "$OUT/decode_engines.json"
}

step_ddp() {
    record ddp python scripts/bench_ddp.py "${DDP_FLAGS[@]}" --json "$OUT/ddp.json"
}

step_zoo() {
    local pair model pids
    for pair in "${ZOO_PAIRS[@]}"; do
        pids=()
        for model in $pair; do
            multi30k "multi30k_zoo_$model" "configs/multi30k/$model.yaml" train.threads=1 "${ZOO_BUDGET[@]}" &
            pids+=($!)
        done
        wait_all "${pids[@]}"
    done
}

step_malloc_ab() {
    local parts
    parts=$(mktemp -d)
    {
        echo "# Raw output of the malloc A/B (BENCHMARKS.md, Multi30k de->en zoo), $(date -u '+%F %H:%M UTC'), commit $(git rev-parse --short HEAD)."
        echo "# Rounds of two runs at a time, 1 thread each: scripts/bench_malloc_ab.sh NAME MODEL VARIANT ${MALLOC_SET[*]}"
    } > "$OUT/malloc_ab.txt"
    malloc_round "$parts" "lstm_on lstm on" "lstm_off lstm off"
    malloc_round "$parts" "lstm_mmaponly lstm mmaponly" "gruattn_off gru_attn off"
    malloc_round "$parts" "gruattn_on gru_attn on" "lstm_off2 lstm off"
    rm -r "$parts"
}

malloc_round() {  # PARTS_DIR "NAME MODEL VARIANT" "NAME MODEL VARIANT": two runs side by side, outputs appended in order
    local parts=$1 run name model variant pids=()
    shift
    echo "# round: $1 & $2" >> "$OUT/malloc_ab.txt"
    for run in "$@"; do
        read -r name model variant <<< "$run"
        echo "+ scripts/bench_malloc_ab.sh $MALLOC_PREFIX$name $model $variant ${MALLOC_SET[*]}" >&2
        scripts/bench_malloc_ab.sh "$MALLOC_PREFIX$name" "$model" "$variant" "${MALLOC_SET[@]}" > "$parts/$name" &
        pids+=($!)
    done
    wait_all "${pids[@]}"
    for run in "$@"; do
        cat "$parts/${run%% *}" >> "$OUT/malloc_ab.txt"
    done
}

step_zoo_compare() {
    local dirs dir
    read -r -a dirs <<< "$(run_dirs zoo)"
    for dir in "${dirs[@]}"; do need "$dir/metrics.jsonl"; done
    rm -rf "$DOCS/zoo_compare"
    echo "+ s2s compare ${dirs[*]} --output $DOCS/zoo_compare" >&2
    s2s compare "${dirs[@]}" --output "$DOCS/zoo_compare"
}

step_lm() {
    record lm python scripts/bench_lm.py --run-root "$RUNS/bench_lm" "${LM_FLAGS[@]}" --json "$OUT/lm.json"
}

step_embeddings() {
    record embeddings python scripts/bench_embeddings.py --run-root "$RUNS/bench_embeddings" "${EMBEDDINGS_FLAGS[@]}" \
        --json "$OUT/embeddings.json"
}

step_teacher_forcing() {
    record teacher_forcing python scripts/bench_teacher_forcing.py --run-root "$RUNS/bench_teacher_forcing" \
        "${TEACHER_FORCING_FLAGS[@]}" --json "$OUT/teacher_forcing.json"
}

selected=()
for step in "${STEPS[@]}"; do
    if ((${#ONLY[@]} == 0)) || [[ " ${ONLY[*]} " == *" $step "* ]]; then
        selected+=("$step")
    fi
done

# Check every run folder before anything starts, so a long run does not stop hours in (quick mode clears its own).
for step in "${selected[@]}"; do
    for dir in $(run_dirs "$step"); do
        if ((QUICK)); then
            rm -rf "$dir"
        elif [[ -e $dir ]]; then
            die "step $step trains into $dir, which exists already; move it aside (mv $dir ${dir}_old) or delete it, then rerun"
        fi
    done
done

mkdir -p "$OUT"
for step in "${selected[@]}"; do
    echo "== $step ($(date -u '+%F %H:%M:%S UTC'))" >&2
    SECONDS=0
    "step_$step"
    echo "== $step done in $((SECONDS / 60)) min $((SECONDS % 60)) s" >&2
done
