import { describe, expect, it } from "vitest";
import { DDTree, DDTreeBuilder } from "../../src/spec/ddtree.js";
import { Rng } from "../../src/engine/rng.js";

interface Prefix {
  ranks: number[];
  tokens: number[];
  score: number;
}

const present = (ids: Int32Array, logp: Float32Array, at: number) => ids[at] >= 0 && !Number.isNaN(logp[at]) && logp[at] !== -Infinity;

/** Every prefix (absent candidates end a position's list), sorted the way the builder promises. */
function bruteForce(ids: Int32Array, logp: Float32Array, depth: number, k: number): Prefix[] {
  const out: Prefix[] = [];
  const rec = (ranks: number[], tokens: number[], score: number) => {
    const d = ranks.length;
    if (d === depth) return;
    for (let r = 0; r < k; r++) {
      const at = d * k + r;
      if (!present(ids, logp, at)) break;
      const p = { ranks: [...ranks, r], tokens: [...tokens, ids[at]], score: score + logp[at] };
      out.push(p);
      rec(p.ranks, p.tokens, p.score);
    }
  };
  rec([], [], 0);
  out.sort((a, b) => {
    if (a.score !== b.score) return b.score - a.score;
    const m = Math.min(a.ranks.length, b.ranks.length);
    for (let i = 0; i < m; i++) if (a.ranks[i] !== b.ranks[i]) return a.ranks[i] - b.ranks[i];
    return a.ranks.length - b.ranks.length;
  });
  return out;
}

function ranksOf(t: DDTree, node: number): number[] {
  const r: number[] = [];
  for (let n = node; n >= 0; n = t.parent[n]) r.unshift(t.rank[n]);
  return r;
}

/** Random sorted log-prob rows; `levels` > 0 quantizes them so that ties are everywhere. */
function randomCandidates(rng: Rng, depth: number, k: number, levels = 0, absentRate = 0) {
  const ids = new Int32Array(depth * k);
  const logp = new Float32Array(depth * k);
  for (let d = 0; d < depth; d++) {
    const row: number[] = [];
    for (let r = 0; r < k; r++) {
      const x = levels > 0 ? -Math.floor(rng.nextFloat() * levels) * 0.5 : Math.log(rng.nextFloat() * 0.999 + 0.001);
      row.push(x);
    }
    row.sort((a, b) => b - a);
    let absent = false;
    for (let r = 0; r < k; r++) {
      if (r > 0 && rng.nextFloat() < absentRate) absent = true;
      ids[d * k + r] = absent ? -1 : 100 * d + r; // distinct per position
      logp[d * k + r] = absent ? -Infinity : row[r];
    }
  }
  return { ids, logp };
}

function checkStructure(t: DDTree): void {
  for (let i = 0; i < t.size; i++) {
    expect(t.parent[i]).toBeLessThan(i); // topological
    expect(t.depth[i]).toBe(t.parent[i] < 0 ? 1 : t.depth[t.parent[i]] + 1);
    if (i > 0) expect(t.logp[i]).toBeLessThanOrEqual(t.logp[i - 1]); // best first
  }
  for (let node = -1; node < t.size; node++) {
    const expected: number[] = [];
    for (let i = 0; i < t.size; i++) if (t.parent[i] === node) expected.push(i);
    const got: number[] = [];
    for (let c = 0; c < t.childCount(node); c++) got.push(t.child(node, c));
    expect(got).toEqual(expected);
    expect(t.isLeaf(node)).toBe(expected.length === 0);
    expect(t.firstChild(node)).toBe(expected.length ? expected[0] : -1);
    for (const c of expected) expect(t.findChild(node, t.token[c])).toBe(c);
  }
  let maxDepth = 0;
  for (let i = 0; i < t.size; i++) maxDepth = Math.max(maxDepth, t.depth[i]);
  expect(t.maxDepth).toBe(maxDepth);
}

function expectEqualsBrute(t: DDTree, brute: Prefix[], budget: number): void {
  const want = brute.slice(0, budget);
  expect(t.size).toBe(want.length);
  const path = new Int32Array(64);
  for (let i = 0; i < t.size; i++) {
    expect(ranksOf(t, i)).toEqual(want[i].ranks);
    expect(t.logp[i]).toBe(want[i].score);
    const len = t.pathTo(i, path);
    expect(Array.from(path.subarray(0, len), (n) => t.token[n])).toEqual(want[i].tokens);
  }
}

