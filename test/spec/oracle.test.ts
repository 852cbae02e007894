import { describe, expect, it } from "vitest";
import { OracleDrafter, SIMULATED_ACCEPTANCE, constantProfile, expectedAcceptedLength } from "../../src/spec/oracle.js";
import { DDTreeBuilder } from "../../src/spec/ddtree.js";
import { TreeAcceptor } from "../../src/spec/accept.js";
import { Rng } from "../../src/engine/rng.js";

describe("oracle drafter", () => {
  it("labels its numbers as simulated", () => {
    expect(SIMULATED_ACCEPTANCE).toBe("simulated acceptance");
  });

  it("expectedAcceptedLength: chain math, last entry repeated past the profile", () => {
    expect(expectedAcceptedLength([0.5, 0.5])).toBeCloseTo(0.75, 12);
    expect(expectedAcceptedLength([0.5], 3)).toBeCloseTo(0.875, 12);
    expect(expectedAcceptedLength([1], 15)).toBe(15);
    expect(expectedAcceptedLength([], 5)).toBe(0);
    for (const mean of [4, 6.5, 9.5]) expect(expectedAcceptedLength(constantProfile(mean, 15), 15)).toBeCloseTo(mean, 9);
  });

  it("the mean accepted length over many draws matches the expectation", () => {
    for (const profile of [[0.9, 0.8, 0.7, 0.5], Array.from(constantProfile(6.5, 15))]) {
      const depth = profile.length === 1 ? 15 : 6;
      const o = new OracleDrafter(profile, 100, 5);
      const N = 20_000;
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < N; i++) {
        const a = o.drawAccepted(depth);
        sum += a;
        sumSq += a * a;
      }
      const mean = sum / N;
      const sd = Math.sqrt(sumSq / N - mean * mean);
      expect(Math.abs(mean - expectedAcceptedLength(profile, depth))).toBeLessThan(4 * sd / Math.sqrt(N));
    }
  });

  it("drafts that the acceptance walk accepts exactly as planned, as chains and as trees", () => {
    const rng = new Rng(41);
    const V = 50;
    const depth = 8;
    const builder = new DDTreeBuilder(64);
    const acceptor = new TreeAcceptor(depth);
    for (const k of [1, 3]) {
      const o = new OracleDrafter([0.85], V, 7 + k);
      const ids = new Int32Array(depth * k);
      const logp = new Float32Array(depth * k);
      let planned = 0;
      let accepted = 0;
      for (let step = 0; step < 300; step++) {
        // target greedy continuation after the root
        const greedy = Array.from({ length: depth + 1 }, () => Math.floor(rng.nextFloat() * V));
        const a = o.draft(greedy, depth, ids, logp, k);
        expect(o.planned).toBe(a);
        for (let j = 0; j < depth; j++) {
          const row = Array.from(ids.subarray(j * k, j * k + k));
          expect(new Set(row).size).toBe(k);
          if (j <= a) expect(row.includes(greedy[j])).toBe(j < a); // past the rejection: irrelevant
        }
        // budget large enough for the greedy path to be in the tree: it is the best prefix
        const tree = k === 1 ? builder.buildChain(ids, depth) : builder.build(ids, logp, depth, k, 64);
        // row r's target token: the greedy token at depth(r) + 1 (the root is depth 0)
        const got = acceptor.accept(tree, (row) => greedy[row === 0 ? 0 : tree.depth[row - 1]]);
        expect(got).toBe(a);
        expect(acceptor.bonus).toBe(greedy[a]);
        planned += a;
        accepted += got;
      }
      expect(accepted).toBe(planned);
    }
  });

  it("rejects bad arguments", () => {
    expect(() => new OracleDrafter([1.2], 10, 0)).toThrow(RangeError);
    expect(() => new OracleDrafter([0.5], 1, 0)).toThrow(RangeError);
    expect(() => constantProfile(20, 15)).toThrow(RangeError);
  });
});
