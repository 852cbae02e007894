// Seeded PRNG for sampling: xoshiro128** (Blackman & Vigna), state seeded through
// splitmix32-style hashing so that nearby seeds (0, 1, 2, ...) give unrelated streams.
//
// Not std::mt19937, so a given seed does NOT reproduce llama.cpp's token stream;
// what we guarantee is same seed + same logits => same tokens within flint.
//
// State lives in a Uint32Array rather than number fields: uint32 values above 2^30
// are not V8 small integers, and typed-array slots keep them unboxed, so a call
// never allocates.

const TWO_POW_26 = 67108864;
const TWO_POW_53_INV = 1 / 9007199254740992;
const TWO_POW_32 = 4294967296;

export class Rng {
  private readonly s = new Uint32Array(4);

  constructor(seed: number) {
    this.reseed(seed);
  }

  /** Restarts the stream from `seed` (any safe integer; both 32-bit halves count). */
  reseed(seed: number): void {
    if (!Number.isSafeInteger(seed)) {
      throw new RangeError(`Rng: seed must be a safe integer, got ${seed}`);
    }
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    // Every state word mixes both halves: the first xoshiro128** output reads only s[1],
    // so seeding some words from lo and others from hi would make seeds that differ
    // only above bit 32 start with the same output.
    let a = lo;
    let b = (hi ^ 0x85ebca6b) | 0;
    for (let k = 0; k < 4; k++) {
      a = (a + 0x9e3779b9) | 0;
      b = (b + 0x9e3779b9) | 0;
      this.s[k] = mix32(a) ^ rotl(mix32(b), 16);
    }
    // xoshiro's only fixed point is the all-zero state
    if ((this.s[0] | this.s[1] | this.s[2] | this.s[3]) === 0) this.s[0] = 1;
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    const s = this.s;
    const s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3];
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    const n2 = s2 ^ s0;
    const n3 = s3 ^ s1;
    s[0] = s0 ^ n3;
    s[1] = s1 ^ n2;
    s[2] = n2 ^ t;
    s[3] = rotl(n3, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 53 random bits (two draws), so every double
   *  the sampler compares against has full resolution even for 150K-token vocabs. */
  nextFloat(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * TWO_POW_26 + b) * TWO_POW_53_INV;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

// splitmix32 finalizer (hash-prospector constants): a bijective avalanche on 32 bits.
function mix32(z: number): number {
  z ^= z >>> 16;
  z = Math.imul(z, 0x21f0aaad);
  z ^= z >>> 15;
  z = Math.imul(z, 0x735a2d97);
  z ^= z >>> 15;
  return z >>> 0;
}
