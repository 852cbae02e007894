// The scorer's windowed prefill (ScorerOptions.window): each prompt token attends to the last `window`
// positions through a ring cache, while the scoring queries still see every position.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Model } from "../../src/engine/model.js";
import { Scorer } from "../../src/prefill/scorer.js";
import { tinyModelPath } from "../helpers/models.js";

let modelPath: string;
let model: Model;
let full: Scorer;

beforeAll(async () => {
  modelPath = await tinyModelPath();
  model = Model.load(modelPath, { gpuLayers: 0 });
  full = Scorer.load(modelPath, { device: "cpu", threads: 1, chunk: 32 });
});
afterAll(() => {
  full?.free();
  model?.free();
});

function tokens(n: number): Int32Array {
  const t = model.vocab.tokenize(Array.from({ length: n }, (_, i) => ["alpha", "river", "stone", "seven", "over", "the", "code", "blue"][(i * 5) % 8]).join(" "), { addSpecial: false });
  return t.slice(0, n);
}

const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

describe("windowed scorer prefill", () => {
  it("equals full attention when the window covers the prompt", () => {
    const w = Scorer.load(modelPath, { device: "cpu", threads: 1, chunk: 32, window: 256 });
    try {
      const t = tokens(150);
      expect(maxDiff(w.logits(t), full.logits(t))).toBeLessThan(1e-2);
      const a = w.score(t).importance;
      const b = full.score(t).importance;
      expect(maxDiff(a, b)).toBeLessThan(1e-3 * Math.max(...b));
    } finally {
      w.free();
    }
  });

  it("attends to the last `window` positions only, with one chunk graph for every chunk", () => {
    const W = 40;
    const w = Scorer.load(modelPath, { device: "cpu", threads: 1, chunk: 32, window: W });
    try {
      const t = tokens(200);
      const V = w.info.vocab;
      const a = w.logits(t);
      const b = full.logits(t);
      // positions below the window see every earlier key either way
      expect(maxDiff(a.subarray(0, W * V), b.subarray(0, W * V))).toBeLessThan(1e-2);
      // later ones lose the keys that left the window
      expect(maxDiff(a.subarray(150 * V, 200 * V), b.subarray(150 * V, 200 * V))).toBeGreaterThan(1e-2);
      const s = w.score(t);
      expect(s.importance.length).toBe(200);
      expect(s.importance.every((x) => Number.isFinite(x) && x >= 0)).toBe(true);
      // this prompt's scoring-prefill chunk graph (1) + its score graph: the ring has one shape
      expect(w.graphCount).toBe(2);
      // a second, different prompt starts from an empty ring: scoring it twice gives the same answer
      const t2 = tokens(120);
      const x = w.score(t2).importance;
      w.score(t);
      expect(maxDiff(w.score(t2).importance, x)).toBe(0);
    } finally {
      w.free();
    }
  });

  it("refuses a bad window", () => {
    expect(() => Scorer.load(modelPath, { device: "cpu", window: -1 })).toThrow(/window/);
  });
});
