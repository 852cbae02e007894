// Decoding invariants the speculative decoder relies on: batch vs one-at-a-time, multi-sequence
// batches, shared KV cells, and KV rollback. Tolerances: CPU float rounding differs between batched
// and single-token matmuls, so logits are compared within a small absolute bound.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { Model } from "../../src/engine/model.js";
import { tinyModelPath } from "../helpers/models.js";

const TOL = 2e-3;

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

let model: Model;
const tokens = [11, 52, 97, 301, 7, 44, 150, 23];

beforeAll(async () => {
  model = Model.load(await tinyModelPath(), { gpuLayers: 0 });
});
afterAll(() => model?.free());

function fresh(seqMax = 1): Context {
  return Context.create(model, { ctx: 256, seqMax, threads: 1 });
}

/** Logits of the last token of `toks` decoded alone in a fresh context. */
function alone(toks: number[]): Float32Array {
  const c = fresh();
  try {
    return c.prefill(toks).slice();
  } finally {
    c.free();
  }
}

describe("decode", () => {
  it("one token at a time gives the logits of one batch", () => {
    const a = fresh();
    const b = fresh();
    try {
      const rows: Float32Array[] = [];
      for (let i = 0; i < tokens.length; i++) rows.push(a.step(tokens[i], i).slice());
      b.batch.clear();
      for (let i = 0; i < tokens.length; i++) b.batch.add(tokens[i], i, 0, true);
      b.decode();
      const all = b.logits();
      expect(all.length).toBe(tokens.length * b.nVocab);
      for (let i = 0; i < tokens.length; i++) {
        expect(maxAbsDiff(rows[i], all.subarray(i * b.nVocab, (i + 1) * b.nVocab))).toBeLessThan(TOL);
      }
    } finally {
      a.free();
      b.free();
    }
  });

  it("two sequences in one batch equal each decoded alone", () => {
    const seqA = tokens.slice(0, 5);
    const seqB = [200, 3, 77, 9];
    const refA = alone(seqA);
    const refB = alone(seqB);
    const c = fresh(2);
    try {
      c.batch.clear();
      seqA.forEach((t, i) => c.batch.add(t, i, 0, i === seqA.length - 1));
      seqB.forEach((t, i) => c.batch.add(t, i, 1, i === seqB.length - 1));
      c.decode();
      const out = c.logits();
      expect(maxAbsDiff(out.subarray(0, c.nVocab), refA)).toBeLessThan(TOL);
      expect(maxAbsDiff(out.subarray(c.nVocab, 2 * c.nVocab), refB)).toBeLessThan(TOL);
    } finally {
      c.free();
    }
  });

  it("a token with two seq ids is visible to both sequences and not to a third", () => {
    const shared = 42;
    const [q0, q1, q2] = [5, 6, 7];
    const c = fresh(3);
    try {
      c.batch.clear();
      c.batch.add(shared, 0, [0, 1], false);
      c.batch.add(q0, 1, 0, true);
      c.batch.add(q1, 1, 1, true);
      c.batch.add(q2, 0, 2, true);
      c.decode();
      const out = c.logits();
      const row = (i: number) => out.subarray(i * c.nVocab, (i + 1) * c.nVocab);
      expect(maxAbsDiff(row(0), alone([shared, q0]))).toBeLessThan(TOL);
      expect(maxAbsDiff(row(1), alone([shared, q1]))).toBeLessThan(TOL);
      expect(maxAbsDiff(row(2), alone([q2]))).toBeLessThan(TOL);
      // the check is sensitive: seeing the shared token would change seq 2's logits
      expect(maxAbsDiff(alone([q2]), alone([shared, q2]))).toBeGreaterThan(10 * TOL);
    } finally {
      c.free();
    }
  });

  it("removing a tail and re-decoding equals never having decoded it", () => {
    const c = fresh();
    const ref = fresh();
    try {
      c.prefill(tokens.slice(0, 6));
      c.truncate(0, 3);
      expect(c.native.seqPosMax(0)).toBe(2);
      const got = c.prefill([99, 100], 3).slice();
      const want = ref.prefill([...tokens.slice(0, 3), 99, 100]).slice();
      expect(maxAbsDiff(got, want)).toBeLessThan(TOL);
    } finally {
      c.free();
      ref.free();
    }
  });

  it("copying a sequence shares its history", () => {
    const c = fresh(2);
    const ref = fresh();
    try {
      c.prefill(tokens.slice(0, 4), 0, 0);
      c.native.seqCp(0, 1, -1, -1);
      const got = c.prefill([123], 4, 1).slice();
      const want = ref.prefill([...tokens.slice(0, 4), 123]).slice();
      expect(maxAbsDiff(got, want)).toBeLessThan(TOL);
    } finally {
      c.free();
      ref.free();
    }
  });

  it("saves and restores a sequence's state", () => {
    const c = fresh();
    try {
      c.prefill(tokens.slice(0, 5));
      const state = c.native.seqStateGet(0);
      expect(state.length).toBeGreaterThan(0);
      const want = c.step(17, 5).slice();
      c.clear();
      expect(c.native.seqPosMax(0)).toBe(-1);
      c.native.seqStateSet(state, 0);
      expect(c.native.seqPosMax(0)).toBe(4);
      expect(maxAbsDiff(c.step(17, 5), want)).toBeLessThan(TOL);
    } finally {
      c.free();
    }
  });
});
