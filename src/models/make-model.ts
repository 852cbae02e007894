// makeModel: random-weight GGUF test models (qwen3 targets and matching dflash drafters).

import { stat, access, constants } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { buildQwen3, checkPositiveInt, qwen3Preset, toSources, type BlockShape, type Qwen3Preset, type ShapeOverrides, type TensorPlan } from "./arch-qwen3.js";
import { buildDflash, readTarget } from "./arch-dflash.js";
import { buildQwen35, qwen35Preset, qwen35Sources, type Qwen35Plan } from "./arch-qwen35.js";
import { kv, writeGguf, type GgufKV } from "./gguf-writer.js";
import type { WeightType } from "./rng.js";

export const MODEL_ARCHS = ["qwen3", "qwen35", "dflash"] as const;
export type ModelArch = (typeof MODEL_ARCHS)[number];

export interface MakeModelOptions extends ShapeOverrides {
  arch: ModelArch | string;
  /** output .gguf path */
  out: string;
  /** qwen3: tiny (default) | 0.6b | 8b | 32b; qwen35: tiny (default) */
  preset?: Qwen3Preset | string;
  /** dflash only: the target GGUF the drafter is matched to */
  target?: string;
  /** weight seed (u32, default 1); same options and seed give the same bytes */
  seed?: number;
  /** matrix type; norms are always F32 (default f16) */
  type?: WeightType | string;
  /** qwen3 only: share token_embd as the output head (preset default: only 0.6b) */
  tiedEmbeddings?: boolean;
  /** dflash only (default 16) */
  blockSize?: number;
  /** dflash only: target layer-input ids to condition on (default spread over the target) */
  targetLayers?: number[];
  /** dflash only: default the target's <|mask|> token */
  maskTokenId?: number;
  /** general.name */
  name?: string;
  /** make every tensor fully random, not only those up to 4 Mi elements (slower at real shapes) */
  fullRandom?: boolean;
  onProgress?: (written: number, total: number) => void;
}

export interface MakeModelResult extends BlockShape {
  path: string;
  arch: ModelArch;
  preset?: Qwen3Preset;
  name: string;
  type: WeightType;
  seed: number;
  /** sum of tensor element counts */
  params: number;
  bytes: number;
  tensorCount: number;
  seconds: number;
  /** part of `seconds` spent waiting for the disk */
  diskWaitSeconds: number;
  vocab: number;
  tiedEmbeddings?: boolean;
  dflash?: { target: string; blockSize: number; targetLayers: number[]; maskTokenId: number };
  /** qwen35 only: the hybrid layout and Gated DeltaNet dims */
  qwen35?: { fullAttentionInterval: number; ropeDim: number; ssmConv: number; ssmState: number; ssmKHeads: number; ssmVHeads: number };
}

async function checkOutput(out: string | undefined): Promise<string> {
  if (!out) throw new Error("an output path is required (--out FILE)");
  const path = resolve(out);
  const st = await stat(path).catch(() => undefined);
  if (st?.isDirectory()) throw new Error(`output path ${out} is a directory; give a file name`);
  const dir = dirname(path);
  const dst = await stat(dir).catch(() => undefined);
  if (!dst?.isDirectory()) throw new Error(`cannot write ${out}: directory ${dir} does not exist`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw new Error(`cannot write ${out}: directory ${dir} is not writable`);
  }
  return path;
}

function checkType(t: string | undefined): WeightType {
  const v = t ?? "f16";
  if (v !== "f16" && v !== "f32") throw new Error(`--type must be f16 or f32, got "${v}"`);
  return v;
}

function checkSeed(seed: number | undefined): number {
  const s = seed ?? 1;
  if (!Number.isSafeInteger(s) || s < 0 || s > 0xffffffff) throw new Error(`--seed must be an integer in [0, 4294967295], got ${String(seed)}`);
  return s;
}

const SHAPE_KEYS = ["layers", "embd", "ff", "heads", "kvHeads", "headDim", "vocab", "ctx"] as const;
const FLAG: Record<(typeof SHAPE_KEYS)[number], string> = {
  layers: "layers", embd: "embd", ff: "ff", heads: "heads", kvHeads: "kv-heads", headDim: "head-dim", vocab: "vocab", ctx: "ctx",
};

