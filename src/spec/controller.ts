// Adaptive speculation controller: pure bookkeeping over observed costs and acceptance, no model.
//
// Picks, per step, plain AR or a draft budget (drafted nodes; a chain's depth) maximizing expected
// tokens per unit time:
//   rate(AR) = 1 / t_ar
//   rate(B)  = (E[accepted | B] + 1) / (t_draft + t_verify(B + 1))      (B + 1 rows: the root too)
// E[accepted] for a chain of depth D with conditional per-depth acceptance p_d is
// sum_{k<=D} prod_{d<=k} p_d. For trees it comes from the drafter's own node probabilities:
// sum over nodes at depth d of exp(cumulative logp) is the drafter's P(reach depth d), scaled by a
// per-depth calibration c_d = observed reach / predicted reach, learned from verified trees (tree-reach.ts).
//
// Estimators are exponentially weighted with a warm start (step size max(alpha, 1/n)), so the first
// observations count fully and old ones fade: drafts that turn good (or bad) are noticed within
// ~1/alpha steps. Depths with little evidence shrink towards the estimate of the depth above, which
// is what lets a controller that has only tried short drafts still predict (and then try) longer ones.
// When AR wins, a probe runs now and then so acceptance keeps being measured. By default a probe is a
// shadow (shadow.ts): the drafter proposes, plain decoding goes on, and the proposal is scored
// against the tokens the target emits, so a probe with useless drafts wastes only t_draft (a verified
// probe wastes t_draft + t_verify(probe) - t_ar, and on a GPU the verify batch also costs the target
// its captured CUDA graph, re-captured two steps later). Drafts nobody has scored yet are tried the
// same way first. Probes are spaced at least probeEvery steps apart and far enough that the waste
// stays under maxProbeOverhead of the plain decoding time (a GPU drafts in about one step, so every
// ~100 steps; a CPU drafting a 16-token block may take ten steps' time, so every ~1000), sooner near
// a tie, and sooner while the drafts scored so far are too few to rule drafting out (bestOptimistic:
// one pseudo-success per depth). A shadow accepted whole is followed at once by one at the next
// candidate budget; after two in a row the deeper probe is verified where drafting could pay, so that a request whose
// drafts are good gets their tokens instead of plain steps while the evidence builds. When speculating, a
// neighbouring budget is tried every exploreEvery steps so the verify cost curve is measured where it
// matters.
// Costs start from step prices measured at load where they are given (prices.ts: on a GPU the first
// forwards at a shape are uncaptured, so a fresh controller's own first measurements overrate a steady
// verify); a drafter nobody has scored yet is then shadow-probed once at once if any acceptance could
// make it pay, since the prices alone may say plain decoding for longer than a short request lasts.

import type { DDTree } from "./ddtree.js";
import type { ControllerOptions, ControllerSnapshot } from "./controller-options.js";
import type { StepPrices } from "./prices.js";
import { ProposalLengthModel } from "./proposal-length.js";
import { TreeReachModel } from "./tree-reach.js";
import { COLD_FORWARDS, SwitchCost } from "./switch-cost.js";
import { Ewma, OUTLIER_CAP, VerifyCostModel } from "./verify-cost.js";

export type { ControllerOptions, ControllerSnapshot };

/** choose() result meaning "no speculation: plain autoregressive step" */
export const AR = 0;

/** Plain steps a plain-decoding decision (and the probe gap) holds before it is worked out again,
 *  unless a draft, verify or acceptance observation comes first. Only the plain step's cost moves
 *  meanwhile, by at most alpha per step, so the decision cannot drift far; the full estimate is ~100
 *  floating-point operations, which a host-bound small target feels on every token (10 us per call
 *  before V8 optimizes it, 0.5 us after). */
const AR_HOLD = 16;
/** A steady draft's cost as a share of a catch-up draft's, until one is measured (H200: 0.4-0.45 on
 *  the 8B DFlash pair, 0.7 on the trained code29m pair, bench/results/2026-11-23-h200-5). */
const CATCH_UP_SHARE = 0.5;
/** Scored drafts (EW weight at depth 1) below which a verify needs the evidence alone to say it
 *  pays: with fewer, the optimistic prior could make useless drafts look worth a verify. */
const EVIDENCE_GATE = 4;
/** A speculative estimate this far under plain decoding's rate (a fraction of it) or closer is a near
 *  tie: probes come sooner, down to MIN_GAP_SCALE of the usual gap. */
