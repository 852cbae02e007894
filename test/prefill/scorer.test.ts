// The scorer's own ggml graph against trusted references: libllama's logits for the same GGUF and a
// slow TypeScript scoring computed from the queries and keys the graph used.
import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { Model } from "../../src/engine/model.js";
import { UserError } from "../../src/native/errors.js";
import { Scorer } from "../../src/prefill/scorer.js";
import { testModelDir, tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

let modelPath: string;
let model: Model;
let scorer: Scorer;

beforeAll(async () => {
  modelPath = await tinyModelPath();
  model = Model.load(modelPath, { gpuLayers: 0 });
  // small chunks so that short prompts cross several chunk graphs and KV buckets
  scorer = Scorer.load(modelPath, { device: "cpu", threads: 1, chunk: 32 });
});
afterAll(() => {
  scorer?.free();
  model?.free();
});

function prompt(n: number, seed = 1): Int32Array {
  const words = ["alpha", "river", "stone", "quiet", "number", "seven", "over", "under", "the", "code", "blue", "light"];
  let s = seed;
  const parts: string[] = [];
  while (parts.length < n) {
    s = (s * 1103515245 + 12345) >>> 0;
    parts.push(words[s % words.length]);
  }
  const toks = model.vocab.tokenize(parts.join(" "), { addSpecial: false });
  return toks.slice(0, n);
}

describe("scorer graph", () => {
  it("reads the qwen3 shape from the GGUF", () => {
    expect(scorer.info).toMatchObject({ architecture: "qwen3", layers: 2, embd: 128, heads: 4, kvHeads: 2, headDim: 32, vocab: model.info.nVocab });
    expect(scorer.info.weightBytes).toBeGreaterThan(0);
  });

  it("gives libllama's logits for every position, across chunks", () => {
    const toks = prompt(150);
    expect(toks.length).toBe(150);
    const ours = scorer.logits(toks);
    const ctx = Context.create(model, { ctx: 512, threads: 1, flashAttn: "on" });
    try {
      const b = ctx.batch.clear();
      for (let i = 0; i < toks.length; i++) b.add(toks[i], i, 0, true);
      ctx.decode(b);
      const ref = ctx.logits();
      expect(ref.length).toBe(ours.length);
      let maxDiff = 0;
      let maxAbs = 0;
      for (let i = 0; i < ref.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(ours[i] - ref[i]));
        maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
      }
      expect(maxAbs).toBeGreaterThan(0.5); // the logits are not trivially zero
      expect(maxDiff).toBeLessThan(1e-2);
      // greedy picks agree wherever the top-2 gap is clear
      const V = ctx.nVocab;
      for (let r = 0; r < toks.length; r++) {
        const a = ours.subarray(r * V, (r + 1) * V);
        const c = ref.subarray(r * V, (r + 1) * V);
        const top = (x: Float32Array) => x.indexOf(Math.max(...x));
        const sorted = Array.from(c).sort((x, y) => y - x);
        if (sorted[0] - sorted[1] > 0.02) expect(top(a)).toBe(top(c));
      }
    } finally {
      ctx.free();
    }
  });

  it("gives the same scores when a graph is reused after a larger one moved the compute buffer", () => {
    const s = Scorer.load(modelPath, { device: "cpu", threads: 1, chunk: 32 });
    try {
      const short = prompt(70, 11);
      const before = s.score(short).importance;
      s.score(prompt(250, 12)); // larger graphs: the scheduler's buffer grows
      const after = s.score(short).importance;
      expect(Array.from(after)).toEqual(Array.from(before));
    } finally {
      s.free();
    }
  });

  it("builds each graph shape once per prompt", () => {
    scorer.score(prompt(200, 3));
    const n = scorer.graphCount;
    scorer.score(prompt(200, 4));
    scorer.score(prompt(180, 5));
    expect(scorer.graphCount).toBe(n);
  });

  it("scores a prompt the same after other prompts of other lengths", () => {
    const a = prompt(200, 6);
    const first = scorer.score(a).importance.slice();
    scorer.score(prompt(120, 7));
    scorer.score(prompt(260, 8));
    expect(Array.from(scorer.score(a).importance)).toEqual(Array.from(first));
  });
});

