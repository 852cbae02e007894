import { describe, expect, it } from "vitest";
import { DDTreeBuilder, type DDTree } from "../../src/spec/ddtree.js";
import { TreeBatchPlanner, type KvMemory, type TreeBatchPlan } from "../../src/spec/tree-batch.js";
import { Rng } from "../../src/engine/rng.js";

// In-memory model of libllama's unified KV cache (llama-kv-cache.cpp, llama-batch.cpp at de3ff81):
// cells with one position and a seq set; seq_rm/seq_cp over position ranges; the batch validation
// rules that concern sequences; the causal mask by the query's first seq id.
interface Cell {
  pos: number;
  seqs: Set<number>;
  tag: string; // who wrote it: "h<pos>" (history), "o<pos>" (another request), "r<row>@<step>"
}

class KvSim implements KvMemory {
  readonly cells: (Cell | null)[];
  constructor(size: number) {
    this.cells = new Array<Cell | null>(size).fill(null);
  }

  private inRange(pos: number, p0: number, p1: number): boolean {
    return pos >= (p0 < 0 ? 0 : p0) && pos < (p1 < 0 ? Infinity : p1);
  }

  seqRm(seq: number, p0: number, p1: number): boolean {
    for (let i = 0; i < this.cells.length; i++) {
      const c = this.cells[i];
      if (!c || !this.inRange(c.pos, p0, p1)) continue;
      if (seq < 0) c.seqs.clear();
      else c.seqs.delete(seq);
      if (c.seqs.size === 0) this.cells[i] = null;
    }
    return true;
  }

  seqCp(src: number, dst: number, p0: number, p1: number): void {
    if (src === dst) return;
    for (const c of this.cells) if (c && this.inRange(c.pos, p0, p1) && c.seqs.has(src)) c.seqs.add(dst);
  }

  posMin(seq: number): number {
    let m = Infinity;
    for (const c of this.cells) if (c && c.seqs.has(seq)) m = Math.min(m, c.pos);
    return m === Infinity ? -1 : m;
  }

  posMax(seq: number): number {
    let m = -1;
    for (const c of this.cells) if (c && c.seqs.has(seq)) m = Math.max(m, c.pos);
    return m;
  }

  place(pos: number, seqs: number[], tag: string): number {
    const i = this.cells.indexOf(null);
    if (i < 0) throw new Error("KV cache full");
    this.cells[i] = { pos, seqs: new Set(seqs), tag };
    return i;
  }

  /** Validates like llama_batch_allocr::init, places the rows, returns each row's visible cell tags. */
  decode(rows: { token: number; pos: number; seqs: number[] }[], step: number): Set<string>[] {
    const seqPos = new Map<number, Set<number>>();
    const lastPos = new Map<number, number>();
    for (const r of rows) {
      for (const s of r.seqs) {
        if (!seqPos.has(s)) seqPos.set(s, new Set());
        seqPos.get(s)!.add(r.pos);
        if (r.pos < (lastPos.get(s) ?? -1)) throw new Error(`seq ${s}: positions decreasing`);
        lastPos.set(s, r.pos);
      }
      for (let k = 1; k < r.seqs.length; k++) {
        const s0 = r.seqs[0];
        const s1 = r.seqs[k];
        if (this.posMin(s0) !== this.posMin(s1) || this.posMax(s0) !== this.posMax(s1)) {
          throw new Error(`seq ${s1} is coupled to ${s0} but they have diverged`);
        }
      }
    }
    for (const [s, set] of seqPos) {
      const min = Math.min(...set);
      const max = Math.max(...set);
      const p0 = this.posMax(s);
      if (p0 >= 0 && min !== p0 + 1) throw new Error(`seq ${s}: batch starts at ${min}, memory ends at ${p0}`);
      if (max - min + 1 > set.size) throw new Error(`seq ${s}: positions not continuous`);
    }
    rows.forEach((r, i) => this.place(r.pos, r.seqs, `r${i}@${step}`));
    return rows.map((r) => {
      const vis = new Set<string>();
      for (const c of this.cells) if (c && c.seqs.has(r.seqs[0]) && c.pos <= r.pos) vis.add(c.tag);
      return vis;
    });
  }
}

