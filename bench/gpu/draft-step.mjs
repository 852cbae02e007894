// What one DFlash draft costs in a steady speculative run, and whether the drafter's forwards run
// captured (issue 7: on the H200 the trained code29m pair's drafts cost 0.83-0.94 ms a step, 2.5-3
// plain target steps, in bench/results/2026-11-23-h200-6). A draft is two drafter forwards: the
// injection of the rows the last verify committed (1..budget + 1 of them, a different count nearly every
// step) and the block [last, MASK x 15]. Each variant makes a fresh drafter beside a target context
// that decoded 16 rows once, then STEPS times hands the drafter k of those rows (onCommit) and
// drafts (propose), timing the propose:
//   vary         k cycles 5, 2, 4, 1, 3 (a chain of 4 accepting 4, 1, 3, 0, 2), injected as k rows
//   (at 31ac5f6 also vary-padded: every injection padded to 16 rows, since reverted: see
//   bench/results/2026-11-24-h200/README.md)
//   fixed        k = 5 every step (one injection shape without padding)
//   block-only   no rows handed over: the block alone, at one position
//   catch-up     a probe's draft after a plain stretch the drafter followed: 16 rows right after
//                the prompt, then the block (the drafter is cut back to the prompt before each)
//   catch-up-gap the same 16 rows 300 positions further on, as after a stretch it did not follow
//                (controller.unfollow): libllama then RoPE-shifts the cached features up by the gap
//                (before session 11 only the first step had features to shift: see below)
//   catch-up-step  catch-up, then one plain target step (launch and wait), timed apart (stepMs)
//   shadow-async   the same as a shadow probe in flight: launchProposal, the plain target step,
//                takeProposal; draftMs is the host's part (launch + take), stepMs the target step's
//   catch-up-long, shadow-async-long  catch-up-gap and shadow-async after a 1024-token prompt, 300
//                positions on: the RoPE shift then moves a long cache (in a sweep the shadows cost
//                1.5-2.3 ms where shadow-async took 0.6); catch-up-long-nogap without the gap
// Variants run interleaved, ROUNDS rounds; "@@ variant round" goes to stderr before each, so that a
// debug log (--debug) can be split per variant. Prints one JSON object: per variant and round the
// median draft ms over the steps after the warm-up, and llama.cpp's graph reuses in the drafter.
// usage: node bench/gpu/draft-step.mjs TARGET.gguf DRAFTER.gguf [STEPS] [ROUNDS] [--debug] [--cpu]
import { Context } from "../../dist/engine/context.js";
import { DFlashDrafter } from "../../dist/spec/dflash-drafter.js";
import { loadPairFromArgs } from "./pair-args.mjs";

const { tPath, dPath, steps, rounds, onGpu, target, draft } = loadPairFromArgs(process.argv.slice(2), { steps: 200, rounds: 2 });
const warm = 16;
const shortPrompt = Array.from({ length: 32 }, (_, i) => 100 + i);
const ROWS = 16;
const variants = { vary: [5, 2, 4, 1, 3], fixed: [5], "block-only": [0], "catch-up": [16], "catch-up-gap": [16], "catch-up-step": [16], "shadow-async": [16], "catch-up-long": [16], "shadow-async-long": [16], "catch-up-long-nogap": [16] };
const GAP = { "catch-up": 0, "catch-up-gap": 300, "catch-up-step": 0, "shadow-async": 0, "catch-up-long": 300, "shadow-async-long": 300, "catch-up-long-nogap": 0 };
const WITH_STEP = new Set(["catch-up-step", "shadow-async", "catch-up-long", "shadow-async-long", "catch-up-long-nogap"]);
const longPrompt = Array.from({ length: 1024 }, (_, i) => 100 + (i % 512));
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? Math.round(s[Math.floor(s.length / 2)] * 1000) / 1000 : 0;
};
const rows = Int32Array.from({ length: ROWS }, (_, i) => i);
const tokens = Int32Array.from({ length: ROWS }, (_, i) => 200 + i);
const out = {};
for (let round = 0; round < rounds; round++) {
  for (const [v, cycle] of Object.entries(variants)) {
    process.stderr.write(`@@ ${v} ${round}\n`);
    const ctx = Context.create(target, { ctx: 2048, deviceGreedy: onGpu });
    const prompt = v.includes("-long") ? longPrompt : shortPrompt;
    const d = new DFlashDrafter(ctx, draft, { topK: 1, deviceArgmax: ctx.deviceGreedy, deviceTopK: onGpu });
    ctx.prefill(prompt);
    d.onPrefill(prompt, 0);
    // one target forward of ROWS rows: its captured layer inputs are what every step hands over
    ctx.prefill(tokens, prompt.length);
    let pos = prompt.length;
    // a gap variant starts each step from the prompt's features at their own positions (a rewind
    // would cut the cells the last step's shift moved past the prompt: before this, every step
    // after the first ran on an empty drafter cache, with no shift)
    const saved = GAP[v] > 0 ? d.saveState() : undefined;
    d.ctx.native.perfReset();
    const ms = [];
    const stepMs = [];
    const end = prompt.length + ROWS;
    // the plain target step of the step variants, at the cache's end (dropped again after)
    const targetStep = () => {
      const t = performance.now();
      ctx.launch(tokens[0], end);
      if (ctx.deviceGreedy) ctx.sampledToken(-1);
      else ctx.logits();
      const dt = performance.now() - t;
      ctx.truncate(0, end);
      return dt;
    };
    for (let i = 0; i < steps; i++) {
      const k = cycle[i % cycle.length];
      if (v in GAP) {
        if (saved) d.restoreState(saved, prompt.length);
        d.rewind(prompt.length);
        pos = prompt.length + GAP[v];
      }
      let step = 0;
      const t0 = performance.now();
      if (k > 0) d.onCommit(tokens.subarray(0, k), pos, rows, ROWS);
      if (v.startsWith("shadow-async")) {
        d.launchProposal(tokens[Math.max(0, k - 1)], pos + k, 15);
        step = targetStep();
        d.takeProposal();
      } else {
        d.propose(tokens[Math.max(0, k - 1)], pos + k, 15);
        // (timed apart: the draft's time below leaves it out)
        if (WITH_STEP.has(v)) step = targetStep();
      }
      if (i >= warm) {
        ms.push(performance.now() - t0 - step);
        if (WITH_STEP.has(v)) stepMs.push(step);
      }
      pos += k;
    }
    const r = (out[v] ??= { draftMs: [], graphReuses: [] });
    r.draftMs.push(median(ms));
    if (WITH_STEP.has(v)) (r.stepMs ??= []).push(median(stepMs));
    r.graphReuses.push(`${d.ctx.native.perf().graphReuses} of ${steps * (cycle[0] > 0 ? 2 : 1)} forwards`);
    d.free();
    ctx.free();
  }
}
draft.free();
target.free();
console.log(JSON.stringify({ target: tPath, drafter: dPath, steps, warmupSteps: warm, rounds, graphsDisabled: process.env.GGML_CUDA_DISABLE_GRAPHS !== undefined, note: "median propose (flush + block) ms over the steps after the warm-up, one value per round; shadow-async: launch + take, the target step between them left out (stepMs)", rows: out }, null, 1));
