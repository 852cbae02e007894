#!/usr/bin/env bash
# Foundation check on the device machine (run through ../shared/device/remote.sh, which builds llama.cpp
# for CUDA and exports FLINT_LLAMA_LIB_DIR and LLAMA_BIN_DIR):
#   1. a random 8b-shape qwen3 (flint make-model), quantized to Q4_K_M by flint quantize;
#   2. AR decode: llama-bench -p 0 -n 128 -fa 1 vs flint run -n 128 (greedy, --ignore-eos), same file;
#   3. greedy output, token ids: flint run vs llama-server /completion at temperature 0 (greedy-check.mjs).
# PRESET=tiny runs the same steps on a CPU-sized model (a dry run of the script anywhere).
# Writes partial results to $OUT as it goes, then $OUT/foundation.json (bench/gpu/foundation-summary.mjs).
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
W=/tmp/flint-gpu
mkdir -p "$W" "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/log.txt"; }
M="$W/${PRESET:-8b}-q4_k_m.gguf"
PROMPT='The history of the printing press begins'

PRESET=${PRESET:-8b}
if [ ! -f "$M" ]; then
  t0=$(date +%s)
  node dist/cli.js make-model --arch qwen3 --preset "$PRESET" --seed 1 --out "$W/$PRESET-f16.gguf" 2>&1 | tee -a "$OUT/log.txt"
  t1=$(date +%s)
  node dist/cli.js quantize "$W/$PRESET-f16.gguf" "$M" Q4_K_M 2>&1 | tail -2 | tee -a "$OUT/log.txt"
  t2=$(date +%s)
  rm -f "$W/$PRESET-f16.gguf"
  log "make-model ${t0}->${t1} ($((t1-t0)) s), quantize $((t2-t1)) s"
fi
node dist/cli.js inspect "$M" --json > "$OUT/model.json" 2>>"$OUT/log.txt"

log "llama-bench (1)"
"$LLAMA_BIN_DIR/llama-bench" -m "$M" -p 0 -n 128 -fa 1 -r 5 -o json > "$W/bench1.json" 2>>"$W/bench.log"
# QUICK=1: llama-bench and device-sampling runs only (a short device call)
MODES="device host"; [ -n "${QUICK:-}" ] && MODES=device
for mode in $MODES; do
  for i in 1 2 3; do
    node dist/cli.js run --model "$M" --prompt "$PROMPT" -n 128 --temperature 0 --ignore-eos --flash-attn on --sampling $mode --json > "$W/flint-$mode-$i.json" 2>>"$OUT/log.txt"
    log "flint run ($mode) $i: $(node -e 'const d=require(process.argv[1]);console.log(d.tokensPerSecond+" tok/s", JSON.stringify(d.split))' "$W/flint-$mode-$i.json")"
  done
done
if [ -z "${QUICK:-}" ]; then
# llama-bench's tg context is n_prompt + n_gen (128 cells); flint's default is 4096: the same decode at
# llama-bench's context size tells whether the KV size explains the gap
for i in 1 2 3; do
  node dist/cli.js run --model "$M" --prompt "$PROMPT" -n 128 --temperature 0 --ignore-eos --flash-attn on --sampling device --ctx 256 --json > "$W/flint-device-ctx256-$i.json" 2>>"$OUT/log.txt"
  log "flint run (device, ctx 256) $i: $(node -e 'const d=require(process.argv[1]);console.log(d.tokensPerSecond+" tok/s")' "$W/flint-device-ctx256-$i.json")"
done
# llama.cpp's debug log says whether CUDA graphs run for flint's decode steps
node dist/cli.js run --model "$M" --prompt "$PROMPT" -n 32 --temperature 0 --ignore-eos --flash-attn on --sampling device --log-level debug --json > /dev/null 2> "$W/flint-verbose.log"
log "CUDA graph lines in flint's verbose log: $(grep -ci 'cuda graph' "$W/flint-verbose.log")"
grep -i "cuda graph" "$W/flint-verbose.log" | sort | uniq -c | head -5 >> "$OUT/log.txt"
fi
log "llama-bench (2)"
"$LLAMA_BIN_DIR/llama-bench" -m "$M" -p 0 -n 128 -fa 1 -r 5 -o json > "$W/bench2.json" 2>>"$W/bench.log"
# greedy equality, token ids, on the 8b model and on a random 0.6b-shape F16 model
if [ -z "${QUICK:-}" ]; then
GREEDY_N=64
SMALL=0.6b; [ "$PRESET" = tiny ] && SMALL=tiny
node dist/cli.js make-model --arch qwen3 --preset $SMALL --seed 3 --out "$W/small-f16.gguf" >> "$OUT/log.txt" 2>&1
for tag in big small; do
  f="$M"; [ $tag = small ] && f="$W/small-f16.gguf"
  for mode in device host; do
    node dist/cli.js run --model "$f" --prompt "$PROMPT" -n $GREEDY_N --temperature 0 --ignore-eos --flash-attn on --sampling $mode --json > "$W/greedy-$tag-$mode.json" 2>>"$OUT/log.txt"
  done
  node bench/gpu/greedy-check.mjs "$f" "$PROMPT" $GREEDY_N 8091 "$W/greedy-$tag-device.json" "$W/greedy-$tag-host.json" > "$W/greedy-$tag.json" 2>>"$OUT/log.txt"
  log "greedy $tag: $(node -e 'const d=require(process.argv[1]);console.log(d.comparisons.map(c=>c.sampling+":"+c.verdict+"@"+c.firstDivergence).join(" "))' "$W/greedy-$tag.json")"
done

fi
node bench/gpu/foundation-summary.mjs "$W" "$OUT/foundation.json"
log "done"