function planRows(plan: TreeBatchPlan) {
  const rows: { token: number; pos: number; seqs: number[] }[] = [];
  for (let r = 0; r < plan.nRows; r++) {
    rows.push({
      token: plan.token[r],
      pos: plan.pos[r],
      seqs: Array.from(plan.seqIds.subarray(plan.seqStart[r], plan.seqStart[r + 1])),
    });
  }
  return rows;
}

function randomTree(rng: Rng, builder: DDTreeBuilder, maxNodes: number): DDTree {
  const depth = 1 + Math.floor(rng.nextFloat() * 5);
  const k = 1 + Math.floor(rng.nextFloat() * 4);
  const ids = new Int32Array(depth * k);
  const logp = new Float32Array(depth * k);
  for (let d = 0; d < depth; d++) {
    let lp = 0;
    for (let r = 0; r < k; r++) {
      lp -= rng.nextFloat() * 2;
      ids[d * k + r] = 1000 + 10 * d + r;
      logp[d * k + r] = lp;
    }
  }
  return builder.build(ids, logp, depth, k, Math.floor(rng.nextFloat() * (maxNodes + 1)));
}

/** A random root-to-node path: keep walking to a random child with probability 0.7. */
function randomPath(rng: Rng, tree: DDTree): Int32Array {
  const path: number[] = [];
  let node = -1;
  while (!tree.isLeaf(node) && rng.nextFloat() < 0.7) {
    node = tree.child(node, Math.floor(rng.nextFloat() * tree.childCount(node)));
    path.push(node);
  }
  return Int32Array.from(path);
}

