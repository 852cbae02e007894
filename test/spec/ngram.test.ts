import { describe, expect, it } from "vitest";
import { NgramDrafter } from "../../src/spec/ngram.js";
import { DDTreeBuilder } from "../../src/spec/ddtree.js";
import { Rng } from "../../src/engine/rng.js";

/** Reference: scan the whole history for the longest earlier occurrence of a suffix. */
function bruteDraft(h: number[], minN: number, maxN: number, depth: number): { n: number; p: number; draft: number[] } {
  const L = h.length;
  for (let n = Math.min(maxN, L); n >= minN; n--) {
    for (let p = L - 2; p >= n - 1; p--) {
      let same = true;
      for (let d = 0; d < n; d++) if (h[p - d] !== h[L - 1 - d]) same = false;
      if (!same) continue;
      const seq = [...h];
      for (let j = 0; j < depth; j++) seq.push(seq[p + 1 + j]);
      return { n, p, draft: seq.slice(L) };
    }
  }
  return { n: 0, p: -1, draft: [] };
}

function draft1(d: NgramDrafter, depth: number): number[] {
  const ids = new Int32Array(depth);
  const logp = new Float32Array(depth);
  const n = d.draft(ids, logp, depth);
  return Array.from(ids.subarray(0, n));
}

describe("NgramDrafter", () => {
  it("finds a repeat and proposes what followed it", () => {
    const d = new NgramDrafter({ minN: 2, maxN: 4 });
    d.pushAll([1, 2, 3, 4, 5, 6, 9, 9, 2, 3]);
    expect(draft1(d, 3)).toEqual([4, 5, 6]);
    expect(d.matchN).toBe(2);
    d.push(4);
    expect(draft1(d, 2)).toEqual([5, 6]);
    expect(d.matchN).toBe(3);
  });

  it("continues periodic text through its own draft", () => {
    const d = new NgramDrafter({ minN: 2, maxN: 3 });
    d.pushAll([7, 1, 2, 1, 2]);
    expect(draft1(d, 5)).toEqual([1, 2, 1, 2, 1]);
  });

  it("respects minN and maxN", () => {
    const d = new NgramDrafter({ minN: 2, maxN: 3 });
    d.pushAll([5, 1, 8, 1]); // only a length-1 suffix repeats
    expect(draft1(d, 2)).toEqual([]);
    expect(d.matchN).toBe(0);
    const ids = new Int32Array(2);
    const logp = new Float32Array(2);
    d.draft(ids, logp, 2);
    expect(Array.from(ids)).toEqual([-1, -1]);
    expect(Array.from(logp)).toEqual([-Infinity, -Infinity]);
    const d1 = new NgramDrafter({ minN: 1, maxN: 3 });
    d1.pushAll([5, 1, 8, 1]);
    expect(draft1(d1, 2)).toEqual([8, 1]);
    // maxN caps the suffix: the 4-gram 1 2 3 4 repeats, but only 3 tokens are matched; the most
    // recent 3-gram occurrence wins
    const d3 = new NgramDrafter({ minN: 2, maxN: 3 });
    d3.pushAll([1, 2, 3, 4, 50, 2, 3, 4, 60, 1, 2, 3, 4]);
    expect(draft1(d3, 1)).toEqual([60]);
    expect(d3.matchN).toBe(3);
    const d4 = new NgramDrafter({ minN: 2, maxN: 4 });
    d4.pushAll([1, 2, 3, 4, 50, 2, 3, 4, 60, 1, 2, 3, 4]);
    expect(draft1(d4, 1)).toEqual([50]);
    expect(d4.matchN).toBe(4);
    expect(() => new NgramDrafter({ minN: 3, maxN: 2 })).toThrow(RangeError);
  });

  it("incremental index equals a brute-force scan at every step (and across growth)", () => {
    const rng = new Rng(31);
    for (const [minN, maxN, vocab] of [[2, 4, 3], [1, 3, 4], [3, 5, 2], [2, 2, 5]]) {
      const d = new NgramDrafter({ minN, maxN, initialCapacity: 16 });
      const h: number[] = [];
      for (let i = 0; i < 600; i++) {
        const t = Math.floor(rng.nextFloat() * vocab);
        h.push(t);
        d.push(t);
        const want = bruteDraft(h, minN, maxN, 6);
        expect(draft1(d, 6)).toEqual(want.draft);
        expect(d.matchN).toBe(want.n);
        expect(d.matchEnd0).toBe(want.p);
      }
      d.reset();
      expect(d.length).toBe(0);
      expect(draft1(d, 3)).toEqual([]);
    }
  });

  it("top-K: occurrences vote per position, ties to the most recent", () => {
    const d = new NgramDrafter({ minN: 2, maxN: 2, maxMatches: 8 });
    // "1 2" followed by 3 (twice), then 4 (most recent earlier occurrence), then the current suffix
    d.pushAll([1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 4, 0, 1, 2]);
    const k = 3;
    const ids = new Int32Array(2 * k);
    const logp = new Float32Array(2 * k);
    expect(d.draft(ids, logp, 2, k)).toBe(2);
    expect(Array.from(ids)).toEqual([3, 4, -1, 0, -1, -1]);
    expect(logp[0]).toBeCloseTo(Math.log(2 / 3), 6);
    expect(logp[1]).toBeCloseTo(Math.log(1 / 3), 6);
    expect(logp[2]).toBe(-Infinity);
    expect(logp[3]).toBeCloseTo(0, 6);
    // and it plugs into the DDTree builder: 3 then 4 at depth 1, 0 under each
    const t = new DDTreeBuilder(8).build(ids, logp, 2, k, 8);
    expect(t.toJSON().token).toEqual([3, 0, 4, 0]);
    expect(t.toJSON().parent).toEqual([-1, 0, -1, 2]);
  });

  it("top-1 of a K=1 draft equals the most recent match's continuation", () => {
    const d = new NgramDrafter({ minN: 2, maxN: 2 });
    d.pushAll([1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 4, 0, 1, 2]);
    expect(draft1(d, 2)).toEqual([4, 0]);
  });
});
