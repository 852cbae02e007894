// qwen35 (Qwen3.5 / 3.6 dense hybrid): Gated DeltaNet linear-attention blocks interleaved with
// gated full-attention blocks, as llama.cpp loads them (src/models/qwen35.cpp load_arch_hparams /
// load_arch_tensors, names in src/llama-arch.cpp, converter transforms in conversion/qwen.py).
// Layer i is full attention when (i + 1) % full_attention_interval == 0, otherwise recurrent.
// GGUF dims are in ggml order: ne0 is the input dimension of a matrix.

import { GGMLType } from "./ggml-types.js";
import { GGUFValueType, kv, type GgufKV, type GgufTensorSource } from "./gguf-writer.js";
import {
  checkPositiveInt, fileTypeOf, matrix, norm, toSources, validateBlockShape, type TensorPlan, type Qwen3Shape } from "./arch-qwen3.js";
import type { WeightType } from "./rng.js";
import { buildModelVocab, tokenizerMetadata, TokenType, type ModelVocab } from "./vocab.js";

export const QWEN35_PRESETS = ["tiny"] as const;
export type Qwen35Preset = (typeof QWEN35_PRESETS)[number];

/** The qwen3 shape (its attention fields describe the full-attention layers) plus the linear layers. */
export interface Qwen35Shape extends Qwen3Shape {
  /** every Nth layer (1-based) is full attention: qwen35.full_attention_interval */
  fullAttentionInterval: number;
  /** rotary dims of a full-attention head (partial_rotary_factor 0.25 upstream): rope.dimension_count */
  ropeDim: number;
  /** Gated DeltaNet: conv kernel (ssm.conv_kernel) */
  ssmConv: number;
  /** key/value head dim of the linear layers (ssm.state_size; llama.cpp requires head_k_dim == head_v_dim) */
  ssmState: number;
  /** key heads of the linear layers (ssm.group_count) */
  ssmKHeads: number;
  /** value heads of the linear layers (ssm.time_step_rank); a multiple of ssmKHeads */
  ssmVHeads: number;
}

// tiny: 4 layers = 3 Gated DeltaNet + 1 full attention (interval 4, as upstream), CI-sized.
const PRESET_SHAPES: Record<Qwen35Preset, Qwen35Shape> = {
  tiny: {
    layers: 4, embd: 128, ff: 256, heads: 4, kvHeads: 2, headDim: 32, ctx: 4096, tiedEmbeddings: false,
    ropeFreqBase: 1e7, rmsEps: 1e-6, fullAttentionInterval: 4, ropeDim: 8,
    ssmConv: 4, ssmState: 32, ssmKHeads: 2, ssmVHeads: 4,
  },
};

export function qwen35Preset(name: string): Qwen35Shape {
  if (!(QWEN35_PRESETS as readonly string[]).includes(name)) {
    throw new Error(`unknown qwen35 preset "${name}" (expected one of: ${QWEN35_PRESETS.join(", ")})`);
  }
  return { ...PRESET_SHAPES[name as Qwen35Preset] };
}

/** Layer il is recurrent (Gated DeltaNet) unless (il + 1) % interval == 0: llama.cpp's default rule. */
export function isRecurrentLayer(il: number, interval: number): boolean {
  return (il + 1) % interval !== 0;
}

/**
 * IMRoPE sections [t, h, w, 0] summing to ropeDim / 2, split like upstream's [11, 11, 10] for 64
 * rotary dims. Text-only positions make all sections rotate alike, but the key is required.
 */
export function ropeSections(ropeDim: number): number[] {
  const half = ropeDim / 2;
  const a = Math.round((half * 11) / 32);
  return [a, a, half - 2 * a, 0];
}