const NEAR_TIE = 0.2;
const MIN_GAP_SCALE = 0.125;
/** Probes accepted whole in a row after which the next, deeper one is verified when drafting could
 *  pay (bestOptimistic): its tokens then count, where a shadow's are plain steps. After one whole
 *  probe the evidence is too thin (a verify costs two changes of the target's shape). */
const WHOLE_TO_VERIFY = 2;
/** The weight a new request leaves the drafts' evidence from earlier ones (startRequest): ~5 scored
 *  drafts of the ~20 the EW keeps, so that the request's own first few decide. Carried in full, the
 *  trained pair's controller verified 122 steps of mediocre drafts over 12 prompts after the ones it
 *  looped on (bench/results/2026-11-24-h200-2, call 4: 0.866 of plain). */
const REQUEST_CARRY = 0.25;
/** Observations a measured price counts as: a one-off forward at a new shape (on the H200 3.5 times
 *  the steady price for the trained pair's 5-row verify) then moves it by a fifth of twice the price
 *  at most (Ewma's outlier cap), while a lasting change still comes through in a few steps. */
const PRICE_WEIGHT = 4;
export class SpecController {
  readonly budgets: Int32Array;
  readonly shape: "chain" | "tree";
  readonly maxDepth: number;
  readonly alpha: number;
  readonly probeEvery: number;
  readonly maxProbeOverhead: number;
  readonly probeBudget: number;
  readonly shadow: boolean;
  readonly shadowBudget: number;
  readonly unfollow: boolean;
  readonly exploreEvery: number;
  readonly priorAccept: number;
  readonly priorWeight: number;
  readonly priorVerifySlope: number;
  readonly switchHorizon: number;

  readonly tAr: Ewma;
  /** a draft made right after a verified step (the drafter catches up on that step's rows only) */
  readonly tDraft: Ewma;
  /** a draft after plain steps (a probe, the first verified step after plain decoding): the drafter
   *  first catches up on the rows it was handed meanwhile (DFlash: up to FOLLOW_AHEAD, two to three
   *  times a steady draft on an H200) */
  readonly tCatchUpDraft: Ewma;
  /** depth (trees: budget) of the next shadow probe, and whether the next acceptance observation is
   *  a probe's (a shadow's, or the verified one after whole shadows) */
  private shadowAt: number;
  private awaitingProbe = false;
  private probeNow = false;
  /** probes accepted whole in a row, each followed at once by a deeper one (deepenShadow) */
  private wholeProbes = 0;
  /** set by choose(): plain steps before the next probe */
  private untilProbe = 0;
  private readonly verifyCost: VerifyCostModel;
  /** the target's current row count and what changing it costs */
  private readonly shapes: SwitchCost;

  // Per depth d (index d - 1): EW trials and successes of the conditional acceptance...
  private readonly accW: Float64Array;
  private readonly accX: Float64Array;
  // ...how long chain proposals are...
  private readonly proposalLength: ProposalLengthModel;
  // ...and the tree drafts' reach (calibration, shape per budget)
  private readonly treeReach: TreeReachModel;
  // scratch
  private readonly pHat: Float64Array;
  private readonly logBudgets: Float64Array;
  /** plain steps the last AR decision still holds for, and the probe gap worked out with it */
  private arHold = 0;
  private heldGap = 0;

  private arStreak = 0;
  private lastShadow = false;
  /** the acceptance estimate in use: shrunk towards the configured prior, the evidence alone
   *  ("pessimistic": prior 0) or the evidence's optimistic end ("optimistic": one pseudo-success) */
  private estimate: "prior" | "pessimistic" | "optimistic" = "prior";
  private get pessimistic(): boolean {
    return this.estimate === "pessimistic";
  }
  private specSteps = 0;
  private exploreUp = true;
  private exploring = false;
  /** acceptance observations so far (shadows' included), and whether the first probe was asked for */
  private observations = 0;
  private firstProbe = false;

