// N-gram / suffix drafter (no model): find the longest suffix of the history (prompt + generated),
// between minN and maxN tokens, that occurred earlier, and propose what followed it. Strong on
// agentic and editing workloads, where output copies spans of the prompt.
//
// Incremental: each appended token is indexed once per n in [minN, maxN] in an open-addressing
// table keyed by n-gram content (hash + exact token compare, so no collision ever gives a wrong
// match), which yields prevOcc_n[p] = the previous end position of the n-gram ending at p. A draft is
// then a chain walk, never a scan of the history. Storage grows geometrically with the history;
// nothing is allocated per token otherwise.
//
// The continuation after a match ending at p is seq(p + 1 + j), where seq is the history followed by
// the draft itself: a match near the end runs on into its own proposal, which continues periodic
// text (a b a b ...) for the whole depth.

export interface NgramOptions {
  /** shortest suffix that counts as a match (default 2) */
  minN?: number;
  /** longest suffix tried (default 4) */
  maxN?: number;
  /** earlier occurrences polled for a top-K draft (default 8) */
  maxMatches?: number;
  /** initial history capacity (default 4096; grows) */
  initialCapacity?: number;
}

const EMPTY = -1;

export class NgramDrafter {
  readonly minN: number;
  readonly maxN: number;
  readonly maxMatches: number;
  private tokens: Int32Array;
  private len = 0;
  // per n (index n - minN): table of end positions, their hashes, entry count; prevOcc per position
  private readonly tabPos: Int32Array[];
  private readonly tabHash: Int32Array[];
  private readonly tabCount: Int32Array;
  private readonly prevOcc: Int32Array[];
  private readonly hashes: Int32Array; // scratch: hash of the n-gram ending at the new token, per n
  // scratch for top-K voting
  private readonly matchEnd: Int32Array;
  private readonly voteTok: Int32Array;
  private readonly voteCnt: Int32Array;
  /** suffix length matched by the last draft (0 = no match) */
  matchN = 0;
  /** end position of the match the last draft followed (-1 = none) */
  matchEnd0 = -1;

  constructor(opts: NgramOptions = {}) {
    this.minN = opts.minN ?? 2;
    this.maxN = opts.maxN ?? 4;
    this.maxMatches = opts.maxMatches ?? 8;
    if (!Number.isInteger(this.minN) || this.minN < 1 || !Number.isInteger(this.maxN) || this.maxN < this.minN) {
      throw new RangeError(`NgramDrafter: need integers 1 <= minN <= maxN, got minN ${this.minN}, maxN ${this.maxN}`);
    }
    if (!Number.isInteger(this.maxMatches) || this.maxMatches < 1) throw new RangeError(`NgramDrafter: maxMatches must be an integer >= 1`);
    const cap = Math.max(16, opts.initialCapacity ?? 4096);
    const nTables = this.maxN - this.minN + 1;
    this.tokens = new Int32Array(cap);
    this.tabPos = [];
    this.tabHash = [];
    this.prevOcc = [];
    for (let t = 0; t < nTables; t++) {
      this.tabPos.push(new Int32Array(tableSizeFor(cap)).fill(EMPTY));
      this.tabHash.push(new Int32Array(tableSizeFor(cap)));
      this.prevOcc.push(new Int32Array(cap));
    }
    this.tabCount = new Int32Array(nTables);
    this.hashes = new Int32Array(this.maxN + 1);
    this.matchEnd = new Int32Array(this.maxMatches);
    this.voteTok = new Int32Array(this.maxMatches);
    this.voteCnt = new Int32Array(this.maxMatches);
  }

  get length(): number {
    return this.len;
  }

  /** history token at position i */
  at(i: number): number {
    return this.tokens[i];
  }

  reset(): void {
    this.len = 0;
    for (let t = 0; t < this.tabPos.length; t++) {
      this.tabPos[t].fill(EMPTY);
      this.tabCount[t] = 0;
    }
  }

  pushAll(tokens: ArrayLike<number>): void {
    for (let i = 0; i < tokens.length; i++) this.push(tokens[i]);
  }

  /** Appends one token and indexes the n-grams ending at it. */
  push(token: number): void {
    if (this.len === this.tokens.length) this.growHistory();
    const p = this.len++;
    const tok = this.tokens;
    tok[p] = token;
    // hash of tokens[p-n+1 .. p], built from the end backwards so every n costs one step
    let h = mixToken(0x2545f491, token);
    this.hashes[1] = h;
    const top = Math.min(this.maxN, p + 1);
    for (let n = 2; n <= top; n++) {
      h = mixToken(h, tok[p - n + 1]);
      this.hashes[n] = h;
    }
    for (let n = this.minN; n <= top; n++) this.insert(n, p);
  }

