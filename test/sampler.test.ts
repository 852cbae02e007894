import { describe, expect, it } from "vitest";
import { Sampler, argmax, type SamplerOptions } from "../src/engine/sampler.js";
import { Rng } from "../src/engine/rng.js";

// Everything off except what a test turns on, so each stage is observed in isolation
const PLAIN: SamplerOptions = { temperature: 1, topK: 0, topP: 1, minP: 0, seed: 1 };

function randomLogits(rng: Rng, n: number, scale = 4): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = (rng.nextFloat() * 2 - 1) * scale;
  return a;
}

/** distribution() as a Map id -> prob, independent of candidate order */
function distMap(s: Sampler, logits: Float32Array): Map<number, number> {
  const n = s.distribution(logits);
  const m = new Map<number, number>();
  for (let i = 0; i < n; i++) m.set(s.candidateIds[i], s.candidateProbs[i]);
  return m;
}

function softmax(l: ArrayLike<number>, t = 1): number[] {
  let max = -Infinity;
  for (let i = 0; i < l.length; i++) max = Math.max(max, l[i]);
  const e = Array.from(l, (v) => Math.exp((v - max) / t));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** reference order: logit descending, id ascending on ties */
function rankedIds(l: Float32Array): number[] {
  return Array.from(l.keys()).sort((a, b) => l[b] - l[a] || a - b);
}

describe("argmax", () => {
  it("returns the first index of the max and skips NaN", () => {
    expect(argmax(Float32Array.from([1, 5, 3, 5]))).toBe(1);
    expect(argmax(Float32Array.from([NaN, -2, NaN, -1, -1]))).toBe(3);
    expect(argmax(Float32Array.from([NaN, NaN]))).toBe(0);
    expect(argmax(Float32Array.from([-Infinity, -Infinity]))).toBe(0);
    expect(argmax(new Float32Array(0))).toBe(-1);
    expect(argmax(Float32Array.from([-Infinity, NaN, -Infinity]))).toBe(0);
    expect(argmax(Float32Array.from([NaN, -Infinity, 2, 7, 7, 1, 7]))).toBe(3);
  });

  it("equals a plain first-maximum scan on random rows with ties, NaN and infinities", () => {
    const rng = new Rng(5);
    const reference = (l: Float32Array) => {
      let b = -1;
      for (let j = 0; j < l.length; j++) if (!Number.isNaN(l[j]) && (b < 0 || l[j] > l[b])) b = j;
      return l.length === 0 ? -1 : Math.max(b, 0);
    };
    for (let t = 0; t < 2000; t++) {
      const n = 1 + Math.floor(rng.nextFloat() * 23);
      // few distinct values, so ties across lanes are common
      const l = Float32Array.from({ length: n }, () => {
        const u = rng.nextFloat();
        return u < 0.1 ? NaN : u < 0.15 ? -Infinity : u < 0.17 ? Infinity : Math.floor(rng.nextFloat() * 4);
      });
      expect(argmax(l), Array.from(l).join(",")).toBe(reference(l));
    }
  });
});

describe("Rng", () => {
  it("is deterministic per seed, in range, and roughly uniform", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    let same = 0;
    let mismatched = 0;
    let outOfRange = 0;
    let sum = 0;
    for (let i = 0; i < 10000; i++) {
      const x = a.nextFloat();
      if (x !== b.nextFloat()) mismatched++;
      if (x === c.nextFloat()) same++;
      if (!(x >= 0 && x < 1)) outOfRange++;
      sum += x;
      const u = a.nextUint32();
      if (!(Number.isInteger(u) && u >= 0 && u < 2 ** 32)) outOfRange++;
      if (u !== b.nextUint32()) mismatched++;
      c.nextUint32();
    }
    expect([mismatched, outOfRange, same]).toEqual([0, 0, 0]);
    expect(Math.abs(sum / 10000 - 0.5)).toBeLessThan(0.02);
    // seeds differing only above bit 32 give different streams
    expect(new Rng(2 ** 40).nextUint32()).not.toBe(new Rng(0).nextUint32());
  });
});

