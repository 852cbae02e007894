import { describe, expect, it } from "vitest";
import { AR, SpecController, type ControllerOptions } from "../../src/spec/controller.js";
import { DDTreeBuilder, type DDTree } from "../../src/spec/ddtree.js";
import { TreeAcceptor } from "../../src/spec/accept.js";
import { candidateBudgets } from "../../src/spec/generate-spec.js";
import { Rng } from "../../src/engine/rng.js";

// Simulated machine: t_ar = 10, t_verify(rows) = 10 + 0.1 rows, t_draft = 1; chain drafts whose
// positions are accepted independently with probability p (so conditional acceptance is p per depth)
const T_AR = 10;
const T_DRAFT = 1;
const tVerify = (rows: number) => 10 + 0.1 * rows;
const BUDGETS = [4, 8, 16, 32, 64];

function trueRate(b: number, p: number): number {
  if (b === AR) return 1 / T_AR;
  let al = 0;
  for (let k = 1, r = p; k <= b; k++, r *= p) al += r;
  return (al + 1) / (T_DRAFT + tVerify(b + 1));
}

function trueBest(p: number): number {
  let best = AR;
  for (const b of BUDGETS) if (trueRate(b, p) > trueRate(best, p)) best = b;
  return best;
}

class ChainSim {
  readonly ctrl: SpecController;
  private readonly builder = new DDTreeBuilder(64);
  private readonly ids = new Int32Array(64);
  private readonly path = Int32Array.from({ length: 64 }, (_, i) => i);
  private readonly rng: Rng;
  tokens = 0;
  time = 0;
  /** the budget of each step's verify (AR for plain steps, shadow probes included) */
  choices: number[] = [];
  shadows = 0;

  constructor(seed: number, opts: ControllerOptions = {}, private readonly tDraft = T_DRAFT) {
    this.ctrl = new SpecController({ budgets: BUDGETS, ...opts });
    this.rng = new Rng(seed);
  }

  run(steps: number, p: number): void {
    for (let s = 0; s < steps; s++) {
      const b = this.ctrl.choose();
      if (b !== AR && this.ctrl.shadowProbe) {
        // a plain step, and the draft scored against the tokens it emits (resolved at once here)
        this.choices.push(AR);
        this.shadows++;
        this.ctrl.observeDraft(this.tDraft);
        this.ctrl.observeAr(T_AR);
        let k = 0;
        while (k < b && this.rng.nextFloat() < p) k++;
        this.ctrl.observeAcceptance(this.builder.buildChain(this.ids, b), k, this.path);
        this.tokens += 1;
        this.time += this.tDraft + T_AR;
        continue;
      }
      this.choices.push(b);
      if (b === AR) {
        this.ctrl.observeAr(T_AR);
        this.tokens += 1;
        this.time += T_AR;
        continue;
      }
      this.ctrl.observeDraft(this.tDraft);
      this.ctrl.observeVerify(b + 1, tVerify(b + 1));
      let k = 0;
      while (k < b && this.rng.nextFloat() < p) k++;
      this.ctrl.observeAcceptance(this.builder.buildChain(this.ids, b), k, this.path);
      this.tokens += k + 1;
      this.time += this.tDraft + tVerify(b + 1);
    }
  }

  rateSince(fromTokens: number, fromTime: number): number {
    return (this.tokens - fromTokens) / (this.time - fromTime);
  }
}

function mode(xs: number[]): number {
  const c = new Map<number, number>();
  for (const x of xs) c.set(x, (c.get(x) ?? 0) + 1);
  return [...c.entries()].sort((a, b) => b[1] - a[1])[0][0];
}

