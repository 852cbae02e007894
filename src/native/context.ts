// Ownership of a llama_context: decoding, zero-copy logits/embeddings views, KV memory operations,
// per-sequence state and the llama-ext.h layer-input capture DFlash uses.
import koffi from "koffi";
import { getNative } from "./index.js";
import { LlamaError, UserError } from "./errors.js";
import { llama_sampler_seq_config, type Ptr } from "./llama-api.js";
import { clearRecentLog, recentProblems } from "./log.js";
import type { NativeBatch } from "./batch.js";
import type { NativeModel } from "./model.js";

export type CacheType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0" | "q4_1" | "q5_0" | "q5_1";
const CACHE_TYPES: Record<CacheType, number> = { f32: 0, f16: 1, q4_0: 2, q4_1: 3, q5_0: 6, q5_1: 7, q8_0: 8, bf16: 30 };
export const FLASH_ATTN = { auto: -1, off: 0, on: 1 } as const;

export interface ContextOptions {
  nCtx: number;
  nBatch?: number;
  nUbatch?: number;
  nSeqMax?: number;
  /** recurrent-state snapshots per sequence, for rollback on hybrid models */
  nRsSeq?: number;
  kvUnified?: boolean;
  flashAttn?: keyof typeof FLASH_ATTN;
  typeK?: CacheType;
  typeV?: CacheType;
  embeddings?: boolean;
  threads?: number;
  threadsBatch?: number;
  /** a context whose embeddings/head this one borrows (DFlash drafter -> target) */
  other?: NativeContext;
  /** max outputs per ubatch; 0 = n_batch */
  nOutputsMax?: number;
  /** argmax on the device for sequences 0..n-1 (llama.cpp backend sampling): greedy decoding then
   *  reads one token id instead of copying and scanning a vocabulary of logits per step */
  deviceGreedySeqs?: number;
  /** instead of greedy: a device top-k (this k) for sequences 0..deviceGreedySeqs-1; read with sampledTopK() */
  deviceTopK?: number;
}

export function cacheType(name: string): number {
  const t = CACHE_TYPES[name as CacheType];
  if (t === undefined) throw new UserError(`unknown KV cache type "${name}" (expected one of ${Object.keys(CACHE_TYPES).join(", ")})`);
  return t;
}

export class NativeContext {
  readonly ptr: Ptr;
  readonly model: NativeModel;
  private readonly mem: Ptr;
  readonly nVocab: number;
  readonly nEmbd: number;
  private freed = false;
  /** device sampler chains and their config array; must outlive the context */
  private readonly samplerChains: Ptr[];
  private readonly samplerConfig: unknown;
  private lastOutputs = 0;
  private logitsAddr = 0;
  private logitsRows = 0;
  private logitsView = new Float32Array(0);
  private embdAddr = 0;
  private embdRows = 0;
  private embdView = new Float32Array(0);

  /** k of the device top-k chains (0: greedy chains or none) */
  readonly deviceTopK: number;

  private constructor(ptr: Ptr, model: NativeModel, samplerChains: Ptr[], samplerConfig: unknown, deviceTopK: number) {
    this.deviceTopK = deviceTopK;
    const { llama } = getNative();
    this.ptr = ptr;
    this.samplerChains = samplerChains;
    this.samplerConfig = samplerConfig;
    this.model = model;
    this.mem = llama.llama_get_memory(ptr);
    this.nVocab = llama.llama_vocab_n_tokens(model.vocab);
    this.nEmbd = llama.llama_model_n_embd(model.ptr);
  }