describe("Sampler greedy", () => {
  it("temperature <= 0 is argmax, ties take the lowest id", () => {
    const rng = new Rng(7);
    for (const temperature of [0, -1]) {
      const s = new Sampler(1000, { temperature, seed: 3 });
      for (let t = 0; t < 20; t++) {
        const l = randomLogits(rng, 1000);
        expect(s.sample(l)).toBe(argmax(l));
      }
      expect(s.sample(new Float32Array(1000).fill(2))).toBe(0);
      const tie = new Float32Array(1000);
      tie[500] = 9;
      tie[700] = 9;
      expect(s.sample(tie)).toBe(500);
      const n = s.distribution(tie);
      expect([n, s.candidateIds[0], s.candidateProbs[0]]).toEqual([1, 500, 1]);
    }
  });

  it("top-k = 1 at T > 0 equals greedy, ties included", () => {
    const rng = new Rng(8);
    const s = new Sampler(3000, { temperature: 1.5, topK: 1, seed: 5 });
    for (let t = 0; t < 50; t++) {
      const l = randomLogits(rng, 3000);
      if (t % 5 === 0) l[argmax(l) + 1] = l[argmax(l)]; // plant a tie after the max
      expect(s.sample(l)).toBe(argmax(l));
    }
  });

  it("penalties apply before greedy", () => {
    const s = new Sampler(3, { temperature: 0, repeatPenalty: 2 });
    const l = Float32Array.from([3, 2, 0]);
    expect(s.sample(l)).toBe(0);
    s.accept(0); // 3 / 2 = 1.5 < 2
    expect(s.sample(l)).toBe(1);
  });
});

describe("Sampler seeding", () => {
  const opts: SamplerOptions = { temperature: 1.2, topK: 0, topP: 1, minP: 0 };
  function run(s: Sampler, steps: number): number[] {
    const rng = new Rng(99); // same logits sequence every run
    const out: number[] = [];
    for (let i = 0; i < steps; i++) {
      const tok = s.sample(randomLogits(rng, 200, 2));
      s.accept(tok);
      out.push(tok);
    }
    return out;
  }

  it("same seed reproduces across instances and after reset()", () => {
    const a = new Sampler(200, { ...opts, seed: 1234, repeatPenalty: 1.1 });
    const b = new Sampler(200, { ...opts, seed: 1234, repeatPenalty: 1.1 });
    const first = run(a, 300);
    expect(run(b, 300)).toEqual(first);
    a.reset();
    expect(run(a, 300)).toEqual(first);
  });

  it("different seeds differ", () => {
    const a = run(new Sampler(200, { ...opts, seed: 1 }), 300);
    const b = run(new Sampler(200, { ...opts, seed: 2 }), 300);
    expect(a).not.toEqual(b);
  });

  it("an omitted seed is resolved into options.seed so a run can be replayed", () => {
    const a = new Sampler(200, opts);
    expect(Number.isSafeInteger(a.options.seed)).toBe(true);
    const b = new Sampler(200, { ...opts, seed: a.options.seed });
    expect(run(b, 100)).toEqual(run(a, 100));
  });

  it("sample() == drawFromDistribution(distribution()) on the same stream", () => {
    const o = { temperature: 0.9, topK: 50, topP: 0.9, minP: 0.02, seed: 77 };
    const a = new Sampler(500, o);
    const b = new Sampler(500, o);
    const rng = new Rng(5);
    for (let i = 0; i < 200; i++) {
      const l = randomLogits(rng, 500);
      expect(b.drawFromDistribution(b.distribution(l))).toBe(a.sample(l));
    }
  });
});