describe("SpecController (chain, simulated costs)", () => {
  it("the simulated machine's own optimum: AR for useless drafts, a mid budget at p = 0.8", () => {
    expect(trueBest(0)).toBe(AR);
    expect(trueBest(0.8)).toBe(16);
  });

  it("picks AR when drafts are useless, and stays within 3% of plain AR", () => {
    for (const p of [0, 0.05]) {
      const sim = new ChainSim(1);
      sim.run(200, p);
      const t0 = sim.tokens;
      const time0 = sim.time;
      sim.run(3000, p);
      expect(sim.ctrl.best()).toBe(AR);
      expect(sim.rateSince(t0, time0)).toBeGreaterThan(0.97 * trueRate(AR, p));
      const spec = sim.choices.slice(200).filter((b) => b !== AR).length;
      // the probes, plus the few steps a lucky probe buys (at most 107 over 200 seeds at p = 0.05)
      expect(spec).toBeLessThan(3 * (3000 / sim.ctrl.probeEvery));
    }
  });

  it("a stalled plain step does not tip it into drafting useless drafts", () => {
    // a plain step that once took 5x its cost (libllama re-reserving the graph after a capture
    // toggle took ~50 ms against 4 ms on an H200): counted in full it would make drafting look cheaper
    // than plain decoding for ~1/alpha steps, and drafting steps never measure plain ones again
    const sim = new ChainSim(2);
    sim.run(100, 0);
    sim.ctrl.observeAr(5 * T_AR);
    const before = sim.choices.length;
    sim.run(200, 0);
    const spec = sim.choices.slice(before).filter((b) => b !== AR).length;
    expect(spec).toBeLessThan(10);
    expect(sim.ctrl.tAr.value).toBeLessThan(1.1 * T_AR);
  });

  it("a stall among a fresh controller's first plain steps does not set its plain-step cost", () => {
    // a 2-core CPU once took ~60 ms over a fresh request's first plain step: a mean of the first
    // points rated plain decoding at 21 ms, and drafting then ran at 0.41x plain speed
    const c = new SpecController({ budgets: [1, 2, 4], maxDepth: 4 });
    c.observeAr(60);
    expect(c.tAr.value).toBe(60);
    // (the second forward at a shape is a cold one, which prices the change of shape and, being
    // cheaper than the estimate, lowers it too)
    c.observeAr(1);
    expect(c.tAr.value).toBe(1);
    c.observeAr(1.2);
    expect(c.tAr.value).toBe(1.2);
    // later stalls are capped as before
    c.observeAr(60);
    expect(c.tAr.value).toBeLessThan(1.2 * 1.5);
  });

  it("a forward it only notes (another controller's verify) makes the next plain step a cold one", () => {
    const c = new SpecController({ budgets: [1, 2, 4], maxDepth: 4, prices: { arMs: 1, verifyMsByRows: {} } });
    for (let i = 0; i < 4; i++) c.observeAr(1);
    c.noteForward(8);
    // back at one row: the graph is re-captured, and the excess prices the change, not the plain step
    c.observeAr(1.8);
    expect(c.tAr.value).toBe(1);
    expect(c.snapshot().switchMs).toBeGreaterThan(0);
    // a cold step under half the estimate says the estimate is wrong, and lowers it
    c.noteForward(8);
    c.observeAr(0.4);
    expect(c.tAr.value).toBeLessThan(1);
  });

  it("spaces probes out when drafting is expensive (a CPU drafting a block costs ~10 plain steps)", () => {
    const sim = new ChainSim(4, {}, 10 * T_AR);
    sim.run(200, 0);
    const t0 = sim.tokens;
    const time0 = sim.time;
    sim.run(5000, 0);
    // waste per probe ~ t_draft + t_verify(5) - t_ar = 100.5: one probe per ~1000 plain steps
    expect(sim.ctrl.probeGap()).toBeGreaterThanOrEqual(1000);
    expect(sim.rateSince(t0, time0)).toBeGreaterThan(0.985 * trueRate(AR, 0));
    // with a cheap drafter the floor of 64 steps holds
    const cheap = new ChainSim(5);
    cheap.run(300, 0);
    expect(cheap.ctrl.probeGap()).toBe(cheap.ctrl.probeEvery);
  });

  it("with acceptance 0.8 per depth picks the budget that maximizes the true rate", () => {
    const sim = new ChainSim(2);
    sim.run(500, 0.8);
    const t0 = sim.tokens;
    const time0 = sim.time;
    sim.run(2000, 0.8);
    const best = trueBest(0.8);
    // rates at 8, 16 and 32 are within 10% of each other, so a single decision may be off by one
    // budget on estimation noise (seen across 60 seeds); what it settles on is the optimum
    const late = sim.choices.slice(500);
    expect(mode(late)).toBe(best);
    expect(late.filter((b) => b === best).length).toBeGreaterThan(late.length / 2);
    expect(sim.rateSince(t0, time0)).toBeGreaterThan(0.93 * trueRate(best, 0.8));
    // its model of the machine is right where it has data
    expect(sim.ctrl.tVerify(17)).toBeCloseTo(tVerify(17), 6);
    expect(sim.ctrl.tDraft.value).toBeCloseTo(T_DRAFT, 6);
    expect(sim.ctrl.acceptProb(1)).toBeGreaterThan(0.7);
    expect(sim.ctrl.acceptProb(1)).toBeLessThan(0.9);
  });

  it("recovers when drafts turn good after a useless stretch, and backs off when they turn bad", () => {
    const sim = new ChainSim(3);
    sim.run(1500, 0);
    expect(sim.ctrl.best()).toBe(AR);
    sim.run(1500, 0.8);
    expect(mode(sim.choices.slice(-500))).toBe(trueBest(0.8));
    sim.run(300, 0);
    expect(sim.ctrl.best()).toBe(AR);
  });

  it("measures plain AR first, and uses the prior until verify costs are measured", () => {
    const c = new SpecController({ budgets: BUDGETS });
    expect(c.choose()).toBe(AR);
    expect(Number.isNaN(c.expectedRate(AR))).toBe(true);
    c.observeAr(10);
    expect(c.tVerify(1)).toBeCloseTo(10, 9);
    expect(c.tVerify(11)).toBeCloseTo(10 * (1 + c.priorVerifySlope * 10), 9);
    // optimistic prior: the first decision after AR is measured is to try drafting, as a shadow
    // probe first (scored against the plain tokens that follow, not verified)
    expect(c.choose()).toBe(c.shadowBudget);
    expect(c.shadowProbe).toBe(true);
    // one verify size: the line through it and (1 row, t_ar), never below t_ar
    c.observeVerify(31, 13.1);
    expect(c.tVerify(31)).toBeCloseTo(13.1, 6);
    expect(c.tVerify(5)).toBeCloseTo(10 + (4 * 3.1) / 30, 6);
    // a linear fit fills unmeasured sizes
    const d = new SpecController({ budgets: BUDGETS });
    d.observeAr(10);
    d.observeVerify(5, 10.4);
    d.observeVerify(9, 10.8);
    expect(d.tVerify(101)).toBeCloseTo(20, 6);
    expect(d.tVerify(9)).toBeCloseTo(10.8, 6); // a measured budget size: its own average
  });

  it("probes with shadows: useless drafts are never verified, a probe costs one draft", () => {
    const sim = new ChainSim(6);
    sim.run(3200, 0);
    // no verify at all: the first try and every probe were scored against plain tokens
    expect(sim.choices.every((b) => b === AR)).toBe(true);
    expect(sim.shadows).toBeGreaterThan(3200 / (2 * sim.ctrl.probeGap()));
    // the first tries (until the scores outweigh the optimistic prior), then one per probe gap
    expect(sim.shadows).toBeLessThanOrEqual(3 + Math.ceil(3200 / sim.ctrl.probeGap()));
    // waste per probe t_draft = 1 against 64 plain steps of 10
    expect(sim.rateSince(0, 0)).toBeGreaterThan(0.995 * trueRate(AR, 0));
    // without shadows the probes verify (at probeBudget), and the first try is a verified step
    const verified = new ChainSim(6, { shadow: false });
    verified.run(3200, 0);
    expect(verified.shadows).toBe(0);
    expect(verified.choices.filter((b) => b === verified.ctrl.probeBudget).length).toBeGreaterThan(3200 / (2 * verified.ctrl.probeGap()));
    expect(verified.rateSince(0, 0)).toBeLessThan(sim.rateSince(0, 0));
  });

  it("a shadow accepted whole makes the next one as deep as the next budget, at once; a partial one waits for the gap", () => {
    // a draft that costs 3 plain steps pays only past depth 2, which a depth-2 shadow cannot show
    const c = new SpecController({ budgets: [1, 2, 4, 8, 15], maxDepth: 15 });
    c.choose();
    c.observeAr(1);
    c.observeVerify(16, 2.6);
    const builder = new DDTreeBuilder(16);
    const path = Int32Array.from({ length: 16 }, (_, i) => i);
    const whole = (b: number) => c.observeAcceptance(builder.buildChain(new Int32Array(b), b), b, path);
    expect(c.choose()).toBe(2);
    expect(c.shadowProbe).toBe(true);
    c.observeDraft(3);
    whole(2);
    c.observeAr(1);
    expect(c.choose()).toBe(4);
    expect(c.shadowProbe).toBe(true);
    expect(c.shadowDepth).toBe(4);
    // partial: the depth stays, and the next probe waits for the gap
    c.observeAcceptance(builder.buildChain(new Int32Array(4), 4), 1, path);
    c.observeAr(1);
    expect(c.choose()).toBe(AR);
    expect(c.shadowDepth).toBe(4);
  });

  it("probes sooner near a tie with drafts that are often accepted, not with useless ones", () => {
    const make = (accepted: number) => {
      const c = new SpecController({ budgets: BUDGETS });
      c.observeAr(1);
      c.observeDraft(1);
      const builder = new DDTreeBuilder(64);
      const path = Int32Array.from({ length: 64 }, (_, i) => i);
      for (let i = 0; i < 40; i++) {
        c.observeVerify(5, 1.2);
        c.observeAcceptance(builder.buildChain(new Int32Array(4), 4), accepted, path);
      }
      return c;
    };
    // one token accepted per step: (1 + 1) / (1 + 1.2) = 0.91 of plain decoding's rate, a near tie
    const tie = make(1);
    expect(tie.best()).toBe(AR);
    const useless = make(0);
    // the gap a probe's waste allows: t_draft / (1% of t_ar) = 100 steps
    expect(useless.probeGap()).toBe(100);
    expect(tie.probeGap()).toBeLessThan(60);
    expect(tie.probeGap()).toBeGreaterThanOrEqual(16);
    expect(tie.snapshot()).toMatchObject({ arMs: 1, draftMs: 1, verifyMsByRows: { 5: 1.2 } });
    expect(tie.snapshot().acceptance[0]).toBeGreaterThan(0.9);
  });

  it("rates drafting at a steady draft's cost, and spaces probes by a catch-up draft's", () => {
    // a probe's draft first injects the rows of the plain steps before it (H200, 8B DFlash pair:
    // ~5 ms against 2.3 ms for a draft right after a verify)
    const c = new SpecController({ budgets: BUDGETS });
    c.observeAr(1);
    c.observeDraft(4, false);
    expect(c.draftMs()).toBe(2); // half a catch-up draft until a steady one is measured
    c.observeDraft(1.5);
    expect(c.draftMs()).toBe(1.5);
    expect(c.snapshot()).toMatchObject({ draftMs: 1.5, catchUpDraftMs: 4 });
    // waste per probe: the catch-up draft, at most 1% of the plain steps between probes
    expect(c.probeGap()).toBe(400);
  });

  it("good drafts found by shadow probes are then verified", () => {
    const c = new SpecController({ budgets: BUDGETS });
    c.choose();
    c.observeAr(T_AR);
    const builder = new DDTreeBuilder(64);
    let shadows = 0;
    let b = c.choose();
    while (c.shadowProbe && shadows < 5) {
      expect(b).toBe(c.shadowBudget);
      shadows++;
      // the target emitted every drafted token of the probe
      c.observeDraft(T_DRAFT);
      c.observeAcceptance(builder.buildChain(new Int32Array(b), b), b, Int32Array.from({ length: b }, (_, i) => i));
      b = c.choose();
    }
    // a few scored drafts outweigh the optimistic prior, and the next step verifies
    expect(shadows).toBeGreaterThanOrEqual(1);
    expect(shadows).toBeLessThanOrEqual(3);
    expect(b).not.toBe(AR);
    expect(c.shadowProbe).toBe(false);
    expect(() => new SpecController({ budgets: BUDGETS, shadowBudget: 0 })).toThrow(/shadowBudget/);
  });

  it("extrapolates past the largest measured verify no steeper than the prior (a GPU's cost curve flattens)", () => {
    // the H200 8B's costs (bench/results/2026-11-23-h200-4/bench-sweep-7-1065008): plain 4.17 ms,
    // chain verify of 5 / 9 / 16 rows 7.31 / 9.35 / 10.08 ms; a line through 5 and 9 rows says 13.3
    // ms for 16, which would keep the controller from ever trying 16
    const c = new SpecController({ budgets: [1, 2, 4, 8, 15], maxDepth: 15 });
    c.observeAr(4.17);
    for (let i = 0; i < 4; i++) {
      c.observeVerify(5, 7.31);
      c.observeVerify(9, 9.35);
    }
    expect(c.tVerify(9)).toBeCloseTo(9.35, 6);
    expect(c.tVerify(16)).toBeCloseTo(9.35 + c.priorVerifySlope * 4.17 * 7, 6);
    // inside the measured range the fit stands
    expect(c.tVerify(7)).toBeGreaterThan(7.31);
    expect(c.tVerify(7)).toBeLessThan(9.35);
    // where the cost does grow steeply (a CPU), one verify of the size corrects the optimism
    c.observeVerify(16, 20);
    expect(c.tVerify(16)).toBeCloseTo(20, 6);
  });

  it("short proposals (an n-gram drafter's): a budget's expected accepted tokens and rows count only what is proposed", () => {
    const c = new SpecController({ budgets: [2, 4, 8], maxDepth: 8 });
    const b = new DDTreeBuilder(8);
    const path = Int32Array.from({ length: 8 }, (_, i) => i);
    // asked for 8, the drafter proposes 3 tokens, all accepted, every time
    for (let i = 0; i < 40; i++) {
      c.observeProposalLength(8, 3);
      c.observeAcceptance(b.buildChain(new Int32Array(8), 3), 3, path);
    }
    // without the proposal lengths, depths 4..8 (never offered) would borrow depth 3's acceptance
    // (1) and budget 8 would expect ~7 accepted tokens over 9 rows
    expect(c.expectedAccepted(8)).toBeGreaterThan(2.7);
    expect(c.expectedAccepted(8)).toBeLessThan(3.5);
    expect(c.expectedNodes(8)).toBeLessThan(3.5);
    expect(c.expectedNodes(2)).toBeCloseTo(2, 6);
    // a fixed-length drafter proposes what is asked: nothing changes
    const f = new SpecController({ budgets: [2, 4, 8], maxDepth: 8 });
    for (let i = 0; i < 10; i++) f.observeProposalLength(8, 8);
    expect(f.expectedNodes(8)).toBeCloseTo(8, 6);
  });

  it("starts from measured step prices: a one-off dear forward moves them little", () => {
    const prices = { arMs: 1, draftMs: 2, catchUpDraftMs: 4, verifyMsByRows: { "5": 1.6, "9": 3 } };
    const c = new SpecController({ budgets: [4, 8], maxDepth: 15, prices });
    expect(c.snapshot()).toMatchObject({ arMs: 1, draftMs: 2, catchUpDraftMs: 4, verifyMsByRows: { "5": 1.6, "9": 3 } });
    // a verify at a new shape (on the H200 3.5 times the steady price) is the change's cost, not the
    // verify's; a dear steady one (the third in a row) is capped at twice the price, one point against four
    c.observeVerify(5, 5.6);
    c.observeVerify(5, 5.6);
    expect(c.tVerify(5)).toBe(1.6);
    c.observeVerify(5, 5.6);
    expect(c.tVerify(5)).toBeCloseTo(1.6 + (3.2 - 1.6) / 5, 6);
    // without prices the first observation is the estimate
    const fresh = new SpecController({ budgets: [4, 8], maxDepth: 15 });
    fresh.observeAr(1);
    fresh.observeVerify(5, 5.6);
    expect(fresh.tVerify(5)).toBe(5.6);
  });

  it("with prices where no draft could pay, it never drafts or probes early; where good drafts would, it scores one at once", () => {
    // the trained code29m pair on the H200: a draft costs 2.4 plain steps, a 16-row verify 3.3
    const dear = { arMs: 0.33, draftMs: 0.79, catchUpDraftMs: 1.28, verifyMsByRows: { "2": 0.45, "3": 0.48, "5": 0.53, "9": 1.01, "16": 1.08 } };
    const c = new SpecController({ budgets: [1, 2, 4, 8, 15], maxDepth: 15, prices: dear });
    // chain 15 accepted whole would give 16 tokens for 1.87 ms, 8.6 per ms against 3 plain: worth one shadow
    expect(c.choose()).toBe(2);
    expect(c.shadowProbe).toBe(true);
    c.observeDraft(0.79, false);
    const builder = new DDTreeBuilder(16);
    const path = Int32Array.from({ length: 16 }, (_, i) => i);
    c.observeAcceptance(builder.buildChain(new Int32Array(2), 2), 1, path);
    // scored, not whole: plain decoding until the probe gap (a catch-up draft is 1% of ~390 plain steps)
    const choices: number[] = [];
    for (let i = 0; i < 256; i++) {
      choices.push(c.choose());
      c.observeAr(0.33);
    }
    expect(choices.every((b) => b === AR)).toBe(true);
    // a drafter no acceptance could make pay: not even the first shadow
    const useless = new SpecController({ budgets: [1, 2, 4, 8, 15], maxDepth: 15, prices: { ...dear, draftMs: 6, catchUpDraftMs: 8 } });
    for (let i = 0; i < 256; i++) {
      expect(useless.choose()).toBe(AR);
      useless.observeAr(0.33);
    }
  });

  it("while few drafts are scored, probes come sooner if drafting could still pay; two whole probes in a row make the next one verified", () => {
    // the trained code29m pair's prices on the H200 (bench/results/2026-11-24-h200, call 9)
    const dear = { arMs: 0.34, draftMs: 0.9, catchUpDraftMs: 1.2, verifyMsByRows: { "2": 0.43, "3": 0.44, "5": 0.49, "9": 0.95, "16": 1.03 } };
    const builder = new DDTreeBuilder(16);
    const path = Int32Array.from({ length: 16 }, (_, i) => i);
    const make = () => new SpecController({ budgets: [1, 2, 4, 8, 15], maxDepth: 15, prices: dear });
    const probe = (c: SpecController, accepted: number) => {
      const b = c.choose();
      expect(b).not.toBe(AR);
      expect(c.shadowProbe).toBe(true);
      c.observeDraft(1.2, false);
      c.observeAcceptance(builder.buildChain(new Int32Array(b), b), accepted, path);
      return b;
    };
    const plainUntilProbe = (c: SpecController) => {
      let n = 0;
      while (c.choose() === AR && n < 1000) {
        c.observeAr(0.34);
        n++;
      }
      return n;
    };
    // a depth-2 shadow accepted whole, then a depth-4 one rejected at depth 4: the point estimate says
    // plain decoding, but two scored drafts cannot rule out drafts good enough to pay
    const thin = make();
    expect(probe(thin, 2)).toBe(2);
    expect(probe(thin, 3)).toBe(4);
    expect(thin.best()).toBe(AR);
    expect(thin.bestOptimistic()).not.toBe(AR);
    // the waste gap a catch-up draft allows is 1.2 / (1% of 0.34) = 353 steps; an eighth of it now
    const soon = plainUntilProbe(thin);
    expect(soon).toBeLessThanOrEqual(Math.ceil(353 / 8));
    // drafts that keep failing at depth 1 end the optimism, and the gap is the waste gap again
    for (let i = 0; i < 6; i++) {
      thin.observeDraft(1.2, false);
      thin.observeAcceptance(builder.buildChain(new Int32Array(4), 4), 0, path);
    }
    expect(thin.bestOptimistic()).toBe(AR);
    expect(thin.probeGap()).toBe(353);
    // depth 2 and depth 4 accepted whole: the next, deeper probe is a verified step, whose tokens count
    const whole = make();
    expect(probe(whole, 2)).toBe(2);
    expect(probe(whole, 4)).toBe(4);
    const b = whole.choose();
    expect(b).toBeGreaterThanOrEqual(4);
    expect(whole.shadowProbe).toBe(false);
    // after one whole probe the next deeper one is still a shadow (a verify costs two shape changes)
    const once = make();
    probe(once, 2);
    expect(once.choose()).toBe(4);
    expect(once.shadowProbe).toBe(true);
  });

  it("learns what a change of shape costs from cold forwards, and charges it to choices that change shape", () => {
    const prices = { arMs: 1, draftMs: 0.1, catchUpDraftMs: 0.2, verifyMsByRows: { "2": 1.2, "3": 1.3, "5": 1.5 } };
    const c = new SpecController({ budgets: [1, 2, 4], maxDepth: 4, prices });
    // plain steps, then a verify of 5 rows twice at 1.5 + 1 ms (cold), then steady ones
    for (let i = 0; i < 4; i++) c.observeAr(1);
    c.observeVerify(5, 2.5);
    c.observeVerify(5, 2.5);
    for (let i = 0; i < 4; i++) c.observeVerify(5, 1.5);
    // back to plain: two cold plain steps at 1 + 1 ms
    c.observeAr(2);
    c.observeAr(2);
    const snap = c.snapshot();
    expect(snap.arMs).toBe(1);
    expect(snap.verifyMsByRows["5"]).toBe(1.5);
    // one change costs its two cold forwards' excess, a mean over the changes seen: the first plain
    // steps were at a new shape too (the first forwards after the prompt), here at no excess
    expect(snap.switchMs).toBeCloseTo((2 * (0 + 1 + 1)) / 3, 3);
    // at plain decoding's shape a verify pays the change spread over switchHorizon (8) steps
    expect(c.expectedRate(AR)).toBeCloseTo(1, 6);
    const atPlain = c.expectedRate(4);
    c.observeVerify(5, 1.5);
    c.observeVerify(5, 1.5);
    c.observeVerify(5, 1.5);
    // at the verify's own shape it does not, and plain decoding does, spread over the probe gap's
    // least (64 steps): once chosen it holds until the next probe
    expect(c.expectedRate(4)).toBeGreaterThan(atPlain);
    expect(c.snapshot().switchMs).toBeGreaterThan(0);
    expect(c.expectedRate(AR)).toBeCloseTo(1 / (1 + c.snapshot().switchMs / 64), 3);
  });

  it("leaves good drafts' verify shape for plain decoding within a few verifies once they turn mediocre", () => {
    // the trained code29m pair's prices on the H200; a change of shape costs ~1.5 ms (4-5 plain steps)
    const verifyMsByRows: Record<string, number> = { "2": 0.41, "3": 0.42, "5": 0.47, "9": 0.92, "16": 1.03 };
    const c = new SpecController({ budgets: [1, 2, 4, 8, 15], maxDepth: 15, prices: { arMs: 0.33, draftMs: 0.9, catchUpDraftMs: 1.2, verifyMsByRows } });
    const builder = new DDTreeBuilder(16);
    const path = Int32Array.from({ length: 16 }, (_, i) => i);
    const verify = (b: number, ms: number, accepted: number) => {
      c.observeDraft(0.9);
      c.observeVerify(b + 1, ms);
      // a chain accepted whole is observed one longer (its bonus token)
      if (accepted === b) c.observeAcceptance(builder.buildChain(new Int32Array(b + 1), b + 1), b + 1, path);
      else c.observeAcceptance(builder.buildChain(new Int32Array(b), b), accepted, path);
    };
    // plain steps, then a prompt the model loops on: chains of 4 accepted whole, the first two
    // verifies cold (the change costs their excess, 1.5 ms)
    for (let i = 0; i < 4; i++) c.observeAr(0.33);
    verify(4, 1.22, 4);
    verify(4, 1.22, 4);
    for (let i = 0; i < 30; i++) verify(4, 0.47, 4);
    expect(c.snapshot().switchMs).toBeGreaterThan(0.7);
    let b = c.choose();
    expect(b).not.toBe(AR);
    // the next prompt (a controller kept across requests, as flint serve keeps one), whose drafts get
    // 1 or 2 accepted at every budget (at chain 4, 2.5 tokens per 1.37 ms against 3 per ms plain)
    c.startRequest();
    let verifies = 0;
    while (b !== AR && verifies < 100) {
      verify(b, verifyMsByRows[b + 1], Math.min(b, verifies++ % 2 === 0 ? 1 : 2));
      b = c.choose();
    }
    // (with the earlier prompt's evidence carried in full and the change back to plain decoding
    // charged over 8 steps: 25 verifies)
    expect(verifies).toBeLessThanOrEqual(8);
  });

  it("chain expectation: sum over k of prod of conditional acceptances", () => {
    const c = new SpecController({ budgets: [4], priorWeight: 1e-9, alpha: 1 });
    const b = new DDTreeBuilder(4);
    const path = Int32Array.of(0, 1, 2, 3);
    // alpha 1: the last observation is the estimate; accepted 2 of 4 -> p = 1, 1, 0, (shrunk to 0)
    c.observeAcceptance(b.buildChain(new Int32Array(4), 4), 2, path);
    expect(c.acceptProb(1)).toBeCloseTo(1, 6);
    expect(c.acceptProb(3)).toBeCloseTo(0, 6);
    expect(c.expectedAccepted(4)).toBeCloseTo(2, 6);
  });
});

