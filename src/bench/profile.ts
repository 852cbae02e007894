// Tuned profiles: what `flint tune` measured on this machine for one target/drafter pair (the best
// budget, drafter and chain length, and the costs behind them), stored as JSON in the user's config
// directory, and found again by `flint run` (and `flint serve`) for the same pair on the same GPU.
//
// Model identity: sha256 over the file size and its first and last MiB. That is cheap on multi-GB
// files and tells different GGUFs apart in practice (the header holds the metadata and tensor table,
// the tail holds the last tensors' data); it is not a hash of the whole file.
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, fstatSync, writeFileSync, renameSync } from "node:fs";
import path from "node:path";
import envPaths from "env-paths";
import { z } from "zod";
import { SweepBestSchema, SweepPointSchema, type SweepPoint, type SweepSection } from "./results.js";

export const PROFILE_SCHEMA_ID = "flint-profile/1";
const MIB = 1 << 20;

/** flint's config directory: FLINT_CONFIG_DIR, else env-paths' config dir for "flint" (~/.config/flint on Linux). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FLINT_CONFIG_DIR || envPaths("flint", { suffix: "" }).config;
}

export function profileDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(configDir(env), "profiles");
}

export const ModelIdSchema = z.object({
  path: z.string(),
  sizeBytes: z.number(),
  /** sha256 of the decimal size, then the first MiB, then the last MiB (see the file comment) */
  sha256FirstLastMiB: z.string(),
});
export type ModelId = z.infer<typeof ModelIdSchema>;

export function modelIdentity(file: string): ModelId {
  const fd = openSync(file, "r");
  try {
    const size = fstatSync(fd).size;
    const h = createHash("sha256").update(`${size}:`);
    const head = Buffer.alloc(Math.min(MIB, size));
    readSync(fd, head, 0, head.length, 0);
    h.update(head);
    const tailLen = Math.min(MIB, size);
    const tail = Buffer.alloc(tailLen);
    readSync(fd, tail, 0, tailLen, size - tailLen);
    h.update(tail);
    return { path: path.resolve(file), sizeBytes: size, sha256FirstLastMiB: h.digest("hex") };
  } finally {
    closeSync(fd);
  }
}

export const ProfileSchema = z.object({
  schema: z.literal(PROFILE_SCHEMA_ID),
  createdAt: z.string(),
  flintVersion: z.string(),
  gitCommit: z.string(),
  /** the GPU (or CPU) name the sweep ran on (primaryDeviceName) */
  device: z.string(),
  target: ModelIdSchema,
  draft: ModelIdSchema,
  /** the fastest fixed choice overall (plain decoding included) */
  best: SweepBestSchema,
  /** the fastest chain depth with the pair's drafter (null when no chain was measured) */
  chainLength: z.number().int().nullable(),
  /** the fastest DDTree node budget and its top-k (null when no tree was measured) */
  tree: z.object({ budget: z.number().int(), treeK: z.number().int() }).nullable(),
  /** the drafter the pair's draft file is (dflash or draft-model) */
  drafter: z.string(),
  costs: z.object({
    /** one plain decode call, ms */
    arStepMs: z.number(),
    /** one draft, ms (null: no model drafter) */
    draftMs: z.number().nullable(),
    /** chain verify forward ms by rows (drafted tokens + 1; 1 = a plain step) */
    verifyMsByRows: z.record(z.string(), z.number()),
    /** DDTree verify forward ms by rows (nodes + 1) */
    treeVerifyMsByRows: z.record(z.string(), z.number()),
  }),
  sweep: z.object({ prompts: z.number().int(), tokensPerPrompt: z.number().int(), points: z.array(SweepPointSchema) }),
  command: z.string(),
});
export type Profile = z.infer<typeof ProfileSchema>;

/** Of the points within `tolerance` (relative) of the fastest fixed point, the cheapest: plain
 *  decoding first, then the smallest budget. Simulated and auto points never count. */
export function chooseFixed(points: readonly SweepPoint[], tolerance = 0.02): SweepPoint | undefined {
  const cands = points.filter((p) => !p.simulated && p.budget !== "auto" && p.tokensPerSecond > 0);
  if (cands.length === 0) return undefined;
  const top = Math.max(...cands.map((p) => p.tokensPerSecond));
  const near = cands.filter((p) => p.tokensPerSecond >= top * (1 - tolerance));
  const cost = (p: SweepPoint) => (p.shape === "ar" ? 0 : (p.budget as number));
  return near.sort((a, b) => cost(a) - cost(b) || b.tokensPerSecond - a.tokensPerSecond)[0];
}

