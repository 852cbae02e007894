// Memory a model needs at a given context, from its shape alone (no loading). Pure arithmetic,
// following how llama.cpp (de3ff81) sizes things:
//   weights   = the file's tensor bytes (what gets copied to the device)
//   KV cache  = n_attention_layers x n_ctx_padded x n_head_kv x (head_dim_k x bytes(K) + head_dim_v x bytes(V))
//               n_ctx is padded to a multiple of 256 (llama-context.cpp); bytes per element: f32 4,
//               f16/bf16 2, q8_0 34/32, q4_0 18/32 (block quants: a 32-value block plus its scale)
//   recurrent = n_recurrent_layers x n_seq x (conv + ssm state) x 4 bytes (f32 states)
//   compute   = 4 bytes x n_ubatch x max(logits stage, layer stage), where
//               logits stage = n_vocab + n_embd                (output matmul in and out)
//               layer stage  = 3 x n_embd + max(3 x n_ff, attention scratch)
//               attention scratch = flash attention: n_head x head_dim; without: n_head x n_ctx (the KQ
//               scores; the softmax runs in place)
//   The compute term estimates ggml's allocator peak (it reuses buffers between ops). Checked against
//   llama.cpp's own "compute buffer size" on CPU for a Qwen3-0.6B shape (vocab 151936, ubatch 512):
//   ctx 4096 -> 298.8 MiB estimated vs 312.8 (FA on) / 302.8 (FA off) reported; ctx 32768 without FA
//   -> 1030 MiB vs 1106. Weights and KV are exact up to alignment (KV matched to the byte).

export const CACHE_TYPES = ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "iq4_nl"] as const;
export type CacheType = (typeof CACHE_TYPES)[number];

/** Bytes per element of a KV cache type. */
export function cacheTypeBytes(t: CacheType): number {
  switch (t) {
    case "f32":
      return 4;
    case "f16":
    case "bf16":
      return 2;
    case "q8_0":
      return 34 / 32;
    case "q4_0":
    case "iq4_nl":
      return 18 / 32;
    case "q4_1":
      return 20 / 32;
    case "q5_0":
      return 22 / 32;
    case "q5_1":
      return 24 / 32;
  }
}

export interface MemoryInput {
  weightsBytes: number;
  /** layers that keep a KV cache */
  attentionLayers: number;
  /** layers that keep a recurrent state instead */
  recurrentLayers?: number;
  /** recurrent state per layer and sequence, in f32 elements (llama.cpp's n_embd_r + n_embd_s) */
  recurrentStateElems?: number;
  ctx: number;
  headKv: number;
  headDimK: number;
  headDimV?: number;
  heads: number;
  embd: number;
  ff?: number;
  vocab: number;
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  /** default 512 (llama.cpp's n_ubatch) */
  ubatch?: number;
  /** parallel sequences (recurrent state is per sequence; the KV cache is shared) */
  seqs?: number;
  /** default true: llama.cpp's --flash-attn auto turns it on wherever the backend supports it */
  flashAttn?: boolean;
}

export interface MemoryEstimate {
  weights: number;
  kv: number;
  /** KV bytes per token of context */
  kvPerToken: number;
  recurrent: number;
  compute: number;
  total: number;
  /** context the KV cache is sized for (padded) */
  ctxPadded: number;
}

export function padCtx(ctx: number): number {
  return Math.ceil(ctx / 256) * 256;
}

export function estimateMemory(m: MemoryInput): MemoryEstimate {
  for (const [k, v] of Object.entries(m)) {
    if (typeof v === "number" && (!Number.isFinite(v) || v < 0)) throw new Error(`memory estimate: ${k} must be a non-negative number, got ${v}`);
  }
  if (m.ctx < 1) throw new Error(`memory estimate: ctx must be at least 1, got ${m.ctx}`);
  const kType = m.cacheTypeK ?? "f16";
  const vType = m.cacheTypeV ?? "f16";
  const headDimV = m.headDimV ?? m.headDimK;
  const ubatch = m.ubatch ?? 512;
  const ctxPadded = padCtx(m.ctx);
  const kvPerToken = m.attentionLayers * m.headKv * (m.headDimK * cacheTypeBytes(kType) + headDimV * cacheTypeBytes(vType));
  const kv = Math.ceil(kvPerToken * ctxPadded);
  const recurrent = (m.recurrentLayers ?? 0) * (m.seqs ?? 1) * (m.recurrentStateElems ?? 0) * 4;
  const attnScratch = m.flashAttn === false ? m.heads * ctxPadded : m.heads * m.headDimK;
  const logitsStage = m.vocab + m.embd;
  const layerStage = 3 * m.embd + Math.max(3 * (m.ff ?? 4 * m.embd), attnScratch);
  const compute = 4 * ubatch * Math.max(logitsStage, layerStage);
  return { weights: m.weightsBytes, kv, kvPerToken, recurrent, compute, total: m.weightsBytes + kv + recurrent + compute, ctxPadded };
}

/** The shape fields of an inspected model that the estimate needs. */
export interface ModelShape {
  architecture: string;
  dataBytes: number;
  layers?: number;
  layerKinds?: { attention: number; recurrent: number };
  recurrentStateElems?: number;
  kvHeads?: number;
  heads?: number;
  headDim?: number;
  headDimV?: number;
  embd?: number;
  ff?: number;
  vocabSize?: number;
}

/** MemoryInput for a model, or the names of the metadata it lacks. */
export function memoryInputFor(m: ModelShape, run: { ctx: number; cacheTypeK?: CacheType; cacheTypeV?: CacheType; ubatch?: number; flashAttn?: boolean; seqs?: number }): MemoryInput | { missing: string[] } {
  const need = { layers: m.layers, heads: m.heads, kvHeads: m.kvHeads, headDim: m.headDim, embd: m.embd, vocabSize: m.vocabSize };
  const missing = Object.entries(need).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length) return { missing };
  return {
    weightsBytes: m.dataBytes,
    attentionLayers: m.layerKinds?.attention ?? m.layers!,
    recurrentLayers: m.layerKinds?.recurrent ?? 0,
    recurrentStateElems: m.recurrentStateElems,
    headKv: m.kvHeads!,
    headDimK: m.headDim!,
    headDimV: m.headDimV,
    heads: m.heads!,
    embd: m.embd!,
    ff: m.ff,
    vocab: m.vocabSize!,
    ...run,
  };
}
