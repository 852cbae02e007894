// DDTree (Ringel & Romano 2026): from per-position top-K drafter candidates, pick the `budget` most
// probable draft prefixes and arrange them as a tree to verify in one target forward.
//
// The DFlash drafter emits independent distributions per position, so a prefix's score is the sum of
// its positions' log-probs. Best-first search with a lazy successor scheme: popping prefix
// (c1..cd) pushes only its first child (c1..cd,0) and its next sibling (c1..cd+1). Both score <= the
// popped prefix (log-probs are <= 0 and each position's list is sorted best-first), and every prefix
// has exactly one such generator, so the pops come out in exact global order and the heap never holds
// more than budget + 1 entries. Pop order is the node order, which makes it topological for free (a
// child is pushed only after its parent was popped) and makes the first B nodes of a budget-N tree
// (B <= N) exactly the budget-B tree: `truncate` relies on that.
//
// Total order (deterministic under ties): score descending, then the candidate-rank sequence
// lexicographically ascending, a prefix before its extensions. That is "lower candidate index first",
// extended to prefixes under different parents; the brute-force reference in the tests uses the same.
//
// Candidates with token < 0, or log-prob NaN or -Infinity, are absent and end that position's list
// (topk.ts pads short lists with -1 / -Infinity); an absent rank 0 ends the depth there.

/** Per-position drafter candidates, [depth x k] row-major, best first per position. */
export interface DraftCandidates {
  depth: number;
  k: number;
  ids: Int32Array;
  logp: Float32Array;
}

/** A draft tree. Nodes are 0..size-1 in best-first (hence topological) order; the root is the last
 *  committed token, outside the arrays, addressed as node -1. A view: valid until the next build. */
export class DDTree {
  size = 0;
  /** deepest node's depth (0 for an empty tree) */
  maxDepth = 0;
  readonly token: Int32Array;
  /** parent node, -1 = child of the root */
  readonly parent: Int32Array;
  /** 1-based: children of the root have depth 1 and draft position 0 */
  readonly depth: Int32Array;
  /** index of the node's token among its position's candidates */
  readonly rank: Int32Array;
  /** cumulative drafter log-prob of the path root..node */
  readonly logp: Float64Array;
  /** CSR children: slot 0 is the root, slot i+1 node i; children of a slot are
   *  childList[childStart[slot] .. childStart[slot+1]), ascending node index = best first */
  readonly childStart: Int32Array;
  readonly childList: Int32Array;
  readonly capacity: number;
  private readonly cursor: Int32Array;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`DDTree: capacity must be an integer >= 0, got ${capacity}`);
    this.capacity = capacity;
    this.token = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.depth = new Int32Array(capacity);
    this.rank = new Int32Array(capacity);
    this.logp = new Float64Array(capacity);
    this.childStart = new Int32Array(capacity + 2);
    this.childList = new Int32Array(capacity);
    this.cursor = new Int32Array(capacity + 2);
  }

  /** first child of `node` (-1 = root), or -1 */
  firstChild(node: number): number {
    const s = this.childStart[node + 1];
    return s < this.childStart[node + 2] ? this.childList[s] : -1;
  }

  childCount(node: number): number {
    return this.childStart[node + 2] - this.childStart[node + 1];
  }

  /** k-th child of `node` (-1 = root), best first */
  child(node: number, k: number): number {
    return this.childList[this.childStart[node + 1] + k];
  }

  /** the child of `node` (-1 = root) carrying `token`, or -1. Siblings have distinct tokens as long as
   *  each position's candidate list does (a drafter's top-K always does). */
  findChild(node: number, token: number): number {
    const end = this.childStart[node + 2];
    for (let s = this.childStart[node + 1]; s < end; s++) {
      const c = this.childList[s];
      if (this.token[c] === token) return c;
    }
    return -1;
  }

  isLeaf(node: number): boolean {
    return this.childStart[node + 2] === this.childStart[node + 1];
  }

  /** Writes root-exclusive path root..node (node indices, depth order) into out; returns its length. */
  pathTo(node: number, out: Int32Array): number {
    const d = node < 0 ? 0 : this.depth[node];
    for (let j = d - 1; j >= 0; j--) {
      out[j] = node;
      node = this.parent[node];
    }
    return d;
  }

  /** Keeps the first n nodes: by construction they are the best-n tree. O(n). */
  truncate(n: number): this {
    if (n < this.size) {
      this.size = Math.max(0, n | 0);
      this.finish();
    }
    return this;
  }

  /** Copies of the live arrays, for tests and debugging (allocates). */
  toJSON(): { token: number[]; parent: number[]; depth: number[]; rank: number[]; logp: number[] } {
    const n = this.size;
    return {
      token: Array.from(this.token.subarray(0, n)),
      parent: Array.from(this.parent.subarray(0, n)),
      depth: Array.from(this.depth.subarray(0, n)),
      rank: Array.from(this.rank.subarray(0, n)),
      logp: Array.from(this.logp.subarray(0, n)),
    };
  }

  /** Rebuilds the CSR children and maxDepth from parent[0, size). */
  finish(): void {
    const n = this.size;
    const start = this.childStart;
    start.fill(0, 0, n + 2);
    let maxDepth = 0;
    for (let i = 0; i < n; i++) {
      start[this.parent[i] + 2]++;
      if (this.depth[i] > maxDepth) maxDepth = this.depth[i];
    }
    for (let s = 1; s < n + 2; s++) start[s] += start[s - 1];
    const cur = this.cursor;
    cur.set(start.subarray(0, n + 1));
    // Increasing i keeps each child list sorted by node index, i.e. best first
    for (let i = 0; i < n; i++) this.childList[cur[this.parent[i] + 1]++] = i;
    this.maxDepth = maxDepth;
  }
}