export function validateQwen35Shape(s: Qwen35Shape): void {
  validateBlockShape(s);
  for (const [flag, v] of [
    ["full-attention-interval", s.fullAttentionInterval], ["rope-dim", s.ropeDim], ["ssm-conv", s.ssmConv],
    ["ssm-state", s.ssmState], ["ssm-k-heads", s.ssmKHeads], ["ssm-v-heads", s.ssmVHeads],
  ] as const) checkPositiveInt(flag, v);
  if (s.ropeDim > s.headDim || s.ropeDim % 4 !== 0) {
    throw new Error(`qwen35 rope dims (${s.ropeDim}) must be a multiple of 4 and at most --head-dim (${s.headDim})`);
  }
  if (s.ssmVHeads % s.ssmKHeads !== 0) {
    throw new Error(`qwen35 linear value heads (${s.ssmVHeads}) must be a multiple of its key heads (${s.ssmKHeads})`);
  }
}

/** A plan whose F32 values are given explicitly (A and dt bias of the linear layers). */
export interface ValuePlan {
  name: string;
  shape: number[];
  values: number[];
}

export type Qwen35Plan = TensorPlan | ValuePlan;

/**
 * The converter stores ssm_a = -exp(A_log), with HF initialising A = exp(A_log) in [1, 16]; here
 * the heads spread evenly over that range (slow to fast forgetting), and dt_bias = 1 as HF's init.
 */
function ssmA(n: number): number[] {
  return Array.from({ length: n }, (_, h) => -(1 + (15 * (h + 0.5)) / n));
}

function layerTensors(i: number, s: Required<Qwen35Shape>, wtype: WeightType): Qwen35Plan[] {
  const p = `blk.${i}.`;
  const resid = (fanIn: number) => 1 / Math.sqrt(fanIn * 2 * s.layers);
  const out: Qwen35Plan[] = [norm(`${p}attn_norm.weight`, s.embd), norm(`${p}post_attention_norm.weight`, s.embd)];
  if (isRecurrentLayer(i, s.fullAttentionInterval)) {
    const keyDim = s.ssmState * s.ssmKHeads;
    const valueDim = s.ssmState * s.ssmVHeads;
    const convDim = 2 * keyDim + valueDim;
    out.push(
      matrix(`${p}attn_qkv.weight`, s.embd, convDim, wtype),
      matrix(`${p}attn_gate.weight`, s.embd, valueDim, wtype),
      // ggml_ssm_conv reads its kernel as F32 whatever the matrix type
      matrix(`${p}ssm_conv1d.weight`, s.ssmConv, convDim, "f32"),
      { name: `${p}ssm_dt.bias`, shape: [s.ssmVHeads], values: new Array<number>(s.ssmVHeads).fill(1) },
      { name: `${p}ssm_a`, shape: [s.ssmVHeads], values: ssmA(s.ssmVHeads) },
      matrix(`${p}ssm_beta.weight`, s.embd, s.ssmVHeads, wtype),
      matrix(`${p}ssm_alpha.weight`, s.embd, s.ssmVHeads, wtype),
      norm(`${p}ssm_norm.weight`, s.ssmState),
      matrix(`${p}ssm_out.weight`, valueDim, s.embd, wtype, resid(valueDim)),
    );
  } else {
    const q = s.heads * s.headDim;
    const kvDim = s.kvHeads * s.headDim;
    out.push(
      // query and output gate per head: [q_h | gate_h] * heads
      matrix(`${p}attn_q.weight`, s.embd, 2 * q, wtype),
      matrix(`${p}attn_k.weight`, s.embd, kvDim, wtype),
      matrix(`${p}attn_v.weight`, s.embd, kvDim, wtype),
      matrix(`${p}attn_output.weight`, q, s.embd, wtype, resid(q)),
      norm(`${p}attn_q_norm.weight`, s.headDim),
      norm(`${p}attn_k_norm.weight`, s.headDim),
    );
  }
  out.push(
    matrix(`${p}ffn_gate.weight`, s.embd, s.ff, wtype),
    matrix(`${p}ffn_up.weight`, s.embd, s.ff, wtype),
    matrix(`${p}ffn_down.weight`, s.ff, s.embd, wtype, resid(s.ff)),
  );
  return out;
}

export interface Qwen35Build {
  shape: Required<Qwen35Shape>;
  vocab: ModelVocab;
  metadata: [string, GgufKV][];
  tensors: Qwen35Plan[];
}

