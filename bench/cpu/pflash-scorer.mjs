// CPU check of the PFlash scorer graph against libllama on the same GGUF: time of flint's own ggml
// graph (chunked prefill + scoring graph) vs libllama's full prefill of the same prompt, same threads.
// usage: node bench/cpu/pflash-scorer.mjs MODEL.gguf TOKENS THREADS [CHUNK] [WINDOWS]
// WINDOWS: a comma list of scorer prefill windows to time besides full attention (ScorerOptions.window)
import { Context } from "../../dist/engine/context.js";
import { Model } from "../../dist/engine/model.js";
import { Scorer } from "../../dist/prefill/scorer.js";
import { buildHaystack, loadFiller } from "../../dist/prefill/niah.js";

const [path, tokensArg, threadsArg, chunkArg, windowsArg] = process.argv.slice(2);
const n = Number(tokensArg);
const threads = Number(threadsArg);
const model = Model.load(path, { gpuLayers: 0 });
const count = (t) => model.vocab.tokenize(t, { addSpecial: false }).length;
const prompt = model.vocab.tokenize(buildHaystack(loadFiller(), n, count, 1, 0.5).text);
const ctx = Context.create(model, { ctx: prompt.length + 64, threads, flashAttn: "on" });
const full = [];
for (let i = 0; i < 2; i++) {
  ctx.clear();
  const t0 = performance.now();
  ctx.prefill(prompt);
  full.push(performance.now() - t0);
}
ctx.free();
model.free();
const scorer = Scorer.load(path, { device: "cpu", threads, chunk: chunkArg ? Number(chunkArg) : undefined });
const runs = [];
let fullImportance;
for (let i = 0; i < 2; i++) {
  const r = scorer.score(prompt);
  fullImportance = r.importance;
  runs.push({ prefillMs: r.prefillMs, scoreMs: r.scoreMs, chunks: r.chunks });
}
// windowed prefill: time, and how much of the full-attention selection it keeps (top 5% of 32-token chunks)
const top = (imp) => {
  const means = [];
  for (let c = 0; c * 32 < imp.length; c++) {
    const s = imp.subarray(c * 32, Math.min(imp.length, (c + 1) * 32));
    means.push([c, s.reduce((a, b) => a + b, 0) / s.length]);
  }
  return new Set(means.sort((a, b) => b[1] - a[1]).slice(0, Math.ceil(means.length * 0.05)).map(([c]) => c));
};
const windows = [];
for (const w of (windowsArg ?? "").split(",").filter(Boolean).map(Number)) {
  const ws = Scorer.load(path, { device: "cpu", threads, chunk: chunkArg ? Number(chunkArg) : undefined, window: w });
  const wr = [];
  let imp;
  for (let i = 0; i < 2; i++) {
    const r = ws.score(prompt);
    imp = r.importance;
    wr.push({ prefillMs: Math.round(r.prefillMs), scoreMs: Math.round(r.scoreMs) });
  }
  const a = top(fullImportance);
  const b = top(imp);
  windows.push({ window: w, runs: wr, sameTopChunks: [...b].filter((c) => a.has(c)).length, topChunks: a.size });
  ws.free();
}
const out = {
  model: path,
  promptTokens: prompt.length,
  threads,
  chunk: scorer.chunk,
  libllamaFullPrefillMs: full.map((x) => Math.round(x)),
  scorer: runs.map((r) => ({ prefillMs: Math.round(r.prefillMs), scoreMs: Math.round(r.scoreMs), chunks: r.chunks })),
  scorerMemoryBytes: scorer.memory(),
  graphShapes: scorer.graphCount,
  windows,
};
scorer.free();
console.log(JSON.stringify(out));
