// Acceptance walk over a verified DDTree. Rows follow tree-batch.ts: row 0 is the root (last committed
// token), row i + 1 is node i; row r's target logits predict the token after the path root..r.
//
// From the root: take the target's token at the current row; if a child carries it, move there, else
// stop: that token is the bonus. At T=0 the target token is the argmax; at T>0 it is a sample from the
// target's own distribution at that row. Drafts are deterministic (they do not depend on the target's
// randomness), so every emitted token is drawn from exactly the distribution plain decoding would use
// at that point, given the same prefix; the tree only decides how many of those draws come from one
// forward. Hence lossless at any temperature, with no residual resampling needed.

import { argmax, type Sampler } from "../engine/sampler.js";
import type { DDTree } from "./ddtree.js";

/** The target's token for a row (e.g. argmax of that row's logits), or the tokens of all rows. */
export type TargetTokens = Int32Array | ((row: number) => number);

export class TreeAcceptor {
  readonly maxDepth: number;
  /** accepted nodes, depth order: path[j] has depth j + 1 */
  readonly path: Int32Array;
  /** emitted tokens: the accepted drafted tokens, then the bonus; nTokens of them */
  readonly tokens: Int32Array;
  /** drafted tokens accepted in the last walk */
  accepted = 0;

  // Statistics since the last resetStats(), per depth d (index d - 1):
  /** walks that reached depth d - 1 with depth d offered by the tree (the conditional's denominator) */
  readonly offeredPerDepth: Float64Array;
  /** walks that accepted a node at depth d */
  readonly acceptedPerDepth: Float64Array;
  steps = 0;
  totalAccepted = 0;

  constructor(maxDepth: number) {
    if (!Number.isInteger(maxDepth) || maxDepth < 0) throw new RangeError(`TreeAcceptor: maxDepth must be an integer >= 0, got ${maxDepth}`);
    this.maxDepth = maxDepth;
    this.path = new Int32Array(maxDepth);
    this.tokens = new Int32Array(maxDepth + 1);
    this.offeredPerDepth = new Float64Array(maxDepth);
    this.acceptedPerDepth = new Float64Array(maxDepth);
  }

  /** accepted + 1: the tokens one step emits */
  get nTokens(): number {
    return this.accepted + 1;
  }

  get bonus(): number {
    return this.tokens[this.accepted];
  }

  get meanAcceptedLength(): number {
    return this.steps === 0 ? 0 : this.totalAccepted / this.steps;
  }

  /** Greedy (or any externally chosen) acceptance. Returns the accepted count. */
  accept(tree: DDTree, target: TargetTokens): number {
    this.checkTree(tree);
    let node = -1;
    let n = 0;
    if (typeof target === "function") {
      for (;;) {
        const t = target(node + 1);
        this.tokens[n] = t;
        const c = tree.findChild(node, t);
        if (c < 0) break;
        this.path[n++] = c;
        node = c;
      }
    } else {
      for (;;) {
        const t = target[node + 1];
        this.tokens[n] = t;
        const c = tree.findChild(node, t);
        if (c < 0) break;
        this.path[n++] = c;
        node = c;
      }
    }
    return this.finish(tree, n);
  }

  /** T=0 without penalties: argmax of each visited row's logits. */
  acceptGreedy(tree: DDTree, logitsOfRow: (row: number) => Float32Array): number {
    return this.accept(tree, (row) => argmax(logitsOfRow(row)));
  }

  /**
   * Samples the target at each visited row with `sampler` (any temperature, penalties included).
   * With acceptIntoSampler (default) every emitted token goes through sampler.accept() before the
   * next draw, exactly as plain decoding does, so penalties see the same history; the caller must
   * then not accept them again.
   */
  acceptSampled(tree: DDTree, sampler: Sampler, logitsOfRow: (row: number) => Float32Array, acceptIntoSampler = true): number {
    return this.accept(tree, (row) => {
      const t = sampler.drawFromDistribution(sampler.distribution(logitsOfRow(row)));
      if (acceptIntoSampler) sampler.accept(t);
      return t;
    });
  }

  resetStats(): void {
    this.offeredPerDepth.fill(0);
    this.acceptedPerDepth.fill(0);
    this.steps = 0;
    this.totalAccepted = 0;
  }

  private checkTree(tree: DDTree): void {
    if (tree.maxDepth > this.maxDepth) throw new RangeError(`TreeAcceptor: tree depth ${tree.maxDepth} exceeds ${this.maxDepth}`);
  }

  private finish(tree: DDTree, n: number): number {
    this.accepted = n;
    this.steps++;
    this.totalAccepted += n;
    // depth d was offered if the walk stood at depth d - 1 with a child to try: the accepted depths,
    // plus the depth where it stopped unless it stopped at a leaf
    const last = n === 0 ? -1 : this.path[n - 1];
    const offered = tree.isLeaf(last) ? n : n + 1;
    for (let d = 0; d < offered; d++) this.offeredPerDepth[d]++;
    for (let d = 0; d < n; d++) this.acceptedPerDepth[d]++;
    return n;
  }
}
