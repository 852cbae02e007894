// PFlash's scorer: a qwen3-architecture model run as flint's own ggml graph (weights from its GGUF),
// which prefills a prompt in fixed-size chunks into its own KV cache and then scores every prompt
// position by how much the last few prompt tokens attend to it.
//
// Forward (llama.cpp's src/models/qwen3.cpp): token embedding; per layer RMSNorm, Q/K/V projections,
// per-head RMSNorm of Q and K, NeoX RoPE, grouped-query flash attention over the cache with a causal
// mask, output projection and residual, RMSNorm, SwiGLU FFN and residual; final RMSNorm and the head
// (only for the test-only logits path). The K/V of each chunk go into the cache with set_rows, so later
// chunks attend to earlier ones. Attention is ggml_flash_attn_ext (F16 cache, F16 mask, F32
// accumulation); the causal mask is made inside the graph from the query positions (no host-built
// n_kv x n_tokens mask), so a chunk costs four small uploads.
//
// Scoring (one graph): the last `queries` (8) prompt tokens run through the same layers; per layer
// their attention probabilities over every position j are softmax(q.k_j / sqrt(d)) with the causal
// mask (explicit, not flash attention), smoothed along positions by a 13-wide average (zero padding,
// divided by 13), then reduced by max over heads and layers, and averaged over the queries. Only this
// importance vector comes back to JavaScript.
//
// Graph shapes: a chunk graph is keyed by its KV length, which is the chunk's end rounded up to a
// geometric ladder of sizes (x1.25, multiples of the chunk), so a 128K prompt uses ~30 shapes; each is
// built once and reused by every later prompt. Positions past a chunk's end are masked.
import { performance } from "node:perf_hooks";
import { Backend, ComputeGraph, F16, F32, GgufWeights, I32, I64, TensorArena, tensorGet, tensorSet, type Tensor } from "../native/ggml.js";
import { UserError } from "../native/errors.js";

export interface ScorerOptions {
  /** where the scorer runs (default auto: the first GPU, else the CPU) */
  device?: "auto" | "cpu" | "gpu";
  /** CPU threads */
  threads?: number;
  /** tokens per prefill graph (default 512) */
  chunk?: number;
  /** last prompt tokens whose attention scores the prompt (default 8) */
  queries?: number;
  /** smoothing window along positions, odd (default 13) */
  pool?: number;
  /** prefill attention window in tokens (default 0 = full attention): each prompt token attends to the
   *  last `window` positions only, so the prefill costs O(n x window) instead of O(n^2); the scoring
   *  queries still see every position. An approximation of the scorer's own forward. */
  window?: number;
}

export interface ScorerInfo {
  path: string;
  architecture: string;
  layers: number;
  embd: number;
  ff: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  ropeFreqBase: number;
  rmsEps: number;
  backend: string;
  weightBytes: number;
}

export interface ScoreResult {
  /** one value per prompt token */
  importance: Float32Array;
  /** wall time of the chunked prefill and of the scoring graph, ms */
  prefillMs: number;
  scoreMs: number;
  chunks: number;
}

/** What the test-only scoring path reads back besides the importance. */
export interface ScoreCapture {
  /** per layer: queries after norm and RoPE, [queries x heads x headDim] */
  q: Float32Array[];
  /** per layer: keys of positions 0..n-1 after norm and RoPE, [n x kvHeads x headDim] (F16 in the cache) */
  k: Float32Array[];
}

interface Layer {
  attnNorm: Tensor;
  wq: Tensor;
  wk: Tensor;
  wv: Tensor;
  wo: Tensor;
  qNorm: Tensor;
  kNorm: Tensor;
  ffnNorm: Tensor;
  gate: Tensor;
  up: Tensor;
  down: Tensor;
}

interface Built {
  graph: ComputeGraph;
  tokens: Tensor;
  pos: Tensor;
  kvIdx: Tensor;
  qpos: Tensor;
  /** window mode: ring rows of the tokens, each query's lowest visible position - 0.5, ring positions */
  ringIdx?: Tensor;
  qlo?: Tensor;
  kpos?: Tensor;
  out?: Tensor;
  q?: Tensor[];
}