/** Builds DDTrees into preallocated storage; one per drafter, reused every step. */
export class DDTreeBuilder {
  readonly maxBudget: number;
  readonly tree: DDTree;
  // Heap of pending prefixes, fields in parallel arrays: (score, parent node, depth, rank)
  private readonly hScore: Float64Array;
  private readonly hParent: Int32Array;
  private readonly hDepth: Int32Array;
  private readonly hRank: Int32Array;
  private hSize = 0;
  // Scratch rank sequences for the (rare) exact-tie comparison
  private seqA = new Int32Array(16);
  private seqB = new Int32Array(16);

  constructor(maxBudget: number) {
    if (!Number.isInteger(maxBudget) || maxBudget < 0) throw new RangeError(`DDTreeBuilder: maxBudget must be an integer >= 0, got ${maxBudget}`);
    this.maxBudget = maxBudget;
    this.tree = new DDTree(maxBudget);
    const h = maxBudget + 2;
    this.hScore = new Float64Array(h);
    this.hParent = new Int32Array(h);
    this.hDepth = new Int32Array(h);
    this.hRank = new Int32Array(h);
  }

  /** The `budget` best prefixes of the candidates (fewer when fewer exist). Returns the reused tree. */
  build(ids: Int32Array, logp: Float32Array, depth: number, k: number, budget: number): DDTree {
    checkShape(ids, logp, depth, k);
    if (!Number.isInteger(budget) || budget < 0 || budget > this.maxBudget) {
      throw new RangeError(`DDTreeBuilder.build: budget must be an integer in [0, ${this.maxBudget}], got ${budget}`);
    }
    const t = this.tree;
    t.size = 0;
    if (depth > this.seqA.length) {
      // grows with the deepest draft ever seen, not per step
      this.seqA = new Int32Array(depth);
      this.seqB = new Int32Array(depth);
    }
    this.hSize = 0;
    if (budget > 0 && depth > 0 && k > 0 && present(ids, logp, 0)) this.push(0 + logp[0], -1, 1, 0);

    while (this.hSize > 0 && t.size < budget) {
      const score = this.hScore[0];
      const par = this.hParent[0];
      const d = this.hDepth[0];
      const r = this.hRank[0];
      this.pop();
      const node = t.size++;
      const at = (d - 1) * k + r;
      t.token[node] = ids[at];
      t.parent[node] = par;
      t.depth[node] = d;
      t.rank[node] = r;
      t.logp[node] = score;
      if (t.size === budget) break; // successors would never be popped
      // parent score + own log-prob, always in this order: the brute force must add identically
      if (d < depth && present(ids, logp, d * k)) this.push(score + logp[d * k], node, d + 1, 0);
      if (r + 1 < k && present(ids, logp, at + 1)) {
        const base = par < 0 ? 0 : t.logp[par];
        this.push(base + logp[at + 1], par, d, r + 1);
      }
    }
    t.finish();
    return t;
  }

