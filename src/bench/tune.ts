// `flint tune`: the budget sweep on this machine for one target/drafter pair, stored as a profile that
// `flint run` (and serve) find again (profile.ts).
import { targetFlags, type TargetFlags } from "../spec/runtime.js";
import { VERSION } from "../version.js";
import { encodePrompts } from "./decode.js";
import { gitCommit, primaryDeviceName } from "./env.js";
import { Harness } from "./harness.js";
import { modelIdentity, profileFromSweep, writeProfile, type Profile } from "./profile.js";
import { benchProgress } from "./progress.js";
import { loadPrompts } from "./prompts.js";
import type { SweepSection } from "./results.js";
import { runSweep } from "./sweep.js";

export interface TuneOptions extends Partial<TargetFlags> {
  modelPath: string;
  draftPath: string;
  /** prompt sets (default all, first `limit` of each) */
  prompts?: string;
  limit?: number;
  tokens?: number;
  treeK?: number;
  chainBudgets?: number[];
  treeBudgets?: number[];
  /** write here instead of the profile directory */
  outProfile?: string;
  /** points within this relative distance of the fastest count as ties; the cheapest wins (default 0.02) */
  tolerance?: number;
  command?: string;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}

export async function runTune(o: TuneOptions): Promise<{ profile: Profile; file: string; sweep: SweepSection }> {
  const env = o.env ?? process.env;
  const gpuLayers = o.gpuLayers ?? -1;
  const tokens = o.tokens ?? 128;
  const h = await Harness.open({ ...targetFlags(o), modelPath: o.modelPath, draftPath: o.draftPath, gpuLayers, flashAttn: o.flashAttn ?? "auto", sampling: "auto" });
  try {
    const nCtx = h.context("main").nCtx;
    const { encoded } = encodePrompts(h, loadPrompts(o.prompts ?? "all", o.limit ?? 2), tokens + 16, nCtx);
    const progress = benchProgress(process.stderr, env, o.quiet);
    const { section } = await runSweep(h, { prompts: encoded, tokens, treeK: o.treeK ?? 4, chainBudgets: o.chainBudgets, treeBudgets: o.treeBudgets, carried: false, assist: false, progress });
    const profile = profileFromSweep(section, {
      device: primaryDeviceName(gpuLayers),
      target: modelIdentity(o.modelPath),
      draft: modelIdentity(o.draftPath),
      drafter: h.draftKind ?? "none",
      gitCommit: gitCommit(env),
      flintVersion: VERSION,
      command: o.command ?? "flint tune",
      tolerance: o.tolerance,
    });
    const file = writeProfile(profile, o.outProfile, env);
    return { profile, file, sweep: section };
  } finally {
    h.free();
  }
}