  constructor(opts: ControllerOptions = {}) {
    const budgets = opts.budgets ?? [4, 8, 16, 32, 64];
    if (budgets.length === 0) throw new RangeError("SpecController: budgets must not be empty");
    for (let i = 0; i < budgets.length; i++) {
      if (!Number.isInteger(budgets[i]) || budgets[i] < 1 || (i > 0 && budgets[i] <= budgets[i - 1])) {
        throw new RangeError(`SpecController: budgets must be ascending integers >= 1, got [${budgets.join(", ")}]`);
      }
    }
    this.budgets = Int32Array.from(budgets);
    this.shape = opts.shape ?? "chain";
    this.maxDepth = opts.maxDepth ?? (this.shape === "chain" ? budgets[budgets.length - 1] : 16);
    this.alpha = opts.alpha ?? 0.05;
    this.probeEvery = opts.probeEvery ?? 64;
    this.maxProbeOverhead = opts.maxProbeOverhead ?? 0.01;
    this.probeBudget = opts.probeBudget ?? budgets[0];
    this.shadow = opts.shadow ?? true;
    this.unfollow = opts.unfollow ?? true;
    this.exploreEvery = opts.exploreEvery ?? 64;
    this.priorAccept = opts.priorAccept ?? 0.5;
    this.priorWeight = opts.priorWeight ?? 2;
    this.priorVerifySlope = opts.priorVerifySlope ?? 0.05;
    if (!(this.alpha > 0 && this.alpha <= 1)) throw new RangeError(`SpecController: alpha must be in (0, 1], got ${this.alpha}`);
    if (!Number.isInteger(this.maxDepth) || this.maxDepth < 1) throw new RangeError(`SpecController: maxDepth must be an integer >= 1, got ${this.maxDepth}`);
    this.shadowBudget = opts.shadowBudget ?? (this.shape === "chain" ? Math.min(this.maxDepth, 2) : budgets[0]);
    if (!Number.isInteger(this.shadowBudget) || this.shadowBudget < 1) throw new RangeError(`SpecController: shadowBudget must be an integer >= 1, got ${this.shadowBudget}`);
    this.shadowAt = this.shadowBudget;

    this.tAr = new Ewma(this.alpha, true);
    this.tDraft = new Ewma(this.alpha);
    this.tCatchUpDraft = new Ewma(this.alpha);
    this.shapes = new SwitchCost(this.alpha);
    this.switchHorizon = opts.switchHorizon ?? 8;
    this.verifyCost = new VerifyCostModel(this.budgets, this.alpha, this.priorVerifySlope);
    const D = this.maxDepth;
    this.accW = new Float64Array(D);
    this.accX = new Float64Array(D);
    this.proposalLength = new ProposalLengthModel(D, this.alpha, this.priorWeight);
    this.treeReach = new TreeReachModel(D, this.budgets, this.alpha, this.priorWeight);
    this.pHat = new Float64Array(D);
    this.logBudgets = Float64Array.from(budgets, Math.log);
    if (opts.prices) this.seed(opts.prices);
  }

  private seed(p: StepPrices): void {
    this.tAr.seed(p.arMs, PRICE_WEIGHT);
    if (p.draftMs !== undefined) this.tDraft.seed(p.draftMs, PRICE_WEIGHT);
    if (p.catchUpDraftMs !== undefined) this.tCatchUpDraft.seed(p.catchUpDraftMs, PRICE_WEIGHT);
    for (const [rows, ms] of Object.entries(p.verifyMsByRows)) this.verifyCost.seed(this.exactBucket(Number(rows)), Number(rows), ms, PRICE_WEIGHT);
  }

  // ---- observations ----

  /** wall time of one plain decode step (1 row), ms */
  observeAr(ms: number): void {
    const age = this.shapes.note(1);
    // a cold step's excess is the shape change's cost, not the plain step's (once that is known)
    if (age < COLD_FORWARDS && this.tAr.known) {
      const steady = this.tAr.value;
      this.shapes.observe(age, ms, steady);
      // a cold forward costs at least a steady one: one under half the estimate says it is wrong
      // (not any one under it: where cold forwards cost no more, as on a CPU, that would keep the
      // lower half of the noise and drift the estimate down)
      if (ms * OUTLIER_CAP < steady) this.tAr.add(ms);
    } else this.tAr.add(ms);
  }

  /** A new request starts (a controller kept across requests, as `flint serve` keeps one): what was
   *  learned of the drafts (acceptance, proposal length, tree calibration) keeps REQUEST_CARRY of its
   *  weight, since another prompt's drafts may be much better or worse; costs carry in full. */
  startRequest(): void {
    for (let d = 0; d < this.maxDepth; d++) {
      this.accW[d] *= REQUEST_CARRY;
      this.accX[d] *= REQUEST_CARRY;
    }
    this.proposalLength.discount(REQUEST_CARRY);
    this.treeReach.discount(REQUEST_CARRY);
    this.wholeProbes = 0;
  }

