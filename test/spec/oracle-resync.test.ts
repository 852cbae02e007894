// The oracle follows the run, not only its script: when the emitted tokens leave the script (on GPUs
// batched verify flips near ties of random-weight models), it re-derives the target's greedy
// continuation on its own context, and that time is kept out of the run's timings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { generateSpeculative } from "../../src/spec/generate-spec.js";
import { constantProfile } from "../../src/spec/oracle.js";
import { greedyExtender, OracleSpecDrafter } from "../../src/spec/oracle-drafter.js";
import { tinyModelPath } from "../helpers/models.js";

describe("oracle re-sync", () => {
  let model: Model, ctx: Context, refCtx: Context;
  beforeAll(async () => {
    model = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    ctx = Context.create(model, { ctx: 512, threads: 1 });
    refCtx = Context.create(model, { ctx: 512, threads: 1 });
  });
  afterAll(() => {
    refCtx?.free();
    ctx?.free();
    model?.free();
  });

  async function run(reference: number[], extend: boolean) {
    const prompt = model.vocab.tokenize("The quick brown fox");
    const d = new OracleSpecDrafter(reference, constantProfile(6.5, 15), ctx.nVocab, { maxDepth: 15, seed: 3, ...(extend ? { extend: greedyExtender(refCtx) } : {}) });
    const it = generateSpeculative(ctx, d, prompt, { temperature: 0, maxTokens: 120, ignoreEog: true, budget: 15 });
    let r = await it.next();
    while (!r.done) r = await it.next();
    return { r: r.value, d };
  }

  it("re-derives a broken script and keeps its simulated acceptance", async () => {
    const prompt = model.vocab.tokenize("The quick brown fox");
    const plain = await generateText(ctx, prompt, { temperature: 0, maxTokens: 136, ignoreEog: true });
    // a script that is right for 20 tokens and then wrong, as after a near-tie flip
    const broken = [...prompt, ...plain.tokens.slice(0, 20), ...plain.tokens.slice(20).map((t) => (t + 1) % ctx.nVocab)];
    const without = await run(broken, false);
    const withResync = await run(broken, true);
    for (const x of [without, withResync]) expect(x.r.tokens).toEqual(plain.tokens.slice(0, 120));
    expect(without.d.resyncs).toBe(0);
    expect(withResync.d.resyncs).toBeGreaterThanOrEqual(1);
    expect(withResync.r.spec.simulatedMs).toBeGreaterThan(0);
    expect(without.r.spec.simulatedMs).toBeUndefined();
    // without re-sync the drafts are wrong after token 20; with it they keep the profile's acceptance
    expect(without.r.spec.meanAcceptedLength).toBeLessThan(3);
    expect(withResync.r.spec.meanAcceptedLength).toBeGreaterThan(without.r.spec.meanAcceptedLength + 2);
  });

  it("drafts DDTrees whose other candidates are wrong: a tree accepts what the chain does", async () => {
    const treeCtx = Context.create(model, { ctx: 512, threads: 1, kvUnified: true, flashAttn: "off" });
    const plainCtx = Context.create(model, { ctx: 512, threads: 1, flashAttn: "off" });
    try {
      const prompt = model.vocab.tokenize("Once upon a time");
      const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 96, ignoreEog: true });
      const reference = [...prompt, ...plain.tokens];
      const als: number[] = [];
      for (const [k, budget, shape] of [[1, 15, "chain"], [4, 32, "tree"]] as const) {
        const d = new OracleSpecDrafter(reference, constantProfile(6.5, 15), treeCtx.nVocab, { maxDepth: 15, seed: 9, topK: k });
        const it = generateSpeculative(treeCtx, d, prompt, { temperature: 0, maxTokens: 80, ignoreEog: true, budget, shape });
        let r = await it.next();
        while (!r.done) r = await it.next();
        expect(r.value.spec.mode).toBe(shape);
        expect(r.value.tokens).toEqual(plain.tokens.slice(0, 80));
        als.push(r.value.spec.meanAcceptedLength);
      }
      expect(als[1]).toBe(als[0]);
      expect(als[0]).toBeGreaterThan(4);
    } finally {
      plainCtx.free();
      treeCtx.free();
    }
  });
});
