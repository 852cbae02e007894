// Oracle drafter, for measurement only: proposes the target's own greedy continuation, spoiled at a
// position drawn from a per-depth acceptance profile, so the system's overhead and speed can be
// measured at a chosen acceptance without a trained drafter. Any report that uses it must carry
// SIMULATED_ACCEPTANCE next to its numbers.
//
// profile[d - 1] is the conditional probability that depth d is accepted given depths < d were;
// depths past the end of the profile reuse its last entry (so [p] is a constant profile), and an
// empty profile accepts nothing.

import { Rng } from "../engine/rng.js";

export const SIMULATED_ACCEPTANCE = "simulated acceptance";

function profileAt(profile: ArrayLike<number>, d: number): number {
  const n = profile.length;
  return n === 0 ? 0 : profile[d < n ? d : n - 1];
}

/** E[accepted] = sum_{k=1..depth} prod_{d<=k} p_d (depth defaults to the profile's length). */
export function expectedAcceptedLength(profile: ArrayLike<number>, depth = profile.length): number {
  let reach = 1;
  let sum = 0;
  for (let d = 0; d < depth; d++) {
    reach *= profileAt(profile, d);
    sum += reach;
  }
  return sum;
}

/** The constant profile [p] whose expected accepted length over `depth` positions is `mean`. */
export function constantProfile(mean: number, depth: number): Float64Array {
  if (!(mean >= 0 && mean <= depth)) throw new RangeError(`constantProfile: mean must be in [0, ${depth}], got ${mean}`);
  let lo = 0;
  let hi = 1;
  for (let it = 0; it < 100; it++) {
    const mid = (lo + hi) / 2;
    if (expectedAcceptedLength([mid], depth) < mean) lo = mid;
    else hi = mid;
  }
  return Float64Array.of((lo + hi) / 2);
}

// Synthetic drafter confidences by rank: they carry no information, they only make trees well formed
const RANK_LOGP_STEP = Math.log(0.25);

export class OracleDrafter {
  readonly profile: Float64Array;
  readonly nVocab: number;
  private readonly rng: Rng;
  /** accepted length the last draft was built for (the walk accepts exactly this, budget permitting) */
  planned = 0;

  constructor(profile: ArrayLike<number>, nVocab: number, seed: number) {
    for (let i = 0; i < profile.length; i++) {
      if (!(profile[i] >= 0 && profile[i] <= 1)) throw new RangeError(`OracleDrafter: profile[${i}] = ${profile[i]} is not a probability`);
    }
    if (!Number.isInteger(nVocab) || nVocab < 2) throw new RangeError(`OracleDrafter: nVocab must be an integer >= 2, got ${nVocab}`);
    this.profile = Float64Array.from(profile);
    this.nVocab = nVocab;
    this.rng = new Rng(seed);
  }

  /** Draws the accepted length for `depth` positions from the profile. */
  drawAccepted(depth: number): number {
    let a = 0;
    while (a < depth && this.rng.nextFloat() < profileAt(this.profile, a)) a++;
    return a;
  }

  /**
   * Drafts `depth` positions into ids/logp ([depth x k]) from `greedy`, the target's greedy
   * continuation after the root (greedy[j] is what the target emits at depth j + 1). Before the drawn
   * rejection depth, rank 0 is the target's token; at it, no candidate is; the other ranks are always
   * wrong. Returns the planned accepted length.
   */
  draft(greedy: ArrayLike<number>, depth: number, ids: Int32Array, logp: Float32Array, k = 1): number {
    if (greedy.length < depth) throw new RangeError(`OracleDrafter.draft: need ${depth} greedy tokens, got ${greedy.length}`);
    if (!Number.isInteger(k) || k < 1 || k >= this.nVocab) throw new RangeError(`OracleDrafter.draft: k must be in [1, ${this.nVocab - 1}], got ${k}`);
    const a = this.drawAccepted(depth);
    this.planned = a;
    const V = this.nVocab;
    for (let j = 0; j < depth; j++) {
      const g = greedy[j];
      // k - 1 (or k at the rejected position) distinct wrong tokens: g + off, g + off + 1, ... mod V
      const off = 1 + Math.floor(this.rng.nextFloat() * (V - k));
      let r = 0;
      if (j !== a) {
        ids[j * k] = g;
        logp[j * k] = 0;
        r = 1;
      }
      for (let w = 0; r < k; r++, w++) {
        ids[j * k + r] = (g + off + w) % V;
        logp[j * k + r] = r * RANK_LOGP_STEP;
      }
    }
    return a;
  }
}
