// qwen3: hparams keys and tensors as llama.cpp loads them (src/models/qwen3.cpp, the common
// hparams in llama_model_base::load_hparams, names in src/llama-arch.cpp). GGUF dims are in
// ggml order: ne0 is the input dimension of a matrix.

import { GGMLType, LlamaFileType } from "./ggml-types.js";
import { kv, type GgufKV, type GgufTensorSource } from "./gguf-writer.js";
import { constantTensorData, hashString, randomTensorData, type WeightType } from "./rng.js";
import { buildModelVocab, tokenizerMetadata, TokenType, type ModelVocab } from "./vocab.js";

export const QWEN3_PRESETS = ["tiny", "0.6b", "8b", "32b"] as const;
export type Qwen3Preset = (typeof QWEN3_PRESETS)[number];

/** Shape flags every architecture of make-model accepts; unset ones come from the preset or target. */
export interface ShapeOverrides {
  layers?: number;
  embd?: number;
  ff?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  vocab?: number;
  ctx?: number;
}

/** The transformer-block dimensions every generated architecture has. */
export interface BlockShape {
  layers: number;
  embd: number;
  ff: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ctx: number;
}

export interface Qwen3Shape extends BlockShape {
  /** undefined: the built-in BPE vocabulary size */
  vocab?: number;
  tiedEmbeddings: boolean;
  ropeFreqBase: number;
  rmsEps: number;
}

// Real Qwen3 shapes (config.json of Qwen3-0.6B / -8B / -32B); tiny is CI-sized.
const PRESET_SHAPES: Record<Qwen3Preset, Qwen3Shape> = {
  tiny: { layers: 2, embd: 128, ff: 256, heads: 4, kvHeads: 2, headDim: 32, ctx: 4096, tiedEmbeddings: false, ropeFreqBase: 1e6, rmsEps: 1e-6 },
  "0.6b": { layers: 28, embd: 1024, ff: 3072, heads: 16, kvHeads: 8, headDim: 128, vocab: 151936, ctx: 40960, tiedEmbeddings: true, ropeFreqBase: 1e6, rmsEps: 1e-6 },
  "8b": { layers: 36, embd: 4096, ff: 12288, heads: 32, kvHeads: 8, headDim: 128, vocab: 151936, ctx: 40960, tiedEmbeddings: false, ropeFreqBase: 1e6, rmsEps: 1e-6 },
  "32b": { layers: 64, embd: 5120, ff: 25600, heads: 64, kvHeads: 8, headDim: 128, vocab: 151936, ctx: 40960, tiedEmbeddings: false, ropeFreqBase: 1e6, rmsEps: 1e-6 },
};

export function qwen3Preset(name: string): Qwen3Shape {
  if (!(QWEN3_PRESETS as readonly string[]).includes(name)) {
    throw new Error(`unknown qwen3 preset "${name}" (expected one of: ${QWEN3_PRESETS.join(", ")})`);
  }
  return { ...PRESET_SHAPES[name as Qwen3Preset] };
}

const MAX_LAYERS = 512; // LLAMA_MAX_LAYERS

export function checkPositiveInt(name: string, v: number | undefined): void {
  if (v === undefined) return;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw new Error(`--${name} must be a positive integer, got ${String(v)}`);
  }
}

/** Checks shared by qwen3 targets and dflash drafters (both run the same attention block). */
export function validateBlockShape(s: BlockShape): void {
  checkPositiveInt("layers", s.layers);
  checkPositiveInt("embd", s.embd);
  checkPositiveInt("ff", s.ff);
  checkPositiveInt("heads", s.heads);
  checkPositiveInt("kv-heads", s.kvHeads);
  checkPositiveInt("head-dim", s.headDim);
  checkPositiveInt("ctx", s.ctx);
  if (s.layers > MAX_LAYERS) throw new Error(`--layers must be at most ${MAX_LAYERS} (LLAMA_MAX_LAYERS), got ${s.layers}`);
  if (s.heads % s.kvHeads !== 0) {
    throw new Error(`--kv-heads (${s.kvHeads}) must divide --heads (${s.heads})`);
  }
  if (s.headDim % 2 !== 0) throw new Error(`--head-dim must be even for RoPE, got ${s.headDim}`);
}

