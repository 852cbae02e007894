// dflash: a DFlash block drafter matched to a target GGUF, as llama.cpp loads it
// (src/models/dflash.cpp, common/speculative.cpp). What the loader needs:
//   - the usual attention hparams under dflash.* (same key set as qwen3),
//   - dflash.target_layers (required): target layer ids whose INPUTS are captured as features
//     (t_layer_inp; the converter stores HF target_layer_ids + 1),
//   - dflash.block_size (speculative.cpp reads it via llama_model_meta_val_str, default 16),
//   - tokenizer.ggml.mask_token_id (llama_vocab_mask), plus the target's whole tokenizer,
//   - fc.weight [n_target_layers * n_embd, n_embd], enc.output_norm, output_norm, Qwen3-style blocks.
// token_embd/output are omitted: the drafter borrows the target's embeddings and LM head through
// ctx_other, exactly like /work/shared/models/code29m-dflash-3l.gguf. Because
// n_embd_inp_enc = n_target_layers * hparams.n_embd, the drafter's hidden size must equal the target's.

import type { BlockShape, ShapeOverrides } from "./arch-qwen3.js";
import { gguf, GGUFValueType, type GGUFTypedMetadata } from "@huggingface/gguf";
import { stat } from "node:fs/promises";
import {
  blockMetadata,
  blockTensors,
  checkPositiveInt,
  fileTypeOf,
  matrix,
  norm,
  validateBlockShape,
  type Qwen3Shape,
  type TensorPlan,
} from "./arch-qwen3.js";
import { kv, type GgufKV } from "./gguf-writer.js";
import type { WeightType } from "./rng.js";

export interface TargetInfo extends BlockShape {
  path: string;
  arch: string;
  ropeFreqBase: number;
  rmsEps: number;
  vocab: number;
  tokens: string[];
  /** tokenizer.* keys of the target, with their GGUF types, in file order */
  tokenizer: [string, GgufKV][];
}

type TypedEntry = { value: unknown; type: GGUFValueType; subType?: GGUFValueType };

/** Read what a drafter must match from a target GGUF (any llama.cpp decoder arch with a BPE/SPM vocab). */
export async function readTarget(path: string): Promise<TargetInfo> {
  if (!path) throw new Error("--arch dflash needs --target <target.gguf>");
  const st = await stat(path).catch(() => undefined);
  if (!st || !st.isFile()) throw new Error(`--target ${path}: file not found`);
  let md: GGUFTypedMetadata;
  let tensorNames: string[];
  try {
    const r = await gguf(path, { allowLocalFile: true, typedMetadata: true });
    md = r.typedMetadata;
    tensorNames = r.tensorInfos.map((t) => t.name);
  } catch (e) {
    throw new Error(`--target ${path}: not a readable GGUF file (${(e as Error).message})`);
  }
  const get = (key: string): TypedEntry | undefined => (md as Record<string, TypedEntry | undefined>)[key];
  const archEntry = get("general.architecture");
  if (!archEntry || typeof archEntry.value !== "string") throw new Error(`--target ${path}: no general.architecture`);
  const arch = archEntry.value;
  if (arch === "dflash") throw new Error(`--target ${path} is itself a dflash drafter; pass the target model`);
  const num = (key: string, fallback?: number): number => {
    const v = get(`${arch}.${key}`)?.value;
    if (typeof v === "number" || typeof v === "bigint") return Number(v);
    if (fallback !== undefined) return fallback;
    throw new Error(`--target ${path}: missing ${arch}.${key}`);
  };
  const embd = num("embedding_length");
  const heads = num("attention.head_count");
  const tokensEntry = get("tokenizer.ggml.tokens");
  if (!tokensEntry || !Array.isArray(tokensEntry.value)) throw new Error(`--target ${path}: no tokenizer.ggml.tokens (a drafter copies the target's vocabulary)`);
  if (!tensorNames.includes("token_embd.weight")) {
    throw new Error(`--target ${path}: has no token_embd.weight for the drafter to borrow`);
  }
  const tokenizer: [string, GgufKV][] = [];
  for (const [key, entry] of Object.entries(md as Record<string, TypedEntry>)) {
    if (!key.startsWith("tokenizer.") || key === "tokenizer.ggml.mask_token_id") continue;
    tokenizer.push([key, { type: entry.type, value: entry.value, subType: entry.subType } as GgufKV]);
  }
  return {
    path,
    arch,
    layers: num("block_count"),
    embd,
    ff: num("feed_forward_length"),
    heads,
    kvHeads: num("attention.head_count_kv", heads),
    headDim: num("attention.key_length", Math.floor(embd / heads)),
    ctx: num("context_length"),
    ropeFreqBase: num("rope.freq_base", 10000),
    rmsEps: num("attention.layer_norm_rms_epsilon", 1e-6),
    vocab: tokensEntry.value.length,
    tokens: tokensEntry.value as string[],
    tokenizer,
  };
}