  /** build() over a drafter's block (e.g. DFlashDrafter's DraftBlock). */
  buildFrom(c: DraftCandidates, budget: number): DDTree {
    return this.build(c.ids, c.logp, c.depth, c.k, budget);
  }

  /** A chain: the first `depth` tokens of ids (K = 1), all log-probs 0 unless given. */
  buildChain(ids: Int32Array, depth: number, logp?: Float32Array): DDTree {
    const t = this.tree;
    if (!Number.isInteger(depth) || depth < 0 || depth > this.maxBudget || depth > ids.length) {
      throw new RangeError(`DDTreeBuilder.buildChain: depth must be an integer in [0, min(${this.maxBudget}, ids.length)], got ${depth}`);
    }
    let score = 0;
    let n = 0;
    for (; n < depth; n++) {
      const lp = logp ? logp[n] : 0;
      if (ids[n] < 0 || lp !== lp || lp === -Infinity) break;
      score += lp;
      t.token[n] = ids[n];
      t.parent[n] = n - 1;
      t.depth[n] = n + 1;
      t.rank[n] = 0;
      t.logp[n] = score;
    }
    t.size = n;
    t.finish();
    return t;
  }

  // ---- max-heap on (score desc, rank sequence asc) ----

  private better(i: number, j: number): boolean {
    const a = this.hScore[i];
    const b = this.hScore[j];
    if (a !== b) return a > b;
    return this.lexLess(i, j);
  }

  // Only reached on exactly equal scores: compares the two prefixes' candidate-rank sequences
  private lexLess(i: number, j: number): boolean {
    const la = this.fillRanks(this.seqA, this.hParent[i], this.hDepth[i], this.hRank[i]);
    const lb = this.fillRanks(this.seqB, this.hParent[j], this.hDepth[j], this.hRank[j]);
    const m = la < lb ? la : lb;
    for (let q = 0; q < m; q++) {
      if (this.seqA[q] !== this.seqB[q]) return this.seqA[q] < this.seqB[q];
    }
    return la < lb;
  }

  private fillRanks(out: Int32Array, par: number, d: number, r: number): number {
    const t = this.tree;
    out[d - 1] = r;
    for (let q = d - 2; q >= 0; q--) {
      out[q] = t.rank[par];
      par = t.parent[par];
    }
    return d;
  }

  private swap(i: number, j: number): void {
    const s = this.hScore[i];
    this.hScore[i] = this.hScore[j];
    this.hScore[j] = s;
    let x = this.hParent[i];
    this.hParent[i] = this.hParent[j];
    this.hParent[j] = x;
    x = this.hDepth[i];
    this.hDepth[i] = this.hDepth[j];
    this.hDepth[j] = x;
    x = this.hRank[i];
    this.hRank[i] = this.hRank[j];
    this.hRank[j] = x;
  }

  private push(score: number, par: number, d: number, r: number): void {
    let i = this.hSize++;
    this.hScore[i] = score;
    this.hParent[i] = par;
    this.hDepth[i] = d;
    this.hRank[i] = r;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.better(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private pop(): void {
    const last = --this.hSize;
    if (last > 0) this.swap(0, last);
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= last) break;
      let c = l;
      if (l + 1 < last && this.better(l + 1, l)) c = l + 1;
      if (!this.better(c, i)) break;
      this.swap(c, i);
      i = c;
    }
  }
}

function present(ids: Int32Array, logp: Float32Array, at: number): boolean {
  const lp = logp[at];
  return ids[at] >= 0 && lp === lp && lp !== -Infinity;
}

function checkShape(ids: Int32Array, logp: Float32Array, depth: number, k: number): void {
  if (!Number.isInteger(depth) || depth < 0 || !Number.isInteger(k) || k < 0) {
    throw new RangeError(`DDTree: depth and k must be integers >= 0, got depth ${depth}, k ${k}`);
  }
  if (ids.length < depth * k || logp.length < depth * k) {
    throw new RangeError(`DDTree: candidates need ${depth} x ${k} entries, got ids ${ids.length}, logp ${logp.length}`);
  }
}