/** The profile a sweep gives: best overall, best chain length and best tree budget for the drafter. */
export function profileFromSweep(
  sweep: SweepSection,
  meta: { device: string; target: ModelId; draft: ModelId; drafter: string; gitCommit: string; flintVersion: string; command: string; tolerance?: number },
): Profile {
  const tol = meta.tolerance ?? 0.02;
  const ar = sweep.points.find((p) => p.shape === "ar");
  const best = chooseFixed(sweep.points, tol) ?? ar;
  const chain = chooseFixed(sweep.points.filter((p) => p.drafter === meta.drafter && p.shape === "chain"), tol);
  const tree = chooseFixed(sweep.points.filter((p) => p.drafter === meta.drafter && p.shape === "tree"), tol);
  const arTps = ar?.tokensPerSecond ?? 0;
  return {
    schema: PROFILE_SCHEMA_ID,
    createdAt: new Date().toISOString(),
    flintVersion: meta.flintVersion,
    gitCommit: meta.gitCommit,
    device: meta.device,
    target: meta.target,
    draft: meta.draft,
    best: best
      ? { drafter: best.drafter, shape: best.shape, budget: best.budget === "auto" ? 0 : best.budget, treeK: best.treeK, tokensPerSecond: best.tokensPerSecond, speedup: arTps > 0 ? best.tokensPerSecond / arTps : 1 }
      : { drafter: "none", shape: "ar", budget: 0, treeK: 1, tokensPerSecond: 0, speedup: 1 },
    chainLength: chain ? (chain.budget as number) : null,
    tree: tree ? { budget: tree.budget as number, treeK: tree.treeK } : null,
    drafter: meta.drafter,
    costs: { arStepMs: sweep.arStepMs, draftMs: sweep.draftMs, verifyMsByRows: sweep.verifyMsByRows, treeVerifyMsByRows: sweep.treeVerifyMsByRows },
    sweep: { prompts: sweep.prompts.length, tokensPerPrompt: sweep.tokensPerPrompt, points: sweep.points },
    command: meta.command,
  };
}

function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 48) || "device";
}

export function profileFileName(p: Pick<Profile, "device" | "target" | "draft">): string {
  return `${slug(p.device)}--${p.target.sha256FirstLastMiB.slice(0, 12)}--${p.draft.sha256FirstLastMiB.slice(0, 12)}.json`;
}

/** Writes the profile (atomically) to `file`, or into the profile directory; returns the path. */
export function writeProfile(p: Profile, file?: string, env: NodeJS.ProcessEnv = process.env): string {
  const out = file ?? path.join(profileDir(env), profileFileName(p));
  mkdirSync(path.dirname(out), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(ProfileSchema.parse(p), null, 2) + "\n");
  renameSync(tmp, out);
  return out;
}

export function readProfile(file: string): Profile {
  return ProfileSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}

/** Does the profile belong to this pair on this device? The paths may differ; the identities may not. */
export function profileMatches(p: Profile, target: ModelId, draft: ModelId, device: string): boolean {
  const same = (a: ModelId, b: ModelId) => a.sizeBytes === b.sizeBytes && a.sha256FirstLastMiB === b.sha256FirstLastMiB;
  return p.device === device && same(p.target, target) && same(p.draft, draft);
}

/** The newest stored profile for this target/drafter pair on this device, or undefined. Unreadable
 *  or foreign files in the profile directory are skipped. */
export function findProfile(modelPath: string, draftPath: string, device: string, env: NodeJS.ProcessEnv = process.env): { file: string; profile: Profile } | undefined {
  const dir = profileDir(env);
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json"));
  } catch {
    return undefined;
  }
  const target = modelIdentity(modelPath);
  const draft = modelIdentity(draftPath);
  let found: { file: string; profile: Profile } | undefined;
  for (const n of names) {
    const file = path.join(dir, n);
    let p: Profile;
    try {
      p = readProfile(file);
    } catch {
      continue;
    }
    if (!profileMatches(p, target, draft, device)) continue;
    if (!found || p.createdAt > found.profile.createdAt) found = { file, profile: p };
  }
  return found;
}

