// The n-gram assist on its own (no model): lookups are scored for free until the evidence says a
// verify pays, then repeats are verified; text that never repeats is never verified.
import { describe, expect, it } from "vitest";
import { createNgramAssist } from "../../src/spec/generate-spec.js";
import { ASSIST_DEPTH, type NgramAssist } from "../../src/spec/ngram-assist.js";
import type { StepPrices } from "../../src/spec/prices.js";

// a verify of up to 8 rows costs a third to a half more than a plain step (as on a GPU)
const prices: StepPrices = { arMs: 1, verifyMsByRows: { 2: 1.3, 3: 1.35, 5: 1.4, 8: 1.5 } };

/** Feeds `next(i)` as the target's tokens, one plain step each unless the assist verifies: a
 *  verified chain is "accepted" up to the first token that differs from next(). */
function drive(a: NgramAssist, next: (i: number) => number, n: number, verifyMs = (rows: number) => prices.verifyMsByRows[rows] ?? 1.5) {
  let i = 0;
  let verifies = 0;
  let verifiedTokens = 0;
  while (i < n) {
    const nodes = a.decide(1000);
    if (nodes > 0) {
      const tree = a.tree!;
      let acc = 0;
      while (acc < nodes && tree.token[acc] === next(i + acc)) acc++;
      a.controller.observeVerify(nodes + 1, verifyMs(nodes + 1));
      a.controller.observeAcceptance(tree, acc, Int32Array.from({ length: acc }, (_, k) => k));
      for (let k = 0; k <= acc; k++) a.push(next(i + k));
      i += acc + 1;
      verifies++;
      verifiedTokens += acc + 1;
    } else {
      a.controller.observeAr(1);
      a.push(next(i++));
    }
  }
  return { verifies, verifiedTokens };
}

describe("NgramAssist", () => {
  it("verifies a repeating text once the shadows have scored it", () => {
    const a = createNgramAssist({ maxDepth: 15 }, prices);
    expect(a.maxDepth).toBe(ASSIST_DEPTH);
    a.start([5, 6, 7, 8, 9, 10, 11, 12]);
    const period = [5, 6, 7, 8, 9, 10, 11, 12];
    const r = drive(a, (i) => period[i % period.length], 400);
    expect(a.stats.shadowProbes).toBeGreaterThan(0);
    expect(r.verifies).toBeGreaterThan(0);
    // most of the text comes from verified chains, several tokens each
    expect(r.verifiedTokens).toBeGreaterThan(300);
    expect(r.verifiedTokens / r.verifies).toBeGreaterThan(4);
  });

  it("does not verify lookups that keep missing", () => {
    const a = createNgramAssist({ maxDepth: 15 }, prices);
    a.start([1, 2]);
    // 1 2 100 1 2 101 1 2 102 ...: the suffix "1 2" always matches and its continuation never does
    const r = drive(a, (i) => (i % 3 === 2 ? 100 + Math.floor(i / 3) : 1 + (i % 3)), 600);
    expect(a.stats.shadowProbes).toBeGreaterThan(20);
    expect(a.controller.snapshot().acceptance[0]).toBeLessThan(0.2);
    // the optimistic prior may buy a verify or two before the evidence rules them out
    expect(r.verifies).toBeLessThanOrEqual(2);
  });

  it("verifies a chain scored whole twice in a row even when it rates verifies dear, and learns their price", () => {
    // no prices (a CPU): the first verify at a shape is a one-off (on a 2-core CPU the trained pair's
    // first 8-row verify step took 8-9 ms, later ones 3-4.5) and sets the price; a controller that
    // then rates verifies dear only scores shadows, and nothing would measure a verify again
    const a = createNgramAssist({ maxDepth: 15 });
    a.start([5, 6, 7, 8, 9, 10, 11, 12]);
    const period = [5, 6, 7, 8, 9, 10, 11, 12];
    let first = true;
    const r = drive(a, (i) => period[i % period.length], 400, () => (first ? ((first = false), 12) : 1.5));
    expect(r.verifies).toBeGreaterThan(10);
    // the one-off 8-row price came down, and the verifies it runs are priced at what they cost
    const prices = a.controller.snapshot().verifyMsByRows;
    expect(prices["8"]).toBeLessThan(12);
    expect(Math.min(...Object.values(prices))).toBeLessThan(3);
    expect(r.verifiedTokens).toBeGreaterThan(300);
  });

  it("caps its chains at the loop's largest budget", () => {
    const a = createNgramAssist({ maxDepth: 3 });
    expect(a.maxDepth).toBe(3);
    expect(a.controller.budgets[a.controller.budgets.length - 1]).toBeLessThanOrEqual(3);
  });
});
