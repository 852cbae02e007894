// Seeded random weights for test models.
//
// Values come from a 65536-entry table of normal quantiles (already converted to the output
// type), indexed by 16 random bits: one xoshiro128** step yields two weights with no float math
// or f32->f16 conversion in the hot loop. Large tensors are built from one fully random block
// per tensor, emitted at a fresh random rotation per chunk: rows stay distinct and the cost is a
// memcpy, which is what makes real-shape (8B, 32B) files fast to write. Timing does not depend
// on the weight values, and small tensors (every tensor of a tiny model) stay fully random.

/** splitmix32: seeds and hashes 32-bit state. */
export function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  let z = x;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a of a string, to give every tensor its own stream derived from (seed, name). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export class Xoshiro128 {
  s = new Uint32Array(4);

  constructor(seed: number, stream = 0) {
    let x = splitmix32((seed >>> 0) ^ Math.imul(stream >>> 0, 0x9e3779b1));
    for (let i = 0; i < 4; i++) {
      x = splitmix32(x + i);
      this.s[i] = x;
    }
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  nextU32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** uniform in [0, 1) */
  nextFloat(): number {
    return this.nextU32() / 4294967296;
  }

  /** uniform integer in [0, n) for n <= 2^32 */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /**
   * out[i] = table[16 random bits]; the generator is inlined so this runs at a few hundred
   * million values per second.
   */
  fillFromTable<T extends Uint16Array | Float32Array>(out: T, table: Uint16Array | Float32Array): T {
    let s0 = this.s[0] | 0, s1 = this.s[1] | 0, s2 = this.s[2] | 0, s3 = this.s[3] | 0;
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const m = Math.imul(s1, 5);
      const r = Math.imul((m << 7) | (m >>> 25), 9);
      const t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t;
      s3 = (s3 << 11) | (s3 >>> 21);
      out[i] = table[r & 0xffff];
      out[i + 1] = table[r >>> 16];
    }
    this.s[0] = s0; this.s[1] = s1; this.s[2] = s2; this.s[3] = s3;
    if (i < n) out[i] = table[this.nextU32() & 0xffff];
    return out;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);

/** IEEE binary16 bits of x, round-to-nearest-even, with subnormals, inf and NaN. */
export function f32ToF16(x: number): number {
  f32buf[0] = x;
  const b = u32buf[0];
  const sign = (b >>> 16) & 0x8000;
  const exp = (b >>> 23) & 0xff;
  let mant = b & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    let v = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    if (rem > half || (rem === half && (v & 1))) v++;
    return sign | v;
  }
  let v = mant >>> 13;
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (v & 1))) {
    v++;
    if (v === 0x400) {
      v = 0;
      e++;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | v;
}

export function f16ToF32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Inverse standard normal CDF (Acklam's rational approximation, rel. error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pl) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

let unitQuantiles: Float64Array | undefined;
function quantiles(): Float64Array {
  if (!unitQuantiles) {
    unitQuantiles = new Float64Array(65536);
    for (let i = 0; i < 65536; i++) unitQuantiles[i] = normalQuantile((i + 0.5) / 65536);
  }
  return unitQuantiles;
}

export function normalTableF32(std: number): Float32Array {
  const q = quantiles();
  const t = new Float32Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = q[i] * std;
  return t;
}

export function normalTableF16(std: number): Uint16Array {
  const q = quantiles();
  const t = new Uint16Array(65536);
  for (let i = 0; i < 65536; i++) t[i] = f32ToF16(q[i] * std);
  return t;
}

export type WeightType = "f16" | "f32";

export interface RandomTensorOptions {
  type: WeightType;
  /** number of elements */
  count: number;
  std: number;
  seed: number;
  /** per-tensor stream id, e.g. hashString(name) */
  stream: number;
  /** elements per yielded chunk and per random block (default 1 Mi) */
  chunkElems?: number;
  /**
   * tensors up to this many elements are fully random; above it, chunks are rotations of one
   * random block (default 4 Mi elements; Infinity makes everything fully random)
   */
  fullRandomLimit?: number;
}

/** Yields the tensor's bytes; the yielded views are reused, so consume each before resuming. */
export function* randomTensorData(o: RandomTensorOptions): Generator<Uint8Array> {
  const chunkElems = Math.max(2, Math.min(o.chunkElems ?? 1 << 20, o.count));
  const rng = new Xoshiro128(o.seed, o.stream);
  const table = o.type === "f16" ? normalTableF16(o.std) : normalTableF32(o.std);
  const block = o.type === "f16" ? new Uint16Array(chunkElems) : new Float32Array(chunkElems);
  const elemBytes = block.BYTES_PER_ELEMENT;
  const bytesOf = (a: Uint16Array | Float32Array, from: number, to: number) =>
    new Uint8Array(a.buffer, a.byteOffset + from * elemBytes, (to - from) * elemBytes);

  if (o.count <= (o.fullRandomLimit ?? 4 << 20)) {
    for (let done = 0; done < o.count; ) {
      const n = Math.min(chunkElems, o.count - done);
      const view = block.subarray(0, n);
      rng.fillFromTable(view, table);
      yield bytesOf(view, 0, n);
      done += n;
    }
    return;
  }

  rng.fillFromTable(block, table);
  for (let done = 0; done < o.count; ) {
    const n = Math.min(chunkElems, o.count - done);
    const rot = rng.nextInt(chunkElems);
    // block[rot..] then block[..rot], cut to n elements
    const first = Math.min(n, chunkElems - rot);
    yield bytesOf(block, rot, rot + first);
    if (first < n) yield bytesOf(block, 0, n - first);
    done += n;
  }
}

/** A tensor filled with one value (norm weights = 1.0). */
export function* constantTensorData(type: WeightType, count: number, value: number): Generator<Uint8Array> {
  const chunkElems = Math.min(count, 1 << 20);
  const block = type === "f16" ? new Uint16Array(chunkElems).fill(f32ToF16(value)) : new Float32Array(chunkElems).fill(value);
  for (let done = 0; done < count; ) {
    const n = Math.min(chunkElems, count - done);
    yield new Uint8Array(block.buffer, 0, n * block.BYTES_PER_ELEMENT);
    done += n;
  }
}
