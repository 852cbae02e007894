#!/usr/bin/env bash
# The full benchmark report on the device machine (through ../shared/device/remote.sh, which exports
# FLINT_LLAMA_LIB_DIR and LLAMA_BIN_DIR), with `flint bench`:
#   models: a random-weight qwen3 8b shape quantized to Q4_K_M (seed 1), a random dflash drafter matched
#           to it (seed 2: its drafts are useless, acceptance ~0), a random qwen3 0.6b shape as the PFlash
#           scorer (seed 3, F16);
#   decode:  plain, ngram, dflash chain/auto, DDTree, the oracle at mean accepted length 6.5 (SIMULATED
#            acceptance), equality with plain decoding; llama-bench tg and llama-server plain and
#            --spec-type draft-dflash on the same files;
#   sweep:   chain depths and DDTree budgets (plus oracle chains, simulated): verify cost and tok/s per budget;
#   prefill: TTFT over context lengths, full vs PFlash; llama-bench pp at the same lengths;
#   niah:    needle in a haystack, full vs PFlash (random target: retrieval is never expected; the scorer
#            keeping the needle is the signal).
# Each part writes $OUT/<part>/ (results.json, report.md, SVG charts); $OUT/README.md collects the reports.
# PARTS picks parts (default all; the device allows 10 minutes per command, so run them one by one there:
# PARTS=decode, PARTS=sweep, ...); CONTEXTS, NIAH, TRIALS and REPS override the prefill and niah sizes.
# Prefill and niah run with --flash-attn on, as llama-bench -fa 1 (with the default "auto" both
# aborted on the H200 with a CUDA illegal memory access in the scorer's graph: not yet understood).
# PRESET=tiny is a dry run anywhere (CPU, small sizes).
# To be committed as bench/results/<date>-h200/.
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
W=/tmp/flint-gpu
PRESET=${PRESET:-8b}
PARTS=${PARTS:-decode sweep prefill niah}
mkdir -p "$W" "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/report-log.txt"; }
flint() { node dist/cli.js "$@"; }

T="$W/$PRESET-q4_k_m.gguf"
D="$W/$PRESET-dflash.gguf"
if [ "$PRESET" = tiny ]; then SPRESET=tiny; else SPRESET=0.6b; fi
S="$W/$SPRESET-scorer-f16.gguf"
if [ ! -f "$T" ]; then
  flint make-model --arch qwen3 --preset "$PRESET" --seed 1 --out "$W/$PRESET-f16.gguf" >> "$OUT/report-log.txt" 2>&1
  flint quantize "$W/$PRESET-f16.gguf" "$T" Q4_K_M >> "$OUT/report-log.txt" 2>&1
  rm -f "$W/$PRESET-f16.gguf"
fi
[ -f "$D" ] || flint make-model --arch dflash --target "$T" --seed 2 --out "$D" >> "$OUT/report-log.txt" 2>&1
[ -f "$S" ] || flint make-model --arch qwen3 --preset "$SPRESET" --seed 3 --out "$S" >> "$OUT/report-log.txt" 2>&1

if [ "$PRESET" = tiny ]; then
  # dry run: a few prompts, short outputs, small contexts
  N=32; LIMIT=1; SWEEP_LIMIT=1; CONTEXTS=256,512,1024; NIAH=512,1024; TRIALS=1; REPS=1
else
  # the sweep is the long part: 4 prompts x (5 chains + 6 trees + auto) per drafter, oracle chains too
  N=128; LIMIT=4; SWEEP_LIMIT=1; CONTEXTS=${CONTEXTS:-1024,2048,4096,8192,16384,32768}; NIAH=${NIAH:-8192,16384,32768}; TRIALS=${TRIALS:-3}; REPS=${REPS:-3}
fi
BASE=(); [ -n "${LLAMA_BIN_DIR:-}" ] && BASE=(--baseline llama)
export FLINT_GIT_COMMIT=${FLINT_GIT_COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}

for part in $PARTS; do
  t0=$(date +%s)
  case $part in
    decode) flint bench --suite decode --model "$T" --draft "$D" --limit $LIMIT -n $N --oracle-al 6.5 "${BASE[@]}" --out "$OUT/decode" ;;
    sweep) flint bench --suite sweep --model "$T" --draft "$D" --limit $SWEEP_LIMIT -n $N --sweep-oracle --oracle-al 6.5 --chain-budgets 1,2,4,7,8,15 --tree-budgets 8,16,32,64,128,255 "${BASE[@]}" --out "$OUT/sweep" ;;
    prefill) flint bench --suite prefill --model "$T" --scorer "$S" --contexts $CONTEXTS --reps $REPS --flash-attn on "${BASE[@]}" --out "$OUT/prefill" ;;
    niah) flint bench --suite niah --model "$T" --scorer "$S" --niah-contexts $NIAH --niah-trials $TRIALS --flash-attn on --out "$OUT/niah" ;;
    *) log "unknown part $part"; continue ;;
  esac >> "$OUT/report-log.txt" 2>&1
  log "$part: exit $? in $(( $(date +%s) - t0 )) s"
done

# collect the parts' reports (links to charts made relative to $OUT)
{
  echo "# flint benchmark report ($PRESET)"
  echo
  echo "Random-weight models (flint make-model; speeds are real, text is noise); the dflash drafter is random"
  echo "(acceptance ~0); oracle rows are SIMULATED acceptance. Made by bench/gpu/report.sh."
  for part in decode sweep prefill niah; do
    [ -f "$OUT/$part/report.md" ] || continue
    echo
    sed -e "s#](\([a-z-]*\.svg\))#]($part/\1)#" -e 's/^#/##/' "$OUT/$part/report.md"
  done
} > "$OUT/README.md"
log "done: $OUT/README.md"
