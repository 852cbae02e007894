// DFlash tree drafts with the top-k ranked on the device (deviceTopK): the same candidates in the same
// order as the host's full-vocabulary ranking, log-probs that differ from the host's by one constant
// per position (normalised over the k instead of the vocabulary), and lossless DDTree decoding.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import { generateSpeculative } from "../../src/spec/generate-spec.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

describe("DFlash top-k on the device", () => {
  let target: Model, draft: Model;
  const ctxs: Context[] = [];
  const drafters: DFlashDrafter[] = [];
  // a tree drafter (top-4, on a context trees can verify on) or a chain drafter
  const make = (deviceTopK: boolean, topK = 4) => {
    const ctx = Context.create(target, topK > 1 ? { ctx: 512, threads: 1, kvUnified: true, flashAttn: "off" } : { ctx: 512, threads: 1 });
    const d = new DFlashDrafter(ctx, draft, { topK, threads: 1, deviceTopK });
    ctxs.push(ctx);
    drafters.push(d);
    return { ctx, d };
  };
  // host and device drafters of top-`topK` after the same prompt: the host's proposal (copied: the
  // drafter reuses its buffers) and the device's
  const proposeBoth = (text: string, topK: number) => {
    const host = make(false, topK);
    const dev = make(true, topK);
    const prompt = target.vocab.tokenize(text);
    for (const { ctx, d } of [host, dev]) {
      ctx.prefill(prompt);
      d.onPrefill(prompt, 0);
    }
    const last = prompt[prompt.length - 1];
    const a = host.d.propose(last, prompt.length, 15);
    const aIds = Array.from(a.ids);
    const aLogp = Float32Array.from(a.logp);
    return { aDepth: a.depth, aIds, aLogp, b: dev.d.propose(last, prompt.length, 15) };
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

  it("proposes the host's candidates in the host's order", () => {
    const { aDepth, aIds, aLogp, b } = proposeBoth("def fibonacci(n):\n    if n < 2:\n", 4);
    expect(b.depth).toBe(aDepth);
    expect(b.k).toBe(4);
    expect(Array.from(b.ids)).toEqual(aIds);
    for (let p = 0; p < b.depth; p++) {
      // same shape of distribution over the k: a constant shift (the host's log-sum-exp covers more)
      const shift = b.logp[p * 4] - aLogp[p * 4];
      expect(shift).toBeGreaterThanOrEqual(0);
      for (let j = 1; j < 4; j++) expect(b.logp[p * 4 + j] - aLogp[p * 4 + j]).toBeCloseTo(shift, 4);
    }
  });

  it("ranks chain drafts on the device too, with a probability normalised over 8 candidates", () => {
    const { aIds, aLogp, b } = proposeBoth("class Stack:\n    def __init__(self):\n", 1);
    expect(b.k).toBe(1);
    expect(Array.from(b.ids)).toEqual(aIds);
    for (let p = 0; p < b.depth; p++) {
      // over 8 candidates instead of the vocabulary: never less likely than the host says, still <= 1
      expect(b.logp[p]).toBeGreaterThanOrEqual(aLogp[p] - 1e-5);
      expect(b.logp[p]).toBeLessThanOrEqual(0);
    }
  });

  it("decodes DDTrees losslessly", async () => {
    const { ctx, d } = make(true);
    const plainCtx = Context.create(target, { ctx: 512, threads: 1, flashAttn: "off" });
    ctxs.push(plainCtx);
    for (const text of ["The quick brown fox", "import os\nimport sys\n", "class Stack:\n"]) {
      const prompt = target.vocab.tokenize(text);
      const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 40, ignoreEog: true });
      const it = generateSpeculative(ctx, d, prompt, { temperature: 0, maxTokens: 40, ignoreEog: true, budget: 16, shape: "tree" });
      let r = await it.next();
      while (!r.done) r = await it.next();
      expect(r.value.spec.mode).toBe("tree");
      // the tiny generated pair has no near ties on these prompts (dflash.test.ts counts them)
      expect(r.value.tokens).toEqual(plain.tokens);
    }
  });
});
