import { describe, expect, it } from "vitest";
import { DDTreeBuilder, type DDTree } from "../../src/spec/ddtree.js";
import { TreeAcceptor } from "../../src/spec/accept.js";
import { Sampler, type SamplerOptions } from "../../src/engine/sampler.js";

// root -> 10 (node 0) -> 20 (node 1); root -> 11 (node 2) -> 20 (node 3); node 0 -> 21 (node 4)
function crafted(): DDTree {
  const ids = Int32Array.from([10, 11, 20, 21]);
  const logp = Float32Array.from([Math.log(0.6), Math.log(0.4), Math.log(0.7), Math.log(0.3)]);
  const t = new DDTreeBuilder(8).build(ids, logp, 2, 2, 5);
  expect(t.toJSON().token).toEqual([10, 20, 11, 20, 21]);
  return t;
}

describe("TreeAcceptor at T=0", () => {
  it("walks matching children and ends with the target's bonus token", () => {
    const t = crafted();
    const a = new TreeAcceptor(4);
    // rows: 0 root, 1..5 nodes 0..4. Target: root -> 11, node 2 -> 20, node 3 -> 30 (bonus)
    const target = Int32Array.from([11, 0, 0, 20, 30, 0]);
    expect(a.accept(t, target)).toBe(2);
    expect(Array.from(a.path.subarray(0, 2))).toEqual([2, 3]);
    expect(Array.from(a.tokens.subarray(0, a.nTokens))).toEqual([11, 20, 30]);
    expect(a.bonus).toBe(30);

    // second child at depth 2: root -> 10, node 0 -> 21, node 4 (leaf) -> 5
    expect(a.accept(t, (row) => [10, 21, 0, 0, 0, 5][row])).toBe(2);
    expect(Array.from(a.path.subarray(0, 2))).toEqual([0, 4]);
    expect(Array.from(a.tokens.subarray(0, 3))).toEqual([10, 21, 5]);

    // nothing matches at the root: the bonus alone
    expect(a.accept(t, (row) => (row === 0 ? 99 : -1))).toBe(0);
    expect(a.nTokens).toBe(1);
    expect(a.bonus).toBe(99);

    // stats: depth 1 offered 3 times, accepted twice; depth 2 offered twice (not at the leaf
    // node 4's depth 3, which does not exist), accepted twice
    expect(Array.from(a.offeredPerDepth)).toEqual([3, 2, 0, 0]);
    expect(Array.from(a.acceptedPerDepth)).toEqual([2, 2, 0, 0]);
    expect(a.meanAcceptedLength).toBeCloseTo(4 / 3, 12);
    a.resetStats();
    expect(a.steps).toBe(0);
  });

  it("acceptGreedy takes the argmax of each visited row only", () => {
    const t = crafted();
    const a = new TreeAcceptor(4);
    const visited: number[] = [];
    const logits = (row: number) => {
      visited.push(row);
      const l = new Float32Array(32);
      l[[10, 20, 0, 0, 0, 0][row]] = 5;
      return l;
    };
    expect(a.acceptGreedy(t, logits)).toBe(2);
    expect(Array.from(a.tokens.subarray(0, 3))).toEqual([10, 20, 0]);
    expect(visited).toEqual([0, 1, 2]);
  });

  it("an empty tree emits the root's target token", () => {
    const t = new DDTreeBuilder(4).build(new Int32Array(0), new Float32Array(0), 0, 1, 4);
    const a = new TreeAcceptor(4);
    expect(a.accept(t, Int32Array.of(7))).toBe(0);
    expect(a.bonus).toBe(7);
    expect(Array.from(a.offeredPerDepth)).toEqual([0, 0, 0, 0]);
  });
});

// ---- T > 0: the emitted tokens are distributed as plain sampling ----

const V = 6;
// a tiny "model": the next token's logits depend on the previous token only
function bigramLogits(prev: number): Float32Array {
  const l = new Float32Array(V);
  for (let t = 0; t < V; t++) l[t] = Math.sin(1.7 * t + 0.9 * prev) * 1.5 + (t === prev ? -1 : 0);
  return l;
}
const LOGITS = Array.from({ length: V }, (_, p) => bigramLogits(p));

