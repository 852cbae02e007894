// Loading a target and its drafter the way `flint run` and `flint serve` both need: check the pair
// from GGUF metadata before loading either model, size the target context for the drafter (tree
// sequences, recurrent rollback snapshots), and free everything on any failure.
import { Context } from "../engine/context.js";
import { Model } from "../engine/model.js";
import type { CacheType } from "../native/context.js";
import { UserError } from "../native/errors.js";
import { listDevices } from "../native/index.js";
import { inspectModel } from "../models/inspect.js";
import { checkPair } from "../models/pairing.js";
import { DFlashDrafter } from "./dflash-drafter.js";
import { DraftModelDrafter } from "./draft-model-drafter.js";
import type { Drafter } from "./drafter.js";
import { NgramDrafter } from "./ngram-drafter.js";
import { ORACLE_DEPTH } from "./oracle-drafter.js";
import { warmUp } from "./warmup.js";
import { measurePrices, type StepPrices } from "./prices.js";
import { candidateBudgets } from "./generate-spec.js";

export type SpecMode = "none" | "dflash" | "draft-model" | "ngram" | "oracle" | "auto";
/** The drafter a SpecMode resolves to once the draft file is known ("auto" picks one). */
export type DrafterKind = "none" | "dflash" | "draft-model" | "ngram" | "oracle";

/** How a target is loaded and its context made: the flags run, serve, bench and tune share. */
export interface TargetFlags {
  gpuLayers: number;
  ctx?: number;
  threads?: number;
  flashAttn: "auto" | "on" | "off";
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
}

/** The TargetFlags fields of a larger options object (a command's parsed flags). */
export function targetFlags<T extends { [K in keyof TargetFlags]?: unknown }>(o: T): Pick<T, keyof TargetFlags> {
  return { gpuLayers: o.gpuLayers, ctx: o.ctx, threads: o.threads, flashAttn: o.flashAttn, cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV } as Pick<T, keyof TargetFlags>;
}

export interface RuntimeOptions extends TargetFlags {
  modelPath: string;
  draftPath?: string;
  spec: SpecMode;
  /** DDTree verify from the drafter's top-k per position; 1 = chain */
  treeK: number;
  /** where greedy tokens are picked: "auto" = on the device when `greedyOnly` and a GPU is used */
  sampling: "auto" | "host" | "device";
  /** every request is greedy and penalty-free (run with --temperature 0); a server is not */
  greedyOnly: boolean;
  /** on a GPU, run each decode shape once at load (see warmup.ts); default true (--no-warmup) */
  warmup?: boolean;
}

export interface Runtime {
  model: Model;
  ctx: Context;
  /** undefined for "none" and "oracle" (the oracle needs the request's own reference: see run.ts) */
  drafter?: Drafter;
  drafterKind: DrafterKind;
  draftModel?: Model;
  /** DDTree verify (top-k > 1) rather than chains */
  tree: boolean;
  /** loading the models and making the contexts, warm-up included */
  loadMs: number;
  /** the warm-up's share of loadMs (0 when none ran) */
  warmupMs: number;
  /** step prices measured after the warm-up (a GPU, a drafter kind other than "none"), for the
   *  controllers of --budget auto (prices.ts); the oracle's drafts are not priced */
  prices?: StepPrices;
  free(): void;
}

/** Resolves "auto" and checks the flag combination and the pair before anything is loaded. */
export async function planDrafter(o: Pick<RuntimeOptions, "modelPath" | "draftPath" | "spec" | "treeK" | "flashAttn">): Promise<{ kind: DrafterKind; tree: boolean }> {
  if ((o.spec === "dflash" || o.spec === "draft-model") && !o.draftPath) throw new UserError(`--spec ${o.spec} needs --draft FILE`);
  if ((o.spec === "none" || o.spec === "ngram" || o.spec === "oracle") && o.draftPath) {
    throw new UserError(`--draft is given but --spec is ${o.spec}; use --spec dflash, draft-model or auto`);
  }
  const draftInfo = o.draftPath === undefined ? undefined : await inspectModel(o.draftPath, { tokens: true });
  const kind: DrafterKind = o.spec === "auto" ? (draftInfo ? (draftInfo.architecture === "dflash" ? "dflash" : "draft-model") : "ngram") : o.spec;
  // the oracle drafts trees too (measurement: tree verify cost at a simulated acceptance)
  if (kind !== "dflash" && kind !== "oracle" && o.treeK > 1) throw new UserError("--tree-k needs a dflash drafter (or the oracle)");
  const tree = (kind === "dflash" || kind === "oracle") && o.treeK > 1;
  if (tree && o.flashAttn === "on") throw new UserError("--tree-k > 1 needs --flash-attn off (llama.cpp's flash attention miscomputes tree verify batches)");
  if (o.draftPath !== undefined && draftInfo !== undefined) {
    const check = checkPair(await inspectModel(o.modelPath, { tokens: true }), draftInfo, kind === "dflash" ? "dflash" : "draft-model");
    if (!check.ok) throw new UserError(`${o.draftPath} cannot draft for ${o.modelPath}: ${check.errors.join("; ")}`);
  }
  return { kind, tree };
}

