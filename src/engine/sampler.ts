// Token sampler over a logits view, mirroring the subset of llama.cpp's default
// common_sampler chain that flint supports (src/llama-sampler.cpp semantics):
//
//   penalties -> top-k -> top-p -> min-p -> temperature -> softmax -> draw
//
// llama.cpp's full chain is penalties, dry, top_n_sigma, top_k, typ_p, top_p, min_p,
// xtc, temperature, dist; we implement the stages listed above, in that same order.
// Consequence worth knowing: top-p and min-p judge tokens by their T=1 probabilities,
// and temperature only reshapes the survivors (exactly as llama.cpp does).
//
// Hot-path rule: sample()/distribution()/drawFromDistribution() allocate nothing.
// Every vocab-sized buffer is created in the constructor, selection uses a bounded
// heap written into a preallocated array, and no closures/comparators are created.
// The only allocation after construction is in accept(), which grows the penalty ring
// buffer geometrically (at most ~log2(penaltyLastN) times over a sampler's life).
//
// Every vocab loop is its own small module-level kernel, on purpose: a 150K-iteration
// loop inside a big method gets on-stack-replaced before the method's later branches
// have type feedback, then deopts on every call (measured: thousands of deopts and GCs,
// the interpreter boxing every double). Small kernels optimize whole. (V8 may still box
// the odd scalar double passed between kernels: bytes per token, never arrays.)

import { randomInt } from "node:crypto";
import { Rng } from "./rng.js";

export interface SamplerOptions {
  temperature?: number;      // 0 (or <= 0) = greedy argmax (after penalties); default 0.8
  topK?: number;             // default 40; <= 0 = disabled
  topP?: number;             // default 0.95; 1 = disabled
  minP?: number;             // default 0.05; 0 = disabled
  repeatPenalty?: number;    // default 1.0 (off), llama.cpp semantics (divide positive logits, multiply negative)
  frequencyPenalty?: number; // default 0
  presencePenalty?: number;  // default 0
  penaltyLastN?: number;     // default 64; window of recent tokens the penalties look at; -1 = whole history
  seed?: number;             // default: random; same seed + same logits sequence => same tokens
}

const DEFAULTS = {
  temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05,
  repeatPenalty: 1.0, frequencyPenalty: 0, presencePenalty: 0, penaltyLastN: 64,
} as const;

// Below this many ids, top-p's quickselect stops partitioning and just sorts the rest
const SELECT_SORT_CUTOFF = 16;
const TOP_P_BINS = 512;
const TOP_P_BINS_PER_NAT = 16;
const RING_INITIAL_CAPACITY = 1024;

/** Index of the first maximum; NaNs are ignored. All-NaN => 0, empty => -1. */
export function argmax(logits: Float32Array): number {
  const n = logits.length;
  if (n === 0) return -1;
  // Four independent running maxima keep the loop free of a loop-carried branch chain (about 2x
  // faster on a 150K vocab, where this runs once per generated token); a second pass finds the
  // first index holding the max. NaN never compares greater, so it is skipped for free.
  let m0 = -Infinity;
  let m1 = -Infinity;
  let m2 = -Infinity;
  let m3 = -Infinity;
  let i = 0;
  for (; i + 3 < n; i += 4) {
    const a = logits[i];
    const b = logits[i + 1];
    const c = logits[i + 2];
    const d = logits[i + 3];
    if (a > m0) m0 = a;
    if (b > m1) m1 = b;
    if (c > m2) m2 = c;
    if (d > m3) m3 = d;
  }
  for (; i < n; i++) if (logits[i] > m0) m0 = logits[i];
  const m = Math.max(m0, m1, m2, m3);
  for (let j = 0; j < n; j++) if (logits[j] === m) return j;
  return 0;
}

