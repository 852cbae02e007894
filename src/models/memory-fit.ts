// Memory fit: does a model (and its drafter) fit the free memory of the device it loads onto, at a
// context, and what is the largest context that does? Pure arithmetic over memory.ts's estimate
// (weights + KV cache by cache type and context + recurrent state + compute buffer), so it is
// tested against hand-computed cases.
//
// The largest context is exact by arithmetic, in steps of 256 tokens: llama.cpp pads the KV cache to a
// multiple of 256, so every context inside one step costs the same; the need grows monotonically with
// the context, and a binary search over the steps finds the last one that fits, capped at the
// training context.
//
// Partial offload (--gpu-layers N of L layers) counts N/L of the weights and the KV cache against
// the device (llama.cpp keeps each layer's weights and KV on that layer's device) plus the whole
// compute buffer; the rest lives in host memory, which is not checked.
import type { CacheType } from "./memory.js";
import { cacheTypeBytes, estimateMemory, memoryInputFor, type ModelShape } from "./memory.js";

export const KV_STEP = 256;
const MIB = 2 ** 20;

export interface FitRun {
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  ubatch?: number;
  /** default true (llama.cpp's auto turns it on where supported); tree verify runs without it */
  flashAttn?: boolean;
  seqs?: number;
  /** layers offloaded: -1 = all (default), 0 = none (host memory is the budget then) */
  gpuLayers?: number;
}

export interface FitInput {
  /** the target first, then any drafter (they share the context size) */
  models: ModelShape[];
  run: FitRun;
  /** free bytes on the device(s) the models load onto */
  freeBytes: number;
  /** kept free on top of the estimate (default max(256 MiB, 5% of freeBytes)): the compute estimate is within ~7% of llama.cpp's and drivers take some */
  marginBytes?: number;
  /** the largest context to consider (the target's training context) */
  maxCtx: number;
  /** the smallest useful context (default 256) */
  minCtx?: number;
}

export function defaultMargin(freeBytes: number): number {
  return Math.max(256 * MIB, Math.floor(0.05 * freeBytes));
}

/** Share of a model's layers (and so of its weights and KV cache) on the device; with no layers
 *  offloaded everything is in host memory, which is then the budget (see deviceBudget). */
export function offloadFraction(layers: number | undefined, gpuLayers = -1): number {
  if (gpuLayers <= 0 || !layers) return 1;
  return Math.min(1, gpuLayers / layers);
}

/** Bytes the models need on the device at `ctx`; throws when a model's metadata lacks its shape. */
export function deviceBytesAt(models: readonly ModelShape[], run: FitRun, ctx: number): number {
  let total = 0;
  for (const m of models) {
    const input = memoryInputFor(m, { ctx, cacheTypeK: run.cacheTypeK, cacheTypeV: run.cacheTypeV, ubatch: run.ubatch, flashAttn: run.flashAttn, seqs: run.seqs });
    if ("missing" in input) throw new Error(`no memory estimate for ${m.architecture}: its metadata lacks ${input.missing.join(", ")}`);
    const e = estimateMemory(input);
    const f = offloadFraction(m.layers, run.gpuLayers);
    total += f * (e.weights + e.kv + e.recurrent) + e.compute;
  }
  return Math.ceil(total);
}

export interface FitCheck {
  fits: boolean;
  ctx: number;
  neededBytes: number;
  budgetBytes: number;
}

export function checkFit(input: FitInput, ctx: number): FitCheck {
  const budgetBytes = Math.max(0, input.freeBytes - (input.marginBytes ?? defaultMargin(input.freeBytes)));
  const neededBytes = deviceBytesAt(input.models, input.run, ctx);
  return { fits: neededBytes <= budgetBytes, ctx, neededBytes, budgetBytes };
}

/** The largest context in [minCtx, maxCtx] that fits (a multiple of 256, or maxCtx itself), or undefined. */
export function largestFittingCtx(input: FitInput): number | undefined {
  const minCtx = input.minCtx ?? KV_STEP;
  const maxCtx = Math.max(minCtx, input.maxCtx);
  if (checkFit(input, maxCtx).fits) return maxCtx;
  if (!checkFit(input, minCtx).fits) return undefined;
  // candidates: multiples of 256 in [minCtx, maxCtx); the need only grows with the context
  let lo = Math.ceil(minCtx / KV_STEP);
  let hi = Math.floor((maxCtx - 1) / KV_STEP);
  if (hi < lo) return minCtx;
  if (!checkFit(input, lo * KV_STEP).fits) return minCtx;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (checkFit(input, mid * KV_STEP).fits) lo = mid;
    else hi = mid - 1;
  }
  return lo * KV_STEP;
}