/** A tensor to generate: normal(0, std) weights or a constant (norms). */
export interface TensorPlan {
  name: string;
  shape: number[];
  type: number;
  /** rows (along shape[1]) from `liveRows` on are zero: see buildQwen3 */
  init: { std: number; liveRows?: number } | { value: number };
}

export function weightGgmlType(t: WeightType): number {
  return t === "f16" ? GGMLType.F16 : GGMLType.F32;
}

export function fileTypeOf(t: WeightType): number {
  return t === "f16" ? LlamaFileType.MOSTLY_F16 : LlamaFileType.ALL_F32;
}

/** Matrices default to std 1/sqrt(fan_in), which keeps activations at unit variance. */
export function matrix(name: string, nIn: number, nOut: number, wtype: WeightType, std = 1 / Math.sqrt(nIn)): TensorPlan {
  return { name, shape: [nIn, nOut], type: weightGgmlType(wtype), init: { std } };
}

/** Norm weights stay F32 (llama.cpp keeps 1-D tensors unquantized) and start at 1.0. */
export function norm(name: string, n: number): TensorPlan {
  return { name, shape: [n], type: GGMLType.F32, init: { value: 1 } };
}

/**
 * One Qwen3 decoder block (also the DFlash drafter block), in convert_hf_to_gguf order.
 * The two projections that write into the residual stream (attn_output, ffn_down) get GPT-2's
 * 1/sqrt(2 * n_layers) scaling: with full-size updates, attention averages every position into
 * the same vector within a few layers and a random deep model repeats one token forever; scaled,
 * the token embedding (std 1) survives to the head and greedy output stays varied.
 */
export function blockTensors(
  i: number,
  s: Pick<Qwen3Shape, "embd" | "ff" | "heads" | "kvHeads" | "headDim" | "layers">,
  wtype: WeightType,
): TensorPlan[] {
  const p = `blk.${i}.`;
  const q = s.heads * s.headDim;
  const kvDim = s.kvHeads * s.headDim;
  const resid = (fanIn: number) => 1 / Math.sqrt(fanIn * 2 * s.layers);
  return [
    norm(`${p}attn_norm.weight`, s.embd),
    matrix(`${p}attn_q.weight`, s.embd, q, wtype),
    matrix(`${p}attn_k.weight`, s.embd, kvDim, wtype),
    matrix(`${p}attn_v.weight`, s.embd, kvDim, wtype),
    matrix(`${p}attn_output.weight`, q, s.embd, wtype, resid(q)),
    norm(`${p}attn_q_norm.weight`, s.headDim),
    norm(`${p}attn_k_norm.weight`, s.headDim),
    norm(`${p}ffn_norm.weight`, s.embd),
    matrix(`${p}ffn_gate.weight`, s.embd, s.ff, wtype),
    matrix(`${p}ffn_up.weight`, s.embd, s.ff, wtype),
    matrix(`${p}ffn_down.weight`, s.ff, s.embd, wtype, resid(s.ff)),
  ];
}

/** Attention/FFN hparams under `${arch}.`, the same key set for qwen3 and dflash. */
export function blockMetadata(arch: string, s: Omit<Qwen3Shape, "vocab" | "tiedEmbeddings">): [string, GgufKV][] {
  return [
    [`${arch}.block_count`, kv.u32(s.layers)],
    [`${arch}.context_length`, kv.u32(s.ctx)],
    [`${arch}.embedding_length`, kv.u32(s.embd)],
    [`${arch}.feed_forward_length`, kv.u32(s.ff)],
    [`${arch}.attention.head_count`, kv.u32(s.heads)],
    [`${arch}.attention.head_count_kv`, kv.u32(s.kvHeads)],
    [`${arch}.attention.key_length`, kv.u32(s.headDim)],
    [`${arch}.attention.value_length`, kv.u32(s.headDim)],
    [`${arch}.rope.freq_base`, kv.f32(s.ropeFreqBase)],
    [`${arch}.attention.layer_norm_rms_epsilon`, kv.f32(s.rmsEps)],
  ];
}

