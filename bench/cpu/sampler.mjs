// Host sampling cost per token over a 151,936-token vocabulary (Qwen3's), for the sampler chains a
// server sees: greedy, llama-server's defaults (temperature 0.8, top-k 40, top-p 0.95, min-p 0.05),
// those plus a repeat penalty, and a full-vocabulary draw (temperature 1, nothing else).
// Usage: node bench/cpu/sampler.mjs [path/to/sampler.js] > result.json   (default: dist/engine/sampler.js)
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const file = path.resolve(process.argv[2] ?? "dist/engine/sampler.js");
const { Sampler } = await import(pathToFileURL(file).href);
const V = 151936;
const logits = new Float32Array(V);
let s = 1;
for (let i = 0; i < V; i++) {
  s = (s * 1103515245 + 12345) >>> 0;
  logits[i] = (s / 2 ** 32) * 6 - 3;
}
const chains = {
  greedy: { temperature: 0 },
  "llama-server defaults": { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, seed: 1 },
  "defaults + repeat penalty 1.1": { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, seed: 1 },
  "temperature 1 only": { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 },
};
const rows = [];
for (const [name, o] of Object.entries(chains)) {
  const smp = new Sampler(V, o);
  for (let i = 0; i < 200; i++) smp.accept(smp.sample(logits));
  const reps = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < 500; i++) smp.accept(smp.sample(logits));
    reps.push((performance.now() - t0) / 500);
  }
  reps.sort((a, b) => a - b);
  rows.push({ chain: name, options: o, msPerToken: Math.round(reps[2] * 1000) / 1000 });
}
// the DFlash drafter's host ranking of one drafted position (dist/spec/topk.js), when it has no device
let drafter;
try {
  const { topKLogProbs } = await import(pathToFileURL(path.resolve("dist/spec/topk.js")).href);
  const ids = new Int32Array(8);
  const logp = new Float32Array(8);
  drafter = [];
  for (const k of [1, 4]) {
    for (let i = 0; i < 50; i++) topKLogProbs(logits, k, ids, logp, 0);
    const t0 = performance.now();
    for (let i = 0; i < 300; i++) topKLogProbs(logits, k, ids, logp, 0);
    drafter.push({ k, msPerPosition: Math.round(((performance.now() - t0) / 300) * 1000) / 1000 });
  }
} catch {
  drafter = undefined;
}
console.log(JSON.stringify({ what: "host sampling ms per token, median of 5 x 500 draws, random logits", command: `node bench/cpu/sampler.mjs ${process.argv[2] ?? ""}`.trim(), sampler: path.relative(process.cwd(), file), date: new Date().toISOString(), cpu: os.cpus()[0]?.model, rows, drafterHostTopK: drafter }, null, 2));