  /** The target ran a forward the controller does not see (a prompt's prefill, a relayout): the next
   *  one is at a new shape. */
  shapeChanged(): void {
    this.shapes.note(0);
  }

  /** The target ran a forward of `rows` rows whose cost this controller does not learn from (another
   *  controller's verify): only its shape is noted, so the next forward's age is right. */
  noteForward(rows: number): void {
    this.shapes.note(rows);
  }

  /** wall time of drafting for one step, ms; `afterVerify`: the step before was a verified one */
  observeDraft(ms: number, afterVerify = true): void {
    this.arHold = 0;
    (afterVerify ? this.tDraft : this.tCatchUpDraft).add(ms);
  }

  /** a steady draft's cost: measured, else half a catch-up draft's (0 before any) */
  draftMs(): number {
    if (this.tDraft.known) return this.tDraft.value;
    return this.tCatchUpDraft.known ? CATCH_UP_SHARE * this.tCatchUpDraft.value : 0;
  }

  /** A chain proposal (verified or a shadow's) of `got` tokens where `asked` were asked for: how
   *  long the drafter's proposals are, so that a budget's expected accepted tokens and verify rows
   *  count only the tokens it will actually propose (a fixed-length drafter always proposes all). */
  observeProposalLength(asked: number, got: number): void {
    this.proposalLength.observe(asked, got);
  }

  /** wall time of one verify step over `rows` rows (nodes + root), its bookkeeping included, ms */
  observeVerify(rows: number, ms: number): void {
    this.arHold = 0;
    const bucket = this.exactBucket(rows);
    const age = this.shapes.note(rows);
    if (age < COLD_FORWARDS && this.verifyCost.known(bucket)) {
      const steady = this.verifyCost.estimate(bucket, rows, this.tAr);
      this.shapes.observe(age, ms, steady);
      // as for a plain step: otherwise a price rated too high (a one-off first verify, without load-time
      // prices) would stay while the controller verifies only after plain steps, or not at all
      if (ms * OUTLIER_CAP < steady) this.verifyCost.observe(bucket, rows, ms);
    } else this.verifyCost.observe(bucket, rows, ms);
  }

  /**
   * Acceptance of one verified step: `tree` as verified (after any truncate), `accepted` drafted
   * tokens, `path` the accepted nodes (TreeAcceptor.path).
   */
  observeAcceptance(tree: DDTree, accepted: number, path: Int32Array): void {
    this.arHold = 0;
    this.observations++;
    if (this.awaitingProbe) {
      this.awaitingProbe = false;
      if (tree.size > 0 && accepted === tree.maxDepth && tree.isLeaf(path[accepted - 1])) this.deepenShadow();
      else this.wholeProbes = 0;
    }
    const D = this.maxDepth;
    const keep = 1 - this.alpha;
    for (let d = 0; d < D; d++) {
      this.accW[d] *= keep;
      this.accX[d] *= keep;
    }
    const last = accepted === 0 ? -1 : path[accepted - 1];
    const offered = Math.min(D, tree.isLeaf(last) ? accepted : accepted + 1);
    for (let d = 0; d < offered; d++) {
      this.accW[d] += 1;
      if (d < accepted) this.accX[d] += 1;
    }
    this.treeReach.observe(tree, accepted);
  }

  // ---- estimates ----

  /** conditional acceptance at depth d (1-based), shrunk towards depth d - 1 (then the prior) */
  acceptProb(d: number): number {
    this.fillPHat();
    return d >= 1 && d <= this.maxDepth ? this.pHat[d - 1] : 0;
  }

  /** drafter calibration at depth d (1-based): observed reach / drafter-predicted reach */
  calibration(d: number): number {
    return this.treeReach.calibration(d, this.pessimistic);
  }

  /** estimated verify ms for `rows` rows */
  tVerify(rows: number): number {
    return this.verifyCost.estimate(this.exactBucket(rows), rows, this.tAr);
  }