/** The largest layer count whose share fits at `ctx` (0 when not even the compute buffer does). */
export function largestFittingGpuLayers(input: FitInput, ctx: number): number {
  const layers = input.models[0]?.layers ?? 0;
  let lo = 0;
  let hi = layers;
  // n = 0 would mean "all on the host": start from one layer
  const fits = (n: number) => n === 0 || checkFit({ ...input, run: { ...input.run, gpuLayers: n } }, ctx).fits;
  if (!fits(1)) return 0;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(2)} GiB`;
const WIDE: CacheType[] = ["f32", "f16", "bf16"];

export interface FitAdvice {
  /** the request fits */
  fits: boolean;
  check: FitCheck;
  /** concrete alternatives that fit, as flags */
  fixes: string[];
  message: string;
}

/**
 * Checks `ctx` and, when it does not fit, names what would: a smaller --ctx, quantized KV caches
 * (and the context they allow), fewer --gpu-layers.
 */
export function adviseFit(input: FitInput, ctx: number, device: string): FitAdvice {
  const check = checkFit(input, ctx);
  if (check.fits) return { fits: true, check, fixes: [], message: `fits: ~${gib(check.neededBytes)} of ${gib(check.budgetBytes)} usable on ${device}` };
  const fixes: string[] = [];
  const smaller = largestFittingCtx({ ...input, maxCtx: Math.min(ctx, input.maxCtx) });
  if (smaller !== undefined && smaller < ctx) fixes.push(`--ctx ${smaller}`);
  const k = input.run.cacheTypeK ?? "f16";
  const v = input.run.cacheTypeV ?? "f16";
  if (WIDE.includes(k) || WIDE.includes(v)) {
    const q = { ...input, run: { ...input.run, cacheTypeK: "q8_0" as const, cacheTypeV: "q8_0" as const } };
    if (checkFit(q, ctx).fits) fixes.push("--cache-type-k q8_0 --cache-type-v q8_0");
    else {
      const qc = largestFittingCtx({ ...q, maxCtx: Math.min(ctx, input.maxCtx) });
      if (qc !== undefined && qc > (smaller ?? 0)) fixes.push(`--cache-type-k q8_0 --cache-type-v q8_0 --ctx ${qc}`);
    }
  }
  if ((input.run.gpuLayers ?? -1) !== 0) {
    const n = largestFittingGpuLayers(input, ctx);
    if (n > 0) fixes.push(`--gpu-layers ${n} (the other layers run on the CPU, slower)`);
  }
  const message =
    `the model needs ~${gib(check.neededBytes)} on ${device} at --ctx ${ctx} but ${gib(check.budgetBytes)} is usable ` +
    `(${gib(input.freeBytes)} free, ${gib(input.freeBytes - check.budgetBytes)} kept as headroom)` +
    (fixes.length ? `; what fits: ${fixes.join(", or ")}` : "; nothing fits on this device: use a smaller quantization of the model");
  return { fits: false, check, fixes, message };
}

/** A warning when K and V cache types differ, else undefined. */
export function kvTypeWarning(k: CacheType = "f16", v: CacheType = "f16"): string | undefined {
  if (k === v) return undefined;
  return (
    `K and V cache types differ (K ${k}, V ${v}): llama.cpp's fast attention kernels cover only some mixed pairs, ` +
    `and on some backends (CUDA flash attention in particular) an uncovered pair falls back to much slower paths; ` +
    `prefer the same type for both (e.g. --cache-type-k ${k} --cache-type-v ${k})`
  );
}

/** KV cache bytes per token for a shape and cache types (for messages). */
export function kvBytesPerToken(m: ModelShape, k: CacheType = "f16", v: CacheType = "f16"): number {
  const layers = m.layerKinds?.attention ?? m.layers ?? 0;
  return layers * (m.kvHeads ?? 0) * ((m.headDim ?? 0) * cacheTypeBytes(k) + (m.headDimV ?? m.headDim ?? 0) * cacheTypeBytes(v));
}