describe("SpecController (tree, calibrated drafter probabilities)", () => {
  // The drafter claims rank 0 with 0.8 and rank 1 with 0.15 at every position; the target really
  // emits them with half that probability (a uniformly overconfident drafter)
  const DEPTH = 4;
  const K = 2;
  const ids = new Int32Array(DEPTH * K);
  const logp = new Float32Array(DEPTH * K);
  for (let d = 0; d < DEPTH; d++) {
    ids[d * K] = 10 * d + 1;
    ids[d * K + 1] = 10 * d + 2;
    logp[d * K] = Math.log(0.8);
    logp[d * K + 1] = Math.log(0.15);
  }

  /** exact E[accepted] of the first n nodes under the true acceptance */
  function trueExpectation(tree: DDTree, n: number, scale: number): number {
    let e = 0;
    for (let i = 0; i < n; i++) e += Math.exp(tree.logp[i]) * scale ** tree.depth[i];
    return e;
  }

  function run(scale: number, steps: number) {
    const builder = new DDTreeBuilder(30);
    const acceptor = new TreeAcceptor(DEPTH);
    const c = new SpecController({ budgets: [4, 8, 16, 30], shape: "tree", maxDepth: DEPTH, alpha: 0.005 });
    const rng = new Rng(4);
    const truth = new Int32Array(DEPTH + 1);
    for (let s = 0; s < steps; s++) {
      const tree = builder.build(ids, logp, DEPTH, K, 30);
      c.observeAr(T_AR);
      c.chooseForTree(tree);
      // the target's token at each depth: rank 0 w.p. 0.8 scale, rank 1 w.p. 0.15 scale, else a miss
      for (let d = 0; d < DEPTH; d++) {
        const u = rng.nextFloat();
        truth[d] = u < 0.8 * scale ? ids[d * K] : u < 0.95 * scale ? ids[d * K + 1] : 999;
      }
      const k = acceptor.accept(tree, (row) => truth[row === 0 ? 0 : tree.depth[row - 1]]);
      c.observeAcceptance(tree, k, acceptor.path);
      c.observeVerify(31, tVerify(31));
    }
    return { c, tree: builder.build(ids, logp, DEPTH, K, 30) };
  }

  it("calibrates the drafter's node probabilities and predicts E[accepted] per budget", () => {
    const { c, tree } = run(0.5, 4000);
    expect(c.calibration(1)).toBeGreaterThan(0.42);
    expect(c.calibration(1)).toBeLessThan(0.58);
    for (const n of [4, 8, 16, 30]) {
      const want = trueExpectation(tree, n, 0.5);
      expect(Math.abs(c.expectedAccepted(n, tree) - want) / want).toBeLessThan(0.15);
      // the pre-draft estimate from the recorded tree mass agrees
      expect(Math.abs(c.expectedAccepted(n) - want) / want).toBeLessThan(0.15);
    }
  });

  it("declines to verify trees of useless drafts", () => {
    const { c, tree } = run(0, 300);
    expect(c.chooseForTree(tree)).toBe(AR);
    expect(c.best()).toBe(AR);
  });
});

describe("candidate budgets", () => {
  it("verify 8, 16, 32 or 64 rows at most (ggml-cuda's vector kernel takes 8 rows, its tiles 8 each)", () => {
    expect(candidateBudgets(15)).toEqual([1, 2, 4, 7, 15]);
    // the n-gram drafter's depth 8 would verify 9 rows: left out
    expect(candidateBudgets(8)).toEqual([1, 2, 4, 7]);
    expect(candidateBudgets(3)).toEqual([1, 2, 3]);
    expect(candidateBudgets(20)).toEqual([1, 2, 4, 7, 15]);
    expect(candidateBudgets(15, "tree")).toEqual([4, 7, 15, 31, 63]);
  });
});