  static create(model: NativeModel, o: ContextOptions): NativeContext {
    const { llama } = getNative();
    const p = llama.llama_context_default_params();
    p.n_ctx = o.nCtx;
    if (o.nBatch !== undefined) p.n_batch = o.nBatch;
    if (o.nUbatch !== undefined) p.n_ubatch = o.nUbatch;
    if (o.nSeqMax !== undefined) p.n_seq_max = o.nSeqMax;
    if (o.nRsSeq !== undefined) p.n_rs_seq = o.nRsSeq;
    if (o.kvUnified !== undefined) p.kv_unified = o.kvUnified;
    if (o.flashAttn !== undefined) p.flash_attn_type = FLASH_ATTN[o.flashAttn];
    if (o.typeK !== undefined) p.type_k = cacheType(o.typeK);
    if (o.typeV !== undefined) p.type_v = cacheType(o.typeV);
    if (o.embeddings !== undefined) p.embeddings = o.embeddings;
    if (o.threads !== undefined) p.n_threads = o.threads;
    if (o.threadsBatch !== undefined) p.n_threads_batch = o.threadsBatch;
    if (o.nOutputsMax !== undefined) p.n_outputs_max = o.nOutputsMax;
    // every output of a multi-token batch is readable (tree verify needs one row per node)
    p.n_outputs_max_per_seq = 0;
    p.no_perf = false;
    if (o.other) p.ctx_other = o.other.ptr;
    const chains: Ptr[] = [];
    let config: unknown = null;
    const nGreedy = o.deviceGreedySeqs ?? 0;
    if (nGreedy > 0) {
      for (let s = 0; s < nGreedy; s++) {
        const chain = llama.llama_sampler_chain_init({ no_perf: true });
        llama.llama_sampler_chain_add(chain, o.deviceTopK ? llama.llama_sampler_init_top_k(o.deviceTopK) : llama.llama_sampler_init_greedy());
        chains.push(chain);
      }
      config = koffi.alloc(llama_sampler_seq_config, nGreedy);
      koffi.encode(config, llama_sampler_seq_config, chains.map((sampler, seq_id) => ({ seq_id, sampler })), nGreedy);
      p.samplers = config;
      p.n_samplers = nGreedy;
    }
    clearRecentLog();
    const ptr = llama.llama_init_from_model(model.ptr, p);
    if (!ptr) {
      for (const c of chains) llama.llama_sampler_free(c);
      if (config) koffi.free(config);
      const why = recentProblems();
      throw new LlamaError(`failed to create a context of ${o.nCtx} tokens${why.length ? `: ${why.join("; ")}` : ""}`);
    }
    return new NativeContext(ptr, model, chains, config, nGreedy > 0 ? (o.deviceTopK ?? 0) : 0);
  }

  get hasDeviceGreedy(): boolean {
    return this.samplerChains.length > 0 && this.deviceTopK === 0;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const { llama } = getNative();
    llama.llama_free(this.ptr);
    for (const c of this.samplerChains) llama.llama_sampler_free(c);
    if (this.samplerConfig) koffi.free(this.samplerConfig);
  }

  /** Device top-k of output row i of the last decode (deviceTopK contexts): writes up to k candidate
   *  ids and their raw logits at ids[at..], logits[at..] (unordered) and returns how many. The
   *  rows live in one host buffer of n_vocab entries per row: one zero-copy view per buffer address. */
  sampledTopK(i: number, ids: Int32Array, logits: Float32Array, at: number): number {
    const { llama } = getNative();
    const n = llama.llama_get_sampled_candidates_count_ith(this.ptr, i);
    if (n === 0) return 0;
    const ca = llama.uaddr_get_sampled_candidates_ith(this.ptr, i);
    const la = llama.uaddr_get_sampled_logits_ith(this.ptr, i);
    if (ca === 0 || la === 0) return 0;
    const co = this.topKOffset(ca, i, "cand");
    const lo = this.topKOffset(la, i, "logit");
    const c = this.topK.cand.view;
    const l = this.topK.logit.view;
    for (let j = 0; j < n; j++) {
      ids[at + j] = c[co + j];
      logits[at + j] = l[lo + j];
    }
    return n;
  }

  private topK = { cand: { base: 0, end: 0, view: new Int32Array(0) as Int32Array | Float32Array }, logit: { base: 0, end: 0, view: new Float32Array(0) as Int32Array | Float32Array } };

