// What a DFlash drafter beside the target does to the target's plain decode step (issue 7: under
// --spec auto a plain step's llama_decode took 0.76-1.01 ms on the H200 8B, 0.20-0.25 without a drafter).
// Each variant makes a fresh target context as `flint run` does (device greedy on a GPU), decodes
// STEPS tokens one at a time and splits each step into launch (llama_decode) and wait (sampledToken):
//   plain          nothing else
//   capture        the drafter's target layers captured (llama_set_embeddings_layer_inp), no drafter
//   drafter        a DFlashDrafter made as loadRuntime makes it (capture on), left idle
//   drafter-commit the same, plus the per-step host copy of the captured rows (onCommit), as the
//                  --spec auto loop does on a plain step
//   drafter-off    the drafter made, then the target's capture of its layers turned off
//   toggle         the drafter made, the capture turned off and on every 16 steps: toggleStepMs is
//                  the median step right after a toggle (libllama re-reserves the graph then)
// Variants run interleaved, ROUNDS rounds; a line "@@ variant round" goes to stderr before each, so a
// debug log (--debug) can be split per variant. Prints one JSON object.
// usage: node bench/gpu/plain-step.mjs TARGET.gguf DRAFTER.gguf [STEPS] [ROUNDS] [--debug] [--cpu]
import { Context } from "../../dist/engine/context.js";
import { DFlashDrafter } from "../../dist/spec/dflash-drafter.js";
import { loadPairFromArgs } from "./pair-args.mjs";

const { tPath, dPath, steps, rounds, onGpu, target, draft } = loadPairFromArgs(process.argv.slice(2), { steps: 96, rounds: 2 });
const warm = 8;
const prompt = Array.from({ length: 16 }, (_, i) => 100 + i);
const variants = ["plain", "capture", "drafter", "drafter-commit", "drafter-off", "toggle"];
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? Math.round(s[Math.floor(s.length / 2)] * 1000) / 1000 : 0;
};
const rows = {};
const row1 = new Int32Array(1);
const tok1 = new Int32Array(1);
for (let round = 0; round < rounds; round++) {
  for (const v of variants) {
    process.stderr.write(`@@ ${v} ${round}\n`);
    const ctx = Context.create(target, { ctx: 4096, deviceGreedy: onGpu });
    let drafter;
    if (v === "capture") {
      const ids = draft.native.targetLayerIds();
      for (const l of ids) ctx.native.captureLayerInput(l, true);
    }
    if (v.startsWith("drafter") || v === "toggle") drafter = new DFlashDrafter(ctx, draft, { topK: 1, deviceArgmax: ctx.deviceGreedy, deviceTopK: onGpu });
    const capture = (on) => {
      for (const l of drafter.layerIds) ctx.native.captureLayerInput(l, on);
    };
    if (v === "drafter-off") capture(false);
    ctx.prefill(prompt);
    const pick = () => (ctx.deviceGreedy ? ctx.sampledToken() : argmax(ctx.logits()));
    let tok = pick();
    ctx.native.perfReset();
    const launch = [];
    const wait = [];
    const copy = [];
    const toggled = [];
    let captureOn = true;
    for (let i = 0; i < steps; i++) {
      const pos = prompt.length + i;
      const toggleNow = v === "toggle" && i >= warm && (i - warm) % 16 === 0;
      if (toggleNow) capture((captureOn = !captureOn));
      const t0 = performance.now();
      ctx.launch(tok, pos);
      const t1 = performance.now();
      const next = pick();
      const t2 = performance.now();
      if (v === "drafter-commit") {
        tok1[0] = tok;
        drafter.onCommit(tok1, pos, row1, 1);
      }
      const t3 = performance.now();
      tok = next;
      if (toggleNow) toggled.push(t3 - t0);
      else if (i >= warm) {
        launch.push(t1 - t0);
        wait.push(t2 - t1);
        copy.push(t3 - t2);
      }
    }
    const r = (rows[v] ??= { launchMs: [], waitMs: [], copyMs: [], stepMs: [], graphReuses: [] });
    if (v === "toggle") (r.toggleStepMs ??= []).push(median(toggled));
    r.launchMs.push(median(launch));
    r.waitMs.push(median(wait));
    r.copyMs.push(median(copy));
    r.stepMs.push(median(launch.map((x, i) => x + wait[i] + copy[i])));
    r.graphReuses.push(`${ctx.native.perf().graphReuses} of ${steps}`);
    drafter?.free();
    ctx.free();
  }
}
draft.free();
target.free();
console.log(JSON.stringify({ target: tPath, drafter: dPath, steps, warmupSteps: warm, rounds, note: "per-step medians over the steps after the warm-up, one value per round", rows }, null, 1));

function argmax(l) {
  let b = 0;
  for (let i = 1; i < l.length; i++) if (l[i] > l[b]) b = i;
  return b;
}
