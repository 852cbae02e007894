// Plain steps inside the speculative loop launch the next decode before handing out the current
// token (as generate() does). What that must not change: the output, where a stop string or the
// token limit ends it, and what the cache holds afterwards (a launched decode past the end is dropped).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import { generateSpeculative, type SpecOptions, type SpecResult } from "../../src/spec/generate-spec.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

describe("plain steps in the speculative loop", () => {
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

  async function spec(prompt: Int32Array, opts: SpecOptions): Promise<SpecResult> {
    const it = generateSpeculative(ctx, drafter, prompt, { temperature: 0, ...opts });
    for (;;) {
      const r = await it.next();
      if (r.done) return r.value;
    }
  }

  it("budget 0 (no controller) decodes plainly and equals generate()", async () => {
    const prompt = target.vocab.tokenize("once upon a time");
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 40, ignoreEog: true });
    const r = await spec(prompt, { maxTokens: 40, ignoreEog: true, budget: 0 });
    expect(r.tokens).toEqual(plain.tokens);
    expect(r.spec.arSteps).toBe(r.spec.steps);
    // the cache holds the history up to the last token or the one before (not the launched one after)
    expect(r.kvTokens).toBeGreaterThanOrEqual(prompt.length + r.tokens.length - 2);
    expect(r.kvTokens).toBeLessThanOrEqual(prompt.length + r.tokens.length - 1);
    expect(ctx.native.seqPosMax(0)).toBe(r.kvTokens - 1);
  });

  it("a stop string ending a plain stretch: same text as generate(), nothing launched left in the cache", async () => {
    const prompt = target.vocab.tokenize("the cat sat on");
    const free = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true });
    // a stop string taken from the middle of the plain output, so it ends generation there
    const stop = free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 3);
    expect(stop.length).toBe(3);
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true, stop: [stop] });
    expect(plain.stopReason).toBe("stop");
    // "auto" with useless drafts: nearly every step is plain
    const r = await spec(prompt, { maxTokens: 60, ignoreEog: true, budget: "auto", stop: [stop] });
    expect(r.stopReason).toBe("stop");
    expect(r.text).toBe(plain.text);
    expect(r.spec.arSteps).toBeGreaterThan(r.spec.steps / 2);
    expect(ctx.native.seqPosMax(0)).toBe(r.kvTokens - 1);
    // the cache holds exactly the history it claims: a continuation from it equals a fresh one
    const history = Int32Array.from([...prompt, ...r.tokens]);
    const fresh = await generateText(plainCtx, history, { temperature: 0, maxTokens: 8, ignoreEog: true });
    const it = generateSpeculative(ctx, drafter, history, { temperature: 0, maxTokens: 8, ignoreEog: true, budget: "auto", reuse: r.kvTokens });
    let next = await it.next();
    while (!next.done) next = await it.next();
    expect(next.value.tokens).toEqual(fresh.tokens);
  });
});
