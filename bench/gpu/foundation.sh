#!/usr/bin/env bash
# Foundation check on the device machine (run through ../shared/device/remote.sh, which builds llama.cpp
# for CUDA and exports FLINT_LLAMA_LIB_DIR and LLAMA_BIN_DIR):
#   1. a random 8b-shape qwen3 (flint make-model), quantized to Q4_K_M by flint quantize;
#   2. AR decode: llama-bench -p 0 -n 128 -fa 1 vs flint run -n 128 (greedy, --ignore-eos), same file;
#   3. greedy output: flint run vs llama-completion --temp 0 on the same prompt and model.
# Writes partial results to $OUT as it goes, then $OUT/foundation.json (bench/gpu/foundation-summary.mjs).
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
W=/tmp/flint-gpu
mkdir -p "$W" "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/log.txt"; }
M="$W/8b-q4_k_m.gguf"
PROMPT='The history of the printing press begins'

( cmake --build /tmp/flint-dev/llama-build --target llama-completion -j"$(nproc)" > "$W/build-completion.log" 2>&1 && log "built llama-completion" ) &
builder=$!

if [ ! -f "$M" ]; then
  t0=$(date +%s)
  node dist/cli.js make-model --arch qwen3 --preset 8b --seed 1 --out "$W/8b-f16.gguf" 2>&1 | tee -a "$OUT/log.txt"
  t1=$(date +%s)
  node dist/cli.js quantize "$W/8b-f16.gguf" "$M" Q4_K_M 2>&1 | tail -2 | tee -a "$OUT/log.txt"
  t2=$(date +%s)
  rm -f "$W/8b-f16.gguf"
  log "make-model ${t0}->${t1} ($((t1-t0)) s), quantize $((t2-t1)) s"
fi
node dist/cli.js inspect "$M" --json > "$OUT/model.json" 2>>"$OUT/log.txt"

log "llama-bench (1)"
"$LLAMA_BIN_DIR/llama-bench" -m "$M" -p 0 -n 128 -fa 1 -r 5 -o json > "$W/bench1.json" 2>>"$W/bench.log"
for i in 1 2 3 4 5; do
  node dist/cli.js run --model "$M" --prompt "$PROMPT" -n 128 --temperature 0 --ignore-eos --gpu-layers -1 --flash-attn on --json > "$W/flint-$i.json" 2>>"$OUT/log.txt"
  log "flint run $i: $(node -e 'const d=require(process.argv[1]);console.log(d.tokensPerSecond+" tok/s", JSON.stringify(d.split))' "$W/flint-$i.json")"
done
log "llama-bench (2)"
"$LLAMA_BIN_DIR/llama-bench" -m "$M" -p 0 -n 128 -fa 1 -r 5 -o json > "$W/bench2.json" 2>>"$W/bench.log"

wait $builder
GREEDY_N=64
node dist/cli.js run --model "$M" --prompt "$PROMPT" -n $GREEDY_N --temperature 0 --ignore-eos --flash-attn on --json > "$W/flint-greedy.json" 2>>"$OUT/log.txt"
if [ -x "$LLAMA_BIN_DIR/llama-completion" ]; then
  "$LLAMA_BIN_DIR/llama-completion" -m "$M" -p "$PROMPT" -n $GREEDY_N --temp 0 --ignore-eos -no-cnv --no-display-prompt \
    -ngl 99 -fa on -c 4096 --seed 1 > "$W/llama-greedy.txt" 2>"$W/llama-greedy.log" < /dev/null
fi

node bench/gpu/foundation-summary.mjs "$W" "$OUT/foundation.json" "$PROMPT" $GREEDY_N
cp "$W/llama-greedy.log" "$OUT/llama-completion.log" 2>/dev/null
log "done"