describe("TreeBatchPlanner against the KV-cell simulator", () => {
  const layouts = [
    { committedSeq: 0, firstScratchSeq: 1 },
    { committedSeq: 3, firstScratchSeq: 2 }, // scratch range straddles the committed seq
    { committedSeq: 7, firstScratchSeq: 20 },
  ];

  for (const layout of layouts) {
    it(`visibility and commit invariants on random trees, over consecutive steps (${JSON.stringify(layout)})`, () => {
      const rng = new Rng(21 + layout.committedSeq);
      const maxNodes = 40;
      const builder = new DDTreeBuilder(maxNodes);
      const planner = new TreeBatchPlanner(maxNodes, layout);
      for (let run = 0; run < 30; run++) {
        const sim = new KvSim(512);
        const C = layout.committedSeq;
        let nPast = Math.floor(rng.nextFloat() * 5);
        for (let p = 0; p < nPast; p++) sim.place(p, [C], `h${p}`);
        // another request's sequence in the same cache must come through untouched
        const OTHER = 250;
        for (let p = 0; p < 6; p++) sim.place(p, [OTHER], `o${p}`);
        let history = Array.from({ length: nPast }, (_, p) => `h${p}`);

        for (let step = 0; step < 4; step++) {
          const tree = randomTree(rng, builder, maxNodes);
          const plan = planner.plan(tree, 42, nPast);
          expect(plan.nRows).toBe(tree.size + 1);
          plan.prepareOps.run(sim);
          const vis = sim.decode(planRows(plan), step);

          // each row sees exactly the history, its ancestors (root included) and itself
          for (let r = 0; r < plan.nRows; r++) {
            const want = new Set(history);
            want.add(`r0@${step}`);
            for (let n = r - 1; n >= 0; n = tree.parent[n]) want.add(`r${n + 1}@${step}`);
            expect(vis[r]).toEqual(want);
            expect(plan.pos[r]).toBe(nPast + (r === 0 ? 0 : tree.depth[r - 1]));
          }

          const path = randomPath(rng, tree);
          plan.commit(path, path.length, tree).run(sim);
          const kept = [`r0@${step}`, ...Array.from(path, (n) => `r${n + 1}@${step}`)];
          history = [...history, ...kept];
          nPast = plan.committedPast;
          expect(nPast).toBe(history.length);

          // the committed seq holds exactly history + accepted path at 0..nPast-1; nothing else is left
          const live = sim.cells.filter((c): c is NonNullable<typeof c> => c !== null);
          const mine = live.filter((c) => c.seqs.has(C)).sort((a, b) => a.pos - b.pos);
          expect(mine.map((c) => c.tag)).toEqual(history);
          expect(mine.map((c) => c.pos)).toEqual(history.map((_, i) => i));
          for (const c of mine) expect([...c.seqs]).toEqual([C]);
          const others = live.filter((c) => !c.seqs.has(C));
          expect(others.map((c) => c.tag).sort()).toEqual(["o0", "o1", "o2", "o3", "o4", "o5"]);
          for (const c of others) expect([...c.seqs]).toEqual([OTHER]);
        }
      }
    });
  }

  it("path 0 is the greedy chain and continues the committed seq; seq lists put the primary first", () => {
    // root -> a(0) -> c(1), d(3); root -> b(2) -> e(4)
    const builder = new DDTreeBuilder(8);
    const ids = Int32Array.from([10, 11, 20, 21]);
    const logp = Float32Array.from([Math.log(0.6), Math.log(0.4), Math.log(0.7), Math.log(0.3)]);
    const tree = builder.build(ids, logp, 2, 2, 5);
    expect(tree.toJSON().token).toEqual([10, 20, 11, 20, 21]);
    expect(tree.toJSON().parent).toEqual([-1, 0, -1, 2, 0]);
    const plan = new TreeBatchPlanner(8).plan(tree, 99, 100);
    // leaves in preorder, best child first: a c (path 0), a d (path 1), b c (path 2)
    expect(plan.nPaths).toBe(3);
    expect(planRows(plan)).toEqual([
      { token: 99, pos: 100, seqs: [0, 1, 2] },
      { token: 10, pos: 101, seqs: [0, 1] },
      { token: 20, pos: 102, seqs: [0] },
      { token: 11, pos: 101, seqs: [2] },
      { token: 20, pos: 102, seqs: [2] },
      { token: 21, pos: 102, seqs: [1] },
    ]);
    expect(plan.prepareOps.toArray()).toEqual([
      { op: "cp", src: 0, dst: 1, p0: -1, p1: -1 },
      { op: "cp", src: 0, dst: 2, p0: -1, p1: -1 },
    ]);
    // accepted a, c: on path 0, one truncation
    expect(plan.commit(Int32Array.from([0, 1]), 2, tree).toArray()).toEqual([
      { op: "rm", seq: 0, p0: 103, p1: -1 },
      { op: "rm", seq: 1, p0: -1, p1: -1 },
      { op: "rm", seq: 2, p0: -1, p1: -1 },
    ]);
    expect(plan.committedPast).toBe(103);
    // accepted a, d: path 1 takes over
    expect(plan.commit(Int32Array.from([0, 4]), 2, tree).toArray()).toEqual([
      { op: "rm", seq: 0, p0: 100, p1: -1 },
      { op: "cp", src: 1, dst: 0, p0: 100, p1: 103 },
      { op: "rm", seq: 1, p0: -1, p1: -1 },
      { op: "rm", seq: 2, p0: -1, p1: -1 },
    ]);
    // nothing accepted: only the root stays
    expect(plan.commit(new Int32Array(0), 0, tree).toArray()[0]).toEqual({ op: "rm", seq: 0, p0: 101, p1: -1 });
    expect(plan.committedPast).toBe(101);
    // a path that is not a path of the tree is refused
    expect(() => plan.commit(Int32Array.from([2, 1]), 2, tree)).toThrow(RangeError);
  });

  it("a chain needs no scratch seq: no prepare ops, a single truncation to commit", () => {
    const builder = new DDTreeBuilder(8);
    const tree = builder.buildChain(Int32Array.from([5, 6, 7, 8]), 4);
    const plan = new TreeBatchPlanner(8).plan(tree, 4, 10);
    expect(plan.nPaths).toBe(1);
    expect(plan.prepareOps.count).toBe(0);
    for (let r = 0; r < plan.nRows; r++) expect(plan.seqCount(r)).toBe(1);
    expect(plan.commit(Int32Array.from([0, 1]), 2, tree).toArray()).toEqual([{ op: "rm", seq: 0, p0: 13, p1: -1 }]);
  });

  it("refuses trees with more leaves than the seq layout allows", () => {
    const builder = new DDTreeBuilder(8);
    const tree = builder.build(Int32Array.from([1, 2, 3, 4]), new Float32Array(4), 1, 4, 4); // 4 leaves
    expect(new TreeBatchPlanner(8, { firstScratchSeq: 1, maxSeqId: 3 }).plan(tree, 0, 0).nPaths).toBe(4);
    expect(() => new TreeBatchPlanner(8, { firstScratchSeq: 1, maxSeqId: 2 }).plan(tree, 0, 0)).toThrow(RangeError);
    expect(() => new TreeBatchPlanner(2).plan(tree, 0, 0)).toThrow(RangeError);
  });
});
