// Models on this machine: GGUFs in the Hugging Face cache (what `flint pull` and other tools
// downloaded) and in model directories (<flint cache>/models, plus any --dir), each read with
// inspectModel. A file that cannot be read is listed with the reason instead of failing the list.
import { readdir, readFile, stat } from "node:fs/promises";
import path from "node:path";
import { cacheRoot } from "../native/source-build.js";
import { COMMIT_RE, snapshotDir, snapshotFiles } from "./hub-cache.js";
import { ggufUnits } from "./hub-spec.js";
import { inspectModel } from "./inspect.js";

export interface LocalModel {
  /** what to pass to --model: hf:<repo>[@rev]/<file> for cached models, else the path */
  name: string;
  path: string;
  source: "hf-cache" | "dir";
  repo?: string;
  commit?: string;
  /** refs pointing at this snapshot (main, tags) */
  refs?: string[];
  /** split sets: number of parts */
  parts: number;
  bytes: number;
  architecture?: string;
  quantization?: string;
  parameterCount?: number;
  /** why the file could not be read */
  error?: string;
}

export interface LocalStore {
  models: LocalModel[];
  /** blobs/<etag>.incomplete: transfers a `flint pull` of the same spec resumes */
  partial: { repo: string; path: string; bytes: number }[];
  /** where it looked */
  searched: string[];
}

export function defaultModelsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(cacheRoot(env), "models");
}

export async function listLocalModels(o: { cacheDir: string; dirs: string[] }): Promise<LocalStore> {
  const store: LocalStore = { models: [], partial: [], searched: [o.cacheDir, ...o.dirs] };
  await scanHubCache(o.cacheDir, store);
  for (const d of o.dirs) await scanDir(path.resolve(d), store);
  await Promise.all(store.models.map(describe));
  store.models.sort((a, b) => a.name.localeCompare(b.name));
  return store;
}

async function describe(m: LocalModel): Promise<void> {
  try {
    const i = await inspectModel(m.path);
    m.architecture = i.architecture;
    m.quantization = i.quantization;
    m.parameterCount = i.parameterCount;
    m.bytes = i.fileBytes;
  } catch (e) {
    m.error = (e as Error).message;
  }
}

async function scanHubCache(cacheDir: string, store: LocalStore): Promise<void> {
  const repos = (await readdir(cacheDir).catch(() => [] as string[])).filter((n) => n.startsWith("models--"));
  for (const folder of repos) {
    // huggingface_hub's own inverse of the folder name: everything after the type, "/"-joined
    const repo = folder.split("--").slice(1).join("/");
    const root = path.join(cacheDir, folder);
    const refs = await readRefs(path.join(root, "refs"));
    const main = [...refs].find(([, names]) => names.includes("main"))?.[0];
    for (const commit of await readdir(path.join(root, "snapshots")).catch(() => [] as string[])) {
      const files = await snapshotFiles(cacheDir, repo, commit);
      const names = refs.get(commit) ?? [];
      const rev = commit === main ? "" : `@${names.find((n) => !n.includes("/")) ?? commit}`;
      for (const u of ggufUnits(files)) {
        if (u.missingParts.length) continue;
        store.models.push({
          name: `hf:${repo}${rev}/${u.primary}`,
          path: path.join(snapshotDir(cacheDir, repo, commit), u.primary),
          source: "hf-cache",
          repo,
          commit,
          refs: names,
          parts: u.files.length,
          bytes: 0,
        });
      }
    }
    for (const b of await readdir(path.join(root, "blobs")).catch(() => [] as string[])) {
      if (!b.endsWith(".incomplete")) continue;
      const p = path.join(root, "blobs", b);
      store.partial.push({ repo, path: p, bytes: (await stat(p).catch(() => undefined))?.size ?? 0 });
    }
  }
}

async function readRefs(dir: string): Promise<Map<string, string[]>> {
  const byCommit = new Map<string, string[]>();
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(r);
      else {
        const c = (await readFile(path.join(dir, r), "utf8").catch(() => "")).trim();
        if (COMMIT_RE.test(c)) byCommit.set(c, [...(byCommit.get(c) ?? []), r]);
      }
    }
  };
  await walk("");
  return byCommit;
}

async function scanDir(root: string, store: LocalStore): Promise<void> {
  const files: string[] = [];
  const walk = async (rel: string, depth: number): Promise<void> => {
    if (depth > 4) return;
    for (const e of await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => [])) {
      if (e.name.startsWith(".")) continue;
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = await stat(path.join(root, r)).catch(() => undefined);
      if (st?.isDirectory()) await walk(r, depth + 1);
      else if (st?.isFile() && /\.gguf$/i.test(e.name)) files.push(r);
    }
  };
  await walk("", 0);
  for (const u of ggufUnits(files)) {
    const p = path.join(root, u.primary);
    store.models.push({ name: p, path: p, source: "dir", parts: u.files.length + u.missingParts.length, bytes: 0 });
  }
}