export async function loadRuntime(o: RuntimeOptions): Promise<Runtime> {
  const { kind, tree } = await planDrafter(o);
  if (o.sampling === "device" && !o.greedyOnly) throw new UserError("--sampling device supports greedy decoding only (--temperature 0, --repeat-penalty 1)");
  const t0 = performance.now();
  const model = await Model.loadAsync(o.modelPath, { gpuLayers: o.gpuLayers });
  // on a GPU the device argmax saves copying and scanning the logits; on a CPU the TS argmax is faster
  const onGpu = o.gpuLayers !== 0 && listDevices().some((d) => d.type === "gpu" || d.type === "igpu");
  // recurrent layers (hybrid targets such as qwen35) cannot drop a rejected tail from their state:
  // they keep per-token snapshots to roll back to, one per verified draft position
  const recurrent = model.info.isHybrid || model.info.isRecurrent;
  if (recurrent && tree) {
    model.free();
    throw new UserError(`${model.info.architecture} has recurrent layers: tree verify needs an attention-only target; use a chain (--tree-k 1)`);
  }
  let ctx: Context;
  try {
    ctx = Context.create(model, {
      ctx: o.ctx,
      rsSeq: recurrent && kind !== "none" ? 16 : undefined,
      deviceGreedy: !tree && o.greedyOnly && (o.sampling === "device" || (o.sampling === "auto" && onGpu)),
      // trees keep one sequence per branch in one cache, verified without flash attention
      kvUnified: tree ? true : undefined,
      threads: o.threads,
      flashAttn: tree ? "off" : o.flashAttn,
      cacheTypeK: o.cacheTypeK,
      cacheTypeV: o.cacheTypeV,
    });
  } catch (err) {
    model.free();
    throw err;
  }
  let drafter: Drafter | undefined;
  let draftModel: Model | undefined;
  let warmupMs = 0;
  let prices: StepPrices | undefined;
  try {
    if (kind === "ngram") drafter = new NgramDrafter();
    if (kind === "draft-model") {
      draftModel = await Model.loadAsync(o.draftPath!, { gpuLayers: o.gpuLayers });
      drafter = new DraftModelDrafter(ctx, draftModel, { threads: o.threads });
    }
    if (kind === "dflash") {
      draftModel = await Model.loadAsync(o.draftPath!, { gpuLayers: o.gpuLayers });
      // tree drafts on a GPU: the device ranks each position's top-k (see DFlashOptions.deviceTopK)
      drafter = new DFlashDrafter(ctx, draftModel, { topK: o.treeK, threads: o.threads, deviceArgmax: ctx.deviceGreedy, deviceTopK: onGpu });
    }
    // only a GPU pays once per process for a shape's first run; a CPU's first step costs what the others do
    if (onGpu && o.warmup !== false) {
      warmupMs = await warmUp(ctx, drafter, tree ? "tree" : "chain");
      if (kind !== "none") {
        const t = performance.now();
        prices = measurePrices(ctx, drafter, candidateBudgets(drafter?.maxDepth ?? ORACLE_DEPTH, tree ? "tree" : "chain"));
        warmupMs += performance.now() - t;
      }
    }
  } catch (err) {
    drafter?.free();
    ctx.free();
    model.free();
    draftModel?.free();
    throw err;
  }
  const loadMs = performance.now() - t0;
  let freed = false;
  return {
    model,
    ctx,
    drafter,
    drafterKind: kind,
    draftModel,
    tree,
    loadMs,
    warmupMs,
    prices,
    free() {
      if (freed) return;
      freed = true;
      drafter?.free();
      draftModel?.free();
      ctx.free();
      model.free();
    },
  };
}
