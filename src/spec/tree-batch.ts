// Verifying a DDTree in ONE target forward through libllama's sequence machinery, and committing the
// accepted path afterwards. Pure data: the plan says what to put in the batch and which memory ops to
// run; a thin executor (Batch.add + llama_memory_seq_rm/seq_cp) carries it out.
//
// libllama facts this rests on (llama.cpp de3ff81, src/llama-kv-cache.cpp and src/llama-batch.cpp):
// - a KV cell has one position and a SET of seq ids; a query token sees cell j iff j's set contains the
//   query's FIRST seq id and pos(j) <= pos(query). A batch token with several seq ids gets one cell
//   tagged with all of them.
// - seq_rm(s, p0, p1) drops s from cells with pos in [p0, p1) (p < 0 = unbounded) and frees cells left
//   with no seq; seq_cp(src, dst, p0, p1) adds dst to cells in range that hold src. Within one KV stream
//   both are metadata-only, one pass over the cells each. seq_keep is unusable: it drops every other
//   sequence, including other requests' sequences in a shared cache.
// - batch validation: for each seq in the batch, its smallest position must be seq_pos_max(seq) + 1
//   in memory and its positions contiguous and non-decreasing in batch order; a token's extra seq ids
//   are "coupled" to its first one and coupled seqs must have equal seq_pos_min and seq_pos_max in
//   memory. So every path seq must already hold the committed history before the verify: that is what
//   the prepare ops do (they also make the history visible to the tree's queries).
// - the context must use a unified KV cache (kv_unified = true): otherwise every seq id has its own
//   stream, multi-seq tokens cannot share a cell and seq_cp copies whole buffers. With it, seq ids up
//   to LLAMA_MAX_SEQ - 1 = 255 are valid whatever n_seq_max is. The executor's Batch needs
//   nSeqMax >= plan.nPaths (the root row carries every path's seq).
//
// Scheme. Leaves are numbered in DFS preorder with children visited best first, so path 0 is the
// greedy chain (rank-0 child at every level) and continues the committed seq itself: when the greedy
// chain is accepted, which is the common case, the commit is a single truncation. Path p >= 1 uses
// scratch seq firstScratchSeq + p - 1. In preorder the leaves under any node are a contiguous range
// [leafLo, leafLo + leafCount) of path numbers, so a node's seq list is that range, in order: its own
// primary path (the first leaf under it) comes first, as the mask requires.
//
// Rows: row 0 is the root (the last committed token, not yet in the KV cache) at position nPast,
// tagged with every path's seq; row i + 1 is node i at position nPast + depth(i). All rows output
// logits: row r's logits give the target's next token after the path root..r.
//
// Invariants (checked by test/spec/tree-batch.test.ts against a simulator of the cell semantics):
// - between steps, scratch seqs are empty and the committed seq holds exactly the history [0, nPast);
// - during the verify, row r sees exactly the history, its ancestors (root included) and itself;
// - after the commit ops, the committed seq holds exactly history + root + accepted nodes at positions
//   [0, nPast + accepted + 1), scratch seqs are empty again, and no other sequence's cells are touched.

import type { DDTree } from "./ddtree.js";

/** The subset of a libllama memory handle the ops need (NativeContext has these two). */
export interface KvMemory {
  seqRm(seq: number, p0: number, p1: number): boolean;
  seqCp(src: number, dst: number, p0: number, p1: number): void;
}

export type MemOp =
  | { op: "rm"; seq: number; p0: number; p1: number }
  | { op: "cp"; src: number; dst: number; p0: number; p1: number };

const OP_RM = 0;
const OP_CP = 1;

/** A list of memory ops in preallocated typed arrays (reused every step). */
export class MemOps {
  count = 0;
  readonly kind: Uint8Array;
  /** rm: the seq; cp: src */
  readonly a: Int32Array;
  /** cp: dst (unused for rm) */
  readonly b: Int32Array;
  readonly p0: Int32Array;
  readonly p1: Int32Array;

