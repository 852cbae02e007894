// PFlash TTFT on one process: loads the target and the scorer once (runNiah), measures a warm-up
// haystack first (graph shapes, CUDA kernels), then each context size with and without PFlash, and
// merges llama-bench's prompt-processing times for the same sizes into one JSON summary.
// usage: node bench/gpu/pflash-run.mjs TARGET SCORER CONTEXTS(csv) KEEP_RATIO LLAMA_BENCH_DIR OUT.json
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { execSync } from "node:child_process";
import { runNiah } from "../../dist/prefill/niah.js";

const [target, scorer, contextsCsv, keepRatio, benchDir, out] = process.argv.slice(2);
const contexts = contextsCsv.split(",").map(Number);
const warm = Math.min(2048, Math.min(...contexts));
const sh = (c) => {
  try {
    return execSync(c, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
};
const t0 = Date.now();
const rows = await runNiah({
  model: target,
  scorer,
  contexts: [warm, ...contexts],
  keepRatio: Number(keepRatio),
  maxTokens: 4,
  flashAttn: "on",
  gpuLayers: Number(process.env.GPU_LAYERS ?? -1),
  threads: process.env.THREADS ? Number(process.env.THREADS) : undefined,
  depths: [0.5],
  // SCORER_WINDOW: the scorer's prefill attends to that many recent positions (0 = full attention)
  scorerWindow: Number(process.env.SCORER_WINDOW ?? 0),
  onRow: (r) => console.error(`[pflash] ${r.context}: full ${r.full?.ttftMs.toFixed(0)} ms, pflash ${r.pflash?.ttftMs.toFixed(0)} ms, kept ${r.pflash?.prefill.keptTokens}/${r.promptTokens}, needle kept ${r.pflash?.needleKept}`),
});
const bench = (n) => {
  const f = `${benchDir}/llama-bench-${n}.json`;
  if (!existsSync(f)) return null;
  try {
    const r = JSON.parse(readFileSync(f, "utf8"))[0];
    return { nPrompt: r.n_prompt, ms: r.avg_ns / 1e6, tokensPerSecond: r.avg_ts, build: r.build_commit, gpu: r.gpu_info, backends: r.backends };
  } catch {
    return null;
  }
};
const r2 = (x) => Math.round(x * 100) / 100;
const results = rows.slice(1).map((r) => {
  const p = r.pflash;
  const lb = bench(r.context);
  return {
    context: r.context,
    promptTokens: r.promptTokens,
    llamaBench: lb,
    flintFull: { ttftMs: r2(r.full.ttftMs), promptTokensPerSecond: r2((r.promptTokens * 1000) / r.full.ttftMs), secondTokenMs: r2(r.full.secondTokenMs) },
    pflash: {
      ttftMs: r2(p.ttftMs),
      split: { scorerPrefillMs: r2(p.prefill.scorer.prefillMs), scorerScoreMs: r2(p.prefill.scorer.scoreMs), scorerOtherMs: r2(p.prefill.scorerMs - p.prefill.scorer.prefillMs - p.prefill.scorer.scoreMs), selectionMs: r2(p.prefill.selectionMs), targetPrefillMs: r2(p.prefill.targetPrefillMs) },
      keptTokens: p.prefill.keptTokens,
      keepRatio: Math.round(p.prefill.keepRatio * 1000) / 1000,
      needleKept: p.needleKept,
      needleKeptFraction: p.needleKeptFraction,
      retrieved: p.retrieved,
      secondTokenMs: r2(p.secondTokenMs),
      scorerBytes: p.scorerBytes,
      scorerBackend: p.prefill.scorer.backend,
    },
    speedup: { vsFlintFull: r2(r.full.ttftMs / p.ttftMs), vsLlamaBench: lb ? r2(lb.ms / p.ttftMs) : null },
    scorerShareOfTtft: r2(p.prefill.scorerMs / p.ttftMs),
  };
});
const summary = {
  what: "PFlash TTFT: scorer (own ggml graph) + selection + target prefill of kept tokens, vs flint full prefill and llama-bench -p N (same target GGUF). Random weights: retrieval is not meaningful, needleKept is reported as measured.",
  date: new Date().toISOString(),
  command: `bash bench/gpu/pflash.sh (node bench/gpu/pflash-run.mjs ${process.argv.slice(2).join(" ")})`,
  commit: sh("git rev-parse HEAD"),
  gpu: sh("nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader"),
  target,
  scorer,
  keepRatio: Number(keepRatio),
  scorerWindow: Number(process.env.SCORER_WINDOW ?? 0),
  warmup: { context: rows[0].context, fullTtftMs: r2(rows[0].full.ttftMs), pflashTtftMs: r2(rows[0].pflash.ttftMs) },
  wallSeconds: Math.round((Date.now() - t0) / 1000),
  results,
  raw: rows.map((r) => ({ ...r, full: r.full && { ...r.full, text: undefined }, pflash: r.pflash && { ...r.pflash, text: undefined } })),
};
writeFileSync(out, JSON.stringify(summary, null, 2) + "\n");
for (const r of results) {
  console.log(`${r.context}: llama-bench ${r.llamaBench ? r.llamaBench.ms.toFixed(0) : "-"} ms, flint full ${r.flintFull.ttftMs} ms, PFlash ${r.pflash.ttftMs} ms (scorer ${r.pflash.split.scorerPrefillMs}+${r.pflash.split.scorerScoreMs}, target ${r.pflash.split.targetPrefillMs}) -> x${r.speedup.vsFlintFull} vs flint, x${r.speedup.vsLlamaBench ?? "-"} vs llama-bench`);
}
