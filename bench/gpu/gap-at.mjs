// Judges a greedy run's divergence from plain decoding by the near-tie rule flint bench uses
// (src/bench/harness.ts NEAR_TIE_RULE): at the first differing token, plain decoding's logit gap
// between its token and the run's, against 5e-3 and twice the rounding measured between single-token
// and batched evaluation of that position. For `flint run --json` rows of bench/gpu/spec.sh.
// usage: node bench/gpu/gap-at.mjs MODEL RUNS.jsonl PLAIN_LABEL [PROMPT] > gaps.json
import { readFileSync } from "node:fs";
import { Harness, NEAR_TIE } from "../../dist/bench/harness.js";

const [model, runsPath, plainLabel, promptArg] = process.argv.slice(2);
const prompt = promptArg ?? "def fibonacci(n):\n    if n < 2:\n        return n\n";
const runs = readFileSync(runsPath, "utf8").trim().split("\n").map((l) => JSON.parse(l));
const plain = runs.find((r) => r.label === plainLabel).tokenIds;
const h = await Harness.open({ modelPath: model, gpuLayers: -1, flashAttn: "auto", sampling: "host" });
const tokens = h.target.vocab.tokenize(prompt);
const out = [];
for (const r of runs) {
  const ids = r.tokenIds ?? [];
  let at = -1;
  for (let i = 0; i < Math.min(ids.length, plain.length); i++) if (ids[i] !== plain[i]) { at = i; break; }
  if (at < 0) continue;
  const { gap, eps } = h.roundingAt("main", tokens, plain, at, ids[at]);
  out.push({ label: r.label, index: at, plainToken: plain[at], runToken: ids[at], gap, rounding: eps, nearTie: gap < Math.max(NEAR_TIE, 2 * eps) });
}
h.free();
console.log(JSON.stringify({ model, runs: runsPath, plain: plainLabel, rule: "gap < max(5e-3, 2 x rounding)", divergences: out }, null, 1));
