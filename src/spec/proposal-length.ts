// How long a drafter's chain proposals are, for the speculation controller: a drafter may propose
// fewer tokens than asked (the n-gram drafter without a long match, a draft model's confidence cut),
// and a budget is worth only the tokens it will actually get.

/** Per depth d: EW trials and successes of "the proposal reaches depth d", given it reached d - 1
 *  and d was asked for; estimates shrink towards the depth above, from 1 (proposals as long as
 *  asked, which a fixed-length drafter keeps exactly). */
export class ProposalLengthModel {
  private readonly w: Float64Array;
  private readonly x: Float64Array;
  /** the estimates, filled by reach() when an observation has come since */
  private readonly q: Float64Array;
  private stale = true;

  constructor(
    readonly maxDepth: number,
    private readonly alpha: number,
    /** pseudo-observations behind the shrinkage */
    private readonly priorWeight: number,
  ) {
    this.w = new Float64Array(maxDepth);
    this.x = new Float64Array(maxDepth);
    this.q = new Float64Array(maxDepth);
  }

  /** one proposal of `got` tokens where `asked` were asked for */
  observe(asked: number, got: number): void {
    const D = Math.min(this.maxDepth, asked);
    if (D < 1) return;
    const keep = 1 - this.alpha;
    for (let d = 0; d < this.maxDepth; d++) {
      this.w[d] *= keep;
      this.x[d] *= keep;
    }
    for (let d = 0; d < D && d <= got; d++) {
      this.w[d] += 1;
      if (d < got) this.x[d] += 1;
    }
    this.stale = true;
  }

  /** scales the evidence by f (a new prompt: the n-gram drafter's matches depend on it) */
  discount(f: number): void {
    for (let d = 0; d < this.maxDepth; d++) {
      this.w[d] *= f;
      this.x[d] *= f;
    }
    this.stale = true;
  }

  /** P(reach depth d + 1 | reached d) at index d (a reused array) */
  reach(): Float64Array {
    // (every rate estimate asks; proposals come once per draft)
    if (!this.stale) return this.q;
    this.stale = false;
    let prev = 1;
    for (let d = 0; d < this.maxDepth; d++) {
      prev = (this.x[d] + this.priorWeight * prev) / (this.w[d] + this.priorWeight);
      this.q[d] = prev;
    }
    return this.q;
  }

  /** expected tokens of a proposal asked for b */
  expectedNodes(b: number): number {
    const q = this.reach();
    let reach = 1;
    let sum = 0;
    for (let d = 0; d < Math.min(b, this.maxDepth); d++) {
      reach *= q[d];
      sum += reach;
    }
    return sum;
  }
}
