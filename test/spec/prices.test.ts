// Step prices (prices.ts): measured on the tiny pair on a CPU, every candidate verify size priced,
// and the target and drafter left as a new request expects them.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { drain, generate } from "../../src/engine/generate.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import { candidateBudgets, generateSpeculative } from "../../src/spec/generate-spec.js";
import { measurePrices } from "../../src/spec/prices.js";
import { useTinyPair } from "../helpers/models.js";

describe("measurePrices", () => {
  const pair = useTinyPair();
  let ctx: Context;
  let d: DFlashDrafter;
  beforeAll(() => {
    ctx = Context.create(pair.target, { ctx: 512, threads: 1 });
    d = new DFlashDrafter(ctx, pair.draft, { topK: 1, threads: 1 });
  });
  afterAll(() => {
    d?.free();
    ctx?.free();
  });

  it("prices a plain step, the drafts and a verify per budget, and leaves both caches empty", async () => {
    const budgets = candidateBudgets(d.maxDepth);
    const p = measurePrices(ctx, d, budgets)!;
    expect(p.arMs).toBeGreaterThan(0);
    expect(p.draftMs).toBeGreaterThan(0);
    expect(p.catchUpDraftMs).toBeGreaterThan(0);
    expect(Object.keys(p.verifyMsByRows).map(Number)).toEqual(Array.from(budgets, (b) => b + 1));
    for (const ms of Object.values(p.verifyMsByRows)) expect(ms).toBeGreaterThan(0);
    expect(ctx.native.seqPosMax(0)).toBe(-1);
    expect(d.ctx.native.seqPosMax(0)).toBe(-1);
    // a request after it decodes as plain decoding does
    const prompt = pair.target.vocab.tokenize("def main():\n");
    const plain = await drain(generate(ctx, prompt, { maxTokens: 24, temperature: 0, ignoreEog: true }));
    const spec = await drain(generateSpeculative(ctx, d, prompt, { maxTokens: 24, temperature: 0, ignoreEog: true, budget: "auto", prices: p }));
    expect(spec.tokens).toEqual(plain.tokens);
    // the oracle's drafts are not priced
    const noDraft = measurePrices(ctx, undefined, budgets)!;
    expect(noDraft.draftMs).toBeUndefined();
    expect(noDraft.arMs).toBeGreaterThan(0);
  });
});