describe("Sampler filters", () => {
  it("top-k restricts support to the k best tokens", () => {
    const l = randomLogits(new Rng(11), 50, 1);
    const top5 = new Set(rankedIds(l).slice(0, 5));
    const s = new Sampler(50, { ...PLAIN, topK: 5, temperature: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) seen.add(s.sample(l));
    expect(seen).toEqual(top5);
  });

  it("top-k selection matches a full sort on a large vocab with ties", () => {
    const rng = new Rng(12);
    const V = 20000;
    const l = new Float32Array(V);
    for (let i = 0; i < V; i++) l[i] = Math.floor(rng.nextFloat() * 300) / 10; // many ties
    for (const k of [1, 40, 257, 5000]) {
      const s = new Sampler(V, { ...PLAIN, topK: k });
      const n = s.distribution(l);
      expect(n).toBe(k);
      expect(Array.from(s.candidateIds.subarray(0, n))).toEqual(rankedIds(l).slice(0, k));
    }
  });

  it("top-p keeps the smallest prefix with cumulative prob >= p", () => {
    const p = [0.5, 0.25, 0.15, 0.07, 0.03];
    const l = Float32Array.from(p, Math.log);
    const keep = (topP: number, topK = 0) => {
      const m = distMap(new Sampler(5, { ...PLAIN, topP, topK }), l);
      return [...m.keys()].sort();
    };
    expect(keep(0.45)).toEqual([0]);
    expect(keep(0.7)).toEqual([0, 1]);
    expect(keep(0.8)).toEqual([0, 1, 2]);
    expect(keep(0.95)).toEqual([0, 1, 2, 3]);
    expect(keep(0.99)).toEqual([0, 1, 2, 3, 4]);
    // with top-k first, top-p sees the softmax of the 3 survivors: 0.5/0.9 = 0.556
    expect(keep(0.55, 3)).toEqual([0]);
    expect(keep(0.6, 3)).toEqual([0, 1]);
    const m = distMap(new Sampler(5, { ...PLAIN, topP: 0.7 }), l);
    expect(m.get(0)).toBeCloseTo(2 / 3, 6);
    expect(m.get(1)).toBeCloseTo(1 / 3, 6);
  });

  it("top-p without top-k selects the exact nucleus on a large vocab, ties to lower ids", () => {
    const rng = new Rng(13);
    const V = 30000;
    const flat = randomLogits(rng, V, 0.5); // p = 0.9 needs most of the vocab
    const tied = new Float32Array(V);
    for (let i = 0; i < V; i++) tied[i] = Math.floor(rng.nextFloat() * 8) / 2; // 8 levels
    const peaked = randomLogits(rng, V, 12);
    for (const l of [flat, tied, peaked]) {
      const ranked = rankedIds(l);
      const probs = softmax(l);
      for (const topP of [0.001, 0.3, 0.6, 0.9, 0.999]) {
        let cum = 0;
        let want = V;
        for (let i = 0; i < V; i++) {
          cum += probs[ranked[i]];
          if (cum >= topP) {
            want = i + 1;
            break;
          }
        }
        const s = new Sampler(V, { ...PLAIN, topP });
        const n = s.distribution(l);
        // summation order differs from the reference, so allow one token at the cut
        expect(Math.abs(n - want)).toBeLessThanOrEqual(1);
        const got = Array.from(s.candidateIds.subarray(0, n)).sort((a, b) => a - b);
        expect(got).toEqual(ranked.slice(0, n).sort((a, b) => a - b));
      }
    }
  });

  it("min-p drops tokens below minP * pmax (sorted and unsorted paths)", () => {
    const p = [0.04, 0.5, 0.2, 0.03, 0.06, 0.17];
    const l = Float32Array.from(p, Math.log);
    for (const base of [PLAIN, { ...PLAIN, topK: 4 }, { ...PLAIN, topP: 0.999 }]) {
      const keys = (minP: number) => [...distMap(new Sampler(6, { ...base, minP }), l).keys()].sort();
      expect(keys(0.1)).toEqual([1, 2, 4, 5]); // threshold 0.05
      expect(keys(0.3)).toEqual([1, 2, 5]); // threshold 0.15
      expect(keys(1)).toEqual([1]);
    }
    const m = distMap(new Sampler(6, { ...PLAIN, minP: 0.3 }), l);
    expect(m.get(1)).toBeCloseTo(0.5 / 0.87, 6);
  });

  it("filters judge T=1 probabilities, temperature reshapes only the survivors", () => {
    const l = Float32Array.from([0.5, 0.25, 0.15, 0.1], Math.log);
    const m = distMap(new Sampler(4, { ...PLAIN, topP: 0.7, temperature: 0.5 }), l);
    // survivors {0, 1}; at T=0.5 their odds become (0.5/0.25)^2 = 4
    expect(m.size).toBe(2);
    expect(m.get(0)).toBeCloseTo(0.8, 6);
  });

  it("NaN logits are never sampled, +Inf logits always are", () => {
    const l = Float32Array.from([NaN, 0, NaN, 0.1]);
    const s = new Sampler(4, PLAIN);
    for (let i = 0; i < 500; i++) expect([1, 3]).toContain(s.sample(l));
    const inf = Float32Array.from([0, Infinity, 5, Infinity]);
    const m = distMap(new Sampler(4, PLAIN), inf);
    expect([m.get(1), m.get(3), m.get(0), m.get(2)]).toEqual([0.5, 0.5, 0, 0]);
  });
});

describe("Sampler vs a naive reference chain", () => {
  // Full sort + slices, exactly the llama.cpp chain written the obvious way
  function reference(l: Float32Array, o: Required<SamplerOptions>, history: number[]): Map<number, number> {
    const f = Math.fround;
    const w = Float32Array.from(l);
    const window = o.penaltyLastN < 0 ? history : history.slice(-o.penaltyLastN);
    const counts = new Map<number, number>();
    if (o.penaltyLastN !== 0) for (const t of window) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [id, c] of counts) {
      let v = w[id] <= 0 ? f(w[id] * f(o.repeatPenalty)) : f(w[id] / f(o.repeatPenalty));
      v = f(v - f(f(c * f(o.frequencyPenalty)) + f(o.presencePenalty)));
      w[id] = v;
    }
    let ids = rankedIds(w);
    if (o.topK > 0) ids = ids.slice(0, o.topK);
    if (o.topP < 1) {
      const p = softmax(ids.map((i) => w[i]));
      let cum = 0;
      let keep = ids.length;
      for (let i = 0; i < ids.length; i++) {
        cum += p[i];
        if (cum >= o.topP) {
          keep = i + 1;
          break;
        }
      }
      ids = ids.slice(0, keep);
    }
    if (o.minP > 0) ids = ids.filter((i) => w[i] >= w[ids[0]] + Math.log(o.minP));
    const p = softmax(ids.map((i) => w[i]), o.temperature);
    return new Map(ids.map((id, k) => [id, p[k]]));
  }

  it("matches on random logits, options and histories", () => {
    const rng = new Rng(31);
    const pick = <T>(xs: T[]): T => xs[rng.nextUint32() % xs.length];
    const V = 2000;
    for (let c = 0; c < 100; c++) {
      const opts: SamplerOptions = {
        temperature: pick([0.3, 1, 1.7]), topK: pick([0, 1, 40, 700, 5000]), topP: pick([1, 0.3, 0.9, 0.99]),
        minP: pick([0, 0.05, 0.3]), repeatPenalty: pick([1, 1.3]), frequencyPenalty: pick([0, 0.4]),
        presencePenalty: pick([0, -0.3, 0.6]), penaltyLastN: pick([-1, 0, 8, 64]), seed: c,
      };
      const s = new Sampler(V, opts);
      const history: number[] = [];
      for (let i = 0; i < 100; i++) {
        const t = rng.nextUint32() % 50; // small range so tokens repeat
        history.push(t);
        s.accept(t);
      }
      const l = randomLogits(rng, V, pick([0.5, 3, 10]));
      const got = distMap(s, l);
      const want = reference(l, s.options, history);
      expect([...got.keys()].sort((a, b) => a - b)).toEqual([...want.keys()].sort((a, b) => a - b));
      for (const [id, p] of want) expect(Math.abs(got.get(id)! - p)).toBeLessThan(1e-6);
    }
  });

  it("degenerate inputs stay finite: subnormal T, +Inf under top-p, all -Inf", () => {
    const tiny = distMap(new Sampler(3, { ...PLAIN, temperature: 1e-320 }), Float32Array.from([1, 2, 2]));
    expect([tiny.get(0), tiny.get(1), tiny.get(2)]).toEqual([0, 0.5, 0.5]);
    const inf = distMap(new Sampler(4, { ...PLAIN, topP: 0.9 }), Float32Array.from([0, Infinity, 5, Infinity]));
    expect([...inf.entries()].sort()).toEqual([[1, 0.5], [3, 0.5]]);
    const masked = new Float32Array(100).fill(-Infinity);
    const s = new Sampler(100, { ...PLAIN, topP: 0.5 });
    const n = s.distribution(masked);
    expect(n).toBe(50); // uniform limit; ties at the cut go to the lowest ids
    expect(Math.max(...s.candidateIds.subarray(0, n))).toBe(49);
    expect(s.sample(masked)).toBeLessThan(50);
  });
});

