// The load-time warm-up leaves nothing behind: the target's cache is empty, the drafter starts over,
// and the first request's output and drafts are what a runtime without warm-up gives.
import { describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { drain, generateText } from "../../src/engine/generate.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import { generateSpeculative, type SpecResult } from "../../src/spec/generate-spec.js";
import { loadRuntime } from "../../src/spec/runtime.js";
import { warmController, warmUp } from "../../src/spec/warmup.js";
import { tinyDrafterPath, tinyModelPath, useTinyPair } from "../helpers/models.js";

function spec(ctx: Context, drafter: DFlashDrafter, prompt: Int32Array): Promise<SpecResult> {
  return drain(generateSpeculative(ctx, drafter, prompt, { temperature: 0, maxTokens: 24, ignoreEog: true, budget: 4 }));
}

describe("warm-up", () => {
  const pair = useTinyPair();

  it("clears the target and resets the drafter; the next request is unchanged", async () => {
    const prompt = pair.target.vocab.tokenize("the quick brown fox");
    const fresh = Context.create(pair.target, { ctx: 256, threads: 1 });
    const freshDrafter = new DFlashDrafter(fresh, pair.draft, { topK: 1, threads: 1 });
    const warmed = Context.create(pair.target, { ctx: 256, threads: 1 });
    const warmedDrafter = new DFlashDrafter(warmed, pair.draft, { topK: 1, threads: 1 });
    try {
      const ms = await warmUp(warmed, warmedDrafter);
      expect(ms).toBeGreaterThan(0);
      expect(warmed.native.seqPosMax(0)).toBe(-1);
      expect(warmedDrafter.ctx.native.seqPosMax(0)).toBe(-1);
      const a = await spec(fresh, freshDrafter, prompt);
      const b = await spec(warmed, warmedDrafter, prompt);
      expect(b.tokens).toEqual(a.tokens);
      // the drafts themselves (not only the target's output) are the same: acceptance per depth
      expect(b.spec.acceptedPerDepth).toEqual(a.spec.acceptedPerDepth);
      expect(b.spec.steps).toBe(a.spec.steps);
      const plain = await generateText(warmed, prompt, { temperature: 0, maxTokens: 24, ignoreEog: true });
      expect(plain.tokens).toEqual(a.tokens);
    } finally {
      warmedDrafter.free();
      warmed.free();
      freshDrafter.free();
      fresh.free();
    }
  });

  it("a flush cut into FLUSH_CHUNKS drafts what one injection batch drafts", () => {
    const n = 100; // 64 + 32 + 4
    const tokens = Int32Array.from({ length: n }, (_, i) => 10 + ((i * 31) % 200));
    const rows = Int32Array.from({ length: n }, (_, i) => i);
    const ctx = Context.create(pair.target, { ctx: 256, threads: 1 });
    const a = new DFlashDrafter(ctx, pair.draft, { topK: 4, threads: 1 });
    const b = new DFlashDrafter(ctx, pair.draft, { topK: 4, threads: 1 });
    try {
      ctx.prefill(tokens);
      a.onCommit(tokens, 0, rows, n); // pending; propose() flushes it in chunks
      b.inject(0, n, 0, n); // one batch
      const pa = a.propose(7, n, a.maxDepth);
      const ida = Int32Array.from(pa.ids);
      const lpa = Float32Array.from(pa.logp);
      const pb = b.propose(7, n, b.maxDepth);
      // batch size may change float rounding, not the drafts: top candidates agree wherever the
      // drafter's own top-2 gap is clear of that rounding
      let compared = 0;
      for (let d = 0; d < pa.depth; d++) {
        const at = d * pa.k;
        for (let j = 0; j < pa.k; j++) expect(Math.abs(lpa[at + j] - pb.logp[at + j])).toBeLessThan(1e-3);
        if (lpa[at] - lpa[at + 1] > 2e-3) {
          expect(pb.ids[at]).toBe(ida[at]);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(pa.depth / 2);
    } finally {
      b.free();
      a.free();
      ctx.free();
    }
  });

  it("runs the controller's plain, shadow and verify paths on throwaway controllers, chain and tree", () => {
    for (const shape of ["chain", "tree"] as const) {
      const done = warmController(15, shape);
      expect(done.plain + done.shadows + done.verifies).toBe(4 * 1024);
      expect(done.plain).toBeGreaterThan(0);
      expect(done.shadows).toBeGreaterThan(0);
      expect(done.verifies).toBeGreaterThan(0);
    }
  });

  it("runs only on a GPU: a CPU runtime reports none", async () => {
    const rt = await loadRuntime({ modelPath: await tinyModelPath(), draftPath: await tinyDrafterPath(), spec: "dflash", treeK: 1, gpuLayers: 0, flashAttn: "auto", sampling: "auto", greedyOnly: true, threads: 1 });
    try {
      expect(rt.warmupMs).toBe(0);
      expect(rt.ctx.native.seqPosMax(0)).toBe(-1);
    } finally {
      rt.free();
    }
  });
});
