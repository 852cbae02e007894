#!/usr/bin/env bash
# flint serve vs llama-server on the same GGUF and flags, through the streaming chat endpoint
# (bench/gpu/serve-run.mjs): decode tokens/s for N tokens at temperature 0 and TTFT for a ~2K-token
# prompt, for issue 3. flint runs twice: --spec none (the same work as llama-server) and its default
# --spec auto (n-gram drafts under the adaptive controller). Needs dist/ and, on the device,
# ../shared/device/remote.sh (LLAMA_BIN_DIR). T= picks the model (default: the random 8b Q4_K_M).
# With D= (a DFlash drafter for T) flint also runs --spec auto --draft D (DFlash under the controller,
# with the n-gram assist) and --spec dflash --budget auto --draft D (the DFlash controller alone).
# PRESET=tiny is a dry run anywhere. Output: $OUT/serve.json.
set -uo pipefail
OUT=${OUT:-/tmp/flint-out}
W=${W:-/tmp/flint-gpu}
PRESET=${PRESET:-8b}
T=${T:-$W/$PRESET-q4_k_m.gguf}
N=${N:-256}
REPS=${REPS:-3}
export CTX=${CTX:-8192}
mkdir -p "$W" "$OUT"
log() { echo "[$(date +%T)] $*" | tee -a "$OUT/serve-log.txt"; }
RUNS="$OUT/serve-runs.jsonl"; : > "$RUNS"
FILLER=data/niah-filler.txt
PORT=8093
wait_up() { # pid: until /health answers, the server exits, or 150 s pass
  for _ in $(seq 1 600); do
    curl -sf "http://127.0.0.1:$PORT/health" > /dev/null 2>&1 && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.25
  done
  return 1
}
measure() { # label, server command...
  local label=$1; shift
  "$@" > "$W/serve-$label.log" 2>&1 &
  local pid=$!
  if wait_up $pid; then
    node bench/gpu/serve-run.mjs "http://127.0.0.1:$PORT" "$label" "$N" "$REPS" "$FILLER" >> "$RUNS" 2>>"$OUT/serve-log.txt" || log "FAILED $label"
    log "$label: $(tail -1 "$RUNS" | cut -c1-140)"
  else
    log "$label: server did not come up"; tail -5 "$W/serve-$label.log" | tee -a "$OUT/serve-log.txt"
  fi
  kill $pid 2>/dev/null; wait $pid 2>/dev/null
}
NGL=99; [ "$PRESET" = tiny ] && NGL=0
if [ -x "${LLAMA_BIN_DIR:-}/llama-server" ]; then
  measure llama-server "$LLAMA_BIN_DIR/llama-server" -m "$T" -ngl $NGL -fa on -c "$CTX" -np 1 --host 127.0.0.1 --port $PORT
fi
measure flint-none node dist/cli.js serve --model "$T" --gpu-layers -1 --flash-attn on --ctx "$CTX" --spec none --port $PORT
measure flint-auto node dist/cli.js serve --model "$T" --gpu-layers -1 --flash-attn on --ctx "$CTX" --port $PORT
if [ -n "${D:-}" ]; then
  measure flint-auto-dflash node dist/cli.js serve --model "$T" --draft "$D" --gpu-layers -1 --flash-attn on --ctx "$CTX" --port $PORT
  measure flint-dflash-auto node dist/cli.js serve --model "$T" --draft "$D" --spec dflash --budget auto --gpu-layers -1 --flash-attn on --ctx "$CTX" --port $PORT
fi
[ -x "${LLAMA_BIN_DIR:-}/llama-server" ] && measure llama-server-2 "$LLAMA_BIN_DIR/llama-server" -m "$T" -ngl $NGL -fa on -c "$CTX" -np 1 --host 127.0.0.1 --port $PORT
node -e '
const fs = require("fs");
const runs = fs.readFileSync(process.argv[1], "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const get = (p) => runs.filter((r) => r.label.startsWith(p));
const med = (xs) => { const s = xs.filter((x) => x != null).sort((a, b) => a - b); const m = s.length >> 1; return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const ls = med(get("llama-server").map((r) => r.decodeTokensPerSecond));
const lsTtft = med(get("llama-server").map((r) => r.ttft2kMs));
const row = (r) => ({ label: r.label, decodeTokensPerSecond: r.decodeTokensPerSecond, ratioToLlamaServer: ls ? r.decodeTokensPerSecond / ls : null, ttft2kMs: r.ttft2kMs, ttftRatioToLlamaServer: lsTtft ? lsTtft / r.ttft2kMs : null });
fs.writeFileSync(process.argv[2], JSON.stringify({
  suite: "serve-stream",
  date: new Date().toISOString(),
  command: "bash .device/remote.sh bash bench/gpu/serve.sh",
  gitCommit: process.env.FLINT_GIT_COMMIT ?? "unknown",
  model: process.argv[3],
  what: "streaming /v1/chat/completions at temperature 0, measured by the client: decode tok/s = (completion_tokens - 1) / (last - first content chunk), median of REPS; TTFT for a ~2K-token fresh prompt (max_tokens 1). Same GGUF and flags (-fa on, full offload, ctx " + process.env.CTX + "). llama-server ran before and after flint; its median is the reference.",
  llamaServerDecodeTokensPerSecond: ls,
  llamaServerTtft2kMs: lsTtft,
  rows: runs.map(row),
  runs,
}, null, 2) + "\n");
for (const r of runs.map(row)) console.log(r.label.padEnd(16), String(r.decodeTokensPerSecond?.toFixed(1)).padStart(8), "tok/s  ratio", r.ratioToLlamaServer?.toFixed(3), " ttft2k", r.ttft2kMs?.toFixed(0), "ms");
' "$RUNS" "$OUT/serve.json" "$T" | tee -a "$OUT/serve-log.txt"
log "done"