// exp((l - max) / T), with the infinite-max cases made well defined: if some logit is
// +Inf the mass is shared by the +Inf tokens only; if every logit is -Inf (all masked)
// they are all equal, and the limit of equal logits is uniform. Divides rather than
// multiplying by 1/T, which overflows to Inf for subnormal T and makes 0 * Inf = NaN.
function weight(l: number, max: number, t: number): number {
  if (max === Infinity || max === -Infinity) return l === max ? 1 : 0;
  return Math.exp((l - max) / t);
}

export class Sampler {
  readonly options: Readonly<Required<SamplerOptions>>;
  readonly nVocab: number;
  /** Candidates of the last distribution(); entries [0, n) are valid until the next
   *  sample()/distribution(). Full vocab-sized buffers, not subarrays, so handing them out
   *  costs nothing. Best-first when top-k is active, else in an unspecified but
   *  deterministic order (only top-k needs a sort; sorting a vocab is not worth it). */
  readonly candidateIds: Int32Array;
  readonly candidateProbs: Float32Array;

  private readonly work: Float32Array; // penalized logits of the current call
  private readonly weights: Float64Array; // top-p scratch: exp(l - max) per token id
  private readonly bounds = new Int32Array(2); // partition() results, to return 3 values
  private readonly binMass = new Float64Array(TOP_P_BINS); // top-p histogram
  private readonly binCount = new Int32Array(TOP_P_BINS);
  private readonly rng: Rng;

  // Penalty state: counts per token inside the window, the set of tokens with
  // count > 0 (so penalties touch only those, not the vocab), and a ring of the window.
  private readonly penaltiesOn: boolean;
  private readonly repeatF: number; // float32-rounded like llama.cpp's float params
  private readonly freqF: number;
  private readonly presF: number;
  private readonly lnMinP: number;
  private readonly counts: Int32Array;
  private readonly distinct: Int32Array;
  private readonly distinctPos: Int32Array;
  private nDistinct = 0;
  private ring: Int32Array;
  private ringLen = 0;
  private ringHead = 0; // oldest entry once the ring is full

  constructor(nVocab: number, options: SamplerOptions = {}) {
    if (!Number.isInteger(nVocab) || nVocab < 1) {
      throw new RangeError(`Sampler: nVocab must be a positive integer, got ${nVocab}`);
    }
    this.nVocab = nVocab;
    this.options = Object.freeze(resolveOptions(options));
    const o = this.options;

    this.candidateIds = new Int32Array(nVocab);
    this.candidateProbs = new Float32Array(nVocab);
    this.work = new Float32Array(nVocab);
    this.weights = new Float64Array(nVocab);
    this.rng = new Rng(o.seed);

    // Same "disabled" test as llama_sampler_penalties::is_disabled
    this.penaltiesOn =
      o.penaltyLastN !== 0 &&
      !(o.repeatPenalty === 1 && o.frequencyPenalty === 0 && o.presencePenalty === 0);
    this.repeatF = Math.fround(o.repeatPenalty);
    this.freqF = Math.fround(o.frequencyPenalty);
    this.presF = Math.fround(o.presencePenalty);
    this.lnMinP = o.minP > 0 ? Math.log(o.minP) : -Infinity;

    this.counts = new Int32Array(nVocab);
    this.distinct = new Int32Array(nVocab);
    this.distinctPos = new Int32Array(nVocab);
    // -1 (whole history) never evicts, so it needs no ring at all
    this.ring = new Int32Array(
      this.penaltiesOn && o.penaltyLastN > 0 ? Math.min(o.penaltyLastN, RING_INITIAL_CAPACITY) : 0,
    );
  }

  /** Greedy without penalties: the pick depends on nothing but the argmax, so it can run on the device. */
  get isPlainGreedy(): boolean {
    return this.options.temperature <= 0 && !this.penaltiesOn;
  }

  /** Picks a token from `logits` (not accepted: call accept() with whatever is kept).
   *  Greedy (temperature <= 0) does not consume randomness; otherwise exactly one
   *  drawFromDistribution() per call, so the RNG stream stays aligned across runs. */
  sample(logits: Float32Array): number {
    if (this.options.temperature <= 0) {
      if (!this.penaltiesOn) {
        this.checkLength(logits);
        return argmax(logits);
      }
      this.prepare(logits);
      return argmax(this.work);
    }
    return this.drawFromDistribution(this.distribution(logits));
  }