/** Generate a random-weight model; throws with a message naming the bad option on bad input. */
export async function makeModel(opts: MakeModelOptions): Promise<MakeModelResult> {
  const started = performance.now();
  if (!(MODEL_ARCHS as readonly string[]).includes(opts.arch)) {
    throw new Error(`unknown arch "${opts.arch}" (expected one of: ${MODEL_ARCHS.join(", ")})`);
  }
  const arch = opts.arch as ModelArch;
  for (const k of SHAPE_KEYS) checkPositiveInt(FLAG[k], opts[k]);
  const wtype = checkType(opts.type);
  const seed = checkSeed(opts.seed);
  const provenance: [string, GgufKV][] = [
    ["flint.generator", kv.str("flint make-model (random weights)")],
    ["flint.seed", kv.u32(seed)],
  ];

  let plans: (TensorPlan | Qwen35Plan)[];
  let metadata: [string, GgufKV][];
  let result: Omit<MakeModelResult, "path" | "bytes" | "tensorCount" | "seconds" | "params" | "diskWaitSeconds">;

  if (arch === "qwen35") {
    if (opts.target !== undefined) throw new Error("--target applies to --arch dflash only");
    for (const k of ["blockSize", "targetLayers", "maskTokenId"] as const) {
      if (opts[k] !== undefined) throw new Error(`--${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} applies to --arch dflash only`);
    }
    const preset = opts.preset ?? "tiny";
    const shape = qwen35Preset(preset);
    for (const k of SHAPE_KEYS) if (opts[k] !== undefined) shape[k] = opts[k];
    if (opts.tiedEmbeddings !== undefined) shape.tiedEmbeddings = opts.tiedEmbeddings;
    const name = opts.name ?? `flint-random-qwen35-${preset}`;
    const b = buildQwen35({ shape, wtype, name, extra: [...provenance, ["flint.preset", kv.str(preset)]] });
    plans = b.tensors;
    metadata = b.metadata;
    const { ropeFreqBase: _r, rmsEps: _e, fullAttentionInterval, ropeDim, ssmConv, ssmState, ssmKHeads, ssmVHeads, ...dims } = b.shape;
    result = {
      arch, preset: preset as Qwen3Preset, name, type: wtype, seed, ...dims,
      qwen35: { fullAttentionInterval, ropeDim, ssmConv, ssmState, ssmKHeads, ssmVHeads },
    };
  } else if (arch === "qwen3") {
    if (opts.target !== undefined) throw new Error("--target applies to --arch dflash only");
    for (const k of ["blockSize", "targetLayers", "maskTokenId"] as const) {
      if (opts[k] !== undefined) throw new Error(`--${k.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase())} applies to --arch dflash only`);
    }
    const preset = (opts.preset ?? "tiny") as Qwen3Preset;
    const base = qwen3Preset(preset);
    const shape = { ...base };
    for (const k of SHAPE_KEYS) if (opts[k] !== undefined) shape[k] = opts[k];
    if (opts.tiedEmbeddings !== undefined) shape.tiedEmbeddings = opts.tiedEmbeddings;
    const name = opts.name ?? `flint-random-qwen3-${preset}`;
    const b = buildQwen3({ shape, wtype, name, extra: [...provenance, ["flint.preset", kv.str(preset)]] });
    plans = b.tensors;
    metadata = b.metadata;
    const { ropeFreqBase: _r, rmsEps: _e, ...dims } = b.shape;
    result = { arch, preset, name, type: wtype, seed, ...dims };
  } else {
    if (opts.preset !== undefined) throw new Error("--preset applies to --arch qwen3 only (or qwen35); a dflash drafter takes its shape from --target");
    if (opts.tiedEmbeddings !== undefined) throw new Error("--tied applies to --arch qwen3 only (or qwen35); a dflash drafter borrows the target's head");
    if (!opts.target) throw new Error("--arch dflash needs --target <target.gguf>");
    const target = await readTarget(opts.target);
    const name = opts.name ?? `flint-random-dflash-for-${basename(opts.target).replace(/\.gguf$/i, "")}`;
    const b = buildDflash({ ...opts, target, wtype, name, extra: provenance });
    plans = b.tensors;
    metadata = b.metadata;
    const { ropeFreqBase: _r, rmsEps: _e, ...dims } = b.shape;
    result = {
      arch, name, type: wtype, seed, ...dims,
      dflash: { target: resolve(opts.target), blockSize: b.blockSize, targetLayers: b.targetLayers, maskTokenId: b.maskTokenId },
    };
  }

  const path = await checkOutput(opts.out);
  const limit = opts.fullRandom ? Infinity : undefined;
  const sources = arch === "qwen35" ? qwen35Sources(plans, seed, limit) : toSources(plans as TensorPlan[], seed, limit);
  const written = await writeGguf(path, { metadata, tensors: sources, onProgress: opts.onProgress });
  const params = plans.reduce((sum, p) => sum + p.shape.reduce((a, b) => a * b, 1), 0);
  return {
    path,
    ...result,
    params,
    bytes: written.bytes,
    tensorCount: written.tensorCount,
    seconds: (performance.now() - started) / 1000,
    diskWaitSeconds: written.diskWaitSeconds,
  };
}