describe("Sampler temperature", () => {
  it("empirical frequencies match softmax(logits / T) (chi-square, 20k draws)", () => {
    const l = Float32Array.from([1, 0.5, 0, -0.5, -1.2]);
    const N = 20000;
    // chi-square critical value, 4 degrees of freedom, alpha = 0.001
    const CRITICAL = 18.467;
    for (const temperature of [0.7, 1.6]) {
      const s = new Sampler(5, { ...PLAIN, temperature, seed: 2024 });
      const expected = softmax(l, temperature);
      const dm = distMap(s, l);
      for (let i = 0; i < 5; i++) expect(dm.get(i)).toBeCloseTo(expected[i], 6);
      const counts = new Array<number>(5).fill(0);
      for (let i = 0; i < N; i++) counts[s.sample(l)]++;
      let chi2 = 0;
      for (let i = 0; i < 5; i++) chi2 += (counts[i] - N * expected[i]) ** 2 / (N * expected[i]);
      expect(chi2).toBeLessThan(CRITICAL);
    }
  });
});

describe("Sampler penalties", () => {
  // llama_sampler_penalties_apply in float32, step by step
  function llamaPenalty(l: number, count: number, rep: number, freq: number, pres: number): number {
    const f = Math.fround;
    let v = l <= 0 ? f(f(l) * f(rep)) : f(f(l) / f(rep));
    v = f(v - f(f(count * f(freq)) + f(pres)));
    return v;
  }

  /** logits implied by distribution() at T=1 with no filters, shifted so token `ref` matches */
  function impliedLogits(s: Sampler, l: Float32Array, ref: number): number[] {
    const m = distMap(s, l);
    const base = Math.log(m.get(ref)!) - l[ref];
    return Array.from(l, (_, i) => Math.log(m.get(i)!) - base);
  }

  it("repeat/frequency/presence change logits exactly as llama.cpp", () => {
    const l = Float32Array.from([2, -1, 0.5, 3, -2, 0, 1.7]);
    const rep = 1.3, freq = 0.2, pres = 0.5;
    const s = new Sampler(7, { ...PLAIN, repeatPenalty: rep, frequencyPenalty: freq, presencePenalty: pres });
    for (const t of [0, 1, 1, 3, 3, 3, 5]) s.accept(t);
    const counts = [1, 2, 0, 3, 0, 1, 0];
    const want = Array.from(l, (v, i) => (counts[i] ? llamaPenalty(v, counts[i], rep, freq, pres) : v));
    const got = impliedLogits(s, l, 6);
    for (let i = 0; i < 7; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    // spot-check the formulas by hand: positive divides, negative (and zero) multiplies
    expect(want[0]).toBeCloseTo(2 / 1.3 - 0.2 - 0.5, 6);
    expect(want[1]).toBeCloseTo(-1 * 1.3 - 0.4 - 0.5, 6);
    expect(want[5]).toBeCloseTo(0 - 0.2 - 0.5, 6);
  });

  it("each penalty alone", () => {
    const l = Float32Array.from([2, -1, 1]);
    const check = (o: SamplerOptions, want: number[]) => {
      const s = new Sampler(3, { ...PLAIN, ...o });
      s.accept(0);
      s.accept(1);
      s.accept(1);
      const got = impliedLogits(s, l, 2);
      for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(want[i], 5);
    };
    check({ repeatPenalty: 2 }, [1, -2, 1]);
    check({ frequencyPenalty: 0.25 }, [1.75, -1.5, 1]);
    check({ presencePenalty: 0.25 }, [1.75, -1.25, 1]);
    check({ frequencyPenalty: -0.5 }, [2.5, 0, 1]); // negative encourages repetition
  });

  it("penaltyLastN bounds the window; -1 is whole history; 0 disables", () => {
    const l = new Float32Array(10);
    const penalized = (o: SamplerOptions, tokens: number[]) => {
      const s = new Sampler(10, { ...PLAIN, frequencyPenalty: 1, ...o });
      for (const t of tokens) s.accept(t);
      return impliedLogits(s, l, 9).map((v) => Math.round(-v * 1000) / 1000 + 0); // + 0 folds -0
    };
    expect(penalized({ penaltyLastN: 2 }, [0, 1, 2]).slice(0, 3)).toEqual([0, 1, 1]);
    expect(penalized({ penaltyLastN: 3 }, [0, 1, 0, 0]).slice(0, 2)).toEqual([2, 1]);
    expect(penalized({ penaltyLastN: -1 }, [0, 1, 2, 0]).slice(0, 3)).toEqual([2, 1, 1]);
    expect(penalized({ penaltyLastN: 0 }, [0, 1, 2]).slice(0, 3)).toEqual([0, 0, 0]);
  });

  it("a window larger than the initial ring capacity slides correctly", () => {
    const l = new Float32Array(10);
    const s = new Sampler(10, { ...PLAIN, frequencyPenalty: 0.001, penaltyLastN: 3000 });
    for (let i = 0; i < 2500; i++) s.accept(0);
    for (let i = 0; i < 2500; i++) s.accept(1);
    s.accept(2);
    const got = impliedLogits(s, l, 9);
    expect(got[0]).toBeCloseTo(-0.499, 4); // 499 zeros left in the last 3000
    expect(got[1]).toBeCloseTo(-2.5, 4);
    expect(got[2]).toBeCloseTo(-0.001, 4);
  });

  it("reset() clears the history", () => {
    const l = Float32Array.from([1, 1]);
    const s = new Sampler(2, { ...PLAIN, presencePenalty: 5 });
    s.accept(0);
    expect(distMap(s, l).get(0)!).toBeLessThan(0.01);
    s.reset();
    expect(distMap(s, l).get(0)!).toBeCloseTo(0.5, 6);
  });
});

describe("Sampler contracts", () => {
  it("never modifies the logits input", () => {
    const rng = new Rng(21);
    const l = randomLogits(rng, 4000);
    l[5] = NaN;
    l[6] = -Infinity;
    const before = Float32Array.from(l);
    const s = new Sampler(4000, { temperature: 0.8, repeatPenalty: 1.5, frequencyPenalty: 0.3, presencePenalty: 0.2, seed: 4 });
    for (let i = 0; i < 100; i++) s.accept(i * 7);
    for (let i = 0; i < 20; i++) s.accept(s.sample(l));
    s.distribution(l);
    new Sampler(4000, { temperature: 0, repeatPenalty: 2 }).sample(l);
    for (let i = 0; i < l.length; i++) expect(Object.is(l[i], before[i])).toBe(true);
  });

  it("distribution() probabilities sum to 1 under many configurations", () => {
    const rng = new Rng(22);
    const configs: SamplerOptions[] = [
      {},
      PLAIN,
      { topK: 0, topP: 0.9, minP: 0 },
      { topK: 0, topP: 1, minP: 0.1 },
      { topK: 10, topP: 0.5, minP: 0.2, temperature: 0.3 },
      { topK: 100000, temperature: 2 },
      { temperature: 0 },
    ];
    for (const o of configs) {
      const s = new Sampler(2000, { seed: 1, ...o });
      for (let t = 0; t < 5; t++) {
        const n = s.distribution(randomLogits(rng, 2000, 6));
        expect(n).toBeGreaterThanOrEqual(1);
        let sum = 0;
        for (let i = 0; i < n; i++) sum += s.candidateProbs[i];
        expect(sum).toBeCloseTo(1, 5);
      }
    }
  });

  it("drawFromDistribution honors caller-written weights and never picks zero weight", () => {
    const s = new Sampler(4, PLAIN);
    const n = s.distribution(Float32Array.from([0, 0, 0, 0]));
    expect(n).toBe(4);
    s.candidateProbs.set([0, 3, 0, 1]); // unnormalized residual, as speculative decoding may write
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[s.drawFromDistribution(n)]++;
    expect(counts[0] + counts[2]).toBe(0);
    expect(counts[1] / 4000).toBeCloseTo(0.75, 1);
    expect(() => s.drawFromDistribution(0)).toThrow(RangeError);
    expect(() => s.drawFromDistribution(5)).toThrow(RangeError);
  });

  it("exposes resolved, frozen options with llama.cpp-like defaults", () => {
    const s = new Sampler(10, { seed: 9 });
    expect(s.options).toEqual({
      temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05,
      repeatPenalty: 1, frequencyPenalty: 0, presencePenalty: 0, penaltyLastN: 64, seed: 9,
    });
    expect(Object.isFrozen(s.options)).toBe(true);
  });

  it("invalid options throw RangeError naming the option", () => {
    const bad: [keyof SamplerOptions, unknown][] = [
      ["temperature", NaN], ["temperature", Infinity],
      ["topK", 1.5], ["topK", NaN],
      ["topP", 0], ["topP", 1.01], ["topP", -0.1], ["topP", NaN],
      ["minP", -0.01], ["minP", 1.5], ["minP", NaN],
      ["repeatPenalty", 0], ["repeatPenalty", -1], ["repeatPenalty", NaN],
      ["frequencyPenalty", NaN], ["presencePenalty", Infinity],
      ["penaltyLastN", -2], ["penaltyLastN", 3.5],
      ["seed", 1.5], ["seed", NaN],
      ["topK", "40"],
    ];
    for (const [name, value] of bad) {
      expect(() => new Sampler(10, { [name]: value } as SamplerOptions)).toThrow(RangeError);
      expect(() => new Sampler(10, { [name]: value } as SamplerOptions)).toThrow(`"${name}"`);
    }
    expect(() => new Sampler(0)).toThrow(RangeError);
    expect(() => new Sampler(10.5)).toThrow(RangeError);
  });

  it("rejects wrong logits length and out-of-range tokens", () => {
    const s = new Sampler(10, { seed: 1 });
    expect(() => s.sample(new Float32Array(9))).toThrow(RangeError);
    expect(() => s.distribution(new Float32Array(11))).toThrow(RangeError);
    expect(() => s.accept(10)).toThrow(RangeError);
    expect(() => s.accept(-1)).toThrow(RangeError);
    expect(() => s.accept(1.5)).toThrow(RangeError);
  });
});
