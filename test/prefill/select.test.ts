import { describe, expect, it } from "vitest";
import { selectChunks } from "../../src/prefill/select.js";

function scores(n: number, f: (i: number) => number): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

function chunksOf(keep: Int32Array, chunk = 32): number[] {
  return [...new Set(Array.from(keep, (i) => Math.floor(i / chunk)))];
}

describe("selectChunks", () => {
  it("keeps ceil(nChunks x ratio) chunks: head, tail and the best means, ascending", () => {
    // 40 chunks of 32; chunks 10 and 25 are hot
    const imp = scores(40 * 32, (i) => (Math.floor(i / 32) === 10 ? 5 : Math.floor(i / 32) === 25 ? 3 : 0.1));
    const s = selectChunks(imp, { keepRatio: 0.15 }); // ceil(6) = 6 chunks: 0,1,38,39 + 10,25
    expect(s.nChunks).toBe(40);
    expect(Array.from(s.chunks)).toEqual([0, 1, 10, 25, 38, 39]);
    expect(s.keep.length).toBe(6 * 32);
    expect(chunksOf(s.keep)).toEqual([0, 1, 10, 25, 38, 39]);
    for (let i = 1; i < s.keep.length; i++) expect(s.keep[i]).toBeGreaterThan(s.keep[i - 1]);
    expect(s.keep[s.keep.length - 1]).toBe(40 * 32 - 1);
  });

  it("ranks by mean, so a partial last chunk is not penalised and ties go to the earlier chunk", () => {
    const imp = scores(10 * 32, () => 1);
    const s = selectChunks(imp, { keepRatio: 0.5, headChunks: 1, tailChunks: 1 });
    expect(Array.from(s.chunks)).toEqual([0, 1, 2, 3, 9]);
  });

  it("does not round 0.05 x 40 up to 3", () => {
    const s = selectChunks(scores(40 * 32, (i) => i), { keepRatio: 0.05, headChunks: 0, tailChunks: 1 });
    expect(s.chunks.length).toBe(2);
    expect(Array.from(s.chunks)).toEqual([38, 39]);
  });

  it("ratio 0 keeps only head and tail chunks", () => {
    const s = selectChunks(scores(20 * 32 + 5, (i) => i % 7), { keepRatio: 0 });
    expect(s.nChunks).toBe(21);
    expect(Array.from(s.chunks)).toEqual([0, 1, 19, 20]);
    // the last chunk holds 5 tokens
    expect(s.keep.length).toBe(3 * 32 + 5);
    expect(s.keep[s.keep.length - 1]).toBe(20 * 32 + 4);
  });

  it("ratio 1 keeps every token", () => {
    const n = 7 * 32 + 3;
    const s = selectChunks(scores(n, () => Math.random()), { keepRatio: 1 });
    expect(Array.from(s.keep)).toEqual(Array.from({ length: n }, (_, i) => i));
  });

  it("a prompt shorter than a chunk is one chunk, kept whole", () => {
    const s = selectChunks(scores(9, () => 0), { keepRatio: 0 });
    expect(s.nChunks).toBe(1);
    expect(Array.from(s.keep)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it("overlapping head and tail count once; an empty prompt keeps nothing", () => {
    expect(Array.from(selectChunks(scores(3 * 32, () => 0), { keepRatio: 0 }).chunks)).toEqual([0, 1, 2]);
    expect(selectChunks(new Float32Array(0), { keepRatio: 0.5 }).keep.length).toBe(0);
  });

  it("keeps the last token even without tail chunks and ignores NaN scores", () => {
    const imp = scores(8 * 32, (i) => (Math.floor(i / 32) === 3 ? Number.NaN : Math.floor(i / 32) === 5 ? 2 : 1));
    const s = selectChunks(imp, { keepRatio: 0.25, headChunks: 0, tailChunks: 0 });
    expect(Array.from(s.chunks)).toEqual([5, 7]);
  });

  it("rejects bad options", () => {
    expect(() => selectChunks(scores(64, () => 0), { keepRatio: 1.5 })).toThrow(/keep ratio/);
    expect(() => selectChunks(scores(64, () => 0), { keepRatio: Number.NaN })).toThrow(/keep ratio/);
    expect(() => selectChunks(scores(64, () => 0), { keepRatio: 0.5, chunk: 0 })).toThrow(/chunk/);
    expect(() => selectChunks(scores(64, () => 0), { keepRatio: 0.5, headChunks: -1 })).toThrow(/head/);
  });
});
