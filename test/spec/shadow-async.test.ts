// Shadow probes that draft while plain steps go on (DFlashDrafter.launchProposal / takeProposal):
// the drafter's proposal is the one propose() makes, a block left in flight never disturbs what
// the drafter does next, and the loop stays lossless with them. And the gaps such probes leave
// (positions the drafter did not follow, PositionMap): a saved state keeps its map. Shadow drafts
// never count as drafted tokens sent to verify (draftedTokens, flint serve's draft_n).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { drain, generateText } from "../../src/engine/generate.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import type { DraftProposal } from "../../src/spec/drafter.js";
import { createSpecController, draftedTokens, generateSpeculative } from "../../src/spec/generate-spec.js";
import { useTinyPair } from "../helpers/models.js";

const copy = (p: DraftProposal) => ({ depth: p.depth, k: p.k, ids: Array.from(p.ids), logp: Array.from(p.logp) });

describe("shadow drafts in flight (DFlash)", () => {
  const pair = useTinyPair();
  let ctx: Context, plainCtx: Context, drafter: DFlashDrafter;
  beforeAll(() => {
    ctx = Context.create(pair.target, { ctx: 512, threads: 1 });
    plainCtx = Context.create(pair.target, { ctx: 512, threads: 1 });
    drafter = new DFlashDrafter(ctx, pair.draft, { topK: 4, threads: 1 });
  });
  afterAll(() => {
    drafter?.free();
    ctx?.free();
    plainCtx?.free();
  });

  /** prefills `text` into the target and the drafter; returns the prompt's last token and position */
  function prefill(text: string): { last: number; pos: number } {
    const prompt = pair.target.vocab.tokenize(text);
    ctx.truncate(0, 0);
    drafter.reset();
    ctx.prefill(prompt, 0);
    drafter.onPrefill(prompt, 0);
    return { last: prompt[prompt.length - 1], pos: prompt.length };
  }

  it("takes the proposal propose() makes, and a block left in flight is dropped before the next call", () => {
    const { last, pos } = prefill("The quick brown fox jumps over");
    const inLine = copy(drafter.propose(last, pos, drafter.maxDepth));
    drafter.launchProposal(last, pos, drafter.maxDepth);
    const taken = copy(drafter.takeProposal());
    expect(taken).toEqual(inLine);
    expect(() => drafter.takeProposal()).toThrow(/without launchProposal/);
    // launched and never taken: the next proposal (another token at the same position) settles it,
    // so the noise block's cells are gone and the drafter's history is the prompt's
    drafter.launchProposal(last, pos, drafter.maxDepth);
    const other = copy(drafter.propose(last + 1, pos, drafter.maxDepth));
    drafter.launchProposal(last + 1, pos, drafter.maxDepth);
    drafter.reset();
    const again = prefill("The quick brown fox jumps over");
    expect(again.pos).toBe(pos);
    expect(copy(drafter.propose(last + 1, pos, drafter.maxDepth))).toEqual(other);
    expect(copy(drafter.propose(last, pos, drafter.maxDepth))).toEqual(inLine);
  });

  it("after a gap, a saved state restores the same drafts, and a cut into the history before the gap forgets it", () => {
    const text = "The quick brown fox jumps over";
    const { last, pos } = prefill(text);
    const fresh = copy(drafter.propose(last, pos, drafter.maxDepth));
    // four rows 300 positions on, as after a plain stretch the drafter did not follow
    const four = pair.target.vocab.tokenize(" the lazy dog", { addSpecial: false }).slice(0, 4);
    ctx.prefill(four, pos);
    drafter.onCommit(four, pos + 300, Int32Array.from([0, 1, 2, 3]), four.length);
    const after = copy(drafter.propose(four[3], pos + 304, drafter.maxDepth));
    const saved = drafter.saveState();
    drafter.reset();
    drafter.restoreState(saved, pos + 304);
    drafter.rewind(pos + 304);
    expect(copy(drafter.propose(four[3], pos + 304, drafter.maxDepth))).toEqual(after);
    // back to the prompt alone: the drafts are the prompt's again
    drafter.restoreState(saved, pos);
    drafter.rewind(pos);
    expect(copy(drafter.propose(last, pos, drafter.maxDepth))).toEqual(fresh);
    expect(() => drafter.restoreState(new Uint8Array(3), pos)).toThrow(/not a saved DFlash drafter state/);
  });

  it("a controller that knows the catch-up draft's price probes with drafts in flight, losslessly", async () => {
    const prompt = pair.target.vocab.tokenize("Once upon a time");
    const o = { temperature: 0, maxTokens: 160, ignoreEog: true };
    const plain = await generateText(plainCtx, prompt, o);
    let launched = 0;
    const launch = drafter.launchProposal.bind(drafter);
    drafter.launchProposal = (l, p, d) => {
      launched++;
      launch(l, p, d);
    };
    try {
      const prices = { arMs: 1, draftMs: 2, catchUpDraftMs: 3, verifyMsByRows: { "2": 1.2, "3": 1.3, "5": 1.5, "8": 1.8, "16": 2.6 } };
      const controller = createSpecController(drafter, "chain", { prices, probeEvery: 16, maxProbeOverhead: 1 });
      const r = await drain(generateSpeculative(ctx, drafter, prompt, { ...o, budget: "auto", controller }));
      expect(r.tokens).toEqual(plain.tokens);
      // every shadow probe drafted in flight (the prices name the catch-up draft's cost)
      expect(r.spec.shadowProbes).toBeGreaterThan(1);
      expect(launched).toBe(r.spec.shadowProbes);
      // a random drafter's drafts fail: every step was plain, and no drafted token went to a verify
      // (what flint serve reports as draft_n)
      expect(r.spec.steps).toBe(r.spec.arSteps);
      expect(draftedTokens(r.spec)).toBe(0);
    } finally {
      delete (drafter as Partial<DFlashDrafter>).launchProposal;
    }
  });
});
