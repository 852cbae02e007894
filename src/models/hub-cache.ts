// The Hugging Face cache layout, shared with huggingface_hub (Python), @huggingface/hub and
// llama.cpp-style tools:
//   <cache>/models--<user>--<repo>/blobs/<etag>             file contents (etag = LFS sha256 or git sha1)
//   <cache>/models--<user>--<repo>/blobs/<etag>.incomplete  a transfer in progress (resumed with Range)
//   <cache>/models--<user>--<repo>/snapshots/<commit>/<path> relative symlink to the blob
//   <cache>/models--<user>--<repo>/refs/<revision>           commit hash the revision pointed to
import { getRepoFolderName } from "@huggingface/hub";
import { copyFile, lstat, mkdir, readFile, readdir, rm, stat, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

export const COMMIT_RE = /^[0-9a-f]{40}$/;

/** Same precedence as huggingface_hub and @huggingface/hub's getHFHubCachePath, but over a given env. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return path.resolve(env.HF_HUB_CACHE);
  if (env.HUGGINGFACE_HUB_CACHE) return path.resolve(env.HUGGINGFACE_HUB_CACHE);
  return path.join(hfHome(env), "hub");
}

export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return path.resolve(env.HF_HOME);
  return path.join(env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), ".cache"), "huggingface");
}

export function repoDir(cacheDir: string, repo: string): string {
  return path.join(cacheDir, getRepoFolderName({ name: repo, type: "model" }));
}

export const blobPath = (cacheDir: string, repo: string, etag: string) => path.join(repoDir(cacheDir, repo), "blobs", etag);
export const snapshotDir = (cacheDir: string, repo: string, commit: string) => path.join(repoDir(cacheDir, repo), "snapshots", commit);

/** Commit a revision resolves to in the cache: a commit hash itself, else refs/<revision>. */
export async function cachedCommit(cacheDir: string, repo: string, revision = "main"): Promise<string | undefined> {
  if (COMMIT_RE.test(revision)) return revision;
  const ref = await readFile(path.join(repoDir(cacheDir, repo), "refs", revision), "utf8").catch(() => undefined);
  const c = ref?.trim();
  return c && COMMIT_RE.test(c) ? c : undefined;
}

export async function writeRef(cacheDir: string, repo: string, revision: string, commit: string): Promise<void> {
  if (COMMIT_RE.test(revision)) return;
  const file = path.join(repoDir(cacheDir, repo), "refs", revision);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, commit);
}

/** Snapshot commits present for a repo, newest first (by the snapshot folder's mtime). */
export async function snapshotCommits(cacheDir: string, repo: string): Promise<string[]> {
  const dir = path.join(repoDir(cacheDir, repo), "snapshots");
  const names = await readdir(dir).catch(() => [] as string[]);
  const withTime = await Promise.all(names.map(async (n) => ({ n, t: (await stat(path.join(dir, n)).catch(() => undefined))?.mtimeMs ?? 0 })));
  return withTime.sort((a, b) => b.t - a.t).map((x) => x.n);
}

/** Files of a snapshot whose blob is present (a link to a deleted blob does not count), as repo paths. */
export async function snapshotFiles(cacheDir: string, repo: string, commit: string): Promise<string[]> {
  const root = snapshotDir(cacheDir, repo, commit);
  const out: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(path.join(root, rel), { withFileTypes: true }).catch(() => []);
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      const st = await stat(path.join(root, r)).catch(() => undefined);
      if (st?.isDirectory()) await walk(r);
      else if (st?.isFile()) out.push(r);
    }
  };
  await walk("");
  return out.sort();
}

/** Point snapshots/<commit>/<file> at the blob, relatively, as the hub libraries do (copy where links fail). */
export async function linkSnapshot(blob: string, pointer: string): Promise<void> {
  await mkdir(path.dirname(pointer), { recursive: true });
  if (await lstat(pointer).catch(() => undefined)) await rm(pointer, { force: true });
  try {
    await symlink(path.relative(path.dirname(pointer), blob), pointer);
  } catch {
    // Windows without developer mode cannot make symlinks; huggingface_hub copies there too
    await copyFile(blob, pointer);
  }
}