/** Slow reference: softmax of the queries over causal keys, 13-wide mean, max over heads and layers,
 *  mean over queries. q: [nq][H][d], k: [n][Hk][d] per layer. */
function referenceImportance(qs: Float32Array[], ks: Float32Array[], n: number, nq: number, H: number, Hk: number, d: number): Float64Array {
  const best = Array.from({ length: nq }, () => new Float64Array(n).fill(-Infinity));
  const scale = 1 / Math.sqrt(d);
  for (let l = 0; l < qs.length; l++) {
    for (let i = 0; i < nq; i++) {
      const posI = n - nq + i;
      for (let h = 0; h < H; h++) {
        const kh = Math.floor(h / (H / Hk));
        const s = new Float64Array(n);
        let mx = -Infinity;
        for (let j = 0; j <= posI; j++) {
          let dot = 0;
          for (let x = 0; x < d; x++) dot += qs[l][(i * H + h) * d + x] * ks[l][(j * Hk + kh) * d + x];
          s[j] = dot * scale;
          mx = Math.max(mx, s[j]);
        }
        let z = 0;
        for (let j = 0; j <= posI; j++) z += Math.exp(s[j] - mx);
        const p = new Float64Array(n);
        for (let j = 0; j <= posI; j++) p[j] = Math.exp(s[j] - mx) / z;
        for (let j = 0; j < n; j++) {
          let w = 0;
          for (let t = j - 6; t <= j + 6; t++) if (t >= 0 && t < n) w += p[t];
          best[i][j] = Math.max(best[i][j], w / 13);
        }
      }
    }
  }
  const out = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < nq; i++) out[j] += best[i][j];
    out[j] /= nq;
  }
  return out;
}

describe("scoring graph", () => {
  for (const n of [150, 64, 5]) {
    it(`equals the TypeScript reference from captured Q/K (${n} tokens)`, () => {
      const toks = prompt(n, n);
      const r = scorer.scoreCaptured(toks);
      const { heads: H, kvHeads: Hk, headDim: d, layers } = scorer.info;
      const nq = Math.min(8, n);
      expect(r.q.length).toBe(layers);
      expect(r.k[0].length).toBe(n * Hk * d);
      expect(r.importance.length).toBe(n);
      const ref = referenceImportance(r.q, r.k, n, nq, H, Hk, d);
      const peak = Math.max(...ref);
      expect(peak).toBeGreaterThan(0);
      for (let j = 0; j < n; j++) expect(Math.abs(r.importance[j] - ref[j])).toBeLessThan(2e-3 * peak + 1e-7);
      // not flat once the prompt is longer than the window: the scores tell positions apart (a prompt
      // inside one window pools every query's whole probability mass: 1/13 everywhere)
      if (n > 13) expect(Math.max(...r.importance)).toBeGreaterThan(1.5 * Math.min(...r.importance));
      else for (const v of r.importance) expect(v).toBeCloseTo(1 / 13, 5);
    });
  }
});

describe("scorer files", () => {
  it("refuses missing, non-GGUF, truncated and non-qwen3 files with a UserError", async () => {
    expect(() => Scorer.load(path.join(testModelDir, "missing.gguf"), { device: "cpu" })).toThrow(UserError);
    const junk = path.join(testModelDir, "junk.gguf");
    writeFileSync(junk, "not a model at all");
    expect(() => Scorer.load(junk, { device: "cpu" })).toThrow(/not a GGUF/);
    const { readFileSync } = await import("node:fs");
    const whole = readFileSync(modelPath);
    const cut = path.join(testModelDir, "cut.gguf");
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    expect(() => Scorer.load(cut, { device: "cpu" })).toThrow(UserError);
    const drafter = await tinyDrafterPath();
    expect(() => Scorer.load(drafter, { device: "cpu" })).toThrow(/architecture "dflash"/);
  });
});