  /** Fills candidateIds/candidateProbs[0, n) with the final sampling distribution
   *  (after penalties, top-k, top-p, min-p and temperature; probs sum to 1); returns n.
   *  At temperature <= 0 this is the greedy one-hot. */
  distribution(logits: Float32Array): number {
    this.prepare(logits);
    const o = this.options;
    const ids = this.candidateIds;
    const w = this.work;
    const V = this.nVocab;

    if (o.temperature <= 0) {
      ids[0] = argmax(w);
      this.candidateProbs[0] = 1;
      return 1;
    }

    // "all" means the candidates are implicitly 0..V-1 and ids[] has not been written,
    // which saves a vocab-sized pass when no filter needs them materialized.
    let n = V;
    let all = true;
    let sorted = false; // best-first order, which only top-k produces (min-p keeps it)
    // Every stage keeps the best token, so the candidates' max logit is the vocab's
    let max: number;

    if (o.topK > 0 && o.topK < V) {
      n = selectTop(ids, w, o.topK);
      all = false;
      sorted = true;
      max = w[ids[0]];
    } else {
      max = maxOf(w);
    }

    if (o.topP < 1) {
      n = sorted ? topPSorted(ids, w, n, max, o.topP) : this.topPFull(o.topP, max);
      all = false;
    }

    if (o.minP > 0) {
      // llama.cpp: p_i >= minP * p_max  <=>  l_i >= l_max + ln(minP), no softmax needed.
      // The max token always passes, so n stays >= 1.
      const threshold = max + this.lnMinP;
      n = all ? filterVocab(ids, w, threshold) : compact(ids, w, n, threshold);
      all = false;
    }

    if (all) iota(ids, V);
    return softmaxInto(this.candidateProbs, ids, w, n, max, o.temperature);
  }

