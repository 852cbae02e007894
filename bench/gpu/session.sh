#!/usr/bin/env bash
# One device call (through ../shared/device/remote.sh): runs STAGES in order, each with its own
# script, skipping a stage that would not end before DEADLINE_AT (epoch s; else BUDGET_S from now). After
# each stage it packs everything so far into $OUT/results-$CALL.tgz (the device returns at most 8
# files), so a call cut short still brings back the stages it finished.
#   models       random 8b qwen3 (--ctx 135168, Q4_K_M), its random dflash drafter, a 0.6b scorer (F16)
#   foundation   bench/gpu/foundation.sh      (issue 2: AR decode vs llama-bench, greedy equality)
#   foundation-quick  the same, llama-bench and device sampling only (QUICK=1)
#   spec         bench/gpu/spec.sh            (issue 7: random pair, DDTree sweep, oracle)
#   spec-quick   bench/gpu/spec.sh SET=quick  (plain vs --spec auto on the random pair, SPEC_REPS alternations)
#   plain-step   bench/gpu/plain-step.mjs     (issue 7: a plain step's cost beside a DFlash drafter, split)
#   auto-repeat  bench/gpu/auto-repeat.mjs    (issue 7: plain vs --spec auto repeated in one process, with and without warm-up)
#   spec-trained bench/gpu/spec.sh SET=trained on $TRAINED/code29m-* (issue 7: real acceptance)
#   plain-step-trained, auto-repeat-trained  the same two scripts on that pair (512 tokens)
#   draft-step   bench/gpu/draft-step.mjs     (issue 7: one DFlash draft's cost, injection shapes, CUDA graphs on and off)
#   draft-step-trained  the same on the trained pair
#   sweep-trained  flint bench --suite sweep on that pair (real acceptance: chains 1..15, DDTrees, auto;
#                SWEEP_LIMIT prompts of each set, default 1)
#   gap          bench/gpu/gap-at.mjs on GAP_RUNS (a spec.sh spec-runs.jsonl on the random pair): near ties
#   serve        bench/gpu/serve.sh (with the random dflash drafter too)
#   serve-trained  the same on the trained pair           (issue 3: flint serve vs llama-server)
#   pflash       bench/gpu/pflash.sh          (issue 4: TTFT 16K..128K)
#   pflash-window  the same with the scorer's prefill windowed to 4096 positions
#   report-<p>   bench/gpu/report.sh PARTS=p  (issue 5: flint bench decode|sweep|prefill|niah)
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
CALL=${CALL:-1}
R=/tmp/flint-results
export W=/tmp/flint-gpu
mkdir -p "$R" "$W" "$OUT"
export FLINT_GIT_COMMIT=${FLINT_GIT_COMMIT:-$(cat dist/GIT_HEAD 2>/dev/null || git rev-parse HEAD 2>/dev/null || echo unknown)}
DEADLINE=${DEADLINE_AT:-$(( $(date +%s) + ${BUDGET_S:-540} ))}
log() { echo "[$(date +%T)] $*" | tee -a "$R/session-log.txt"; }
pack() { tar -czf "$OUT/results-$CALL.tgz" -C "$R" . ; cp "$R/session-log.txt" "$OUT/session-log-$CALL.txt"; }
est() { case $1 in models) echo 90 ;; foundation) echo 120 ;; foundation-quick) echo 40 ;; spec-quick) echo 140 ;; plain-step) echo 45 ;; draft-step|draft-step-trained) echo 40 ;; auto-repeat) echo 60 ;; spec) echo 150 ;; spec-trained) echo 80 ;; sweep-trained) echo 120 ;; serve) echo 180 ;; serve-trained) echo 120 ;; pflash|pflash-window) echo 300 ;; report-decode) echo 200 ;; report-sweep) echo 200 ;; report-prefill) echo ${EST_PREFILL:-200} ;; report-niah) echo ${EST_NIAH:-150} ;; *) echo 60 ;; esac; }
# PRESET=tiny (with small CONTEXTS, e.g. 1024,2048) is a dry run of every stage on a CPU
export PRESET=${PRESET:-8b}
SC=0.6b; [ "$PRESET" = tiny ] && { SC=tiny; export CTX=${CTX:-4096}; }
# the training context pflash.sh wants for its largest prompt (same formula)
# (at least 128K on a GPU, whatever CONTEXTS and NIAH a short call sets for the report stages)
FLOOR=131072; [ "$PRESET" = tiny ] && FLOOR=0
MAXC=$(echo "${CONTEXTS:-16384,32768,65536,131072},${NIAH:-0},$FLOOR" | tr ',' '\n' | sort -n | tail -1)
LONG=$(( (MAXC + 4096 + 1023) / 1024 * 1024 ))
T="$W/$PRESET-q4_k_m.gguf"
log "call $CALL: stages ${STAGES:?set STAGES}; commit $FLINT_GIT_COMMIT; $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null)"
for st in $STAGES; do
  left=$(( DEADLINE - $(date +%s) ))
  if [ "$left" -lt "$(est "$st")" ]; then log "skip $st: ${left}s left, needs ~$(est "$st")s"; continue; fi
  t0=$(date +%s)
  # a stage may not outlive the call (timeout signals its whole process group): what it wrote so
  # far is packed, the stages after it are skipped
  TO="timeout -k 5 $left"
  case $st in
    models)
      if [ ! -f "$T" ]; then
        $TO node dist/cli.js make-model --arch qwen3 --preset $PRESET --ctx $LONG --seed 1 --out "$W/$PRESET-f16.gguf" >> "$R/session-log.txt" 2>&1
        node dist/cli.js quantize "$W/$PRESET-f16.gguf" "$T" Q4_K_M >> "$R/session-log.txt" 2>&1
        rm -f "$W/$PRESET-f16.gguf"
      fi
      # pflash.sh and report.sh look for these names
      ln -sf "$T" "$W/$PRESET-ctx$LONG-q4_k_m.gguf"
      [ -f "$W/$PRESET-dflash.gguf" ] || node dist/cli.js make-model --arch dflash --target "$T" --seed 2 --out "$W/$PRESET-dflash.gguf" >> "$R/session-log.txt" 2>&1
      [ -f "$W/$SC-scorer-f16.gguf" ] || node dist/cli.js make-model --arch qwen3 --preset $SC --ctx $LONG --seed 3 --out "$W/$SC-scorer-f16.gguf" >> "$R/session-log.txt" 2>&1
      ls -la "$W" >> "$R/session-log.txt" ;;
    foundation) OUT="$R/foundation" $TO bash bench/gpu/foundation.sh ;;
    foundation-quick) OUT="$R/foundation-quick" QUICK=1 $TO bash bench/gpu/foundation.sh ;;
    spec-quick) OUT="$R/spec-quick" SET=quick $TO bash bench/gpu/spec.sh ;;
    spec) OUT="$R/spec" $TO bash bench/gpu/spec.sh ;;
    auto-repeat)
      mkdir -p "$R/auto-repeat"
      $TO node bench/gpu/auto-repeat.mjs "$T" "$W/$PRESET-dflash.gguf" 128 3 --no-warmup > "$R/auto-repeat/no-warmup.json"
      $TO node bench/gpu/auto-repeat.mjs "$T" "$W/$PRESET-dflash.gguf" 128 ${AR_ROUNDS:-3} > "$R/auto-repeat/warmup.json" ;;
    plain-step)
      mkdir -p "$R/plain-step"
      $TO node bench/gpu/plain-step.mjs "$T" "$W/$PRESET-dflash.gguf" 96 3 > "$R/plain-step/plain-step.json"
      # the same once more with llama.cpp's debug log, its CUDA graph lines counted per variant
      $TO node bench/gpu/plain-step.mjs "$T" "$W/$PRESET-dflash.gguf" 96 1 --debug > /dev/null 2> "$W/plain-step-debug.log"
      awk '/^@@ /{v=$2; next} /CUDA [Gg]raph|cuda_graph/{gsub(/[0-9]+/,"N"); c[v" | "$0]++} END{for(k in c) print c[k]" "k}' "$W/plain-step-debug.log" | sort -k2 > "$R/plain-step/cuda-graph-lines.txt"
      cat "$R/plain-step/plain-step.json" "$R/plain-step/cuda-graph-lines.txt" ;;
    draft-step|draft-step-trained)
      if [ "$st" = draft-step ]; then DT="$T"; DD="$W/$PRESET-dflash.gguf"; else DT="$TRAINED/code29m-q8_0.gguf"; DD="$TRAINED/code29m-dflash-3l.gguf"; fi
      mkdir -p "$R/$st"
      $TO node bench/gpu/draft-step.mjs "$DT" "$DD" 200 3 > "$R/$st/draft-step.json"
      GGML_CUDA_DISABLE_GRAPHS=1 $TO node bench/gpu/draft-step.mjs "$DT" "$DD" 200 2 > "$R/$st/draft-step-no-graphs.json"
      $TO node bench/gpu/draft-step.mjs "$DT" "$DD" 100 1 --debug > /dev/null 2> "$W/$st-debug.log"
      awk '/^@@ /{v=$2; next} /CUDA [Gg]raph|cuda_graph/{gsub(/[0-9]+/,"N"); c[v" | "$0]++} END{for(k in c) print c[k]" "k}' "$W/$st-debug.log" | sort -k2 > "$R/$st/cuda-graph-lines.txt"
      cat "$R/$st/draft-step.json" "$R/$st/draft-step-no-graphs.json" "$R/$st/cuda-graph-lines.txt" ;;
    plain-step-trained)
      mkdir -p "$R/plain-step-trained"
      $TO node bench/gpu/plain-step.mjs "$TRAINED/code29m-q8_0.gguf" "$TRAINED/code29m-dflash-3l.gguf" 200 3 > "$R/plain-step-trained/plain-step.json"
      cat "$R/plain-step-trained/plain-step.json" ;;
    auto-repeat-trained)
      mkdir -p "$R/auto-repeat-trained"
      $TO node bench/gpu/auto-repeat.mjs "$TRAINED/code29m-q8_0.gguf" "$TRAINED/code29m-dflash-3l.gguf" 512 ${AR_ROUNDS:-3} > "$R/auto-repeat-trained/warmup.json" ;;
    spec-trained) OUT="$R/spec-trained" SET=trained T="$TRAINED/code29m-q8_0.gguf" D="$TRAINED/code29m-dflash-3l.gguf" N=512 $TO bash bench/gpu/spec.sh ;;
    sweep-trained) $TO node dist/cli.js bench --suite sweep --model "$TRAINED/code29m-q8_0.gguf" --draft "$TRAINED/code29m-dflash-3l.gguf" --limit ${SWEEP_LIMIT:-1} -n 256 \
        --chain-budgets ${SWEEP_CHAINS:-1,2,4,7,8,15} --tree-budgets ${SWEEP_TREES:-16,64} --baseline llama --out "$R/sweep-trained" ;;
    # the near-tie check of a committed spec.sh run file's divergences (GAP_RUNS, plain label GAP_PLAIN)
    gap) mkdir -p "$R/gap"; $TO node bench/gpu/gap-at.mjs "$T" "$GAP_RUNS" "${GAP_PLAIN:-none-1}" > "$R/gap/gaps.json"; cat "$R/gap/gaps.json" ;;
    serve) OUT="$R/serve" D="$W/$PRESET-dflash.gguf" $TO bash bench/gpu/serve.sh ;;
    serve-trained) OUT="$R/serve-trained" T="$TRAINED/code29m-q8_0.gguf" D="$TRAINED/code29m-dflash-3l.gguf" CTX=4096 $TO bash bench/gpu/serve.sh ;;
    pflash) OUT="$R/pflash" $TO bash bench/gpu/pflash.sh ;;
    # the scorer's prefill with a 4096-position window (llama-bench baselines are reused if present)
    pflash-window) OUT="$R/pflash-window" SCORER_WINDOW=4096 $TO bash bench/gpu/pflash.sh ;;
    report-*) OUT="$R/report" PARTS=${st#report-} $TO bash bench/gpu/report.sh ;;
    *) log "unknown stage $st" ;;
  esac > "$R/$st-stdout.txt" 2>&1
  rc=$?
  log "$st: exit $rc in $(( $(date +%s) - t0 ))s"
  pack
done
log "call $CALL done"
pack