  /** the element offset of `addr` in topK[which].view, remaking the view when the buffer moved */
  private topKOffset(addr: number, i: number, which: "cand" | "logit"): number {
    const t = this.topK[which];
    if (addr < t.base || addr >= t.end) {
      // row i's own pointer starts a view over as many rows as a batch can have from there; only
      // rows of the last decode are ever read through it
      const { llama } = getNative();
      const rows = Math.max(1, llama.llama_n_batch(this.ptr));
      const bytes = rows * this.nVocab * 4;
      const ptr = which === "cand" ? llama.llama_get_sampled_candidates_ith(this.ptr, i) : llama.llama_get_sampled_logits_ith(this.ptr, i);
      t.view = which === "cand" ? new Int32Array(koffi.view(ptr, bytes)) : new Float32Array(koffi.view(ptr, bytes));
      t.base = addr;
      t.end = addr + (rows - 1) * this.nVocab * 4 + 1;
    }
    return (addr - t.base) / 4;
  }

  /** The token the device sampler picked for output row i of the last decode (-1 = none). */
  sampledToken(i: number): number {
    return getNative().llama.llama_get_sampled_token_ith(this.ptr, i);
  }

  get nCtx(): number {
    return getNative().llama.llama_n_ctx(this.ptr);
  }
  get nBatch(): number {
    return getNative().llama.llama_n_batch(this.ptr);
  }
  get nUbatch(): number {
    return getNative().llama.llama_n_ubatch(this.ptr);
  }
  get nSeqMax(): number {
    return getNative().llama.llama_n_seq_max(this.ptr);
  }
  /** recurrent-state snapshots per sequence (0 unless the model supports rollback and asked for it) */
  get nRsSeq(): number {
    return getNative().llama.llama_n_rs_seq(this.ptr);
  }

  /** Runs the batch; returns libllama's code (0 ok, 1 no KV slot, 2 aborted, <0 error). */
  decodeRaw(batch: NativeBatch): number {
    let outputs = 0;
    const n = batch.nTokens;
    const flags = batch.logits;
    for (let i = 0; i < n; i++) outputs += flags[i] !== 0 ? 1 : 0;
    this.lastOutputs = outputs;
    return getNative().llama.llama_decode(this.ptr, batch.struct);
  }

  decode(batch: NativeBatch): void {
    const rc = this.decodeRaw(batch);
    if (rc === 0) return;
    if (rc === 1) throw new LlamaError(`the context is full: no KV cache slot for ${batch.nTokens} more tokens (context ${this.nCtx})`);
    const why = recentProblems(6);
    throw new LlamaError(`llama_decode failed with code ${rc}${why.length ? `: ${why.join("; ")}` : ""}`);
  }

  /** Number of output rows produced by the last decode. */
  get nOutputs(): number {
    return this.lastOutputs;
  }

  /** All output rows of the last decode, row-major [nOutputs x nVocab]; the view is reused while
   *  libllama's output buffer stays where it is, so reading it every step allocates nothing. */
  logits(): Float32Array {
    const { llama } = getNative();
    const addr = llama.uaddr_get_logits(this.ptr);
    if (addr === 0) throw new LlamaError("no logits: the last batch requested none");
    const rows = this.lastOutputs;
    if (addr !== this.logitsAddr || rows !== this.logitsRows) {
      const ptr = llama.llama_get_logits(this.ptr);
      this.logitsView = new Float32Array(koffi.view(ptr, rows * this.nVocab * 4));
      this.logitsAddr = addr;
      this.logitsRows = rows;
    }
    return this.logitsView;
  }

  /** Output embeddings of the last decode, [nOutputs x nEmbd] (context made with embeddings). */
  embeddings(): Float32Array {
    const { llama } = getNative();
    const addr = llama.uaddr_get_embeddings(this.ptr);
    if (addr === 0) throw new LlamaError("no embeddings: create the context with embeddings enabled");
    const rows = this.lastOutputs;
    if (addr !== this.embdAddr || rows !== this.embdRows) {
      const ptr = llama.llama_get_embeddings(this.ptr);
      this.embdView = new Float32Array(koffi.view(ptr, rows * this.nEmbd * 4));
      this.embdAddr = addr;
      this.embdRows = rows;
    }
    return this.embdView;
  }

