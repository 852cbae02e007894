// Collects the foundation GPU run into one JSON: decode tok/s of flint vs llama-bench, and greedy equality.
import { execSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [dir, outFile, prompt, greedyN] = process.argv.slice(2);
const read = (f) => JSON.parse(readFileSync(path.join(dir, f), "utf8"));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const benches = ["bench1.json", "bench2.json"].filter((f) => existsSync(path.join(dir, f))).map(read).flat();
const llamaTs = benches.map((b) => b.avg_ts);
const runs = [1, 2, 3, 4, 5].map((i) => `flint-${i}.json`).filter((f) => existsSync(path.join(dir, f))).map(read);
const flintTs = runs.map((r) => r.tokensPerSecond);
const flintMed = median(flintTs);
const llamaMed = median(llamaTs);
const split = runs.map((r) => ({ decodeMs: r.decodeMs, ...r.split }));

let greedy = { compared: false };
const lg = path.join(dir, "llama-greedy.txt");
if (existsSync(lg)) {
  const flintText = read("flint-greedy.json").text;
  const llamaText = readFileSync(lg, "utf8").replace(/\n?> EOF by user\n?$/, "");
  let firstDiff = -1;
  for (let i = 0; i < Math.max(flintText.length, llamaText.length); i++) if (flintText[i] !== llamaText[i]) { firstDiff = i; break; }
  greedy = { compared: true, tokens: Number(greedyN), equal: firstDiff < 0, firstDiffChar: firstDiff, flintText, llamaText };
}

const git = (c) => { try { return execSync(c, { encoding: "utf8" }).trim(); } catch { return "unknown"; } };
const b0 = benches[0] ?? {};
const result = {
  suite: "foundation-decode",
  date: new Date().toISOString(),
  command: "bash .device/remote.sh bash bench/gpu/foundation.sh",
  gitCommit: git("git rev-parse HEAD"),
  gpu: b0.gpu_info ?? git("nvidia-smi --query-gpu=name --format=csv,noheader"),
  llamaCpp: { buildCommit: b0.build_commit, buildNumber: b0.build_number, backends: b0.backends },
  model: { file: "random qwen3 8b shape (flint make-model --preset 8b --seed 1), Q4_K_M via flint quantize", type: b0.model_type, sizeBytes: b0.model_size, params: b0.model_n_params },
  decode: {
    what: "tg128: llama-bench -p 0 -n 128 -fa 1 -r 5 (run before and after flint) vs flint run -n 128 --temperature 0 --ignore-eos --flash-attn on (5 runs); flint tok/s = (tokens-1)/time between first and last token",
    llamaBenchTokPerSec: llamaTs,
    flintTokPerSec: flintTs,
    llamaBenchMedian: llamaMed,
    flintMedian: flintMed,
    ratio: flintMed / llamaMed,
    goal: 0.97,
    flintSplitMs: split,
  },
  greedy,
};
writeFileSync(outFile, JSON.stringify(result, null, 2) + "\n");
console.log(`decode ratio ${result.decode.ratio.toFixed(3)} (flint ${flintMed.toFixed(1)} vs llama-bench ${llamaMed.toFixed(1)} tok/s); greedy equal: ${greedy.equal}`);
