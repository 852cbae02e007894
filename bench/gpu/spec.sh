#!/usr/bin/env bash
# Speculative decoding on the device machine (through ../shared/device/remote.sh), for issue 7:
#   1. useless drafts: a random dflash drafter matched to a random target; flint --spec auto vs none;
#   2. DFlash chain budgets and DDTree budgets on that pair: verify cost per step vs a plain step;
#   3. the oracle drafter at mean accepted lengths 4, 6.5 and 9.5 (SIMULATED acceptance);
#   4. llama.cpp's own DFlash (llama-server --spec-type draft-dflash) on the same pair, for tok/s.
# SET=trained (with T= and D= naming ../shared/models' code29m pair, carried to the device) runs plain,
# --spec auto, a DFlash chain and a DDTree on that pair instead (real acceptance), and llama.cpp's DFlash.
# SET=quick runs plain and --spec auto only (random pair), with llama-bench tg before and after.
# PRESET=tiny runs it anywhere as a dry run. Results: $OUT/spec.json (and the raw runs in $OUT/spec-runs.jsonl).
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
W=/tmp/flint-gpu
PRESET=${PRESET:-8b}
mkdir -p "$W" "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/spec-log.txt"; }
SET=${SET:-random}
T=${T:-$W/$PRESET-q4_k_m.gguf}
D=${D:-$W/$PRESET-dflash.gguf}
N=${N:-128}
P=$'def fibonacci(n):\n    if n < 2:\n        return n\n'
if [ ! -f "$T" ]; then
  node dist/cli.js make-model --arch qwen3 --preset "$PRESET" --seed 1 --out "$W/$PRESET-f16.gguf" >> "$OUT/spec-log.txt" 2>&1
  node dist/cli.js quantize "$W/$PRESET-f16.gguf" "$T" Q4_K_M >> "$OUT/spec-log.txt" 2>&1
  rm -f "$W/$PRESET-f16.gguf"
fi
[ -f "$D" ] || node dist/cli.js make-model --arch dflash --target "$T" --seed 2 --out "$D" >> "$OUT/spec-log.txt" 2>&1
RUNS="$OUT/spec-runs.jsonl"; : > "$RUNS"
run() { # label, flint run args...
  local label=$1; shift
  local out
  out=$(node dist/cli.js run --model "$T" --prompt "$P" -n "$N" --temperature 0 --ignore-eos --json "$@" 2>>"$OUT/spec-log.txt") || { log "FAILED $label"; return; }
  LABEL="$label" RESULT="$out" node -e 'const d=JSON.parse(process.env.RESULT);console.log(JSON.stringify({label:process.env.LABEL,tokensPerSecond:d.tokensPerSecond,decodeMs:d.decodeMs,tokens:d.tokens,sampling:d.sampling,spec:d.spec??null,tokenIds:d.tokenIds}))' >> "$RUNS"
  log "$label: $(tail -1 "$RUNS" | cut -c1-160)"
}
if [ "$SET" = quick ]; then
  # --spec auto against plain only (a short device call after a controller change)
  [ -x "${LLAMA_BIN_DIR:-}/llama-bench" ] && "$LLAMA_BIN_DIR/llama-bench" -m "$T" -p 0 -n $N -fa 1 -r 3 -o json > "$OUT/llama-bench-1.json" 2>>"$OUT/spec-log.txt"
  # plain and auto alternated SPEC_REPS times (one process each, as a user's flint run)
  # --spec auto runs the n-gram assist too; dflash-auto-* is the DFlash controller alone
  for i in $(seq 1 "${SPEC_REPS:-3}"); do run "none-$i"; run "auto-dflash-$i" --spec auto --draft "$D"; run "dflash-auto-$i" --spec dflash --budget auto --draft "$D"; done
  run "none-end"
  [ -x "${LLAMA_BIN_DIR:-}/llama-bench" ] && "$LLAMA_BIN_DIR/llama-bench" -m "$T" -p 0 -n $N -fa 1 -r 3 -o json > "$OUT/llama-bench-2.json" 2>>"$OUT/spec-log.txt"
  # whether CUDA graphs keep running for the target's plain steps while the drafter captures features
  # (a plain step's launch took 0.76-1.01 ms then, 0.20-0.25 without a drafter)
  for mode in none auto; do
    extra=(); [ $mode = auto ] && extra=(--spec auto --draft "$D")
    node dist/cli.js run --model "$T" --prompt "$P" -n 64 --temperature 0 --ignore-eos --log-level debug "${extra[@]}" --json > /dev/null 2> "$OUT/debug-$mode.log"
    log "CUDA graph lines ($mode): $(grep -i 'cuda graph' "$OUT/debug-$mode.log" | sed 's/[0-9]\+/N/g' | sort | uniq -c | tr '\n' ';')"
    rm -f "$OUT/debug-$mode.log"
  done