export interface DeviceMemory {
  type: "cpu" | "gpu" | "igpu" | "accel";
  name: string;
  description: string;
  freeBytes: number;
}

/**
 * The memory budget for loading: the free memory of the GPUs (summed: llama.cpp splits layers over
 * them) when layers are offloaded and there is a GPU; else host memory (the smaller of the CPU
 * device's figure and the OS's available memory).
 */
export function deviceBudget(devices: readonly DeviceMemory[], gpuLayers: number, hostAvailable: number): { freeBytes: number; device: string; onGpu: boolean } {
  const gpus = devices.filter((d) => d.type === "gpu" || d.type === "igpu");
  if (gpuLayers !== 0 && gpus.length) {
    return { freeBytes: gpus.reduce((s, d) => s + d.freeBytes, 0), device: gpus.map((d) => d.description || d.name).join(" + "), onGpu: true };
  }
  const cpu = devices.find((d) => d.type === "cpu");
  return { freeBytes: Math.min(cpu?.freeBytes ?? hostAvailable, hostAvailable), device: "host memory", onGpu: false };
}

export interface RunFitOptions {
  target: ModelShape & { contextLength?: number };
  draft?: ModelShape;
  /** "auto": the largest context that fits; a number: check it; undefined: check the default */
  ctx: number | "auto" | undefined;
  /** the context used when none is given (default min(4096, training context)) */
  defaultCtx?: number;
  run: FitRun;
  devices: readonly DeviceMemory[];
  /** the OS's available memory (os.freemem()) */
  hostAvailable: number;
}

export class FitError extends Error {
  override name = "UserError";
}

/**
 * What `flint run --ctx auto|N` does before loading: the context to use and the lines to print.
 * Throws FitError (a UserError) naming the fixes when nothing fits (--ctx auto anywhere; on a GPU for
 * any context: a model that does not fit the device fails to load anyway). On host memory a context
 * that looks too big only warns (mmap may still run it, slowly).
 */
export function fitForRun(o: RunFitOptions): { ctx: number | undefined; notes: string[] } {
  const notes: string[] = [];
  const warn = kvTypeWarning(o.run.cacheTypeK, o.run.cacheTypeV);
  if (warn) notes.push(`flint: warning: ${warn}`);
  const train = o.target.contextLength && o.target.contextLength > 0 ? o.target.contextLength : 4096;
  const budget = deviceBudget(o.devices, o.run.gpuLayers ?? -1, o.hostAvailable);
  const input: FitInput = { models: o.draft ? [o.target, o.draft] : [o.target], run: o.run, freeBytes: budget.freeBytes, maxCtx: train };
  const explicit = o.ctx === "auto" ? undefined : (o.ctx ?? o.defaultCtx ?? Math.min(4096, train));
  // past the training context the context itself is refused when it is made, with its own message
  if (explicit !== undefined && explicit > train) return { ctx: o.ctx === undefined ? undefined : explicit, notes };
  try {
    if (o.ctx === "auto") {
      const ctx = largestFittingCtx(input);
      if (ctx === undefined) throw new FitError(`--ctx auto: ${adviseFit(input, input.minCtx ?? KV_STEP, budget.device).message}`);
      const c = checkFit(input, ctx);
      notes.push(`flint: --ctx auto: ${ctx} tokens (training context ${train}; ~${gib(c.neededBytes)} of ${gib(c.budgetBytes)} usable on ${budget.device})`);
      return { ctx, notes };
    }
    const a = adviseFit(input, explicit!, budget.device);
    if (!a.fits) {
      // on a GPU a model that fits at no context at all would fail to load: refuse, naming the fixes
      if (budget.onGpu && !checkFit(input, input.minCtx ?? KV_STEP).fits) throw new FitError(a.message);
      notes.push(`flint: warning: ${a.message}`);
    }
  } catch (err) {
    if (err instanceof FitError) throw err;
    // a shape the estimate cannot size (missing metadata): only --ctx auto depends on it
    if (o.ctx === "auto") throw new FitError(`--ctx auto cannot size this model: ${(err as Error).message}; pass --ctx N`);
  }
  return { ctx: o.ctx === undefined ? undefined : explicit, notes };
}
