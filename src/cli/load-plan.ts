// What `flint run` and `flint serve` decide before loading: a tuned profile for the pair on this
// device (flint tune; else the GPU family's built-in tree budget) and the memory fit (--ctx auto picks
// the largest context that fits; a context that cannot fit is refused on a GPU, warned about on a CPU).
import { freemem } from "node:os";
import { primaryDeviceName } from "../bench/env.js";
import { resolveTuning } from "../bench/profile.js";
import { inspectModel } from "../models/inspect.js";
import { fitForRun } from "../models/memory-fit.js";
import { listDevices } from "../native/index.js";
import type { SpecMode } from "../spec/runtime.js";
import type { CliCacheType as CacheType } from "./options.js";

export interface LoadPlanInput {
  modelPath: string;
  draftPath?: string;
  spec: SpecMode;
  treeK: number;
  /** --tree-k was given on the command line (a profile must not change it) */
  treeKExplicit: boolean;
  budget?: number | "auto";
  ctx?: number | "auto";
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  flashAttn: "auto" | "on" | "off";
  gpuLayers: number;
}

export interface LoadPlan {
  budget?: number | "auto";
  treeK: number;
  /** undefined: the runtime's default context */
  ctx?: number;
  /** lines for stderr: the profile used, memory-fit notes */
  messages: string[];
}

export async function planLoad(o: LoadPlanInput): Promise<LoadPlan> {
  const messages: string[] = [];
  let budget = o.budget;
  let treeK = o.treeK;
  if (budget === undefined && o.draftPath !== undefined) {
    const t = resolveTuning({ modelPath: o.modelPath, draftPath: o.draftPath, spec: o.spec, treeK, treeKExplicit: o.treeKExplicit, flashAttn: o.flashAttn, device: primaryDeviceName(o.gpuLayers) });
    if (t.budget !== undefined) {
      budget = t.budget;
      treeK = t.treeK ?? treeK;
      if (t.message) messages.push(t.message);
    }
  }
  // an unreadable file is left to the loader, whose message names the problem
  const [ti, di] = await Promise.all([inspectModel(o.modelPath), o.draftPath === undefined ? undefined : inspectModel(o.draftPath)].map((p) => p?.catch(() => undefined)));
  const fit =
    ti === undefined
      ? { ctx: o.ctx === "auto" ? undefined : o.ctx, notes: [] as string[] }
      : fitForRun({
          target: ti,
          draft: di,
          ctx: o.ctx,
          run: { cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV, flashAttn: o.flashAttn !== "off" && treeK <= 1, gpuLayers: o.gpuLayers },
          devices: listDevices(),
          hostAvailable: freemem(),
        });
  messages.push(...fit.notes);
  return { budget, treeK, ctx: fit.ctx, messages };
}