  /** Draws one of candidateIds[0, n) with weights candidateProbs[0, n) using the sampler's
   *  RNG. The weights need not be normalized, so a caller (speculative decoding) may
   *  overwrite candidateProbs with e.g. a residual distribution before drawing.
   *  Zero-weight candidates are never chosen unless every weight is zero (then ids[0]). */
  drawFromDistribution(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > this.nVocab) {
      throw new RangeError(`Sampler.drawFromDistribution: n must be an integer in [1, ${this.nVocab}], got ${n}`);
    }
    const u = this.rng.nextFloat();
    return this.candidateIds[drawIndex(this.candidateProbs, n, u)];
  }

  /** Records a token that was kept, for the repetition penalties (llama.cpp accept()). */
  accept(token: number): void {
    if (!Number.isInteger(token) || token < 0 || token >= this.nVocab) {
      throw new RangeError(`Sampler.accept: token must be an integer in [0, ${this.nVocab}), got ${token}`);
    }
    // options are frozen, so history nobody will ever read is not worth keeping
    if (!this.penaltiesOn) return;
    this.addCount(token);
    const lastN = this.options.penaltyLastN;
    if (lastN < 0) return;

    if (this.ringLen < lastN) {
      if (this.ringLen === this.ring.length) {
        // Still filling, so the ring is linear (head 0) and a plain copy preserves order
        const grown = new Int32Array(Math.min(lastN, this.ring.length * 2));
        grown.set(this.ring);
        this.ring = grown;
      }
      this.ring[this.ringLen++] = token;
    } else {
      const old = this.ring[this.ringHead];
      this.ring[this.ringHead] = token;
      this.ringHead = this.ringHead + 1 === lastN ? 0 : this.ringHead + 1;
      this.removeCount(old);
    }
  }

  /** Clears penalty history and restarts the RNG from the original seed. */
  reset(): void {
    for (let i = 0; i < this.nDistinct; i++) this.counts[this.distinct[i]] = 0;
    this.nDistinct = 0;
    this.ringLen = 0;
    this.ringHead = 0;
    this.rng.reseed(this.options.seed);
  }

  // Copies logits into work (the input is a view of native memory and must stay
  // untouched), then applies the penalties to the tokens in the window.
  private checkLength(logits: Float32Array): void {
    if (logits.length !== this.nVocab) {
      throw new RangeError(`Sampler: logits length ${logits.length} does not match nVocab ${this.nVocab}`);
    }
  }

  private prepare(logits: Float32Array): void {
    this.checkLength(logits);
    const w = this.work;
    if (this.options.temperature > 0 && this.options.topK > 0 && this.options.topK < this.nVocab) {
      // top-k reads the vocabulary once and NaN never wins its comparisons, so only the heap's
      // seed entries need sanitising; every later stage reads selected ids only. A bulk copy
      // instead of a per-element one saves ~0.2 ms per token on a 152K vocabulary.
      w.set(logits);
      const k = this.options.topK;
      for (let i = 0; i < k; i++) if (w[i] !== w[i]) w[i] = -Infinity;
    } else {
      copySanitized(logits, w);
    }
    if (!this.penaltiesOn) return;

    const rp = this.repeatF;
    const fp = this.freqF;
    const pp = this.presF;
    for (let k = 0; k < this.nDistinct; k++) {
      const id = this.distinct[k];
      const count = this.counts[id];
      // llama_sampler_penalties_apply, float32 step by step: <= 0 is multiplied so a
      // penalty > 1 always makes the token less likely, whatever the logit's sign
      let l = w[id];
      l = l <= 0 ? Math.fround(l * rp) : Math.fround(l / rp);
      l -= Math.fround(Math.fround(count * fp) + pp); // count > 0 here, so presence applies
      w[id] = l; // the Float32Array store is the final float32 rounding
    }
  }

  private addCount(token: number): void {
    if (this.counts[token]++ === 0) {
      this.distinctPos[token] = this.nDistinct;
      this.distinct[this.nDistinct++] = token;
    }
  }

  private removeCount(token: number): void {
    if (--this.counts[token] === 0) {
      // swap-remove keeps the distinct set dense in O(1)
      const pos = this.distinctPos[token];
      const last = this.distinct[--this.nDistinct];
      this.distinct[pos] = last;
      this.distinctPos[last] = pos;
    }
  }

  // Top-p over the whole vocab without sorting it. One pass computes the weights and a
  // histogram of mass by distance below the max logit (1/16-nat bins); walking the bins
  // finds the bin holding the cut, so only that bin's tokens need exact ordering.
  // Those go through a weighted quickselect: partition around a pivot logit into
  // [greater | equal | less]; if the greater block reaches the remaining mass recurse
  // into it, else keep it and move on. O(V) overall however large the nucleus (a flat
  // distribution can need 100K+ tokens). The kept set is exactly llama.cpp's sorted
  // prefix, ties at the cut resolved towards lower ids, but it is returned unordered.
  private topPFull(p: number, max: number): number {
    const w = this.work;
    const wt = this.weights;
    const ids = this.candidateIds;
    const bounds = this.bounds;
    const V = this.nVocab;
    const bin0Only = max === Infinity || max === -Infinity; // then max - l is no distance
    const target = p * fillWeights(wt, w, max, this.binMass, this.binCount, bin0Only);
    let cum = 0; // mass of ids[0, lo), all of which are kept
    let lo = 0;
    let cut = 0;
    while (cut < TOP_P_BINS - 1 && cum + this.binMass[cut] < target) {
      cum += this.binMass[cut];
      lo += this.binCount[cut++];
    }
    gatherBins(ids, w, max, cut, lo, bin0Only);
    let hi = lo + this.binCount[cut];
    while (hi - lo > SELECT_SORT_CUTOFF) {
      const pivot = median3(w[ids[lo]], w[ids[(lo + hi) >>> 1]], w[ids[hi - 1]]);
      const massGt = partition(ids, w, wt, lo, hi, pivot, bounds);
      const a = bounds[0]; // [lo, a): > pivot, [a, b): == pivot, [b, hi): < pivot
      const b = bounds[1];
      if (cum + massGt >= target) {
        hi = a; // the cut is inside the greater block, which excludes the pivot: shrinks
        continue;
      }
      cum += massGt;
      const eqW = weight(pivot, max, 1);
      if (cum + (b - a) * eqW >= target) {
        // The cut falls among equal logits: llama.cpp's sort puts lower ids first there
        sortRange(ids, w, a, b);
        let k = a;
        while (k < b && cum < target) {
          cum += eqW;
          k++;
        }
        return k;
      }
      cum += (b - a) * eqW;
      lo = b;
    }
    sortRange(ids, w, lo, hi);
    for (let i = lo; i < hi; i++) {
      cum += wt[ids[i]];
      if (cum >= target) return i + 1;
    }
    // Rounding kept the running mass just short of p: keep everything up to here (all
    // of V when the cut is in the last bin, as llama.cpp would)
    return hi;
  }
}

