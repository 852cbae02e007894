// A shadow probe scores a drafter without a verify: the drafter proposes as for a speculative step,
// plain decoding goes on, and the proposal is walked with the tokens the target then emits. Drafts
// are deterministic given the history, so a verify would accept a draft token exactly when the target
// emits it there: at T=0 the same token, at T>0 with the probability that the target samples it,
// which is what plain sampling then draws. The controller gets the same acceptance observation as a
// verified probe, for the price of the draft alone (no target forward over drafted rows; on a GPU a
// verify batch also costs the target its captured CUDA graph, re-captured two steps later).
import type { DDTree } from "./ddtree.js";

export type ObserveAcceptance = (tree: DDTree, accepted: number, path: Int32Array) => void;

export class ShadowProbe {
  /** the accepted nodes, in depth order (a TreeAcceptor.path) */
  private readonly path: Int32Array;
  private tree: DDTree | undefined;
  private node = -1;
  private n = 0;

  constructor(maxDepth: number) {
    this.path = new Int32Array(maxDepth);
  }

  /** Starts scoring `tree`, drafted after the last token; the next token fed is its depth 1. The tree
   *  is read until the walk ends, so its builder must not rebuild it meanwhile. */
  start(tree: DDTree): void {
    this.tree = tree.size > 0 ? tree : undefined;
    this.node = -1;
    this.n = 0;
  }

  get active(): boolean {
    return this.tree !== undefined;
  }

  /** The target's next token (ignored when no probe is active). When the walk ends with it (a
   *  mismatch or a leaf), `observe` gets the tree, the drafted tokens the target emitted and their
   *  nodes, and the probe ends. */
  feed(token: number, observe: ObserveAcceptance): void {
    const tree = this.tree;
    if (!tree) return;
    const c = tree.findChild(this.node, token);
    if (c >= 0) {
      this.path[this.n++] = c;
      this.node = c;
      if (!tree.isLeaf(c) && this.n < this.path.length) return;
    }
    this.tree = undefined;
    observe(tree, this.n, this.path);
  }

  /** Ends the walk without an observation (the request ended first). */
  cancel(): void {
    this.tree = undefined;
  }
}
