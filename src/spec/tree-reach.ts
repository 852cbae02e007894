// Tree drafts' expected accepted tokens for the speculation controller: sum over nodes at depth d of
// exp(cumulative logp) is the drafter's P(reach depth d), scaled by a per-depth calibration
// c_d = observed reach / predicted reach, learned from verified trees; and per candidate budget, the
// mean reach mass of the trees the drafter has made (the tree shape a budget will get).
import type { DDTree } from "./ddtree.js";

export class TreeReachModel {
  // EW observed vs drafter-predicted reach per depth, for the calibration
  private readonly calObs: Float64Array;
  private readonly calPred: Float64Array;
  // per budget b (row), EW mean of the drafter's reach mass per depth, [budgets x depth]
  private readonly massMean: Float64Array;
  private readonly massCount: Int32Array;
  private readonly cHat: Float64Array;
  private readonly mass: Float64Array;

  constructor(
    private readonly maxDepth: number,
    private readonly budgets: Int32Array,
    private readonly alpha: number,
    private readonly priorWeight: number,
  ) {
    this.calObs = new Float64Array(maxDepth);
    this.calPred = new Float64Array(maxDepth);
    this.massMean = new Float64Array(budgets.length * maxDepth);
    this.massCount = new Int32Array(budgets.length);
    this.cHat = new Float64Array(maxDepth);
    this.mass = new Float64Array(maxDepth);
  }

  /** a verified tree (after any truncate) whose walk accepted `accepted` drafted tokens */
  observe(tree: DDTree, accepted: number): void {
    const D = this.maxDepth;
    const keep = 1 - this.alpha;
    for (let d = 0; d < D; d++) {
      this.calObs[d] *= keep;
      this.calPred[d] *= keep;
    }
    const mass = this.reachMass(tree, tree.size);
    for (let d = 0; d < D; d++) {
      if (mass[d] <= 0) break;
      this.calPred[d] += mass[d];
      if (d < accepted) this.calObs[d] += 1;
    }
  }

  /** scales the calibration's evidence by f (the shapes per budget are the drafter's own: kept) */
  discount(f: number): void {
    for (let d = 0; d < this.maxDepth; d++) {
      this.calObs[d] *= f;
      this.calPred[d] *= f;
    }
  }

  /** a drafted tree (verified or not): its shape at each candidate budget */
  record(tree: DDTree): void {
    const D = this.maxDepth;
    for (let i = 0; i < this.budgets.length; i++) {
      const mass = this.reachMass(tree, Math.min(this.budgets[i], tree.size));
      const c = ++this.massCount[i];
      const a = Math.max(this.alpha, 1 / c);
      for (let d = 0; d < D; d++) this.massMean[i * D + d] += a * (mass[d] - this.massMean[i * D + d]);
    }
  }

  /** calibration at depth d (1-based), shrunk towards depth d - 1 (then 1, or 0 when `pessimistic`) */
  calibration(d: number, pessimistic = false): number {
    this.fillCHat(pessimistic);
    return d >= 1 && d <= this.maxDepth ? this.cHat[d - 1] : 0;
  }

  /** E[accepted] of `tree`'s first n nodes */
  expectFromTree(tree: DDTree, n: number, pessimistic: boolean): number {
    return this.expectation(this.reachMass(tree, n), pessimistic);
  }

  /** E[accepted] at candidate budget i from the trees recorded so far; undefined before any */
  expectForBudget(i: number, pessimistic: boolean): number | undefined {
    if (i < 0 || this.massCount[i] === 0) return undefined;
    const D = this.maxDepth;
    for (let d = 0; d < D; d++) this.mass[d] = this.massMean[i * D + d];
    return this.expectation(this.mass, pessimistic);
  }

  private fillCHat(pessimistic: boolean): void {
    let prev = pessimistic ? 0 : 1;
    const w0 = this.priorWeight;
    for (let d = 0; d < this.maxDepth; d++) {
      prev = (this.calObs[d] + w0 * prev) / (this.calPred[d] + w0);
      this.cHat[d] = prev;
    }
  }

  /** sum_d r_d with r_d = min(r_{d-1}, c_d * mass_d): calibrated reach, never growing with depth */
  private expectation(mass: Float64Array, pessimistic: boolean): number {
    this.fillCHat(pessimistic);
    let reach = 1;
    let sum = 0;
    for (let d = 0; d < this.maxDepth; d++) {
      if (mass[d] <= 0) break;
      reach = Math.min(reach, this.cHat[d] * mass[d]);
      sum += reach;
    }
    return sum;
  }

  /** per depth: sum of exp(cumulative logp) over the first n nodes (the drafter's reach probability) */
  private reachMass(tree: DDTree, n: number): Float64Array {
    const m = this.mass;
    m.fill(0);
    for (let i = 0; i < n; i++) {
      const d = tree.depth[i] - 1;
      if (d < this.maxDepth) m[d] += Math.exp(tree.logp[i]);
    }
    for (let d = 0; d < this.maxDepth; d++) if (m[d] > 1) m[d] = 1;
    return m;
  }
}
