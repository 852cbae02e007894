// Collects the foundation GPU run into one JSON: decode tok/s of flint (device and host greedy) vs
// llama-bench on the same file, and the token-level greedy comparison with llama-server.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [dir, outFile] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(path.join(dir, f), "utf8"));
const have = (f) => existsSync(path.join(dir, f));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const benches = ["bench1.json", "bench2.json"].filter(have).map(read).flat();
const llamaTs = benches.map((b) => b.avg_ts);
const llamaMed = median(llamaTs);
const modes = {};
for (const mode of ["device", "host", "device-ctx256"]) {
  const runs = [1, 2, 3].map((i) => `flint-${mode}-${i}.json`).filter(have).map(read);
  if (runs.length === 0) continue;
  const ts = runs.map((r) => r.tokensPerSecond);
  const steps = runs.map((r) => r.tokens - 1);
  modes[mode] = {
    tokPerSec: ts,
    median: median(ts),
    ratioToLlamaBench: median(ts) / llamaMed,
    msPerStep: runs.map((r, i) => ({ total: r.decodeMs / steps[i], decodeCalls: r.split.decodeCallsMs / steps[i], sampling: r.split.samplingMs / steps[i] })),
  };
}
const greedy = {};
for (const tag of ["big", "small"]) {
  if (!have(`greedy-${tag}.json`)) continue;
  const g = read(`greedy-${tag}.json`);
  greedy[tag] = { tokens: g.n, llamaTokens: g.llamaTokens, comparisons: g.comparisons.map(({ flintTokens, ...c }) => c) };
}
const b0 = benches[0] ?? {};
const result = {
  suite: "foundation-decode",
  date: new Date().toISOString(),
  command: "bash .device/remote.sh bash bench/gpu/foundation.sh (device tool, carry .device and dist)",
  gitCommit: process.env.FLINT_GIT_COMMIT ?? "unknown",
  gpu: b0.gpu_info,
  cpu: b0.cpu_info,
  llamaCpp: { source: "de3ff81, git bundle of node-llama-cpp 3.22.1, built by ../shared/device/remote.sh (CUDA sm_90)", backends: b0.backends },
  model: { what: "random qwen3 8b shape (flint make-model --preset 8b --seed 1), Q4_K_M via flint quantize", type: b0.model_type, sizeBytes: b0.model_size, params: b0.model_n_params },
  decode: {
    what: "tg128. llama-bench -p 0 -n 128 -fa 1 -r 5, run before and after flint; flint run -n 128 --temperature 0 --ignore-eos --flash-attn on, 3 runs per sampling mode; flint tok/s = (tokens-1) / time from first to last token",
    llamaBenchTokPerSec: llamaTs,
    llamaBenchMedian: llamaMed,
    flint: modes,
    goal: 0.97,
  },
  greedy: {
    rule: "token ids of flint run --temperature 0 vs llama-server /completion temperature 0 (64 tokens, ignore_eos); a first divergence where llama.cpp's top-2 probs differ by < 1e-3 counts as a near tie",
    ...greedy,
  },
};
writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
console.log(`llama-bench ${llamaMed.toFixed(1)} tok/s; ` + Object.entries(modes).map(([m, v]) => `flint ${m} ${v.median} (${v.ratioToLlamaBench.toFixed(3)})`).join(", "));