elif [ "$SET" = trained ]; then
  for i in $(seq 1 "${SPEC_REPS:-2}"); do run "none-$i"; run "auto-dflash-$i" --spec auto --draft "$D"; run "dflash-auto-$i" --spec dflash --budget auto --draft "$D"; done
  for b in 4 15; do run "chain-$b" --spec dflash --draft "$D" --budget $b; done
  run "none-fa-off" --flash-attn off
  for b in 16 64; do run "tree-$b" --spec dflash --draft "$D" --tree-k 4 --budget $b --flash-attn off; done
  for i in 1 2; do run "none-end-$i"; done
else
  for i in 1 2; do run "none-$i"; done
  for i in 1 2; do run "auto-dflash-$i" --spec auto --draft "$D"; done
  for b in 1 4 8 15; do run "chain-$b" --spec dflash --draft "$D" --budget $b; done
  run "none-fa-off" --flash-attn off
  for b in 8 16 32 64 128 255; do run "tree-$b" --spec dflash --draft "$D" --tree-k 4 --budget $b --flash-attn off; done
  # simulated acceptance: the oracle proposes the target's own greedy continuation, spoiled at drawn depths
  for al in 4 6.5 9.5; do run "oracle-al$al" --spec oracle --oracle-al $al --budget 15; done
  for al in 4 6.5 9.5; do run "tree-oracle-al$al" --spec oracle --oracle-al $al --tree-k 4 --budget 32 --flash-attn off; done
  for i in 3 4; do run "none-$i"; done
fi

# llama.cpp's own DFlash on the same pair (tok/s from its timings)
if [ "$SET" != quick ] && [ -x "${LLAMA_BIN_DIR:-}/llama-server" ]; then
  for mode in plain dflash; do
    extra=(); [ $mode = dflash ] && extra=(-md "$D" --spec-type draft-dflash --spec-draft-n-max 15)
    "$LLAMA_BIN_DIR/llama-server" -m "$T" -ngl 99 -fa on -c 4096 -np 1 --host 127.0.0.1 --port 8092 "${extra[@]}" > "$W/ls-$mode.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 240); do curl -sf http://127.0.0.1:8092/health > /dev/null 2>&1 && break; sleep 0.5; done
    body=$(printf '{"prompt":%s,"n_predict":'"$N"',"temperature":0,"ignore_eos":true,"return_tokens":true,"cache_prompt":false}' "$(node -e 'console.log(JSON.stringify(process.argv[1]))' "$P")")
    r=$(curl -s http://127.0.0.1:8092/completion -H 'content-type: application/json' -d "$body")
    LABEL="llama-server-$mode" RESULT="$r" node -e 'const d=JSON.parse(process.env.RESULT);console.log(JSON.stringify({label:process.env.LABEL,tokensPerSecond:d.timings?.predicted_per_second,draftN:d.timings?.draft_n,draftAccepted:d.timings?.draft_n_accepted,tokenIds:d.tokens}))' >> "$RUNS" 2>>"$OUT/spec-log.txt"
    log "llama-server $mode: $(tail -1 "$RUNS" | cut -c1-160)"
    kill $pid; wait $pid 2>/dev/null
  done
fi
SET=$SET T=$T D=$D PRESET=$PRESET node bench/gpu/spec-summary.mjs "$RUNS" "$OUT/spec.json"
log "done"
