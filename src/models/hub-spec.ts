// Model specs of the form hf:<user>/<repo>[@<revision>][:<quant> | /<file.gguf>] and the choice of
// which GGUF file (or split set) of a repository they name. Pure: no network, no disk.

import { posix } from "node:path";

export interface HfSpec {
  /** "user/repo" */
  repo: string;
  /** branch, tag or commit; undefined = main */
  revision?: string;
  /** quantization asked for (":Q8_0"); undefined = the default */
  quant?: string;
  /** exact file path in the repo ("/sub/model-Q4_K_M.gguf") */
  file?: string;
}

export const DEFAULT_QUANT = "Q4_K_M";

export function isHfSpec(s: string): boolean {
  return s.startsWith("hf:");
}

// Hub repo names are [A-Za-z0-9._-]; revisions may not contain ':' or '/' in this syntax.
const SPEC_RE = /^([A-Za-z0-9][A-Za-z0-9._-]*)\/([A-Za-z0-9._-]+)(?:@([^:/@\s]+))?(?::([A-Za-z0-9._-]+)|\/(.+))?$/;

export function parseHfSpec(spec: string): HfSpec {
  if (!isHfSpec(spec)) throw new Error(`not a Hugging Face model spec: "${spec}" (expected hf:<user>/<repo>[:<quant>])`);
  const m = SPEC_RE.exec(spec.slice(3));
  if (!m) {
    throw new Error(
      `bad model spec "${spec}": expected hf:<user>/<repo>[@<revision>][:<quant>] or hf:<user>/<repo>[@<revision>]/<file.gguf>`,
    );
  }
  const [, user, name, revision, quant, file] = m;
  if (file !== undefined) {
    const norm = posix.normalize(file);
    if (norm.startsWith("..") || norm.startsWith("/") || norm.split("/").includes("..")) throw new Error(`bad file path in "${spec}"`);
    if (!/\.gguf$/i.test(norm)) throw new Error(`"${spec}" names ${file}, which is not a .gguf file`);
  }
  return { repo: `${user}/${name}`, revision, quant, file };
}

export function formatHfSpec(s: HfSpec): string {
  return `hf:${s.repo}${s.revision ? `@${s.revision}` : ""}${s.file ? `/${s.file}` : s.quant ? `:${s.quant}` : ""}`;
}

/** One loadable model in a repo: a single file, or every part of a split set (first part first). */
export interface GgufUnit {
  /** the path llama.cpp is given (a split set's first part) */
  primary: string;
  files: string[];
  /** split sets: parts the listing lacks (1-based) */
  missingParts: number[];
  /** quantization label found in the name, upper case ("Q4_K_M"), if any */
  quant?: string;
}

const SPLIT_RE = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

/** Files that are not models on their own: vision projectors and importance matrices. */
function isAuxiliary(path: string): boolean {
  const base = posix.basename(path).toLowerCase();
  return base.includes("mmproj") || base.startsWith("imatrix");
}

// Quantization names as llama.cpp and the common quantizers write them (Q4_K_M, IQ3_XXS, UD-Q4_K_XL,
// Q8_0, BF16, MXFP4_MOE, TQ1_0). The first match scanning from the end of the name wins.
const QUANT_RE = /(?:^|[-_.\s/])((?:UD-)?(?:I?Q\d(?:_[A-Z0-9]+)*|BF16|F16|F32|MXFP4(?:_MOE)?|TQ\d_\d))(?=[-.\s/]|$)/gi;

export function quantOf(path: string): string | undefined {
  const stem = path.replace(SPLIT_RE, "$1").replace(/\.gguf$/i, "");
  let last: string | undefined;
  for (const m of stem.matchAll(QUANT_RE)) last = m[1];
  return last?.toUpperCase();
}