  /** E[accepted drafted tokens] with budget b: from `tree`'s node probabilities when given (its
   *  first b nodes), else from the learned tree mass (tree shape) or chain math. */
  expectedAccepted(b: number, tree?: DDTree): number {
    if (b <= 0) return 0;
    if (tree) return this.treeReach.expectFromTree(tree, Math.min(b, tree.size), this.pessimistic);
    if (this.shape === "tree") {
      const e = this.treeReach.expectForBudget(this.bucketOf(b), this.pessimistic);
      if (e !== undefined) return e;
    }
    return this.chainExpectation(Math.min(b, this.maxDepth));
  }

  /** expected tokens per ms with budget b (AR = 0); NaN while t_ar is unknown */
  expectedRate(b: number, tree?: DDTree): number {
    if (!this.tAr.known) return NaN;
    if (b === AR) return 1 / (this.tAr.value + this.switchShare(1));
    const tDraft = tree ? 0 : this.draftMs(); // after drafting, it is sunk
    // rows of a verify: integral (the verify-cost buckets are by exact row count)
    const nodes = tree ? Math.min(b, tree.size) : Math.round(this.expectedNodes(b));
    return (this.expectedAccepted(b, tree) + 1) / (tDraft + this.tVerify(nodes + 1) + this.switchShare(nodes + 1));
  }

  /** The argmax of expectedRate over AR and the budgets, without exploration. */
  best(): number {
    if (!this.tAr.known) return AR;
    let bestB = AR;
    let bestRate = this.expectedRate(AR);
    for (let i = 0; i < this.budgets.length; i++) {
      const r = this.expectedRate(this.budgets[i]);
      if (r > bestRate) {
        bestRate = r;
        bestB = this.budgets[i];
      }
    }
    return bestB;
  }

  /** best() with no prior acceptance (0 instead of priorAccept, calibration 0 instead of 1): what
   *  the scored drafts alone say */
  bestOnEvidence(): number {
    return this.bestWith("pessimistic");
  }

  /** best() with each depth's acceptance at its optimistic end, one pseudo-success on the evidence
   *  ((accepted + 1) / (offered + 1)): what drafting could still be worth when little is scored. A
   *  few scored drafts cannot tell a near tie, so while this says some budget beats plain decoding
   *  probes come sooner; the optimism fades as the evidence grows. */
  bestOptimistic(): number {
    return this.bestWith("optimistic");
  }

  private bestWith(estimate: "pessimistic" | "optimistic"): number {
    this.estimate = estimate;
    try {
      return this.best();
    } finally {
      this.estimate = "prior";
    }
  }

  snapshot(): ControllerSnapshot {
    const r = (x: number) => Math.round(x * 1e4) / 1e4;
    this.fillPHat();
    return {
      arMs: r(this.tAr.value),
      draftMs: r(this.draftMs()),
      catchUpDraftMs: r(this.tCatchUpDraft.value),
      verifyMsByRows: this.verifyCost.measured(r),
      acceptance: Array.from(this.pHat, r),
      proposalReach: Array.from(this.proposalLength.reach(), r),
      switchMs: r(this.shapes.ms),
    };
  }

  // ---- decisions ----

