#!/usr/bin/env bash
# PFlash (speculative prefill) TTFT on the device machine (through ../shared/device/remote.sh, which
# builds llama.cpp for CUDA and exports FLINT_LLAMA_LIB_DIR and LLAMA_BIN_DIR):
#   1. a random 8b-shape qwen3 target with a long training context (flint make-model --ctx), Q4_K_M
#      (flint quantize), and a random 0.6b-shape qwen3 scorer (F16);
#   2. llama-bench -p N -n 0 -fa 1 for each context size N (prompt processing of the whole prompt);
#   3. one node process (bench/gpu/pflash-run.mjs): per N a NIAH haystack, TTFT with flint's full
#      prefill and with PFlash (keep ratio KEEP, default 0.05), split into scorer prefill / scorer
#      scoring / selection / target prefill of the kept tokens.
# Output: $OUT/pflash.json (and $OUT/pflash-log.txt). Needs `npm run build` (dist/) first.
# PRESET=tiny CONTEXTS=1024,2048 is a dry run on a CPU (tiny target and tiny scorer).
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
W=${W:-/tmp/flint-gpu}
PRESET=${PRESET:-8b}
KEEP=${KEEP:-0.05}
CONTEXTS=${CONTEXTS:-16384,32768,65536,131072}
mkdir -p "$W" "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/pflash-log.txt"; }
MAXC=$(echo "$CONTEXTS" | tr ',' '\n' | sort -n | tail -1)
LONG=$(( (MAXC + 4096 + 1023) / 1024 * 1024 ))   # training context the target must allow
T="$W/$PRESET-ctx$LONG-q4_k_m.gguf"
SC=0.6b; [ "$PRESET" = tiny ] && SC=tiny
S="$W/$SC-scorer-f16.gguf"
if [ ! -f "$T" ]; then
  t0=$(date +%s)
  node dist/cli.js make-model --arch qwen3 --preset "$PRESET" --ctx "$LONG" --seed 1 --out "$W/$PRESET-ctx$LONG-f16.gguf" >> "$OUT/pflash-log.txt" 2>&1 || { log "make-model failed"; exit 1; }
  node dist/cli.js quantize "$W/$PRESET-ctx$LONG-f16.gguf" "$T" Q4_K_M >> "$OUT/pflash-log.txt" 2>&1 || { log "quantize failed"; exit 1; }
  rm -f "$W/$PRESET-ctx$LONG-f16.gguf"
  log "target $T made in $(( $(date +%s) - t0 )) s"
fi
if [ ! -f "$S" ]; then
  node dist/cli.js make-model --arch qwen3 --preset "$SC" --ctx "$LONG" --seed 5 --out "$S" >> "$OUT/pflash-log.txt" 2>&1 || { log "scorer make-model failed"; exit 1; }
  log "scorer $S made"
fi
if [ -n "${LLAMA_BIN_DIR:-}" ] && [ -x "$LLAMA_BIN_DIR/llama-bench" ]; then
  for n in ${CONTEXTS//,/ }; do
    # a warm machine keeps the baseline of an earlier run (same target file)
    if [ -s "$W/llama-bench-$n.json" ]; then log "llama-bench -p $n: reused"; continue; fi
    "$LLAMA_BIN_DIR/llama-bench" -m "$T" -p "$n" -n 0 -fa 1 -r "${BENCH_REPS:-1}" -o json > "$W/llama-bench-$n.json" 2>>"$OUT/pflash-log.txt" \
      && log "llama-bench -p $n: $(node -e 'const r=require(process.argv[1])[0];console.log((r.avg_ns/1e6).toFixed(0)+" ms, "+r.avg_ts.toFixed(0)+" tok/s")' "$W/llama-bench-$n.json")" \
      || log "llama-bench -p $n failed"
  done
else
  log "no LLAMA_BIN_DIR/llama-bench: skipping the llama.cpp baseline"
fi
node bench/gpu/pflash-run.mjs "$T" "$S" "$CONTEXTS" "$KEEP" "$W" "$OUT/pflash.json" 2>>"$OUT/pflash-log.txt" | tee -a "$OUT/pflash-log.txt"
log "done"
