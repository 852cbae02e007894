#!/usr/bin/env bash
# CPU comparison of decoding modes on the trained pair in ../shared/models (one run each, 1 thread):
# plain, n-gram, DFlash chain, DFlash tree, and the adaptive controller. Output: one JSON object.
set -euo pipefail
M=${M:-../shared/models/code29m-q8_0.gguf}
D=${D:-../shared/models/code29m-dflash-3l.gguf}
P=$'def fibonacci(n):\n'
run() { node dist/cli.js run --model "$M" --prompt "$P" -n 96 --temperature 0 --ignore-eos --threads 1 --json "$@"; }
{
  echo '{"what":"flint run -n 96 --temperature 0 --ignore-eos --threads 1 on code29m-q8_0 (+ code29m-dflash-3l), prompt \"def fibonacci(n):\\n\", one run each","rows":['
  first=1
  for mode in "" "--spec ngram --budget 8" "--spec ngram --budget auto" "--spec dflash --draft $D" "--spec dflash --draft $D --tree-k 4 --budget 16" "--spec dflash --draft $D --budget auto"; do
    # shellcheck disable=SC2086
    out=$(run $mode)
    [ $first = 1 ] || echo ","
    first=0
    MODE="$mode" RESULT="$out" node -e 'const d=JSON.parse(process.env.RESULT);console.log(JSON.stringify({args:process.env.MODE,tokensPerSecond:d.tokensPerSecond,tokens:d.tokens,spec:d.spec??null,tokenIds:d.tokenIds}))'
  done
  echo "],\"date\":\"$(date -u +%FT%TZ)\",\"gitCommit\":\"$(git rev-parse HEAD)\",\"cpu\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\"}"
} > "${OUT:-/dev/stdout}"
