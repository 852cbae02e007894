#!/usr/bin/env bash
# `--spec auto` (DFlash with the n-gram assist) and `--spec dflash --budget auto` (the DFlash
# controller alone) against plain decoding on this CPU, trained pair in ../shared/models: 3 prompts x
# 256 tokens, ROUNDS rounds (default 2), one `flint run` each, default threads. Output: one JSON
# object with each run's tok/s, its ratio to the plain run of the same prompt and round, and the
# assist's and the controllers' view (verify prices, steps).
set -euo pipefail
M=${M:-../shared/models/code29m-q8_0.gguf}
D=${D:-../shared/models/code29m-dflash-3l.gguf}
ROUNDS=${ROUNDS:-2}
run() { node dist/cli.js run --model "$M" --prompt "$1" -n 256 --temperature 0 --ignore-eos --json "${@:2}" 2>/dev/null; }
{
  echo '{"what":"flint run -n 256 --temperature 0 --ignore-eos (default threads) on code29m-q8_0 (+ code29m-dflash-3l): plain, --spec auto --draft D, --spec dflash --draft D --budget auto; ratio = tok/s over the plain run of the same prompt and round","rows":['
  first=1
  for round in $(seq 1 "$ROUNDS"); do
    for p in 'def fibonacci(n):' 'class Stack:' 'import os'; do
      plain=""
      for mode in none auto dflash-auto; do
        case $mode in none) out=$(run "$p") ;; auto) out=$(run "$p" --spec auto --draft "$D") ;; dflash-auto) out=$(run "$p" --spec dflash --draft "$D" --budget auto) ;; esac
        [ $mode = none ] && plain=$out
        [ $first = 1 ] || echo ","
        first=0
        ROUND=$round PROMPT="$p" MODE=$mode RESULT="$out" PLAIN="$plain" node -e '
const d = JSON.parse(process.env.RESULT), pl = JSON.parse(process.env.PLAIN), s = d.spec;
const a = s?.ngramAssist;
console.log(JSON.stringify({ round: Number(process.env.ROUND), prompt: process.env.PROMPT, mode: process.env.MODE, tokensPerSecond: d.tokensPerSecond, ratioToPlain: Math.round((d.tokensPerSecond / pl.tokensPerSecond) * 1000) / 1000, sameTokensAsPlain: JSON.stringify(d.tokenIds) === JSON.stringify(pl.tokenIds),
  ...(s ? { steps: s.steps, arSteps: s.arSteps, verifiedByNodes: s.verifiedByNodes, controllerVerifyMsByRows: s.controller?.verifyMsByRows, controllerArMs: s.controller?.arMs } : {}),
  ...(a ? { ngramAssist: { steps: a.steps, tokens: a.tokens, shadowProbes: a.shadowProbes, verifyMsByRows: a.controller.verifyMsByRows } } : {}) }));'
      done
    done
  done
  echo "],\"date\":\"$(date -u +%FT%TZ)\",\"gitCommit\":\"$(git rev-parse HEAD)\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"nproc\":$(nproc)}"
} > "${OUT:-/dev/stdout}"