/** Bind plans to seeded generators; each tensor draws from its own (seed, name) stream. */
export function toSources(plans: TensorPlan[], seed: number, fullRandomLimit?: number): GgufTensorSource[] {
  return plans.map((p) => {
    const count = p.shape.reduce((a, b) => a * b, 1);
    const wtype: WeightType = p.type === GGMLType.F16 ? "f16" : "f32";
    const init = p.init;
    const live = "std" in init && init.liveRows !== undefined ? Math.min(count, init.liveRows * p.shape[0]) : count;
    return {
      name: p.name,
      shape: p.shape,
      type: p.type,
      data: function* () {
        if ("value" in init) return yield* constantTensorData(wtype, count, init.value);
        yield* randomTensorData({ type: wtype, count: live, std: init.std, seed, stream: hashString(p.name), fullRandomLimit });
        if (live < count) yield* constantTensorData(wtype, count - live, 0);
      },
    };
  });
}

export interface Qwen3Build {
  shape: Required<Qwen3Shape>;
  vocab: ModelVocab;
  metadata: [string, GgufKV][];
  tensors: TensorPlan[];
}

export interface Qwen3BuildOptions {
  shape: Qwen3Shape;
  wtype: WeightType;
  name: string;
  /** provenance keys (flint.*) added after the standard ones */
  extra?: [string, GgufKV][];
}

export function buildQwen3(o: Qwen3BuildOptions): Qwen3Build {
  validateBlockShape(o.shape);
  checkPositiveInt("vocab", o.shape.vocab);
  const vocab = buildModelVocab(o.shape.vocab);
  const shape: Required<Qwen3Shape> = { ...o.shape, vocab: vocab.tokens.length };
  const metadata: [string, GgufKV][] = [
    ["general.architecture", kv.str("qwen3")],
    ["general.name", kv.str(o.name)],
    ...blockMetadata("qwen3", shape),
    ["general.file_type", kv.u32(fileTypeOf(o.wtype))],
    ...tokenizerMetadata(vocab),
    ["qwen3.vocab_size", kv.u32(shape.vocab)],
    ...(o.extra ?? []),
  ];
  // [PAD] rows of the embedding and head are zero: their logit is then 0 while real tokens' logits
  // spread with std ~1, so a random real-shape model still emits real tokens, not unused ones.
  // The matmuls are just as dense, so timing is unchanged.
  const firstPad = vocab.tokenTypes.indexOf(TokenType.UNUSED);
  const liveRows = firstPad < 0 ? shape.vocab : firstPad; // padding is appended after every real token
  const vocabMatrix = (name: string, std: number): TensorPlan => ({
    ...matrix(name, shape.embd, shape.vocab, o.wtype),
    init: { std, liveRows },
  });
  const tensors: TensorPlan[] = [];
  if (shape.tiedEmbeddings) {
    // One matrix is both embedding and head, so the head scores the input token's own row highest
    // unless something decorrelates them: small embeddings (the layers dominate the residual) and a
    // random-signed output norm, which zeroes the expected self-score. Still less varied than untied.
    tensors.push(vocabMatrix("token_embd.weight", 1 / Math.sqrt(shape.embd)));
    tensors.push({ ...norm("output_norm.weight", shape.embd), init: { std: 1 } });
  } else {
    tensors.push(vocabMatrix("token_embd.weight", 1), norm("output_norm.weight", shape.embd));
    tensors.push(vocabMatrix("output.weight", 1 / Math.sqrt(shape.embd)));
  }
  for (let i = 0; i < shape.layers; i++) tensors.push(...blockTensors(i, shape, o.wtype));
  return { shape, vocab, metadata, tensors };
}