// ---- kernels: each loops over at most the vocab and nothing else (see top comment) ----

// NaN becomes -Inf so one bad logit cannot poison comparisons or the softmax
function copySanitized(src: Float32Array, dst: Float32Array): void {
  for (let i = 0; i < dst.length; i++) {
    const v = src[i];
    dst[i] = v === v ? v : -Infinity;
  }
}

function maxOf(a: Float32Array): number {
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) if (a[i] > max) max = a[i];
  return max;
}

function iota(ids: Int32Array, n: number): void {
  for (let i = 0; i < n; i++) ids[i] = i;
}

/** ids <- every token with w >= threshold, in id order; returns the count. */
function filterVocab(ids: Int32Array, w: Float32Array, threshold: number): number {
  let m = 0;
  for (let i = 0; i < w.length; i++) if (w[i] >= threshold) ids[m++] = i;
  return m;
}

/** In-place, order-preserving filter of ids[0, n) to w >= threshold; returns the count. */
function compact(ids: Int32Array, w: Float32Array, n: number, threshold: number): number {
  let m = 0;
  for (let i = 0; i < n; i++) {
    const id = ids[i];
    if (w[id] >= threshold) ids[m++] = id;
  }
  return m;
}

/** probs[i] = softmax over ids[0, n) of w / t; returns n. */
function softmaxInto(probs: Float32Array, ids: Int32Array, w: Float32Array, n: number, max: number, t: number): number {
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const p = weight(w[ids[i]], max, t);
    probs[i] = p;
    sum += p;
  }
  const inv = 1 / sum;
  for (let i = 0; i < n; i++) probs[i] *= inv;
  return n;
}

// Index into probs[0, n) drawn with probability proportional to the positive weights,
// u uniform in [0, 1). Strict '>' against target in [0, total): index i owns
// (cum_{i-1}, cum_i], so a zero-weight entry owns an empty interval and is never drawn.
function drawIndex(probs: Float32Array, n: number, u: number): number {
  let total = 0;
  for (let i = 0; i < n; i++) if (probs[i] > 0) total += probs[i];
  const target = u * total;
  let run = 0;
  let lastPositive = 0;
  for (let i = 0; i < n; i++) {
    const p = probs[i];
    if (p > 0) {
      run += p;
      lastPositive = i;
      if (run > target) return i;
    }
  }
  // only reachable through rounding of the running sum
  return lastPositive;
}

// Bin of a token for top-p: distance below the max in 1/16 nats, last bin a catch-all
function binOf(l: number, max: number): number {
  const d = (max - l) * TOP_P_BINS_PER_NAT;
  return d < TOP_P_BINS - 1 ? d | 0 : TOP_P_BINS - 1;
}