  /**
   * Drafts up to `depth` positions into ids/logp ([depth x k], best first per position; absent
   * candidates are -1 / -Infinity, as DDTreeBuilder expects). k = 1: the continuation of the most
   * recent occurrence of the longest matching suffix, log-prob 0. k > 1: the continuations of up to
   * maxMatches occurrences of that suffix vote per position; log-prob = log(votes / matches), ties
   * go to the more recent occurrence. Returns the positions drafted: depth on a match, else 0.
   */
  draft(ids: Int32Array, logp: Float32Array, depth: number, k = 1): number {
    if (!Number.isInteger(depth) || depth < 0 || !Number.isInteger(k) || k < 1) {
      throw new RangeError(`NgramDrafter.draft: depth must be an integer >= 0 and k >= 1, got ${depth}, ${k}`);
    }
    if (ids.length < depth * k || logp.length < depth * k) throw new RangeError(`NgramDrafter.draft: outputs need ${depth} x ${k} entries`);
    this.matchN = 0;
    this.matchEnd0 = -1;
    const L = this.len;
    let n = Math.min(this.maxN, L);
    let p = -1;
    for (; n >= this.minN; n--) {
      p = this.prevOcc[n - this.minN][L - 1];
      if (p >= 0) break;
    }
    if (p < 0 || depth === 0) {
      for (let i = 0; i < depth * k; i++) {
        ids[i] = -1;
        logp[i] = -Infinity;
      }
      return 0;
    }
    this.matchN = n;
    this.matchEnd0 = p;
    if (k === 1) {
      for (let j = 0; j < depth; j++) {
        ids[j] = this.seqAt(p + 1 + j, ids, 1);
        logp[j] = 0;
      }
      return depth;
    }

    let m = 0;
    const prev = this.prevOcc[n - this.minN];
    for (let q = p; q >= 0 && m < this.maxMatches; q = prev[q]) this.matchEnd[m++] = q;
    const logM = Math.log(m);
    for (let j = 0; j < depth; j++) {
      // distinct continuation tokens at this position, in recency order, with their votes
      let nv = 0;
      for (let i = 0; i < m; i++) {
        const t = this.seqAt(this.matchEnd[i] + 1 + j, ids, k);
        let v = 0;
        while (v < nv && this.voteTok[v] !== t) v++;
        if (v === nv) {
          this.voteTok[nv] = t;
          this.voteCnt[nv++] = 0;
        }
        this.voteCnt[v]++;
      }
      // top-k by votes, stable for recency: repeated selection (k and m are small)
      const base = j * k;
      for (let r = 0; r < k; r++) {
        let bestV = -1;
        for (let v = 0; v < nv; v++) if (this.voteCnt[v] > 0 && (bestV < 0 || this.voteCnt[v] > this.voteCnt[bestV])) bestV = v;
        if (bestV < 0) {
          ids[base + r] = -1;
          logp[base + r] = -Infinity;
          continue;
        }
        ids[base + r] = this.voteTok[bestV];
        logp[base + r] = Math.log(this.voteCnt[bestV]) - logM;
        this.voteCnt[bestV] = 0;
      }
    }
    return depth;
  }

  /** history, then the draft's top-1 row (stride k) for positions past the end */
  private seqAt(i: number, ids: Int32Array, k: number): number {
    return i < this.len ? this.tokens[i] : ids[(i - this.len) * k];
  }

  private insert(n: number, p: number): void {
    const t = n - this.minN;
    const h = this.hashes[n];
    let pos = this.tabPos[t];
    let hs = this.tabHash[t];
    const mask = pos.length - 1;
    const tok = this.tokens;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const q = pos[i];
      if (q === EMPTY) {
        pos[i] = p;
        hs[i] = h;
        this.prevOcc[t][p] = -1;
        if (++this.tabCount[t] * 2 > pos.length) {
          this.rehash(t);
          pos = this.tabPos[t];
          hs = this.tabHash[t];
        }
        return;
      }
      if (hs[i] === h) {
        let same = true;
        for (let d = 0; d < n; d++) {
          if (tok[q - d] !== tok[p - d]) {
            same = false;
            break;
          }
        }
        if (same) {
          this.prevOcc[t][p] = q;
          pos[i] = p;
          return;
        }
      }
    }
  }

  private rehash(t: number): void {
    const oldPos = this.tabPos[t];
    const oldHash = this.tabHash[t];
    const size = oldPos.length * 2;
    const pos = new Int32Array(size).fill(EMPTY);
    const hs = new Int32Array(size);
    const mask = size - 1;
    for (let s = 0; s < oldPos.length; s++) {
      if (oldPos[s] === EMPTY) continue;
      let i = oldHash[s] & mask;
      while (pos[i] !== EMPTY) i = (i + 1) & mask;
      pos[i] = oldPos[s];
      hs[i] = oldHash[s];
    }
    this.tabPos[t] = pos;
    this.tabHash[t] = hs;
  }

  private growHistory(): void {
    const cap = this.tokens.length * 2;
    const tokens = new Int32Array(cap);
    tokens.set(this.tokens);
    this.tokens = tokens;
    for (let t = 0; t < this.prevOcc.length; t++) {
      const po = new Int32Array(cap);
      po.set(this.prevOcc[t]);
      this.prevOcc[t] = po;
    }
  }
}

function tableSizeFor(n: number): number {
  let s = 16;
  while (s < n) s *= 2;
  return s;
}

// murmur3-style step: order-sensitive, int32 only (no heap numbers)
function mixToken(h: number, token: number): number {
  let k = Math.imul(token, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}
