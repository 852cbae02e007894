// CPU check of the PFlash scorer graph against libllama on the same GGUF: time of flint's own ggml
// graph (chunked prefill + scoring graph) vs libllama's full prefill of the same prompt, same threads.
// usage: node bench/cpu/pflash-scorer.mjs MODEL.gguf TOKENS THREADS [CHUNK]
import { Context } from "../../dist/engine/context.js";
import { Model } from "../../dist/engine/model.js";
import { Scorer } from "../../dist/prefill/scorer.js";
import { buildHaystack, loadFiller } from "../../dist/prefill/niah.js";

const [path, tokensArg, threadsArg, chunkArg] = process.argv.slice(2);
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
for (let i = 0; i < 2; i++) {
  const r = scorer.score(prompt);
  runs.push({ prefillMs: r.prefillMs, scoreMs: r.scoreMs, chunks: r.chunks });
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
};
scorer.free();
console.log(JSON.stringify(out));
