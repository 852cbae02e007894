// CPU check of what the DFlash feature capture does to a target's plain decode step: libllama's graph
// reuse count and the decode time with 0, 1 and 5 target layers' inputs captured (interleaved, two
// rounds), greedy picked on the backend as `flint run` does.
// usage: node bench/cpu/capture-cost.mjs MODEL.gguf [THREADS]   (needs `npm run build`)
import { Context } from "../../dist/engine/context.js";
import { Model } from "../../dist/engine/model.js";

const [path, threadsArg] = process.argv.slice(2);
const threads = Number(threadsArg ?? 2);
const model = Model.load(path, { gpuLayers: 0 });
const L = model.info.nLayer;
const sets = { none: [], one: [Math.floor(L / 2)], five: [1, 7, 13, 19, 25].map((l) => Math.min(l, L - 1)).filter((l, i, a) => a.indexOf(l) === i) };
const steps = 40;
const rows = {};
for (const round of [0, 1]) {
  for (const [name, layers] of Object.entries(sets)) {
    const c = Context.create(model, { ctx: 512, deviceGreedy: true, threads });
    for (const l of layers) c.native.captureLayerInput(l, true);
    c.prefill([1, 2, 3, 4]);
    let tok = c.sampledToken();
    c.native.perfReset();
    let ms = 0;
    for (let i = 0; i < steps; i++) {
      const t0 = performance.now();
      c.launch(tok, 4 + i);
      tok = c.sampledToken();
      ms += performance.now() - t0;
    }
    const r = (rows[name] ??= { layers, msPerStep: [], graphReuses: [] });
    r.msPerStep.push(Math.round((ms / steps) * 100) / 100);
    r.graphReuses.push(`${c.native.perf().graphReuses} of ${steps}`);
    c.free();
  }
}
model.free();
console.log(JSON.stringify({ model: path, threads, steps, rows }, null, 1));
