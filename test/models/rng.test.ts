// Seeded weights: f16 conversion, generator determinism, the normal table's spread, and the
// chunking of large tensors (rotated blocks) against small ones (fully random).
import { describe, expect, it } from "vitest";
import {
  constantTensorData, f16ToF32, f32ToF16, hashString, normalQuantile, normalTableF16, randomTensorData, Xoshiro128,
} from "../../src/models/rng.js";

function concat(chunks: Iterable<Uint8Array>): Uint8Array {
  const parts = Array.from(chunks, (c) => c.slice());
  const out = new Uint8Array(parts.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

describe("f16", () => {
  it("converts exact values, rounds to nearest even, saturates and keeps NaN", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.5, 0x3800], [65504, 0x7bff],
      [65520, 0x7c00], [1e9, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -14, 0x0400],
      [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02], [2 ** -26, 0x0000],
    ];
    for (const [x, h] of cases) expect(f32ToF16(x), String(x)).toBe(h);
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00);
    expect(f32ToF16(NaN) & 0x3ff).not.toBe(0);
  });

  it("round-trips every finite half", () => {
    const bad: number[] = [];
    for (let h = 0; h < 0x10000; h++) {
      if ((h & 0x7c00) !== 0x7c00 && f32ToF16(f16ToF32(h)) !== h) bad.push(h);
    }
    expect(bad).toEqual([]);
  });
});

describe("Xoshiro128", () => {
  it("is deterministic per (seed, stream) and differs across them", () => {
    const seq = (seed: number, stream: number) => {
      const r = new Xoshiro128(seed, stream);
      return Array.from({ length: 8 }, () => r.nextU32());
    };
    expect(seq(1, 0)).toEqual(seq(1, 0));
    expect(seq(1, 0)).not.toEqual(seq(2, 0));
    expect(seq(1, 0)).not.toEqual(seq(1, 1));
    for (const v of seq(7, 3)) expect(v >>> 0).toBe(v);
  });

  it("fillFromTable matches the scalar generator", () => {
    const table = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const a = new Xoshiro128(5, 9);
    const b = new Xoshiro128(5, 9);
    const out = a.fillFromTable(new Uint16Array(11), table);
    const want: number[] = [];
    for (let i = 0; i < 10; i += 2) {
      const r = b.nextU32();
      want.push(r & 0xffff, r >>> 16);
    }
    want.push(b.nextU32() & 0xffff);
    expect(Array.from(out)).toEqual(want);
    expect(a.nextU32()).toBe(b.nextU32());
  });
});

describe("normal weights", () => {
  it("has the quantiles of a standard normal", () => {
    expect(normalQuantile(0.5)).toBeCloseTo(0, 9);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
  });

  it("fills tensors with mean ~0 and the requested std, deterministically", () => {
    const std = 0.05;
    const gen = () => concat(randomTensorData({ type: "f32", count: 200_000, std, seed: 3, stream: hashString("w") }));
    const bytes = gen();
    expect(Buffer.compare(Buffer.from(bytes), Buffer.from(gen()))).toBe(0);
    const x = new Float32Array(bytes.buffer);
    let s = 0;
    let s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    const mean = s / x.length;
    expect(Math.abs(mean)).toBeLessThan(std * 0.02);
    expect(Math.sqrt(s2 / x.length - mean * mean)).toBeCloseTo(std, 3);
    expect(new Set(x).size).toBeGreaterThan(30_000);
  });

  it("keeps the table in f16 range for the std we use", () => {
    const t = normalTableF16(1 / Math.sqrt(64));
    expect(t.filter((h) => (h & 0x7c00) === 0x7c00).length).toBe(0);
  });

  it("builds large tensors from rotated random blocks: right size, rows differ", () => {
    const count = 10_000;
    const chunks = Array.from(
      randomTensorData({ type: "f16", count, std: 1, seed: 1, stream: 2, chunkElems: 1024, fullRandomLimit: 1000 }),
      (c) => c.slice(),
    );
    const all = concat(chunks);
    expect(all.length).toBe(count * 2);
    const x = new Uint16Array(all.buffer);
    // consecutive 1024-element chunks are different rotations of one block
    const c0 = Array.from(x.subarray(0, 1024));
    const c1 = Array.from(x.subarray(1024, 2048));
    expect(c0).not.toEqual(c1);
    expect([...c0].sort()).toEqual([...c1].sort());
  });

  it("fully random tensors do not repeat a block", () => {
    const x = new Uint16Array(concat(randomTensorData({ type: "f16", count: 4096, std: 1, seed: 1, stream: 2, chunkElems: 1024 })).buffer);
    expect([...x.subarray(0, 1024)].sort()).not.toEqual([...x.subarray(1024, 2048)].sort());
  });

  it("writes constant tensors (norm weights)", () => {
    const f32 = new Float32Array(concat(constantTensorData("f32", 5, 1)).buffer);
    expect(Array.from(f32)).toEqual([1, 1, 1, 1, 1]);
    const f16 = new Uint16Array(concat(constantTensorData("f16", 3, 1)).buffer);
    expect(Array.from(f16)).toEqual([0x3c00, 0x3c00, 0x3c00]);
  });
});
