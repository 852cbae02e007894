// Top-K helpers: the host's full-vocabulary ranking and the ordering of a device top-k's output.
import { describe, expect, it } from "vitest";
import { normalizeTopK, topKLogProbs } from "../../src/spec/topk.js";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32) * 8 - 4;
}

describe("topKLogProbs", () => {
  it("equals sorting the whole row and normalising over it", () => {
    const r = rng(3);
    const row = Float32Array.from({ length: 1000 }, r);
    const ids = new Int32Array(4);
    const logp = new Float32Array(4);
    topKLogProbs(row, 4, ids, logp, 0);
    const order = Array.from(row.keys()).sort((a, b) => row[b] - row[a] || a - b);
    const max = Math.max(...row);
    const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
    expect(Array.from(ids)).toEqual(order.slice(0, 4));
    for (let j = 0; j < 4; j++) expect(logp[j]).toBeCloseTo(row[order[j]] - lse, 4);
  });
});

describe("normalizeTopK", () => {
  it("orders unordered candidates best first (ties to the lower id), normalises over them, pads the rest", () => {
    // slot 0 belongs to another position and stays; this position's 4 candidates start at offset 1
    const ids = Int32Array.from([9, 5, 7, 2, 4, 0]);
    const logp = Float32Array.from([1, 3, 1, 2, 1, 0]);
    normalizeTopK(ids, logp, 1, 4, 5);
    expect(Array.from(ids)).toEqual([9, 5, 2, 4, 7, -1]);
    const lse = Math.log(Math.exp(3) + Math.exp(2) + 2 * Math.exp(1));
    expect(logp[0]).toBe(1);
    expect(Array.from(logp.subarray(1, 5)).map((x) => x + lse)).toEqual([3, 2, 1, 1].map((x) => expect.closeTo(x, 5)));
    expect(logp[5]).toBe(-Infinity);
    expect(Math.exp(logp[1]) + Math.exp(logp[2]) + Math.exp(logp[3]) + Math.exp(logp[4])).toBeCloseTo(1, 5);
  });
});