  /** Before drafting: AR (skip the drafter) or the budget to draft for. Includes probing/exploring.
   *  When shadowProbe is then true, the step is plain and the drafter's proposal for it is scored
   *  against the tokens that follow (see shadow.ts), at shadowBudget. */
  choose(): number {
    this.exploring = false;
    this.lastShadow = false;
    this.untilProbe = 0;
    let b = AR;
    if (this.arHold > 0) this.arHold--;
    else {
      b = this.best();
      if (b === AR && this.tAr.known) {
        this.arHold = AR_HOLD - 1;
        this.heldGap = this.probeGap();
      }
    }
    if (b === AR) {
      if (this.tAr.known) {
        // Nothing scored yet, and drafts would pay if they were good: score one at once (a shadow
        // costs a draft) instead of after a probe gap, which is longer than a short request where
        // drafting is dear (the prices then say plain decoding from the first step)
        if (!this.firstProbe && this.observations === 0 && this.shadow && this.mayPay()) {
          this.firstProbe = true;
          this.probeNow = true;
        }
        const gap = this.heldGap;
        if (++this.arStreak >= gap || this.probeNow) {
          this.arStreak = 0;
          this.probeNow = false;
          this.exploring = true;
          const verify = this.shadow && this.wholeProbes >= WHOLE_TO_VERIFY && this.bestOptimistic() !== AR;
          this.lastShadow = this.shadow && !verify;
          this.awaitingProbe = this.shadow;
          return this.shadow ? this.shadowAt : this.probeBudget;
        }
        this.untilProbe = gap - this.arStreak - 1;
      }
      return AR;
    }
    this.arStreak = 0;
    this.awaitingProbe = false;
    this.probeNow = false;
    if (this.shadow && this.wholeProbes < WHOLE_TO_VERIFY && this.accW[0] < EVIDENCE_GATE && this.bestOnEvidence() === AR) {
      // drafting pays only with the optimistic prior's help: score a draft for free instead, until
      // the evidence decides (useless drafts: two or three shadows; good ones: one). Past a few
      // scored drafts the prior hardly moves the estimate, and a gate there would turn every step of a
      // marginal case into a shadow (a draft plus plain steps: dearer than either choice)
      this.exploring = true;
      this.lastShadow = true;
      this.awaitingProbe = true;
      return this.shadowAt;
    }
    this.wholeProbes = 0;
    if (this.exploreEvery > 0 && ++this.specSteps % this.exploreEvery === 0) {
      const i = this.bucketOf(b);
      const j = this.exploreUp ? i + 1 : i - 1;
      this.exploreUp = !this.exploreUp;
      if (j >= 0 && j < this.budgets.length) {
        this.exploring = true;
        return this.budgets[j];
      }
    }
    return b;
  }

  /**
   * After drafting: how many of `tree`'s nodes to verify (0 = discard the draft, decode the root
   * alone), judged on this tree's own probabilities; the draft cost is sunk. Pass the tree built at
   * the largest budget: its first B nodes are the budget-B tree. Capped at `cap` (the chosen budget);
   * an exploratory choice is kept as is so the exploration happens.
   */
  chooseForTree(tree: DDTree, cap = Infinity): number {
    this.treeReach.record(tree);
    if (this.exploring) return Math.min(cap, tree.size);
    if (!this.tAr.known) return Math.min(cap, tree.size);
    let bestN = AR;
    let bestRate = this.expectedRate(AR);
    for (let i = 0; i < this.budgets.length; i++) {
      const n = Math.min(this.budgets[i], tree.size, cap);
      if (n <= 0) continue;
      const r = this.expectedRate(n, tree);
      if (r > bestRate) {
        bestRate = r;
        bestN = n;
      }
    }
    return bestN;
  }

  /** depth (trees: node budget) the next shadow probe's draft is scored at */
  get shadowDepth(): number {
    return this.shadowAt;
  }

  /** Whether the last choose() asked for a shadow probe rather than a verified step. */
  get shadowProbe(): boolean {
    return this.lastShadow;
  }

  /** A draft was made and will not be verified (a shadow probe's): records its tree's shape for the
   *  tree estimates, as chooseForTree does for verified ones. */
  observeProposal(tree: DDTree): void {
    this.treeReach.record(tree);
  }

  /** After choose() returned AR: the plain steps left before the next probe (0 when the next step
   *  may draft). A drafter that pays to follow the target (DFlash feature capture) can stop following
   *  until this gets small. */
  stepsToProbe(): number {
    return this.untilProbe;
  }

  /** AR steps between probes: probeEvery, or more when a probe's waste would exceed maxProbeOverhead */
  probeGap(): number {
    const probeDraft = this.tCatchUpDraft.known ? this.tCatchUpDraft : this.tDraft;
    if (!probeDraft.known || !this.tAr.known) return this.probeEvery;
    const waste = this.shadow ? probeDraft.value : probeDraft.value + this.tVerify(this.probeBudget + 1) - this.tAr.value;
    const gap = Math.max(this.probeEvery, Math.ceil(waste / (this.maxProbeOverhead * this.tAr.value)));
    // Near a tie, with drafts that are often accepted, a probe is worth more: a few unlucky steps can
    // tip the estimate under plain decoding's rate, and only probes bring it back. Closer than
    // NEAR_TIE, probes come proportionally sooner. (Useless drafts on a GPU can come as close, when a
    // verify costs about a plain step and the draft little; probing them sooner would tell nothing.)
    // So are they while the drafts scored so far are too few to rule drafting out (bestOptimistic;
    // before any, the first probe comes at once where drafting could pay).
    if (this.acceptProb(1) < 0.5) return gap;
    let spec = 0;
    for (let i = 0; i < this.budgets.length; i++) spec = Math.max(spec, this.expectedRate(this.budgets[i]));
    const shortfall = 1 - spec * this.tAr.value;
    const scale = this.observations > 0 && this.bestOptimistic() !== AR ? MIN_GAP_SCALE : Math.min(1, Math.max(MIN_GAP_SCALE, shortfall / NEAR_TIE));
    return Math.max(AR_HOLD, Math.ceil(gap * scale));
  }