  constructor(capacity: number) {
    this.kind = new Uint8Array(capacity);
    this.a = new Int32Array(capacity);
    this.b = new Int32Array(capacity);
    this.p0 = new Int32Array(capacity);
    this.p1 = new Int32Array(capacity);
  }

  clear(): this {
    this.count = 0;
    return this;
  }

  rm(seq: number, p0: number, p1: number): void {
    const i = this.count++;
    this.kind[i] = OP_RM;
    this.a[i] = seq;
    this.b[i] = -1;
    this.p0[i] = p0;
    this.p1[i] = p1;
  }

  cp(src: number, dst: number, p0: number, p1: number): void {
    const i = this.count++;
    this.kind[i] = OP_CP;
    this.a[i] = src;
    this.b[i] = dst;
    this.p0[i] = p0;
    this.p1[i] = p1;
  }

  /** Runs the ops in order; throws if a removal is refused (recurrent memory cannot drop a suffix). */
  run(mem: KvMemory): void {
    for (let i = 0; i < this.count; i++) {
      if (this.kind[i] === OP_CP) {
        mem.seqCp(this.a[i], this.b[i], this.p0[i], this.p1[i]);
      } else if (!mem.seqRm(this.a[i], this.p0[i], this.p1[i])) {
        throw new Error(`tree commit: seq_rm(${this.a[i]}, ${this.p0[i]}, ${this.p1[i]}) refused (tree verify needs an attention-only target)`);
      }
    }
  }

  /** The ops as plain objects, for logs and tests (allocates). */
  toArray(): MemOp[] {
    const out: MemOp[] = [];
    for (let i = 0; i < this.count; i++) {
      if (this.kind[i] === OP_CP) out.push({ op: "cp", src: this.a[i], dst: this.b[i], p0: this.p0[i], p1: this.p1[i] });
      else out.push({ op: "rm", seq: this.a[i], p0: this.p0[i], p1: this.p1[i] });
    }
    return out;
  }
}

export interface SeqLayout {
  /** the sequence holding the committed history (default 0) */
  committedSeq?: number;
  /** path p >= 1 uses seq firstScratchSeq + p - 1 (default 1); must not overlap other live seqs */
  firstScratchSeq?: number;
  /** largest usable seq id (default 255: LLAMA_MAX_SEQ - 1 with a unified KV cache) */
  maxSeqId?: number;
}

/** One verify step's batch rows and memory ops. Reused: valid until the next plan(). */
export class TreeBatchPlan {
  nRows = 0;
  nPaths = 0;
  nPast = 0;
  /** per row */
  readonly token: Int32Array;
  readonly pos: Int32Array;
  /** row r's seq ids are seqIds[seqStart[r] .. seqStart[r+1]); the first one is the query's */
  readonly seqStart: Int32Array;
  seqIds: Int32Array;
  /** all 1: every row's logits are needed by the acceptance walk */
  readonly output: Uint8Array;
  /** per row: first path (leaf, preorder) below it, and how many paths pass through it */
  readonly leafLo: Int32Array;
  readonly leafCount: Int32Array;
  /** per path: its seq id */
  readonly pathSeq: Int32Array;
  /** ops to run BEFORE decoding the batch */
  readonly prepareOps: MemOps;
  /** filled by commit() */
  readonly commitOps: MemOps;
  /** committed length after commit(): nPast + accepted + 1 */
  committedPast = 0;
  committedSeq = 0;

  constructor(maxNodes: number) {
    const rows = maxNodes + 1;
    this.token = new Int32Array(rows);
    this.pos = new Int32Array(rows);
    this.seqStart = new Int32Array(rows + 1);
    this.seqIds = new Int32Array(rows * 4);
    this.output = new Uint8Array(rows).fill(1);
    this.leafLo = new Int32Array(rows);
    this.leafCount = new Int32Array(rows);
    this.pathSeq = new Int32Array(rows);
    this.prepareOps = new MemOps(rows);
    this.commitOps = new MemOps(rows + 2);
  }