/** wt[i] = exp(w[i] - max) and the per-bin mass/count histogram; returns the sum. */
function fillWeights(
  wt: Float64Array, w: Float32Array, max: number, binMass: Float64Array, binCount: Int32Array, bin0Only: boolean,
): number {
  binMass.fill(0);
  binCount.fill(0);
  let z = 0;
  for (let i = 0; i < w.length; i++) {
    const e = weight(w[i], max, 1);
    const b = bin0Only ? 0 : binOf(w[i], max);
    wt[i] = e;
    binMass[b] += e;
    binCount[b]++;
    z += e;
  }
  return z;
}

/** ids <- tokens of bins before `cut` (there are nAbove), then those of bin `cut`.
 *  Must bin exactly like fillWeights, whose counts sized the two regions. */
function gatherBins(ids: Int32Array, w: Float32Array, max: number, cut: number, nAbove: number, bin0Only: boolean): void {
  let a = 0;
  let c = nAbove;
  for (let i = 0; i < w.length; i++) {
    const b = bin0Only ? 0 : binOf(w[i], max);
    if (b < cut) ids[a++] = i;
    else if (b === cut) ids[c++] = i;
  }
}

/** Three-way partition of ids[lo, hi) by logit into [> pivot | == pivot | < pivot];
 *  writes the block starts to bounds[0..1] and returns the mass of the first block. */
function partition(
  ids: Int32Array, w: Float32Array, wt: Float64Array, lo: number, hi: number, pivot: number, bounds: Int32Array,
): number {
  let a = lo; // [lo, a): >, [a, i): ==, [i, b): unvisited, [b, hi): <
  let i = lo;
  let b = hi;
  let massGt = 0;
  while (i < b) {
    const id = ids[i];
    const v = w[id];
    if (v > pivot) {
      ids[i] = ids[a];
      ids[a++] = id;
      i++;
      massGt += wt[id];
    } else if (v < pivot) {
      ids[i] = ids[--b];
      ids[b] = id;
    } else {
      i++;
    }
  }
  bounds[0] = a;
  bounds[1] = b;
  return massGt;
}

// llama_sampler_top_p_apply on an already sorted candidate list: softmax over the
// current candidates (T=1), keep the smallest prefix whose mass reaches p.
function topPSorted(ids: Int32Array, w: Float32Array, n: number, max: number, p: number): number {
  let z = 0;
  for (let i = 0; i < n; i++) z += weight(w[ids[i]], max, 1);
  let cum = 0;
  for (let i = 0; i < n; i++) {
    cum += weight(w[ids[i]], max, 1) / z;
    if (cum >= p) return i + 1;
  }
  return n;
}

// Heap order: a is worse than b if its logit is lower, or equal with a higher id.
// The id tie-break makes every selection deterministic and prefers low ids on ties.
function worse(w: Float32Array, a: number, b: number): boolean {
  const la = w[a];
  const lb = w[b];
  return la < lb || (la === lb && a > b);
}

/** Min-heap (worst at the root) sift-down of `id` from `pos` over ids[base, base+size). */
function siftDown(ids: Int32Array, w: Float32Array, id: number, pos: number, size: number, base: number): void {
  for (;;) {
    let c = 2 * pos + 1;
    if (c >= size) break;
    if (c + 1 < size && worse(w, ids[base + c + 1], ids[base + c])) c++;
    if (!worse(w, ids[base + c], id)) break;
    ids[base + pos] = ids[base + c];
    pos = c;
  }
  ids[base + pos] = id;
}

/** Heapsort: repeatedly moving the worst element of a min-heap on ids[base, base+size)
 *  to the back leaves it best-first (logit desc, id asc). */
function heapToSorted(ids: Int32Array, w: Float32Array, base: number, size: number): void {
  for (let end = size - 1; end > 0; end--) {
    const last = ids[base + end];
    ids[base + end] = ids[base];
    siftDown(ids, w, last, 0, end, base);
  }
}

