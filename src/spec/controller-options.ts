// The adaptive speculation controller's options and what it reports (controller.ts has how they are used).
import type { StepPrices } from "./prices.js";

export interface ControllerOptions {
  /** candidate budgets (drafted nodes), ascending; default [4, 8, 16, 32, 64] */
  budgets?: readonly number[];
  /** "chain": budget = chain depth (default); "tree": budget = DDTree nodes */
  shape?: "chain" | "tree";
  /** deepest draft position (DFlash: block size - 1); default max(budgets) for chains, 16 for trees */
  maxDepth?: number;
  /** floor of the EW step size for costs and acceptance (default 0.05) */
  alpha?: number;
  /** AR steps between speculative probes, at least (default 64) */
  probeEvery?: number;
  /** the most a probe with useless drafts may cost, as a fraction of the plain steps between
   *  probes; spaces probes further apart when drafting is expensive (default 0.01) */
  maxProbeOverhead?: number;
  /** budget of a verified probe (default budgets[0]) */
  probeBudget?: number;
  /** probes (and the first try of drafts never scored) are shadows: scored against the tokens plain
   *  decoding emits, no verify (default true) */
  shadow?: boolean;
  /** budget a shadow probe's draft is first scored at (default: chains 2, trees budgets[0]): a
   *  shadow resolves after at most this many plain tokens (at the first mismatch with useless
   *  drafts), and with good drafts those are plain steps a verify would have beaten. A shadow
   *  accepted whole makes the next one as deep as the next candidate budget, so that the evidence
   *  can reach the depths where drafting pays (a draft costing a few plain steps pays only past
   *  depth 2); deeper depths are also learned from verified chains' bonus tokens (generate-spec.ts) */
  shadowBudget?: number;
  /** speculative steps between tries of a neighbouring budget (default 64; 0 = never). Each try
   *  changes the target's decode shape twice, and on a GPU each change costs one to one and a half
   *  plain steps (H200, 8B: bench/results/2026-11-23-h200-5/sweep-auto-split.json) */
  exploreEvery?: number;
  /** prior conditional acceptance at depth 1 (default 0.5: optimistic enough to try drafts once) */
  priorAccept?: number;
  /** pseudo-observations behind the shrinkage priors (default 2) */
  priorWeight?: number;
  /** verify-cost prior before any verify is measured: t_ar * (1 + slope * (rows - 1)) (default 0.05) */
  priorVerifySlope?: number;
  /** let a drafter that pays to follow the target (DFlash: a host copy of the captured features per
   *  token) stop following during plain stretches more than FOLLOW_AHEAD steps before a probe; its
   *  history then has gaps, which only softens the drafts of the probe after one (default true) */
  unfollow?: boolean;
  /** step costs measured at load (prices.ts): the cost estimates start from them, each as from
   *  PRICE_WEIGHT observations, instead of from the first (one-off, on a GPU uncaptured) forwards */
  prices?: StepPrices;
  /** steps a change of the target's row count is spread over when choices are rated (switch-cost.ts;
   *  default 8) */
  switchHorizon?: number;
}

/** What a controller has learned (SpecStats.controller): estimates, ms and probabilities. */
export interface ControllerSnapshot {
  /** a plain step */
  arMs: number;
  /** one draft right after a verified step (half a catch-up draft until one is measured) */
  draftMs: number;
  /** one draft after plain steps (probes) */
  catchUpDraftMs: number;
  /** a verify step by rows (drafted nodes + 1), for the candidate budgets measured */
  verifyMsByRows: Record<string, number>;
  /** conditional acceptance per depth, priors included */
  acceptance: number[];
  /** chains: P(a proposal reaches depth d | it reached d - 1), per depth (1 for fixed-length drafters) */
  proposalReach: number[];
  /** one change of the target's row count (its first forwards' excess over their steady price) */
  switchMs: number;
}