function exactProbs(opts: SamplerOptions, prev: number): number[] {
  const s = new Sampler(V, { ...opts, seed: 0 });
  const n = s.distribution(LOGITS[prev]);
  const p = new Array<number>(V).fill(0);
  for (let i = 0; i < n; i++) p[s.candidateIds[i]] = s.candidateProbs[i];
  return p;
}

function chiSquare(counts: number[], probs: number[], total: number): { chi2: number; df: number } {
  let chi2 = 0;
  let df = -1;
  for (let i = 0; i < counts.length; i++) {
    const e = probs[i] * total;
    if (e === 0) {
      expect(counts[i]).toBe(0);
      continue;
    }
    chi2 += (counts[i] - e) ** 2 / e;
    df++;
  }
  return { chi2, df };
}

// chi-square critical values at p = 0.001
const CRIT: Record<number, number> = { 2: 13.82, 3: 16.27, 4: 18.47, 5: 20.52, 8: 26.12, 11: 31.26, 15: 37.7, 17: 40.79, 19: 43.82, 23: 49.73, 24: 51.18, 29: 58.3, 35: 66.62 };

function checkLossless(tree: DDTree, opts: SamplerOptions, trials: number): void {
  const ROOT_PREV = 2; // the committed token whose logits row 0 holds
  const a = new TreeAcceptor(8);
  const first = new Array<number>(V).fill(0);
  const pairs = new Array<number>(V * V).fill(0);
  for (let seed = 0; seed < trials; seed++) {
    const s = new Sampler(V, { ...opts, seed });
    // row r holds the target's logits after the path root..r, i.e. after the row's own token
    const k = a.acceptSampled(tree, s, (row) => LOGITS[row === 0 ? ROOT_PREV : tree.token[row - 1]]);
    const t0 = a.tokens[0];
    // the second emitted token comes from this walk, or from the next step's plain sampling
    const t1 = k >= 1 ? a.tokens[1] : s.sample(LOGITS[t0]);
    first[t0]++;
    pairs[t0 * V + t1]++;
  }
  const p0 = exactProbs(opts, ROOT_PREV);
  const joint: number[] = [];
  for (let x = 0; x < V; x++) {
    const p1 = exactProbs(opts, x);
    for (let y = 0; y < V; y++) joint.push(p0[x] * p1[y]);
  }
  const c1 = chiSquare(first, p0, trials);
  expect(c1.chi2).toBeLessThan(CRIT[c1.df]);
  const c2 = chiSquare(pairs, joint, trials);
  expect(CRIT[c2.df]).toBeDefined();
  expect(c2.chi2).toBeLessThan(CRIT[c2.df]);
}

describe("TreeAcceptor at T>0 is lossless (chi-square, 20k seeds, 6-token vocabulary)", () => {
  const builder = new DDTreeBuilder(16);
  const plain: SamplerOptions = { temperature: 1, topK: 0, topP: 1, minP: 0 };

  it("chain", () => {
    const chain = builder.buildChain(Int32Array.from([0, 3, 1, 4]), 4);
    checkLossless(chain, plain, 20_000);
  });

  it("tree with 2 children at the root", () => {
    const ids = Int32Array.from([0, 4, 3, 1, 5, 2]);
    const tree = builder.build(ids, Float32Array.from([-0.3, -1.5, -0.2, -2, -0.5, -1]), 3, 2, 9);
    expect(tree.childCount(-1)).toBe(2);
    checkLossless(tree, plain, 20_000);
  });

  it("tree, with temperature and top-k shaping the target distribution", () => {
    const ids = Int32Array.from([1, 5, 0, 2]);
    const tree = builder.build(ids, Float32Array.from([-0.3, -1.5, -0.2, -2]), 2, 2, 6);
    checkLossless(tree, { temperature: 0.7, topK: 4, topP: 1, minP: 0 }, 20_000);
  });
});
