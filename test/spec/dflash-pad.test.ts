// Padded injections (DFlashOptions.padInjections): a short flush goes in as blockSize rows and the
// padding's cells are dropped, so the drafter's cache and its drafts are what an unpadded drafter has.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { drain } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import { generateSpeculative, type SpecResult } from "../../src/spec/generate-spec.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

describe("DFlash padded injections", () => {
  let target: Model, draft: Model;
  const ctxs: Context[] = [];
  const drafters: DFlashDrafter[] = [];
  const make = (padInjections: boolean) => {
    const ctx = Context.create(target, { ctx: 512, threads: 1 });
    const d = new DFlashDrafter(ctx, draft, { topK: 1, threads: 1, padInjections });
    ctxs.push(ctx);
    drafters.push(d);
    return { ctx, d };
  };
  beforeAll(async () => {
    target = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    draft = Model.load(await tinyDrafterPath(), { gpuLayers: 0 });
  });
  afterAll(() => {
    for (const d of drafters) d.free();
    for (const c of ctxs) c.free();
    draft?.free();
    target?.free();
  });

  it("keeps no padding cell and drafts what an unpadded drafter drafts", () => {
    const prompt = target.vocab.tokenize("def fibonacci(n):\n    if n < 2:\n        return n\n");
    const plain = make(false);
    const padded = make(true);
    for (const { ctx, d } of [plain, padded]) {
      ctx.prefill(prompt);
      d.onPrefill(prompt, 0);
    }
    // commits of 1..5 rows from one 8-row target decode, as verify steps hand them over
    let pos = prompt.length;
    const tokens = Int32Array.from({ length: 8 }, (_, i) => 40 + i);
    const rows = Int32Array.from({ length: 8 }, (_, i) => i);
    for (const { ctx } of [plain, padded]) {
      ctx.truncate(0, pos);
      ctx.prefill(tokens, pos);
    }
    for (const k of [3, 1, 5, 2, 4]) {
      const drafts: number[][] = [];
      const logps: Float32Array[] = [];
      for (const { d } of [plain, padded]) {
        d.onCommit(tokens.subarray(0, k), pos, rows, 8);
        const p = d.propose(tokens[k - 1], pos + k, 15);
        drafts.push(Array.from(p.ids));
        logps.push(Float32Array.from(p.logp));
        // the flush's cells end at the last committed position; the block's are dropped too
        expect(d.ctx.native.seqPosMax(0)).toBe(pos + k - 1);
      }
      expect(drafts[1]).toEqual(drafts[0]);
      // the same rows through a 16-row matmul instead of a k-row one: float rounding only (~2e-4 seen)
      for (let i = 0; i < logps[0].length; i++) expect(Math.abs(logps[1][i] - logps[0][i])).toBeLessThan(2e-3);
      pos += k;
    }
  });

  it("leaves speculative decoding unchanged", async () => {
    const prompt = target.vocab.tokenize("import os\nimport sys\n\ndef main():\n");
    const runs: SpecResult[] = [];
    for (const pad of [false, true]) {
      const { ctx, d } = make(pad);
      runs.push(await drain(generateSpeculative(ctx, d, prompt, { maxTokens: 48, temperature: 0, budget: 4, ignoreEog: true })));
    }
    expect(runs[1].tokens).toEqual(runs[0].tokens);
    expect(runs[1].spec.acceptedPerDepth).toEqual(runs[0].spec.acceptedPerDepth);
    expect(runs[1].spec.steps).toBe(runs[0].spec.steps);
  });
});