  // ---- internals ----

  /** A step at `rows` rows pays a share of a shape change when the target is at another shape: the
   *  change's cost spread over switchHorizon steps, so a choice that changes shape must be better by
   *  that much (a one-step excursion pays for two changes; a budget kept for long hardly pays). Plain
   *  decoding, once chosen, holds until the next probe, at least probeEvery steps: spread over 8, the
   *  change back to it made plain steps look dearer by half on the trained code29m pair (a change
   *  costs it 1.2-2.3 ms, 4-7 plain steps), which kept a carried controller verifying mediocre drafts
   *  (see REQUEST_CARRY). */
  private switchShare(rows: number): number {
    if (this.shapes.rows === 0 || rows === this.shapes.rows) return 0;
    return this.shapes.ms / (rows === 1 ? Math.max(this.switchHorizon, this.probeEvery) : this.switchHorizon);
  }

  /** Whether some budget would beat plain decoding if every drafted token were accepted. */
  private mayPay(): boolean {
    const ar = 1 / this.tAr.value;
    const draft = this.draftMs();
    for (let i = 0; i < this.budgets.length; i++) {
      const nodes = Math.max(1, Math.round(this.expectedNodes(this.budgets[i])));
      if ((Math.min(nodes, this.maxDepth) + 1) / (draft + this.tVerify(nodes + 1)) > ar) return true;
    }
    return false;
  }

  /** After a probe accepted whole: the next one is at the next candidate budget (chains past the
   *  largest: twice as deep, up to maxDepth), and comes at once (the evidence points towards
   *  drafting, and a whole acceptance says nothing about the depths past it). A candidate budget, so
   *  that a verified probe runs at a priced row count. */
  private deepenShadow(): void {
    const was = this.shadowAt;
    const next = this.budgets.find((b) => b > was);
    this.shadowAt = next ?? (this.shape === "chain" ? Math.min(this.maxDepth, 2 * was) : was);
    if (this.shadowAt > was) {
      this.arHold = 0;
      this.probeNow = true;
      this.wholeProbes++;
    } else this.wholeProbes = 0; // deepest already: the next probe comes after the gap, a shadow
  }

  /** index of the candidate budget whose verify has exactly `rows` rows, or -1 */
  private exactBucket(rows: number): number {
    const b = this.bucketOf(rows - 1);
    return b >= 0 && this.budgets[b] + 1 === rows ? b : -1;
  }

  /** index of the candidate budget nearest to b on a log scale, or -1 */
  private bucketOf(b: number): number {
    if (b < 1) return -1;
    const bs = this.budgets;
    let best = 0;
    let bestDist = Infinity;
    const lb = Math.log(b);
    for (let i = 0; i < bs.length; i++) {
      const dist = Math.abs(this.logBudgets[i] - lb);
      if (dist < bestDist) {
        bestDist = dist;
        best = i;
      }
    }
    return best;
  }

  private fillPHat(): void {
    const optimistic = this.estimate === "optimistic";
    let prev = this.estimate === "pessimistic" ? 0 : optimistic ? 1 : this.priorAccept;
    const w0 = optimistic ? 1 : this.priorWeight;
    for (let d = 0; d < this.maxDepth; d++) {
      prev = (this.accX[d] + w0 * prev) / (this.accW[d] + w0);
      this.pHat[d] = prev;
    }
  }

  private chainExpectation(depth: number): number {
    this.fillPHat();
    const q = this.proposalLength.reach();
    let reach = 1;
    let sum = 0;
    for (let d = 0; d < depth; d++) {
      reach *= this.pHat[d] * q[d];
      sum += reach;
    }
    return sum;
  }

  /** expected drafted nodes of a chain proposal asked for b (b itself unless proposals run short) */
  expectedNodes(b: number): number {
    return this.shape === "chain" ? this.proposalLength.expectedNodes(b) : b;
  }
}
