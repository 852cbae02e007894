// The n-gram drafter and the adaptive controller inside the speculative loop: lossless, and the
// controller falls back to plain decoding when drafts do not pay.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import type { Drafter } from "../../src/spec/drafter.js";
import { generateSpeculative, type SpecOptions, type SpecResult } from "../../src/spec/generate-spec.js";
import { NgramDrafter } from "../../src/spec/ngram-drafter.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

async function runSpec(target: Context, drafter: Drafter, prompt: Int32Array, opts: SpecOptions): Promise<SpecResult> {
  const it = generateSpeculative(target, drafter, prompt, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

const shared = path.resolve(__dirname, "../../../shared/models");
const code = path.join(shared, "code29m-q8_0.gguf");

describe.runIf(existsSync(code))("n-gram drafter on the trained code model", () => {
  let model: Model, ctx: Context, plainCtx: Context;
  beforeAll(() => {
    model = Model.load(code, { gpuLayers: 0 });
    ctx = Context.create(model, { ctx: 512, threads: 1 });
    plainCtx = Context.create(model, { ctx: 512, threads: 1 });
  });
  afterAll(() => {
    ctx?.free();
    plainCtx?.free();
    model?.free();
  });

  it("emits plain greedy output and accepts repeats", async () => {
    const drafter = new NgramDrafter({ maxDepth: 8 });
    let totalAl = 0;
    const prompts = ["def fibonacci(n):\n", "for i in range(10):\n", "import os\nimport sys\n\ndef main():\n"];
    for (const p of prompts) {
      const prompt = model.vocab.tokenize(p);
      const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 64, ignoreEog: true });
      for (const budget of [2, 8] as const) {
        const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 64, ignoreEog: true, budget });
        expect(r.tokens).toEqual(plain.tokens);
        expect(r.spec.drafter).toBe("ngram");
        if (budget === 8) totalAl += r.spec.meanAcceptedLength;
      }
    }
    // this model repeats itself: the history predicts several tokens per step on average
    expect(totalAl / prompts.length).toBeGreaterThan(2);
  });
});

describe("adaptive controller (--budget auto)", () => {
  let target: Model, draft: Model, ctx: Context, plainCtx: Context, drafter: DFlashDrafter;
  beforeAll(async () => {
    target = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    draft = Model.load(await tinyDrafterPath(), { gpuLayers: 0 });
    ctx = Context.create(target, { ctx: 512, threads: 1 });
    plainCtx = Context.create(target, { ctx: 512, threads: 1 });
    drafter = new DFlashDrafter(ctx, draft, { topK: 1, threads: 1 });
  });
  afterAll(() => {
    drafter?.free();
    ctx?.free();
    plainCtx?.free();
    draft?.free();
    target?.free();
  });

  it("with a random drafter, falls back to plain decoding and stays lossless", async () => {
    const prompt = target.vocab.tokenize("The quick brown fox");
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 160, ignoreEog: true });
    const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 160, ignoreEog: true, budget: "auto" });
    expect(r.tokens).toEqual(plain.tokens);
    expect(r.spec.budgetMode).toBe("auto");
    // nothing is ever accepted from a random drafter, so nearly every step ends up plain
    expect(r.spec.acceptedPerDepth.reduce((a, b) => a + b, 0)).toBe(0);
    expect(r.spec.arSteps).toBeGreaterThan(0.8 * r.spec.steps);
  });

  it("keeps seeded sampling identical to plain sampling", async () => {
    const prompt = target.vocab.tokenize("Once upon a time");
    const o = { temperature: 0.8, seed: 11, maxTokens: 48, ignoreEog: true };
    const plain = await generateText(plainCtx, prompt, o);
    const r = await runSpec(ctx, drafter, prompt, { ...o, budget: "auto" });
    expect(r.tokens).toEqual(plain.tokens);
  });
});