export interface GpuDefault {
  /** DDTree node budget */
  budget: number;
  family: string;
  source: string;
}

// Built-in DDTree node budgets by GPU family, for machines without a tuned profile. These are NOT
// measured by this project: they are the best budgets from public results that users of the seed
// project posted in their per-GPU reproduction tables (as listed in issue 5): RTX 3090 22, RTX 5090 40,
// gfx1151 (Strix Halo) 22, gfx1100 (RX 7900 XT/XTX) 8. Device names are matched on ggml's device
// description (e.g. "NVIDIA GeForce RTX 3090", "AMD Radeon RX 7900 XTX") or a gfx id.
const GPU_DEFAULTS: { match: RegExp; family: string; budget: number }[] = [
  { match: /RTX\s*3090/i, family: "RTX 3090", budget: 22 },
  { match: /RTX\s*5090/i, family: "RTX 5090", budget: 40 },
  { match: /gfx1151|Radeon\s*80[56]0S|Strix\s*Halo/i, family: "gfx1151", budget: 22 },
  { match: /gfx1100|RX\s*7900\s*(XTX|XT|GRE)?\b/i, family: "gfx1100", budget: 8 },
];

export function defaultsForGpu(name: string): GpuDefault | undefined {
  const d = GPU_DEFAULTS.find((g) => g.match.test(name));
  return d ? { budget: d.budget, family: d.family, source: "public results (seed project users' per-GPU tables), not measured by flint" } : undefined;
}

export interface TuningInput {
  modelPath: string;
  draftPath?: string;
  spec: string;
  /** --tree-k as given (1 = chain) and whether it was given on the command line */
  treeK: number;
  treeKExplicit: boolean;
  flashAttn: "auto" | "on" | "off";
  device: string;
  env?: NodeJS.ProcessEnv;
}

export interface TuningChoice {
  budget?: number;
  treeK?: number;
  /** the line to print on stderr (which profile or default is used) */
  message?: string;
  profileFile?: string;
}

/**
 * What `flint run` (and serve) uses when --budget is not given, for an explicit drafter (--spec dflash
 * or draft-model; --spec auto keeps the adaptive controller): a matching tuned profile's chain length
 * or tree budget (and its top-k when --tree-k was not given), else the GPU family's built-in tree
 * budget when verifying trees, else nothing (the drafter's own depth).
 */
export function resolveTuning(o: TuningInput): TuningChoice {
  if ((o.spec !== "dflash" && o.spec !== "draft-model") || !o.draftPath) return {};
  const found = findProfile(o.modelPath, o.draftPath, o.device, o.env);
  if (found) {
    const p = found.profile;
    const msg = `flint: using tuned profile ${found.file}`;
    const treeOk = o.spec === "dflash" && p.tree !== null && o.flashAttn !== "on";
    if (o.treeKExplicit) {
      if (o.treeK > 1 && treeOk && p.tree!.treeK === o.treeK) return { budget: p.tree!.budget, message: msg, profileFile: found.file };
      if (o.treeK === 1 && p.chainLength !== null) return { budget: p.chainLength, message: msg, profileFile: found.file };
    } else {
      // the faster of the profile's chain and tree
      const chainTps = p.chainLength === null ? -1 : (p.sweep.points.find((x) => x.shape === "chain" && x.drafter === p.drafter && x.budget === p.chainLength)?.tokensPerSecond ?? -1);
      const treeTps = !treeOk ? -1 : (p.sweep.points.find((x) => x.shape === "tree" && x.budget === p.tree!.budget && x.treeK === p.tree!.treeK)?.tokensPerSecond ?? -1);
      if (treeTps > chainTps && treeOk) return { budget: p.tree!.budget, treeK: p.tree!.treeK, message: msg, profileFile: found.file };
      if (p.chainLength !== null) return { budget: p.chainLength, message: msg, profileFile: found.file };
    }
  }
  if (o.spec === "dflash" && o.treeK > 1) {
    const d = defaultsForGpu(o.device);
    if (d) return { budget: d.budget, message: `flint: using the built-in DDTree budget ${d.budget} for ${d.family} (${d.source}); run flint tune to measure this machine` };
  }
  return {};
}

/** JSON Schema of a profile file (bench/profile.schema.json is this, committed). */
export function profileJsonSchema(): unknown {
  return z.toJSONSchema(ProfileSchema, { target: "draft-2020-12" });
}