  setEmbeddings(on: boolean): void {
    getNative().llama.llama_set_embeddings(this.ptr, on);
  }
  setCausalAttention(on: boolean): void {
    getNative().llama.llama_set_causal_attn(this.ptr, on);
  }
  setThreads(n: number, nBatch: number): void {
    getNative().llama.llama_set_n_threads(this.ptr, n, nBatch);
  }
  synchronize(): void {
    getNative().llama.llama_synchronize(this.ptr);
  }

  // KV memory, positions are [p0, p1); p < 0 means open-ended
  clearMemory(data = true): void {
    getNative().llama.llama_memory_clear(this.mem, data);
  }
  seqRm(seq: number, p0: number, p1: number): boolean {
    return getNative().llama.llama_memory_seq_rm(this.mem, seq, p0, p1);
  }
  seqCp(src: number, dst: number, p0: number, p1: number): void {
    getNative().llama.llama_memory_seq_cp(this.mem, src, dst, p0, p1);
  }
  seqKeep(seq: number): void {
    getNative().llama.llama_memory_seq_keep(this.mem, seq);
  }
  seqAdd(seq: number, p0: number, p1: number, delta: number): void {
    getNative().llama.llama_memory_seq_add(this.mem, seq, p0, p1, delta);
  }
  seqPosMin(seq: number): number {
    return getNative().llama.llama_memory_seq_pos_min(this.mem, seq);
  }
  seqPosMax(seq: number): number {
    return getNative().llama.llama_memory_seq_pos_max(this.mem, seq);
  }

  /** Serialized KV/recurrent state of one sequence (host copy). */
  seqStateGet(seq: number): Uint8Array {
    const { llama } = getNative();
    const size = llama.llama_state_seq_get_size(this.ptr, seq);
    const out = new Uint8Array(size);
    const n = llama.llama_state_seq_get_data(this.ptr, out, size, seq);
    return out.subarray(0, n);
  }

  seqStateSet(data: Uint8Array, seq: number): void {
    const n = getNative().llama.llama_state_seq_set_data(this.ptr, data, data.length, seq);
    if (n === 0) throw new LlamaError(`restoring sequence ${seq} state failed (${data.length} bytes)`);
  }

  perf() {
    const d = getNative().llama.llama_perf_context(this.ptr);
    return { promptMs: d.t_p_eval_ms, evalMs: d.t_eval_ms, promptTokens: d.n_p_eval, evalTokens: d.n_eval, graphReuses: d.n_reused };
  }
  perfReset(): void {
    getNative().llama.llama_perf_context_reset(this.ptr);
  }

  /** llama-ext: capture the input of layer `lid` for every token of following decodes. */
  captureLayerInput(lid: number, on: boolean): void {
    getNative().ext.llama_set_embeddings_layer_inp(this.ptr, lid, on);
  }

  /** llama-ext: captured inputs of layer `lid` for the tokens of the last decode, [nTokens x nEmbd],
   *  a view into native memory valid until the next decode. */
  layerInput(lid: number, nTokens: number): Float32Array {
    const { ext } = getNative();
    const addr = ext.uaddr_get_embeddings_layer_inp(this.ptr, lid);
    if (addr === 0) throw new LlamaError(`layer ${lid} inputs were not captured`);
    // one view per layer while libllama keeps the buffer where it is: reading it every step
    // allocates nothing (the view covers a whole batch; callers read their nTokens rows)
    let c = this.layerViews.get(lid);
    if (!c || c.addr !== addr || c.rows < nTokens) {
      const rows = Math.max(nTokens, getNative().llama.llama_n_batch(this.ptr));
      c = { addr, rows, view: new Float32Array(koffi.view(ext.llama_get_embeddings_layer_inp(this.ptr, lid), rows * this.nEmbd * 4)) };
      this.layerViews.set(lid, c);
    }
    return c.view;
  }

  private readonly layerViews = new Map<number, { addr: number; rows: number; view: Float32Array }>();

  /** llama-ext: output the drafter's nextn embeddings (DFlash contexts set this like llama.cpp does). */
  setNextnEmbeddings(on: boolean, masked: boolean): void {
    getNative().ext.llama_set_embeddings_nextn(this.ptr, on, masked);
  }
}