  /** the query seq of row r (its primary path's seq) */
  primarySeq(row: number): number {
    return this.seqIds[this.seqStart[row]];
  }

  seqCount(row: number): number {
    return this.seqStart[row + 1] - this.seqStart[row];
  }

  /**
   * Memory ops that keep the accepted path and drop everything else. `path` holds the accepted nodes
   * in depth order (path[j] has depth j + 1), `accepted` of them; 0 = only the root is kept.
   *
   * Let L = the last accepted row (the root when accepted = 0), s* = L's primary seq, e = nPast +
   * accepted + 1. s*'s cells in [nPast, e) are exactly root..L (a path has one cell per position).
   *   if s* == committed:  rm(committed, e, -1)                 drop the rejected tail of path 0
   *   else:                rm(committed, nPast, -1)             drop path 0's tree cells from committed
   *                        cp(s*, committed, nPast, e)          re-add committed to the accepted cells
   *   then, per scratch path seq s:  rm(s, -1, -1)              cells left with no seq are freed
   * Everything else in the tree held only tree seqs, so it is freed; history keeps the committed seq.
   */
  commit(path: Int32Array, accepted: number, tree: DDTree): MemOps {
    if (!Number.isInteger(accepted) || accepted < 0 || accepted > path.length) {
      throw new RangeError(`TreeBatchPlan.commit: accepted must be an integer in [0, ${path.length}], got ${accepted}`);
    }
    let prev = -1;
    for (let j = 0; j < accepted; j++) {
      const node = path[j];
      if (node < 0 || node + 1 >= this.nRows || tree.parent[node] !== prev) {
        throw new RangeError(`TreeBatchPlan.commit: path[${j}] = ${node} is not a child of ${prev} in the planned tree`);
      }
      prev = node;
    }
    const ops = this.commitOps.clear();
    const committed = this.committedSeq;
    const lastRow = accepted === 0 ? 0 : path[accepted - 1] + 1;
    const keep = this.pathSeq[this.leafLo[lastRow]];
    const end = this.nPast + accepted + 1;
    if (keep === committed) {
      ops.rm(committed, end, -1);
    } else {
      ops.rm(committed, this.nPast, -1);
      ops.cp(keep, committed, this.nPast, end);
    }
    for (let p = 1; p < this.nPaths; p++) ops.rm(this.pathSeq[p], -1, -1);
    this.committedPast = end;
    return ops;
  }

  /** Grows the seq id storage (geometrically: at most a few times over a planner's life). */
  ensureSeqCapacity(n: number): void {
    if (n <= this.seqIds.length) return;
    let cap = this.seqIds.length;
    while (cap < n) cap *= 2;
    this.seqIds = new Int32Array(cap);
  }
}

export class TreeBatchPlanner {
  readonly maxNodes: number;
  readonly committedSeq: number;
  readonly firstScratchSeq: number;
  readonly maxSeqId: number;
  /** the reused plan every plan() call fills */
  readonly current: TreeBatchPlan;

  constructor(maxNodes: number, layout: SeqLayout = {}) {
    if (!Number.isInteger(maxNodes) || maxNodes < 0) throw new RangeError(`TreeBatchPlanner: maxNodes must be an integer >= 0, got ${maxNodes}`);
    this.maxNodes = maxNodes;
    this.committedSeq = layout.committedSeq ?? 0;
    this.firstScratchSeq = layout.firstScratchSeq ?? 1;
    this.maxSeqId = layout.maxSeqId ?? 255;
    const c = this.committedSeq;
    const f = this.firstScratchSeq;
    if (!Number.isInteger(c) || c < 0 || c > this.maxSeqId) throw new RangeError(`TreeBatchPlanner: committedSeq ${c} out of [0, ${this.maxSeqId}]`);
    if (!Number.isInteger(f) || f < 0) throw new RangeError(`TreeBatchPlanner: firstScratchSeq must be an integer >= 0, got ${f}`);
    this.current = new TreeBatchPlan(maxNodes);
  }

