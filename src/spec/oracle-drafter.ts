// The oracle drafter behind the speculative loop's Drafter interface, for measurement only: it knows
// the target's greedy continuation (computed beforehand by plain decoding) and spoils it at a depth
// drawn from an acceptance profile, so speed can be measured at a chosen acceptance. Every report
// that uses it says SIMULATED_ACCEPTANCE. Meaningful at temperature 0 only.
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import type { DraftProposal, Drafter } from "./drafter.js";
import { OracleDrafter as Oracle, SIMULATED_ACCEPTANCE } from "./oracle.js";

export { SIMULATED_ACCEPTANCE };

/** the depth `flint run` and `flint bench` give the oracle (a DFlash block's 15 drafted positions) */
export const ORACLE_DEPTH = 15;

export class OracleSpecDrafter implements Drafter {
  readonly name = "oracle" as const;
  readonly maxDepth: number;
  private readonly oracle: Oracle;
  private readonly out: DraftProposal;
  /** prompt and target tokens by position: the script, then what was committed */
  private reference: number[];
  private history: number[] = [];
  private readonly extend?: (history: Int32Array, n: number) => ArrayLike<number>;
  /** times the script was re-derived because the run left it */
  resyncs = 0;
  simulatedMs = 0;

  /**
   * reference: the prompt followed by the target's greedy continuation, indexed by position.
   * extend: when the emitted tokens leave that script (batched verify rounds a near tie the other way
   * than the plain decoding that made it, common on random-weight models) or it runs out, the oracle
   * asks for the target's greedy continuation of what was actually committed; the time it takes is
   * reported as simulatedMs and kept out of the run's timings. Without it such a run's drafts are
   * wrong from there on.
   */
  constructor(reference: ArrayLike<number>, profile: ArrayLike<number>, nVocab: number, opts: { maxDepth?: number; seed?: number; topK?: number; extend?: (history: Int32Array, n: number) => ArrayLike<number> } = {}) {
    this.maxDepth = opts.maxDepth ?? 15;
    this.oracle = new Oracle(profile, nVocab, opts.seed ?? 1);
    // k > 1: DDTree proposals whose other candidates are always wrong, so a tree accepts what the
    // chain would and the run measures tree verify at the simulated acceptance
    const k = opts.topK ?? 1;
    this.out = { depth: 0, k, ids: new Int32Array(this.maxDepth * k), logp: new Float32Array(this.maxDepth * k) };
    this.reference = Array.from(reference);
    this.extend = opts.extend;
  }

  reset(): void {
    this.history = [];
  }
  rewind(keep: number, history: ArrayLike<number>): void {
    this.history = Array.prototype.slice.call(history, 0, keep) as number[];
  }
  onPrefill(tokens: ArrayLike<number>, pos0: number): void {
    for (let i = 0; i < tokens.length; i++) this.history[pos0 + i] = tokens[i];
  }
  onCommit(tokens: ArrayLike<number>, pos0: number): void {
    for (let i = 0; i < tokens.length; i++) this.history[pos0 + i] = tokens[i];
  }
  saveState(): Uint8Array {
    return new Uint8Array(0);
  }
  restoreState(): void {}
  free(): void {}

  propose(last: number, pos: number, depth: number): DraftProposal {
    const want = Math.min(depth, this.maxDepth);
    // the accepted part of every draft is the script itself, so a departure shows as the root
    if (this.extend && (this.reference[pos] !== last || this.reference.length - pos - 1 < want)) this.resync(last, pos);
    // the target's own tokens after the root at `pos` sit at positions pos+1 ..
    const known = Math.max(0, Math.min(want, this.reference.length - pos - 1));
    const greedy = this.reference.slice(pos + 1, pos + 1 + known);
    this.oracle.draft(greedy, known, this.out.ids, this.out.logp, this.out.k);
    this.out.depth = known;
    return this.out;
  }

  private resync(last: number, pos: number): void {
    const t0 = performance.now();
    const h = new Int32Array(pos + 1);
    for (let i = 0; i < pos; i++) h[i] = this.history[i];
    h[pos] = last;
    const more = this.extend!(h, 4 * this.maxDepth);
    this.reference = [...h, ...Array.from(more)];
    this.resyncs++;
    this.simulatedMs += performance.now() - t0;
  }
}

/**
 * The `extend` an oracle needs, on a context of its own (plain single-token greedy decoding, as the
 * original script was made): reuses the longest prefix it already holds.
 */
export function greedyExtender(ctx: Context): (history: Int32Array, n: number) => Int32Array {
  let held: Int32Array = new Int32Array(0);
  return (history, n) => {
    let common = 0;
    while (common < held.length && common < history.length - 1 && held[common] === history[common]) common++;
    ctx.truncate(0, common);
    let logits = ctx.prefill(history.subarray(common), common);
    const out = new Int32Array(Math.max(0, Math.min(n, ctx.nCtx - history.length)));
    let pos = history.length;
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let v = 1; v < logits.length; v++) if (logits[v] > logits[best]) best = v;
      out[i] = best;
      if (i + 1 < out.length) logits = ctx.step(best, pos++);
    }
    held = Int32Array.from([...history, ...out.subarray(0, Math.max(0, out.length - 1))]);
    return out;
  };
}