const NEOX = 2;

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export class Scorer {
  readonly info: ScorerInfo;
  readonly chunk: number;
  readonly queries: number;
  readonly pool: number;
  private readonly backend: Backend;
  private readonly weights: GgufWeights;
  private readonly tokEmbd: Tensor;
  private readonly outNorm: Tensor;
  private readonly head: Tensor;
  private readonly layers: Layer[];
  private kv: TensorArena | undefined;
  private kCache: Tensor[] = [];
  private vCache: Tensor[] = [];
  /** window mode: ring caches of the last `ring` positions, and the position each ring row holds */
  private kRing: Tensor[] = [];
  private vRing: Tensor[] = [];
  readonly window: number;
  private readonly ring: number;
  private readonly ringPos: Float32Array;
  private readonly inRing: BigInt64Array;
  private readonly inQlo: Float32Array;
  private capacity = 0;
  private readonly graphs = new Map<string, Built>();
  // reused host inputs, chunk-sized
  private readonly inTokens: Int32Array;
  private readonly inPos: Int32Array;
  private readonly inIdx: BigInt64Array;
  private readonly inQpos: Float32Array;
  private freed = false;

  private constructor(backend: Backend, weights: GgufWeights, o: ScorerOptions) {
    this.backend = backend;
    this.weights = weights;
    const w = weights;
    const arch = String(w.meta("general.architecture") ?? "");
    if (arch !== "qwen3") throw new UserError(`scorer ${w.path} has architecture "${arch || "unknown"}"; the PFlash scorer runs qwen3-architecture models`);
    const u = (key: string, def?: number): number => {
      const v = w.meta(`${arch}.${key}`);
      if (typeof v === "number") return v;
      if (def !== undefined) return def;
      throw new UserError(`scorer ${w.path} lacks ${arch}.${key}`);
    };
    const need = (name: string): Tensor => {
      const t = w.tensor(name);
      if (!t) throw new UserError(`scorer ${w.path} lacks tensor ${name}`);
      return t;
    };
    const layers = u("block_count");
    const embd = u("embedding_length");
    const heads = u("attention.head_count");
    const headDim = u("attention.key_length", embd / heads);
    this.tokEmbd = need("token_embd.weight");
    this.outNorm = need("output_norm.weight");
    this.head = w.tensor("output.weight") ?? this.tokEmbd;
    this.info = {
      path: w.path,
      architecture: arch,
      layers,
      embd,
      ff: u("feed_forward_length"),
      heads,
      kvHeads: u("attention.head_count_kv", heads),
      headDim,
      vocab: this.tokEmbd.ne[1],
      ropeFreqBase: u("rope.freq_base", 10000),
      rmsEps: u("attention.layer_norm_rms_epsilon", 1e-6),
      backend: backend.name,
      weightBytes: 0,
    };
    if (!Number.isInteger(headDim) || headDim % 2 !== 0 || heads % this.info.kvHeads !== 0) {
      throw new UserError(`scorer ${w.path} has an unsupported attention shape (heads ${heads}, kv heads ${this.info.kvHeads}, head dim ${headDim})`);
    }
    this.layers = [];
    for (let i = 0; i < layers; i++) {
      const p = `blk.${i}.`;
      this.layers.push({
        attnNorm: need(`${p}attn_norm.weight`),
        wq: need(`${p}attn_q.weight`),
        wk: need(`${p}attn_k.weight`),
        wv: need(`${p}attn_v.weight`),
        wo: need(`${p}attn_output.weight`),
        qNorm: need(`${p}attn_q_norm.weight`),
        kNorm: need(`${p}attn_k_norm.weight`),
        ffnNorm: need(`${p}ffn_norm.weight`),
        gate: need(`${p}ffn_gate.weight`),
        up: need(`${p}ffn_up.weight`),
        down: need(`${p}ffn_down.weight`),
      });
    }
    this.chunk = o.chunk ?? 512;
    this.queries = o.queries ?? 8;
    this.pool = o.pool ?? 13;
    if (!Number.isInteger(this.chunk) || this.chunk < 1) throw new UserError(`scorer chunk must be a positive integer, got ${this.chunk}`);
    if (!Number.isInteger(this.queries) || this.queries < 1) throw new UserError(`scorer queries must be a positive integer, got ${this.queries}`);
    if (this.pool !== 13) throw new UserError(`the scorer's smoothing window is 13 (got ${this.pool})`);
    const n = Math.max(this.chunk, this.queries);
    this.inTokens = new Int32Array(n);
    this.inPos = new Int32Array(n);
    this.inIdx = new BigInt64Array(n);
    this.inQpos = new Float32Array(n);
    this.window = o.window ?? 0;
    if (!Number.isInteger(this.window) || this.window < 0) throw new UserError(`scorer window must be an integer >= 0 (0 = full attention), got ${this.window}`);
    // a chunk's writes replace the ring's oldest rows, which no query of that chunk can see any more
    this.ring = this.window > 0 ? this.window + n : 0;
    this.ringPos = new Float32Array(this.ring);
    this.inRing = new BigInt64Array(n);
    this.inQlo = new Float32Array(n);
  }

  /** Loads a qwen3 GGUF into a backend. A missing, corrupt or non-qwen3 file is a UserError. */
  static load(path: string, o: ScorerOptions = {}): Scorer {
    const weights = GgufWeights.open(path);
    let backend: Backend | undefined;
    try {
      backend = Backend.create({ device: o.device, threads: o.threads });
      const s = new Scorer(backend, weights, o);
      weights.load(backend);
      s.info.weightBytes = weights.bytes;
      return s;
    } catch (err) {
      weights.free();
      backend?.free();
      throw err;
    }
  }

  /** tensors one graph may hold: about 90 per layer in the scoring graph with 16 heads (the head max
   *  takes 5 per halving), with room to spare */
  private get graphNodes(): number {
    return (96 + 5 * Math.ceil(Math.log2(this.info.heads))) * this.info.layers + 512;
  }

  /** KV length of the graph whose keys end at `end`: the chunk-multiple ladder entry >= end. */
  kvBucket(end: number): number {
    let b = this.chunk;
    while (b < end) b = Math.ceil((b * 1.25) / this.chunk) * this.chunk;
    return b;
  }

  private ensureCapacity(n: number): void {
    const cap = this.kvBucket(n);
    if (cap <= this.capacity) return;
    // graphs hold views of the old cache: drop them with it
    for (const b of this.graphs.values()) b.graph.free();
    this.graphs.clear();
    this.kv?.free();
    this.kv = undefined;
    const { layers, kvHeads, headDim } = this.info;
    const kv = TensorArena.create((this.ring > 0 ? 4 : 2) * layers);
    this.kCache = [];
    this.vCache = [];
    this.kRing = [];
    this.vRing = [];
    for (let l = 0; l < layers; l++) {
      this.kCache.push(kv.newTensor(F16, [headDim * kvHeads, cap]));
      this.vCache.push(kv.newTensor(F16, [headDim * kvHeads, cap]));
      if (this.ring > 0) {
        this.kRing.push(kv.newTensor(F16, [headDim * kvHeads, this.ring]));
        this.vRing.push(kv.newTensor(F16, [headDim * kvHeads, this.ring]));
      }
    }
    try {
      kv.allocate(this.backend);
    } catch (err) {
      kv.free();
      this.capacity = 0;
      throw err;
    }
    // zeros: rows past the prompt are masked, but 0 x NaN from uninitialised memory would still be NaN
    kv.clear(0);
    this.kv = kv;
    this.capacity = cap;
  }

  /** Causal mask [kvLen, T]: 0 where key position j <= the query's position, -inf elsewhere. */
  private causalMask(g: ComputeGraph, qpos: Tensor, kvLen: number, T: number): Tensor {
    // qpos holds position + 0.5, so step(qpos - j) is 1 exactly for visible keys; log gives 0 / -inf
    const d = g.sub(g.repeat(qpos, [kvLen, T]), g.arange(0, kvLen));
    return g.log(g.step(d));
  }

  /** Window mask [ring, T]: 0 where the ring row's position is in (query - window, query], -inf elsewhere
   *  (empty rows hold a far negative position). */
  private windowMask(g: ComputeGraph, qpos: Tensor, qlo: Tensor, kpos: Tensor, T: number): Tensor {
    const k = g.repeat(kpos, [this.ring, T]);
    const causal = g.step(g.sub(g.repeat(qpos, [this.ring, T]), k));
    const recent = g.step(g.sub(k, g.repeat(qlo, [this.ring, T])));
    return g.log(g.mul(causal, recent));
  }

  /** Q (post-norm, post-RoPE, [d, H, T]) and the cache writes of one layer's K/V. */
  private qkv(g: ComputeGraph, l: number, x: Tensor, pos: Tensor, kvIdx: Tensor, T: number, needQ: boolean, ringIdx?: Tensor): { cur: Tensor; q?: Tensor } {
    const { headDim: d, heads: H, kvHeads: Hk, rmsEps: eps, ropeFreqBase } = this.info;
    const L = this.layers[l];
    const rope = { nDims: d, mode: NEOX, nCtxOrig: 0, freqBase: ropeFreqBase };
    const cur = g.mul(g.rmsNorm(x, eps), L.attnNorm);
    let k = g.reshape(g.mulMat(L.wk, cur), [d, Hk, T]);
    k = g.rope(g.mul(g.rmsNorm(k, eps), L.kNorm), pos, rope);
    const v = g.mulMat(L.wv, cur);
    g.expand(g.setRows(this.kCache[l], g.reshape(k, [d * Hk, T]), kvIdx));
    g.expand(g.setRows(this.vCache[l], v, kvIdx));
    if (ringIdx) {
      g.expand(g.setRows(this.kRing[l], g.reshape(k, [d * Hk, T]), ringIdx));
      g.expand(g.setRows(this.vRing[l], v, ringIdx));
    }
    if (!needQ) return { cur };
    let q = g.reshape(g.mulMat(L.wq, cur), [d, H, T]);
    q = g.rope(g.mul(g.rmsNorm(q, eps), L.qNorm), pos, rope);
    return { cur, q };
  }

  /** [d, kvLen, Hkv] view of a layer's cache */
  private cacheView(g: ComputeGraph, t: Tensor, kvLen: number): Tensor {
    const { headDim: d, kvHeads: Hk } = this.info;
    return g.permute(g.view(t, [d, Hk, kvLen], [d * 2, d * Hk * 2, d * Hk * kvLen * 2], 0), 0, 2, 1, 3);
  }

  /** Attention output projection + residual + FFN + residual (over the ring in window mode). */
  private finishLayer(g: ComputeGraph, l: number, x: Tensor, q: Tensor, mask16: Tensor, kvLen: number, T: number): Tensor {
    const { headDim: d, heads: H, rmsEps: eps } = this.info;
    const L = this.layers[l];
    const [kc, vc, n] = this.ring > 0 ? [this.kRing[l], this.vRing[l], this.ring] : [this.kCache[l], this.vCache[l], kvLen];
    const att = g.flashAttn(g.permute(q, 0, 2, 1, 3), this.cacheView(g, kc, n), this.cacheView(g, vc, n), mask16, 1 / Math.sqrt(d));
    const h = g.add(g.mulMat(L.wo, g.reshape(att, [d * H, T])), x);
    const f = g.mul(g.rmsNorm(h, eps), L.ffnNorm);
    return g.add(g.mulMat(L.down, g.swiglu(g.mulMat(L.gate, f), g.mulMat(L.up, f))), h);
  }

  private inputs(g: ComputeGraph, T: number) {
    const win = this.ring > 0 ? { ringIdx: g.input(I64, [T], "ring_idx"), qlo: g.input(F32, [1, T], "qlo"), kpos: g.input(F32, [this.ring, 1], "kpos") } : {};
    return {
      tokens: g.input(I32, [T], "tokens"),
      pos: g.input(I32, [T], "pos"),
      kvIdx: g.input(I64, [T], "kv_idx"),
      qpos: g.input(F32, [1, T], "qpos"),
      ...win,
    };
  }

  /** The F16 mask finishLayer's attention uses: causal over the cache, or the window over the ring. */
  private attnMask16(g: ComputeGraph, inp: ReturnType<Scorer["inputs"]>, kvLen: number, T: number): Tensor {
    return g.cast(this.ring > 0 ? this.windowMask(g, inp.qpos, inp.qlo!, inp.kpos!, T) : this.causalMask(g, inp.qpos, kvLen, T), F16);
  }

  private chunkGraph(kvLen: number, logits: boolean): Built {
    // window mode reads only the ring: one shape for every chunk
    if (this.ring > 0) kvLen = 0;
    const key = `chunk:${kvLen}:${logits}`;
    let b = this.graphs.get(key);
    if (b) return b;
    const T = this.chunk;
    const g = ComputeGraph.create(this.graphNodes);
    try {
      const inp = this.inputs(g, T);
      const mask16 = this.attnMask16(g, inp, kvLen, T);
      let x = g.getRows(this.tokEmbd, inp.tokens);
      const nl = this.layers.length;
      for (let l = 0; l < nl; l++) {
        // without logits the last layer only has to write its K/V
        const last = l === nl - 1 && !logits;
        const { q } = this.qkv(g, l, x, inp.pos, inp.kvIdx, T, !last, inp.ringIdx);
        if (!last) x = this.finishLayer(g, l, x, q!, mask16, kvLen, T);
      }
      let out: Tensor | undefined;
      if (logits) out = g.output(g.mulMat(this.head, g.mul(g.rmsNorm(x, this.info.rmsEps), this.outNorm)));
      b = { graph: g, ...inp, out };
    } catch (err) {
      g.free();
      throw err;
    }
    this.graphs.set(key, b);
    return b;
  }

  /** Sum of `w` (odd) neighbours along dim 0 with zero padding: [n, a, b] -> [n, a, b]. */
  private window13(g: ComputeGraph, p: Tensor): Tensor {
    const n = p.ne[0];
    const xp = g.pad(p, [6, 6]);
    const at = (t: Tensor, len: number, shift: number) => g.view(t, [len, t.ne[1], t.ne[2]], [t.nb[1], t.nb[2], t.nb[3]], shift * 4);
    const s1 = g.add(at(xp, n + 11, 0), at(xp, n + 11, 1)); // 2 wide
    const s2 = g.add(at(s1, n + 9, 0), at(s1, n + 9, 2)); // 4 wide
    const s3 = g.add(at(s2, n + 5, 0), at(s2, n + 5, 4)); // 8 wide
    return g.add(g.add(at(s3, n, 0), at(s2, n, 8)), at(xp, n, 12)); // 8 + 4 + 1
  }

  private max(g: ComputeGraph, a: Tensor, b: Tensor): Tensor {
    return g.add(b, g.relu(g.sub(a, b)));
  }

  /** max over dim 2 by halving with (possibly overlapping) views: [n, a, h] -> [n, a, 1] */
  private maxOverDim2(g: ComputeGraph, t: Tensor): Tensor {
    let h = t.ne[2];
    while (h > 1) {
      const h2 = Math.ceil(h / 2);
      const lo = g.view(t, [t.ne[0], t.ne[1], h2], [t.nb[1], t.nb[2], t.nb[3]], 0);
      const hi = g.view(t, [t.ne[0], t.ne[1], h2], [t.nb[1], t.nb[2], t.nb[3]], (h - h2) * t.nb[2]);
      t = this.max(g, lo, hi);
      h = h2;
    }
    return t;
  }

  private scoreGraph(kvLen: number, nq: number, capture: boolean): Built {
    const key = `score:${kvLen}:${nq}:${capture}`;
    let b = this.graphs.get(key);
    if (b) return b;
    const { headDim: d } = this.info;
    const g = ComputeGraph.create(this.graphNodes);
    try {
      const inp = this.inputs(g, nq);
      // the scoring probabilities always cover every position; the forward between layers follows the mode
      const mask = this.causalMask(g, inp.qpos, kvLen, nq);
      const mask16 = this.attnMask16(g, inp, kvLen, nq);
      let x = g.getRows(this.tokEmbd, inp.tokens);
      const nl = this.layers.length;
      let best: Tensor | undefined;
      const qs: Tensor[] = [];
      for (let l = 0; l < nl; l++) {
        const { q } = this.qkv(g, l, x, inp.pos, inp.kvIdx, nq, true, inp.ringIdx);
        if (capture) qs.push(g.output(q!));
        // [kvLen, nq, H] attention probabilities of the queries over every position
        const kq = g.mulMat(this.cacheView(g, this.kCache[l], kvLen), g.permute(q!, 0, 2, 1, 3));
        const p = g.softMax(kq, mask, 1 / Math.sqrt(d));
        const m = this.maxOverDim2(g, this.window13(g, p));
        best = best ? this.max(g, best, m) : m;
        if (l < nl - 1) x = this.finishLayer(g, l, x, q!, mask16, kvLen, nq);
      }
      // mean over the queries: [kvLen, nq] -> [nq, kvLen] -> [1, kvLen]; the window's 1/13 goes here
      const flat = g.reshape(best!, [kvLen, nq]);
      const out = g.output(g.scale(g.mean(g.cont(g.transpose(flat))), 1 / this.pool));
      b = { graph: g, ...inp, out, q: capture ? qs : undefined };
    } catch (err) {
      g.free();
      throw err;
    }
    this.graphs.set(key, b);
    return b;
  }

  /** Fills the chunk inputs for tokens[from, from+count) at their positions, padding to T rows. */
  private fill(tokens: ArrayLike<number>, from: number, count: number, T: number): void {
    for (let i = 0; i < T; i++) {
      const p = from + i;
      this.inTokens[i] = i < count ? tokens[p] : 0;
      this.inPos[i] = p;
      this.inIdx[i] = BigInt(p);
      this.inQpos[i] = p + 0.5;
      if (this.ring > 0) {
        const r = p % this.ring;
        this.inRing[i] = BigInt(r);
        this.inQlo[i] = p + 0.5 - this.window;
        // every row is written, padding included (as future positions, masked by causality)
        this.ringPos[r] = p;
      }
    }
  }

  /** A new prompt: no ring row holds a position of it yet. */
  private clearRing(): void {
    this.ringPos.fill(-1e9);
  }

  private runWith(b: Built, T: number): void {
    this.backend.run(b.graph, () => {
      tensorSet(b.tokens, this.inTokens.subarray(0, T));
      tensorSet(b.pos, this.inPos.subarray(0, T));
      tensorSet(b.kvIdx, this.inIdx.subarray(0, T));
      tensorSet(b.qpos, this.inQpos.subarray(0, T));
      if (b.ringIdx) {
        tensorSet(b.ringIdx, this.inRing.subarray(0, T));
        tensorSet(b.qlo!, this.inQlo.subarray(0, T));
        tensorSet(b.kpos!, this.ringPos);
      }
    });
  }

  private checkTokens(tokens: ArrayLike<number>): void {
    const v = this.info.vocab;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!(t >= 0 && t < v)) throw new UserError(`token ${t} at ${i} is outside the scorer's vocabulary of ${v}`);
    }
  }

  /** Importance of every token of `tokens` (ids in the scorer's vocabulary). */
  score(tokens: ArrayLike<number>): ScoreResult {
    return this.scoreImpl(tokens, undefined);
  }

  /** Test-only: score() plus the per-layer queries and cached keys it used. */
  scoreCaptured(tokens: ArrayLike<number>): ScoreResult & ScoreCapture {
    const cap: ScoreCapture = { q: [], k: [] };
    const r = this.scoreImpl(tokens, cap);
    return { ...r, ...cap };
  }

  private scoreImpl(tokens: ArrayLike<number>, cap: ScoreCapture | undefined): ScoreResult {
    if (this.freed) throw new Error("the scorer is freed");
    const n = tokens.length;
    if (n === 0) throw new UserError("cannot score an empty prompt");
    this.checkTokens(tokens);
    this.newGraphs();
    const nq = Math.min(this.queries, n);
    const body = n - nq;
    const C = this.chunk;
    this.ensureCapacity(Math.max(n, Math.ceil(body / C) * C));
    this.clearRing();
    const t0 = performance.now();
    let chunks = 0;
    for (let p0 = 0; p0 < body; p0 += C) {
      const b = this.chunkGraph(this.kvBucket(p0 + C), false);
      this.fill(tokens, p0, Math.min(C, body - p0), C);
      this.runWith(b, C);
      chunks++;
    }
    const t1 = performance.now();
    const kvLen = this.kvBucket(n);
    const b = this.scoreGraph(kvLen, nq, cap !== undefined);
    this.fill(tokens, body, nq, nq);
    this.runWith(b, nq);
    const all = tensorGet(b.out!, new Float32Array(kvLen));
    const t2 = performance.now();
    if (cap) {
      const { headDim: d, heads: H, kvHeads: Hk } = this.info;
      for (const q of b.q!) cap.q.push(tensorGet(q, new Float32Array(nq * H * d)));
      for (const k of this.kCache) {
        const raw = tensorGet(k, new Uint16Array(n * Hk * d));
        cap.k.push(Float32Array.from(raw, f16ToF32));
      }
    }
    return { importance: all.slice(0, n), prefillMs: t1 - t0, scoreMs: t2 - t1, chunks };
  }

  /** Test-only: final-layer logits of every token, [n x vocab], computed chunk by chunk. */
  logits(tokens: ArrayLike<number>): Float32Array {
    if (this.freed) throw new Error("the scorer is freed");
    const n = tokens.length;
    this.checkTokens(tokens);
    const C = this.chunk;
    const V = this.info.vocab;
    this.newGraphs();
    this.ensureCapacity(Math.ceil(n / C) * C);
    this.clearRing();
    const out = new Float32Array(n * V);
    for (let p0 = 0; p0 < n; p0 += C) {
      const count = Math.min(C, n - p0);
      const b = this.chunkGraph(this.kvBucket(p0 + C), true);
      this.fill(tokens, p0, count, C);
      this.runWith(b, C);
      tensorGet(b.out!, out.subarray(p0 * V, (p0 + count) * V));
    }
    return out;
  }

  /**
   * Drops the graphs of the previous prompt: each prompt builds its own. On CUDA, scoring a prompt a
   * second time with graphs cached from an earlier one (same shapes) aborted with an illegal memory
   * access on the H200 (NIAH at 4K: one trial passed, three aborted; bench/results/2026-11-23-h200-2);
   * runs whose every graph was new never did. On a CPU the cached graphs give identical scores and an
   * AddressSanitizer build of ggml finds nothing, so the cause may be CUDA-side: ggml-cuda records a
   * CUDA graph when a graph runs again unchanged, which ComputeGraph.stamp now prevents. Not yet run
   * on a GPU. A graph costs a few ms to build, against hundreds of ms of scoring at PFlash's lengths.
   */
  private newGraphs(): void {
    for (const b of this.graphs.values()) b.graph.free();
    this.graphs.clear();
  }

  /** Graph shapes built for the last prompt. */
  get graphCount(): number {
    return this.graphs.size;
  }

  /** Bytes of the KV cache and of the scheduler's compute buffer. */
  memory(): { weights: number; kv: number; compute: number } {
    return { weights: this.weights.bytes, kv: this.kv?.bytes ?? 0, compute: this.backend.computeBufferBytes() };
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const b of this.graphs.values()) b.graph.free();
    this.graphs.clear();
    this.kv?.free();
    this.weights.free();
    this.backend.free();
  }
}
