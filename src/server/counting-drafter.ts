// A drafter wrapper that counts what llama-server reports as draft_n: drafted tokens sent to verify.
import type { DraftProposal, Drafter } from "../spec/drafter.js";

/** Counts drafted tokens sent to verify (llama-server's draft_n): the rows each verify carried
 *  beyond the root, as onCommit reports them; a final step that ended generation counts its proposal. */
export class CountingDrafter implements Drafter {
  private drafted = 0;
  private open = 0;
  readonly follow?: (on: boolean) => void;
  /** a shadow probe's draft in flight (the inner drafter's, when it has one): never verified, so
   *  not counted */
  readonly launchProposal?: (last: number, pos: number, depth: number) => void;
  readonly takeProposal?: () => DraftProposal;
  constructor(private readonly inner: Drafter) {
    if (inner.follow) this.follow = (on) => inner.follow!(on);
    if (inner.launchProposal && inner.takeProposal) {
      this.launchProposal = (last, pos, depth) => inner.launchProposal!(last, pos, depth);
      this.takeProposal = () => inner.takeProposal!();
    }
  }
  get name() {
    return this.inner.name;
  }
  get maxDepth() {
    return this.inner.maxDepth;
  }
  begin(): void {
    this.drafted = 0;
    this.open = 0;
  }
  end(): { drafted: number } {
    const drafted = this.drafted + this.open;
    this.open = 0;
    return { drafted };
  }
  reset(): void {
    this.inner.reset();
  }
  rewind(keep: number, history: ArrayLike<number>): void {
    this.inner.rewind(keep, history);
  }
  onPrefill(tokens: ArrayLike<number>, pos0: number): void {
    this.inner.onPrefill(tokens, pos0);
  }
  propose(last: number, pos: number, depth: number): DraftProposal {
    const p = this.inner.propose(last, pos, depth);
    this.open = p.depth * p.k;
    return p;
  }
  onCommit(tokens: ArrayLike<number>, pos0: number, rows: ArrayLike<number>, nRows: number): void {
    if (this.open > 0) this.drafted += nRows - 1;
    this.open = 0;
    this.inner.onCommit(tokens, pos0, rows, nRows);
  }
  saveState(): Uint8Array {
    return this.inner.saveState();
  }
  restoreState(data: Uint8Array, nTokens: number): void {
    this.inner.restoreState(data, nTokens);
  }
  free(): void {
    this.inner.free();
  }
}