/**
 * Default feature layers: `k` layer-input ids spread over [2, n-2], which is z-lab's
 * build_target_layer_ids (HF ids 1 .. n-3) shifted by one to llama.cpp's layer-input ids; for
 * the shared 8-layer code model this gives [2, 4, 6]. Shallow targets use [1, n-1].
 */
export function defaultTargetLayers(nTargetLayers: number, k = 3): number[] {
  if (!Number.isInteger(nTargetLayers) || nTargetLayers < 2) {
    throw new Error(`a DFlash target needs at least 2 layers, got ${nTargetLayers}`);
  }
  const [lo, hi] = nTargetLayers >= 5 ? [2, nTargetLayers - 2] : [1, nTargetLayers - 1];
  const n = Math.max(1, Math.min(k, hi - lo + 1));
  if (n === 1) return [Math.round((lo + hi) / 2)];
  return Array.from({ length: n }, (_, i) => lo + Math.round((i * (hi - lo)) / (n - 1)));
}

export interface DflashOptions extends ShapeOverrides {
  target: TargetInfo;
  wtype: WeightType;
  name: string;
  blockSize?: number;
  targetLayers?: number[];
  maskTokenId?: number;
  extra?: [string, GgufKV][];
}

export interface DflashBuild {
  shape: Omit<Qwen3Shape, "tiedEmbeddings"> & { vocab: number };
  blockSize: number;
  targetLayers: number[];
  maskTokenId: number;
  metadata: [string, GgufKV][];
  tensors: TensorPlan[];
}

export function buildDflash(o: DflashOptions): DflashBuild {
  const t = o.target;
  if (o.embd !== undefined && o.embd !== t.embd) {
    throw new Error(`--embd ${o.embd} differs from the target's hidden size ${t.embd}; a DFlash drafter must match it`);
  }
  if (o.vocab !== undefined && o.vocab !== t.vocab) {
    throw new Error(`--vocab ${o.vocab} differs from the target's vocabulary size ${t.vocab}; a DFlash drafter shares it`);
  }
  checkPositiveInt("block-size", o.blockSize);
  if (o.maskTokenId !== undefined && !(Number.isSafeInteger(o.maskTokenId) && o.maskTokenId >= 0)) {
    throw new Error(`--mask-token-id must be a non-negative integer, got ${String(o.maskTokenId)}`);
  }
  const shape = {
    layers: o.layers ?? (t.layers >= 8 ? 3 : 1),
    embd: t.embd,
    ff: o.ff ?? t.ff,
    heads: o.heads ?? t.heads,
    kvHeads: o.kvHeads ?? t.kvHeads,
    headDim: o.headDim ?? t.headDim,
    vocab: t.vocab,
    ctx: o.ctx ?? t.ctx,
    ropeFreqBase: t.ropeFreqBase,
    rmsEps: t.rmsEps,
  };
  validateBlockShape(shape);
  const blockSize = o.blockSize ?? 16;
  if (blockSize < 2) throw new Error(`--block-size must be at least 2 (one anchor and one drafted token), got ${blockSize}`);

  const targetLayers = o.targetLayers ?? defaultTargetLayers(t.layers);
  if (targetLayers.length === 0) throw new Error("--target-layers must list at least one layer");
  for (const id of targetLayers) {
    if (!Number.isInteger(id) || id < 0 || id >= t.layers) {
      throw new Error(`--target-layers: ${id} is not a layer of the target (0..${t.layers - 1})`);
    }
  }
  if (new Set(targetLayers).size !== targetLayers.length) throw new Error(`--target-layers has duplicates: ${targetLayers.join(",")}`);

  let maskTokenId = o.maskTokenId;
  if (maskTokenId === undefined) {
    maskTokenId = t.tokens.indexOf("<|mask|>");
    if (maskTokenId < 0) {
      throw new Error(`--target ${t.path} has no <|mask|> token; pass --mask-token-id (an unused token id of its vocabulary)`);
    }
  }
  if (maskTokenId >= t.vocab) throw new Error(`--mask-token-id ${maskTokenId} is outside the target vocabulary (${t.vocab})`);

  const metadata: [string, GgufKV][] = [
    ["general.architecture", kv.str("dflash")],
    ["general.name", kv.str(o.name)],
    ...blockMetadata("dflash", shape),
    ["general.file_type", kv.u32(fileTypeOf(o.wtype))],
    ...t.tokenizer,
    ["dflash.vocab_size", kv.u32(t.vocab)],
    ["dflash.block_size", kv.u32(blockSize)],
    ["dflash.target_layers", kv.arr(GGUFValueType.INT32, targetLayers)],
    ["tokenizer.ggml.mask_token_id", kv.u32(maskTokenId)],
    ...(o.extra ?? []),
  ];
  const tensors: TensorPlan[] = [
    matrix("fc.weight", targetLayers.length * shape.embd, shape.embd, o.wtype),
    norm("enc.output_norm.weight", shape.embd),
    norm("output_norm.weight", shape.embd),
  ];
  for (let i = 0; i < shape.layers; i++) tensors.push(...blockTensors(i, shape, o.wtype));
  return { shape, blockSize, targetLayers, maskTokenId, metadata, tensors };
}
