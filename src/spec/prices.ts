// Step prices measured at load: what a plain step, a draft and a verify of each candidate size cost
// on this device when each runs a few times in a row (ggml-cuda replays a context's captured graph
// from the third forward at one shape on). A controller made with them (ControllerOptions.prices)
// starts from the steady prices instead of learning them from its first forwards, which are one-off
// and uncaptured: on the H200 a fresh controller rated the trained code29m pair's verify of 5 rows
// at 1.85 ms where it costs 0.53 at a steady shape, and before that at a guess (bench/results/
// 2026-11-24-h200). The draft is priced as the loop drafts: at the drafter's full depth, after a
// verify whose two rows it was handed; the catch-up draft after FOLLOW_AHEAD rows of plain steps.
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import type { Drafter } from "./drafter.js";
import { FOLLOW_AHEAD } from "./generate-spec.js";

export interface StepPrices {
  /** a plain step (one row, its token read back) */
  arMs: number;
  /** a draft right after a verify; undefined when not priced (the oracle: a fresh drafter per request) */
  draftMs?: number;
  /** a draft after FOLLOW_AHEAD plain steps' rows */
  catchUpDraftMs?: number;
  /** a verify forward of `rows` rows, its rows read back, by rows */
  verifyMsByRows: Record<string, number>;
}

/** forwards per shape: the first two at a new shape run uncaptured or capture on ggml-cuda */
const REPS = 4;
const PROMPT = 8;
/** rows each priced verify commits (the next draft injects them) */
const COMMIT = 2;
const CATCH_UPS = 3;

/**
 * Measures the prices of `ctx` (and `drafter`) for verifies of budget + 1 rows, then clears the
 * target's cache and resets the drafter. Undefined where it cannot price without disturbing the
 * target: recurrent layers (a verify's rejected rows need rollback snapshots) or a context too small.
 */
export function measurePrices(ctx: Context, drafter: Drafter | undefined, budgets: ArrayLike<number>): StepPrices | undefined {
  const info = ctx.model.info;
  if (info.isHybrid || info.isRecurrent) return undefined;
  const rowsOf = Array.from(budgets, (b) => b + 1).filter((r) => r <= ctx.nBatch);
  const need = PROMPT + REPS + 1 + rowsOf.length * REPS * COMMIT + CATCH_UPS * FOLLOW_AHEAD + 16 + (drafter?.maxDepth ?? 0) + Math.max(0, ...rowsOf);
  if (need > ctx.nCtx || FOLLOW_AHEAD > ctx.nBatch) return undefined;
  const token = (i: number) => (i + 1) % ctx.nVocab;
  const read = (rows: number) => {
    if (!ctx.deviceGreedy) ctx.logits();
    else for (let r = 0; r < rows; r++) ctx.sampledToken(r);
  };
  const steady = (ms: number[]) => median(ms.slice(-Math.max(1, ms.length - 2)));
  const b = ctx.batch;
  try {
    ctx.clear();
    drafter?.reset();
    const prompt = Int32Array.from({ length: PROMPT }, (_, i) => token(i));
    ctx.prefill(prompt);
    drafter?.onPrefill(prompt, 0);
    let pos = PROMPT;
    const ar: number[] = [];
    for (let i = 0; i <= REPS; i++, pos++) {
      const t0 = performance.now();
      ctx.launch(token(pos), pos);
      if (ctx.deviceGreedy) ctx.sampledToken(-1);
      else ctx.logits();
      ar.push(performance.now() - t0);
    }
    // plain steps the drafter did not follow: its history resumes at pos (a gap, as after unfollowing)
    const verifyMsByRows: Record<string, number> = {};
    const drafts: number[] = [];
    const committed = Int32Array.from({ length: COMMIT }, (_, i) => i);
    for (const rows of rowsOf) {
      const ms: number[] = [];
      for (let i = 0; i < REPS; i++) {
        b.clear();
        for (let r = 0; r < rows; r++) b.add(token(pos + r), pos + r, 0, true);
        const t0 = performance.now();
        ctx.decode(b);
        read(rows);
        ms.push(performance.now() - t0);
        const keep = Math.min(COMMIT, rows);
        ctx.truncate(0, pos + keep);
        if (drafter) {
          drafter.onCommit(Int32Array.from({ length: keep }, (_, j) => token(pos + j)), pos, committed, rows);
          const t1 = performance.now();
          drafter.propose(token(pos + keep), pos + keep, drafter.maxDepth);
          drafts.push(performance.now() - t1);
        }
        pos += keep;
      }
      verifyMsByRows[rows] = steady(ms);
    }
    const prices: StepPrices = { arMs: steady(ar), verifyMsByRows };
    if (drafter) {
      // the first drafts ran at new shapes too
      prices.draftMs = steady(drafts.slice(2));
      const catchUps: number[] = [];
      const rows = Int32Array.from({ length: FOLLOW_AHEAD }, (_, i) => i);
      for (let i = 0; i < CATCH_UPS; i++) {
        const toks = Int32Array.from({ length: FOLLOW_AHEAD }, (_, j) => token(pos + j));
        ctx.prefill(toks, pos);
        drafter.onCommit(toks, pos, rows, FOLLOW_AHEAD);
        pos += FOLLOW_AHEAD;
        const t0 = performance.now();
        drafter.propose(token(pos), pos, drafter.maxDepth);
        catchUps.push(performance.now() - t0);
      }
      prices.catchUpDraftMs = median(catchUps);
    }
    return prices;
  } finally {
    ctx.clear();
    drafter?.reset();
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
