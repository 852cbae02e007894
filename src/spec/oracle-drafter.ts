// The oracle drafter behind the speculative loop's Drafter interface, for measurement only: it knows
// the target's greedy continuation (computed beforehand by plain decoding) and spoils it at a depth
// drawn from an acceptance profile, so speed can be measured at a chosen acceptance. Every report
// that uses it says SIMULATED_ACCEPTANCE. Meaningful at temperature 0 only.
import type { DraftProposal, Drafter } from "./drafter.js";
import { OracleDrafter as Oracle, SIMULATED_ACCEPTANCE } from "./oracle.js";

export { SIMULATED_ACCEPTANCE };

export class OracleSpecDrafter implements Drafter {
  readonly name = "oracle" as const;
  readonly maxDepth: number;
  private readonly oracle: Oracle;
  private readonly out: DraftProposal;

  /** reference: the prompt followed by the target's greedy continuation, indexed by position */
  constructor(private readonly reference: ArrayLike<number>, profile: ArrayLike<number>, nVocab: number, opts: { maxDepth?: number; seed?: number } = {}) {
    this.maxDepth = opts.maxDepth ?? 15;
    this.oracle = new Oracle(profile, nVocab, opts.seed ?? 1);
    this.out = { depth: 0, k: 1, ids: new Int32Array(this.maxDepth), logp: new Float32Array(this.maxDepth) };
  }

  reset(): void {}
  rewind(): void {}
  onPrefill(): void {}
  onCommit(): void {}
  saveState(): Uint8Array {
    return new Uint8Array(0);
  }
  restoreState(): void {}
  free(): void {}

  propose(_last: number, pos: number, depth: number): DraftProposal {
    // the target's own tokens after the root at `pos` sit at positions pos+1 ..
    const known = Math.max(0, Math.min(depth, this.maxDepth, this.reference.length - pos - 1));
    const greedy = Array.prototype.slice.call(this.reference, pos + 1, pos + 1 + known) as number[];
    this.oracle.draft(greedy, known, this.out.ids, this.out.logp, 1);
    this.out.depth = known;
    return this.out;
  }
}