function sortRange(ids: Int32Array, w: Float32Array, from: number, to: number): void {
  const size = to - from;
  for (let start = (size >> 1) - 1; start >= 0; start--) siftDown(ids, w, ids[from + start], start, size, from);
  heapToSorted(ids, w, from, size);
}

/** Writes the k best tokens of w into ids[0, k), best first; returns k.
 *  A bounded min-heap keeps the worst survivor at the root, so most of the vocab is
 *  rejected with one comparison: O(V log k), then heapsort of the k survivors only. */
function selectTop(ids: Int32Array, w: Float32Array, k: number): number {
  const V = w.length;
  if (k > V) k = V;
  iota(ids, k); // ascending ids with any logits: heapify bottom-up
  for (let start = (k >> 1) - 1; start >= 0; start--) siftDown(ids, w, ids[start], start, k, 0);
  heapScan(ids, w, k);
  heapToSorted(ids, w, 0, k);
  return k;
}

// Ids arrive in increasing order, so an equal logit is never better than the root:
// strict '>' is exactly the tie-break of worse()
function heapScan(ids: Int32Array, w: Float32Array, k: number): void {
  // the root's logit in a local: the scan over the vocabulary is one load and one compare per token
  let root = w[ids[0]];
  const n = w.length;
  for (let i = k; i < n; i++) {
    if (w[i] > root) {
      siftDown(ids, w, i, 0, k, 0);
      root = w[ids[0]];
    }
  }
}

function median3(x: number, y: number, z: number): number {
  if (x > y) {
    if (y > z) return y;
    return x > z ? z : x;
  }
  if (x > z) return x;
  return y > z ? z : y;
}

function resolveOptions(opts: SamplerOptions): Required<SamplerOptions> {
  const r = { seed: 0 } as Required<SamplerOptions>;
  for (const key of Object.keys(DEFAULTS) as (keyof typeof DEFAULTS)[]) r[key] = opts[key] ?? DEFAULTS[key];
  const { temperature, topK, topP, minP, repeatPenalty, frequencyPenalty, presencePenalty, penaltyLastN } = r;

  // Infinite temperature would flatten -Inf logits into NaN weights; negatives mean greedy
  check("temperature", temperature, Number.isFinite(temperature), "must be a finite number (<= 0 means greedy)");
  check("topK", topK, Number.isInteger(topK), "must be an integer (<= 0 disables it)");
  check("topP", topP, topP > 0 && topP <= 1, "must be in (0, 1] (1 disables it)");
  check("minP", minP, minP >= 0 && minP <= 1, "must be in [0, 1] (0 disables it)");
  // 0 would divide positive logits by zero; negative would flip their sign
  check("repeatPenalty", repeatPenalty, Number.isFinite(repeatPenalty) && repeatPenalty > 0,
    "must be a finite number > 0 (1 disables it)");
  // Negative frequency/presence penalties are legal (they encourage repetition), as in
  // llama.cpp and the OpenAI API
  check("frequencyPenalty", frequencyPenalty, Number.isFinite(frequencyPenalty), "must be a finite number");
  check("presencePenalty", presencePenalty, Number.isFinite(presencePenalty), "must be a finite number");
  check("penaltyLastN", penaltyLastN, Number.isInteger(penaltyLastN) && penaltyLastN >= -1,
    "must be an integer >= -1 (-1 = whole history, 0 disables penalties)");

  if (opts.seed === undefined) {
    // Resolved once and exposed in options.seed, so a random run can be replayed
    r.seed = randomInt(0, 2 ** 48 - 1);
  } else {
    check("seed", opts.seed, Number.isSafeInteger(opts.seed), "must be a safe integer");
    r.seed = opts.seed;
  }
  return r;
}

// `ok` may have been computed on a non-number (e.g. "0.5" > 0 is true), so the type is
// checked here too: options often come straight from JSON request bodies
function check(name: string, value: unknown, ok: boolean, rule: string): void {
  if (typeof value !== "number" || !ok) {
    throw new RangeError(`Sampler: option "${name}" ${rule}, got ${String(value)}`);
  }
}