  /** the most paths (leaves) a tree may have with this layout */
  get maxPaths(): number {
    const c = this.committedSeq;
    const f = this.firstScratchSeq;
    // scratch ids run upwards from f to maxSeqId, skipping the committed seq
    const scratch = Math.max(0, this.maxSeqId - f + 1) - (c >= f && c <= this.maxSeqId ? 1 : 0);
    return 1 + scratch;
  }

  /**
   * Plans the verify of `tree` (its first tree.size nodes) after a committed history of nPast tokens;
   * rootToken is the last committed token (the previous step's bonus), not yet in the KV cache.
   */
  plan(tree: DDTree, rootToken: number, nPast: number): TreeBatchPlan {
    const n = tree.size;
    if (n > this.maxNodes) throw new RangeError(`TreeBatchPlanner.plan: tree has ${n} nodes, planner was made for ${this.maxNodes}`);
    if (!Number.isInteger(nPast) || nPast < 0) throw new RangeError(`TreeBatchPlanner.plan: nPast must be an integer >= 0, got ${nPast}`);
    const P = this.current;
    const rows = n + 1;
    P.nRows = rows;
    P.nPast = nPast;
    P.committedSeq = this.committedSeq;
    P.committedPast = nPast;

    // Leaves below each row, children before parents (reverse topological order)
    const cnt = P.leafCount;
    for (let r = 0; r < rows; r++) cnt[r] = 0;
    for (let i = n - 1; i >= 0; i--) {
      const r = i + 1;
      if (cnt[r] === 0) cnt[r] = 1; // no child contributed: a leaf
      cnt[tree.parent[i] + 1] += cnt[r];
    }
    if (cnt[0] === 0) cnt[0] = 1; // empty tree: the root alone is path 0
    const nPaths = cnt[0];
    if (nPaths > this.maxPaths) {
      throw new RangeError(`TreeBatchPlanner.plan: tree has ${nPaths} leaves, the seq layout allows ${this.maxPaths} (committed ${this.committedSeq}, scratch from ${this.firstScratchSeq}, max id ${this.maxSeqId})`);
    }
    P.nPaths = nPaths;

    // Preorder leaf ranges: each child's range starts after its earlier (better) siblings'
    const lo = P.leafLo;
    lo[0] = 0;
    for (let r = 0; r < rows; r++) {
      let next = lo[r];
      const end = tree.childStart[r + 1];
      for (let s = tree.childStart[r]; s < end; s++) {
        const cr = tree.childList[s] + 1;
        lo[cr] = next;
        next += cnt[cr];
      }
    }

    // Path p's seq: path 0 continues the committed seq, the others are scratch
    const pathSeq = P.pathSeq;
    pathSeq[0] = this.committedSeq;
    let scratch = this.firstScratchSeq;
    for (let p = 1; p < nPaths; p++) {
      if (scratch === this.committedSeq) scratch++;
      pathSeq[p] = scratch++;
    }

    let total = 0;
    for (let r = 0; r < rows; r++) total += cnt[r];
    P.ensureSeqCapacity(total);
    const ids = P.seqIds;
    let at = 0;
    for (let r = 0; r < rows; r++) {
      P.seqStart[r] = at;
      const first = lo[r];
      const last = first + cnt[r];
      for (let p = first; p < last; p++) ids[at++] = pathSeq[p];
      if (r === 0) {
        P.token[0] = rootToken;
        P.pos[0] = nPast;
      } else {
        P.token[r] = tree.token[r - 1];
        P.pos[r] = nPast + tree.depth[r - 1];
      }
    }
    P.seqStart[rows] = at;

    // Every path seq must mirror the committed seq before the decode (coupling and visibility)
    const prep = P.prepareOps.clear();
    for (let p = 1; p < nPaths; p++) prep.cp(this.committedSeq, pathSeq[p], -1, -1);
    return P;
  }
}