export interface Qwen35BuildOptions {
  shape: Qwen35Shape;
  wtype: WeightType;
  name: string;
  /** provenance keys (flint.*) added after the standard ones */
  extra?: [string, GgufKV][];
}

export function buildQwen35(o: Qwen35BuildOptions): Qwen35Build {
  validateQwen35Shape(o.shape);
  checkPositiveInt("vocab", o.shape.vocab);
  const vocab = buildModelVocab(o.shape.vocab);
  const s: Required<Qwen35Shape> = { ...o.shape, vocab: vocab.tokens.length };
  const a = "qwen35";
  const metadata: [string, GgufKV][] = [
    ["general.architecture", kv.str(a)],
    ["general.name", kv.str(o.name)],
    [`${a}.block_count`, kv.u32(s.layers)],
    [`${a}.context_length`, kv.u32(s.ctx)],
    [`${a}.embedding_length`, kv.u32(s.embd)],
    [`${a}.feed_forward_length`, kv.u32(s.ff)],
    [`${a}.attention.head_count`, kv.u32(s.heads)],
    [`${a}.attention.head_count_kv`, kv.u32(s.kvHeads)],
    [`${a}.attention.key_length`, kv.u32(s.headDim)],
    [`${a}.attention.value_length`, kv.u32(s.headDim)],
    [`${a}.attention.layer_norm_rms_epsilon`, kv.f32(s.rmsEps)],
    [`${a}.rope.freq_base`, kv.f32(s.ropeFreqBase)],
    [`${a}.rope.dimension_count`, kv.u32(s.ropeDim)],
    [`${a}.rope.dimension_sections`, kv.arr(GGUFValueType.INT32, ropeSections(s.ropeDim))],
    [`${a}.ssm.conv_kernel`, kv.u32(s.ssmConv)],
    [`${a}.ssm.state_size`, kv.u32(s.ssmState)],
    [`${a}.ssm.group_count`, kv.u32(s.ssmKHeads)],
    [`${a}.ssm.time_step_rank`, kv.u32(s.ssmVHeads)],
    [`${a}.ssm.inner_size`, kv.u32(s.ssmState * s.ssmVHeads)],
    [`${a}.full_attention_interval`, kv.u32(s.fullAttentionInterval)],
    ["general.file_type", kv.u32(fileTypeOf(o.wtype))],
    ...tokenizerMetadata(vocab),
    [`${a}.vocab_size`, kv.u32(s.vocab)],
    ...(o.extra ?? []),
  ];
  // As qwen3: [PAD] rows of embedding and head are zero so random models emit real tokens.
  const firstPad = vocab.tokenTypes.indexOf(TokenType.UNUSED);
  const liveRows = firstPad < 0 ? s.vocab : firstPad;
  const vocabMatrix = (name: string, std: number): TensorPlan => ({ ...matrix(name, s.embd, s.vocab, o.wtype), init: { std, liveRows } });
  const tensors: Qwen35Plan[] = [];
  if (s.tiedEmbeddings) {
    tensors.push(vocabMatrix("token_embd.weight", 1 / Math.sqrt(s.embd)), { ...norm("output_norm.weight", s.embd), init: { std: 1 } });
  } else {
    tensors.push(vocabMatrix("token_embd.weight", 1), norm("output_norm.weight", s.embd), vocabMatrix("output.weight", 1 / Math.sqrt(s.embd)));
  }
  for (let i = 0; i < s.layers; i++) tensors.push(...layerTensors(i, s, o.wtype));
  return { shape: s, vocab, metadata, tensors };
}

/** toSources for qwen35 plans: explicit-value tensors are written as F32 as given. */
export function qwen35Sources(plans: Qwen35Plan[], seed: number, fullRandomLimit?: number): GgufTensorSource[] {
  return plans.map((p) => {
    if (!("values" in p)) return toSources([p], seed, fullRandomLimit)[0];
    const values = p.values;
    return {
      name: p.name,
      shape: p.shape,
      type: GGMLType.F32,
      data: function* () {
        yield new Uint8Array(Float32Array.from(values).buffer);
      },
    };
  });
}