describe("DDTreeBuilder", () => {
  it("equals the brute-force top-budget prefixes on random distributions", () => {
    const rng = new Rng(11);
    const b = new DDTreeBuilder(400);
    for (let trial = 0; trial < 150; trial++) {
      const depth = 1 + Math.floor(rng.nextFloat() * 4);
      const k = 1 + Math.floor(rng.nextFloat() * 4);
      const { ids, logp } = randomCandidates(rng, depth, k, 0, trial % 3 === 0 ? 0.3 : 0);
      const brute = bruteForce(ids, logp, depth, k);
      const budget = Math.floor(rng.nextFloat() * (brute.length + 5));
      const t = b.build(ids, logp, depth, k, budget);
      expectEqualsBrute(t, brute, budget);
      checkStructure(t);
    }
  });

  it("breaks ties deterministically: score, then candidate ranks lexicographically", () => {
    const rng = new Rng(12);
    const b = new DDTreeBuilder(400);
    for (let trial = 0; trial < 150; trial++) {
      const depth = 1 + Math.floor(rng.nextFloat() * 4);
      const k = 1 + Math.floor(rng.nextFloat() * 4);
      const { ids, logp } = randomCandidates(rng, depth, k, 3); // values in {0, -0.5, -1}: many ties
      const brute = bruteForce(ids, logp, depth, k);
      const budget = Math.floor(rng.nextFloat() * (brute.length + 2));
      expectEqualsBrute(b.build(ids, logp, depth, k, budget), brute, budget);
    }
    // all-zero log-probs: every prefix ties, so the order is pure lexicographic (a parent before its
    // children, lower ranks first): the greedy chain comes first
    const ids = Int32Array.from([1, 2, 3, 4, 5, 6]);
    const t = b.build(ids, new Float32Array(6), 3, 2, 5);
    expect(t.toJSON().token).toEqual([1, 3, 5, 6, 4]);
    expect(t.toJSON().parent).toEqual([-1, 0, 1, 1, 0]);
  });

  it("hand-made distribution: the expected tree", () => {
    // position 1: a 0.6, b 0.4; position 2: c 0.9, d 0.1
    const ids = Int32Array.from([10, 11, 20, 21]);
    const logp = Float32Array.from([Math.log(0.6), Math.log(0.4), Math.log(0.9), Math.log(0.1)]);
    const t = new DDTreeBuilder(8).build(ids, logp, 2, 2, 4);
    // a (0.6), a c (0.54), b (0.4), b c (0.36); a d (0.06) and b d (0.04) miss the budget
    expect(t.toJSON().token).toEqual([10, 20, 11, 20]);
    expect(t.toJSON().parent).toEqual([-1, 0, -1, 2]);
    expect(t.toJSON().depth).toEqual([1, 2, 1, 2]);
    expect(Math.exp(t.logp[3])).toBeCloseTo(0.36, 6);
    expect(t.childCount(-1)).toBe(2);
    expect(t.findChild(-1, 11)).toBe(2);
    expect(t.findChild(2, 21)).toBe(-1);
  });

  it("respects the budget, and a budget beyond the prefixes gives them all", () => {
    const rng = new Rng(13);
    const { ids, logp } = randomCandidates(rng, 3, 3);
    const b = new DDTreeBuilder(100);
    for (let budget = 0; budget <= 100; budget += 7) {
      expect(b.build(ids, logp, 3, 3, budget).size).toBe(Math.min(budget, 3 + 9 + 27));
    }
    expect(() => b.build(ids, logp, 3, 3, 101)).toThrow(RangeError);
  });

  it("chain: K = 1 with budget = depth, and buildChain", () => {
    const ids = Int32Array.from([7, 8, 9, 10]);
    const logp = Float32Array.from([-0.1, -0.2, -0.3, -0.4]);
    const b = new DDTreeBuilder(16);
    const t = b.build(ids, logp, 4, 1, 4);
    expect(t.toJSON().token).toEqual([7, 8, 9, 10]);
    expect(t.toJSON().parent).toEqual([-1, 0, 1, 2]);
    expect(t.maxDepth).toBe(4);
    expect(t.isLeaf(3)).toBe(true);
    const c = b.buildChain(ids, 3);
    expect(c.toJSON().token).toEqual([7, 8, 9]);
    expect(c.toJSON().parent).toEqual([-1, 0, 1]);
    expect(c.toJSON().logp).toEqual([0, 0, 0]);
    checkStructure(c);
    // an absent token ends the chain
    expect(b.buildChain(Int32Array.from([7, -1, 9]), 3).size).toBe(1);
  });

  it("edge cases: depth 0, K 0, budget 0, absent first candidate", () => {
    const b = new DDTreeBuilder(8);
    expect(b.build(new Int32Array(0), new Float32Array(0), 0, 4, 8).size).toBe(0);
    expect(b.build(new Int32Array(0), new Float32Array(0), 3, 0, 8).size).toBe(0);
    expect(b.build(Int32Array.from([1, 2]), new Float32Array(2), 2, 1, 0).size).toBe(0);
    const empty = b.build(Int32Array.from([-1, 2]), Float32Array.from([-Infinity, 0]), 2, 1, 8);
    expect(empty.size).toBe(0);
    expect(empty.isLeaf(-1)).toBe(true);
    expect(empty.maxDepth).toBe(0);
    // an absent rank 0 at depth 2 stops the depth there
    const t = b.build(Int32Array.from([1, 2, -1, 4]), Float32Array.from([0, -1, -Infinity, -1]), 2, 2, 8);
    expect(t.toJSON().token).toEqual([1, 2]);
    expect(() => b.build(new Int32Array(3), new Float32Array(3), 2, 2, 4)).toThrow(RangeError);
  });

  it("truncate(n) gives the budget-n tree; the builder is reusable across steps", () => {
    const rng = new Rng(14);
    const b = new DDTreeBuilder(64);
    const other = new DDTreeBuilder(64);
    for (let trial = 0; trial < 40; trial++) {
      const { ids, logp } = randomCandidates(rng, 5, 3);
      const n = Math.floor(rng.nextFloat() * 64);
      const small = other.build(ids, logp, 5, 3, n).toJSON();
      const t = b.build(ids, logp, 5, 3, 64).truncate(n);
      expect(t.toJSON()).toEqual(small);
      checkStructure(t);
    }
  });
});
