// A prompt longer than the drafter's 512-token ubatch: the drafter's attention is non-causal, so
// llama.cpp aborts the process (GGML_ASSERT) if one feature injection spans more than one ubatch.
// The drafter must split injections to fit; this prefill is 1500 tokens in one target batch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import { generateSpeculative } from "../../src/spec/generate-spec.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

describe("dflash drafter on a prompt longer than its ubatch", () => {
  let target: Model, draft: Model, ctx: Context, plainCtx: Context, drafter: DFlashDrafter;
  beforeAll(async () => {
    target = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    draft = Model.load(await tinyDrafterPath(), { gpuLayers: 0 });
    ctx = Context.create(target, { ctx: 2048, batch: 2048, threads: 1 });
    plainCtx = Context.create(target, { ctx: 2048, batch: 2048, threads: 1 });
    drafter = new DFlashDrafter(ctx, draft, { topK: 1, threads: 1 });
  });
  afterAll(() => {
    drafter?.free();
    ctx?.free();
    plainCtx?.free();
    draft?.free();
    target?.free();
  });

  it("prefills 1500 tokens in one batch and drafts after it", async () => {
    const prompt = new Int32Array(1500);
    for (let i = 0; i < prompt.length; i++) prompt[i] = 10 + ((i * 7919) % 300);
    const it = generateSpeculative(ctx, drafter, prompt, { temperature: 0, maxTokens: 16, ignoreEog: true, budget: 4 });
    let r = await it.next();
    while (!r.done) r = await it.next();
    expect(r.value.tokens.length).toBe(16);
    expect(r.value.spec.steps).toBeGreaterThan(0);
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 16, ignoreEog: true });
    // the random tiny pair has no near ties over these 16 tokens (checked), so the outputs are equal
    expect(r.value.tokens).toEqual(plain.tokens);
  });
});
