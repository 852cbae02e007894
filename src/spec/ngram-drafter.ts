// The n-gram drafter behind the speculative loop's Drafter interface: no model, proposals come from
// the longest suffix of the committed history (prompt and output) that occurred before.
import type { DraftProposal, Drafter } from "./drafter.js";
import { NgramDrafter as NgramIndex, type NgramOptions } from "./ngram.js";

export class NgramDrafter implements Drafter {
  readonly name = "ngram" as const;
  readonly maxDepth: number;
  private readonly index: NgramIndex;
  private readonly out: DraftProposal;
  private rootPushed = false;

  constructor(opts: NgramOptions & { maxDepth?: number } = {}) {
    this.maxDepth = opts.maxDepth ?? 8;
    this.index = new NgramIndex(opts);
    this.out = { depth: 0, k: 1, ids: new Int32Array(this.maxDepth), logp: new Float32Array(this.maxDepth) };
  }

  reset(): void {
    this.index.reset();
    this.rootPushed = false;
  }

  rewind(keep: number, history: ArrayLike<number>): void {
    // the index is append-only; rebuilding it from the kept history is cheap next to a prefill
    this.reset();
    if (keep > 0) this.index.pushAll(Array.prototype.slice.call(history, 0, keep));
  }

  onPrefill(tokens: ArrayLike<number>): void {
    this.index.pushAll(tokens);
  }

  propose(last: number, _pos: number, depth: number): DraftProposal {
    // the suffix to match ends with `last`, which the history gets now (onCommit skips it)
    this.index.push(last);
    this.rootPushed = true;
    const d = Math.min(depth, this.maxDepth);
    this.out.depth = this.index.draft(this.out.ids, this.out.logp, d, 1);
    return this.out;
  }

  onCommit(tokens: ArrayLike<number>): void {
    // tokens[0] is the root: propose() already put it in the history, unless the step drafted nothing
    for (let i = this.rootPushed ? 1 : 0; i < tokens.length; i++) this.index.push(tokens[i]);
    this.rootPushed = false;
  }

  saveState(): Uint8Array {
    return new Uint8Array(0);
  }

  restoreState(): void {}

  free(): void {}
}