/** Does `path` carry quantization `q`? Case-insensitive, bounded so Q4_K does not match Q4_K_M or IQ4_K. */
export function matchesQuant(path: string, q: string): boolean {
  const esc = q.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?:^|[^A-Za-z0-9])${esc}(?![A-Za-z0-9_])`, "i").test(path.replace(SPLIT_RE, "$1"));
}

/** Group a repo's file list into loadable GGUF units (auxiliary files left out). */
export function ggufUnits(paths: readonly string[]): GgufUnit[] {
  const singles: GgufUnit[] = [];
  const sets = new Map<string, { count: number; parts: Map<number, string> }>();
  for (const p of paths) {
    if (!/\.gguf$/i.test(p) || isAuxiliary(p)) continue;
    const m = SPLIT_RE.exec(p);
    if (m) {
      const count = Number(m[3]);
      const key = `${m[1]}\u0000${count}`;
      let set = sets.get(key);
      if (!set) sets.set(key, (set = { count, parts: new Map() }));
      set.parts.set(Number(m[2]), p);
    } else {
      singles.push({ primary: p, files: [p], missingParts: [], quant: quantOf(p) });
    }
  }
  const splits: GgufUnit[] = [];
  for (const [key, set] of sets) {
    const prefix = key.split("\u0000")[0];
    const files: string[] = [];
    const missing: number[] = [];
    for (let i = 1; i <= set.count; i++) {
      const f = set.parts.get(i);
      if (f) files.push(f);
      else missing.push(i);
    }
    const pad = (n: number) => String(n).padStart(5, "0");
    const primary = set.parts.get(1) ?? `${prefix}-${pad(1)}-of-${pad(set.count)}.gguf`;
    splits.push({ primary, files, missingParts: missing, quant: quantOf(primary) });
  }
  return [...singles, ...splits].sort((a, b) => a.primary.localeCompare(b.primary));
}

export interface Selection {
  unit: GgufUnit;
  /** why this unit, when it was not an exact match of what was asked */
  note?: string;
}

/**
 * Pick the unit a spec names among a repo's files. `allowSoleFallback`: when no quant was asked for
 * and the default is absent, take the repo's only model (a repo with one GGUF in any quantization).
 */
export function selectUnit(paths: readonly string[], spec: HfSpec, allowSoleFallback = true): Selection {
  const units = ggufUnits(paths);
  const where = `hf:${spec.repo}${spec.revision ? `@${spec.revision}` : ""}`;
  if (units.length === 0) {
    const any = paths.filter((p) => /\.gguf$/i.test(p));
    throw new Error(
      any.length
        ? `${where} has no model GGUF file, only auxiliary ones (${any.slice(0, 5).join(", ")})`
        : `${where} has no .gguf files (is it a safetensors repo? look for a -GGUF version of it)`,
    );
  }
  if (spec.file) {
    const want = spec.file.toLowerCase();
    const hit =
      units.find((u) => u.files.some((f) => f.toLowerCase() === want) || u.primary.toLowerCase() === want) ??
      units.find((u) => u.files.some((f) => posix.basename(f).toLowerCase() === want));
    if (!hit) throw new Error(`${where} has no file ${spec.file}; its models: ${units.map((u) => u.primary).join(", ")}`);
    return { unit: hit };
  }
  const q = spec.quant ?? DEFAULT_QUANT;
  const matching = units.filter((u) => matchesQuant(u.primary, q));
  if (matching.length === 0) {
    if (spec.quant === undefined && allowSoleFallback && units.length === 1) {
      return { unit: units[0], note: `no ${DEFAULT_QUANT} file; using the repo's only model ${units[0].primary}` };
    }
    throw new Error(`${where} has no ${q} file${spec.quant ? "" : ` (the default quantization)`}; available: ${describeUnits(units)}; pick one with ${where}:<QUANT> or ${where}/<file.gguf>`);
  }
  // one file beats a split set (one request, nothing to reassemble); then the shortest path (the
  // plain name, not a variant such as "-imat" or a subfolder copy)
  const ranked = matching.slice().sort((a, b) => a.files.length - b.files.length || a.primary.length - b.primary.length || a.primary.localeCompare(b.primary));
  const unit = ranked[0];
  const note = ranked.length > 1 ? `${ranked.length} files match ${q}; took ${unit.primary} (others: ${ranked.slice(1).map((u) => u.primary).join(", ")})` : undefined;
  return { unit, note };
}

export function describeUnits(units: readonly GgufUnit[]): string {
  return units.map((u) => `${u.quant ?? posix.basename(u.primary)}${u.files.length > 1 || u.missingParts.length ? ` (${u.files.length + u.missingParts.length} parts)` : ""}`).join(", ");
}
