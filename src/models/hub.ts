// Models from the Hugging Face hub: `flint pull hf:...` and `--model hf:...`.
//
// The hub is asked through @huggingface/hub (modelInfo for the commit a revision points to,
// listFiles for names, sizes and LFS hashes); bytes go through hub-download.ts (resumable and
// verified) into the shared cache layout of hub-cache.ts. resolveModel looks in the cache first, so
// running a pulled model never needs the network.
import { HubApiError, listFiles, modelInfo, type ListFileEntry } from "@huggingface/hub";
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../native/errors.js";
import { blobPath, cachedCommit, COMMIT_RE, hfHome, hubCacheDir, linkSnapshot, snapshotCommits, snapshotDir, snapshotFiles, writeRef } from "./hub-cache.js";
import { downloadBlob, HttpStatusError } from "./hub-download.js";
import { DEFAULT_QUANT, describeUnits, formatHfSpec, ggufUnits, isHfSpec, parseHfSpec, selectUnit, type HfSpec } from "./hub-spec.js";

export { isHfSpec, parseHfSpec, type HfSpec } from "./hub-spec.js";

export const DEFAULT_ENDPOINT = "https://huggingface.co";

export interface HubOptions {
  /** environment to read HF_* settings from (default process.env) */
  env?: NodeJS.ProcessEnv;
  /** only the cache; also HF_HUB_OFFLINE=1 */
  offline?: boolean;
  /** default HF_ENDPOINT, else https://huggingface.co */
  endpoint?: string;
  /** default HF_TOKEN (or HUGGING_FACE_HUB_TOKEN, or the token file huggingface-cli login writes) */
  token?: string;
  /** default $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub */
  cacheDir?: string;
  fetch?: typeof fetch;
  /** progress and notes meant for a person (stderr) */
  log?: (line: string) => void;
  onProgress?: (p: PullProgress) => void;
  retries?: number;
  retryDelayMs?: number;
  idleTimeoutMs?: number;
}

export interface PullProgress {
  file: string;
  /** bytes of the whole set on disk */
  done: number;
  total: number;
}

export interface PulledFile {
  /** path in the repo */
  repoPath: string;
  /** snapshots/<commit>/<repoPath> */
  path: string;
  size: number;
  /** false when the blob was already in the cache */
  downloaded: boolean;
  resumedFrom: number[];
}

export interface PullResult {
  spec: string;
  repo: string;
  revision: string;
  commit: string;
  quant?: string;
  /** what to load: the file, or a split set's first part */
  path: string;
  files: PulledFile[];
  totalBytes: number;
  /** answered from the cache without asking the hub */
  fromCache: boolean;
  note?: string;
}

interface Settings {
  endpoint: string;
  token?: string;
  cacheDir: string;
  offline: boolean;
}

const truthy = (v: string | undefined) => !!v && /^(1|true|yes|on)$/i.test(v.trim());

export function hubSettings(o: HubOptions = {}): Settings {
  const env = o.env ?? process.env;
  let token = o.token ?? env.HF_TOKEN ?? env.HUGGING_FACE_HUB_TOKEN;
  if (!token) {
    try {
      token = readFileSync(env.HF_TOKEN_PATH ?? path.join(hfHome(env), "token"), "utf8").trim() || undefined;
    } catch {
      token = undefined;
    }
  }
  return {
    endpoint: (o.endpoint ?? env.HF_ENDPOINT ?? DEFAULT_ENDPOINT).replace(/\/+$/, ""),
    token: token?.trim() || undefined,
    cacheDir: o.cacheDir ? path.resolve(o.cacheDir) : hubCacheDir(env),
    offline: !!o.offline || truthy(env.HF_HUB_OFFLINE),
  };
}

/** A local path for a model spec: plain paths pass through; hf: specs come from the cache, else are pulled. */
export async function resolveModel(spec: string, o: HubOptions = {}): Promise<string> {
  if (!isHfSpec(spec)) return spec;
  const s = hubSettings(o);
  const parsed = asUser(() => parseHfSpec(spec));
  const cached = await findCached(parsed, s);
  if ("path" in cached) {
    if (cached.note) o.log?.(cached.note);
    return cached.path;
  }
  if (s.offline) throw new UserError(cached.missing);
  return (await pullModel(spec, o)).path;
}

/** Download (or confirm in the cache) the model a spec names; offline mode only looks in the cache. */
export async function pullModel(spec: string, o: HubOptions = {}): Promise<PullResult> {
  const s = hubSettings(o);
  const parsed = asUser(() => parseHfSpec(spec));
  if (s.offline) {
    const cached = await findCached(parsed, s);
    if ("path" in cached) return cached;
    throw new UserError(cached.missing);
  }
  const revision = parsed.revision ?? "main";
  const authFetch = withToken(o.fetch ?? fetch, s);
  const where = `hf:${parsed.repo}${parsed.revision ? `@${parsed.revision}` : ""}`;

  let commit: string;
  const entries: ListFileEntry[] = [];
  try {
    const info = await modelInfo({ name: parsed.repo, revision, hubUrl: s.endpoint, fetch: authFetch, additionalFields: ["sha"] });
    commit = info.sha;
    if (!commit || !COMMIT_RE.test(commit)) throw new UserError(`${s.endpoint} gave no commit hash for ${where}`);
    for await (const e of listFiles({ repo: parsed.repo, revision: commit, recursive: true, hubUrl: s.endpoint, fetch: authFetch })) {
      if (e.type === "file") entries.push(e);
    }
  } catch (e) {
    throw hubError(e, s, parsed);
  }
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const { unit, note } = asUser(() => selectUnit([...byPath.keys()], parsed));
  if (note) o.log?.(note);
  if (unit.missingParts.length) {
    throw new UserError(`${where}: split set ${unit.primary} lacks part(s) ${unit.missingParts.join(", ")} on the hub`);
  }

  const files = unit.files.map((f) => byPath.get(f)!);
  const total = files.reduce((a, e) => a + fileSize(e), 0);
  const pulled: PulledFile[] = [];
  let doneBefore = 0;
  for (const e of files) {
    const size = fileSize(e);
    // xet-backed files normally carry an lfs entry too; with only a xet hash there is no sha256 to check
    const etag = e.lfs?.oid ?? e.xetHash ?? e.oid;
    const gitSha1 = e.lfs || e.xetHash ? undefined : e.oid;
    if (!etag) throw new UserError(`${where}: the hub lists no hash for ${e.path}; cannot place it in the cache`);
    const blob = blobPath(s.cacheDir, parsed.repo, etag);
    const pointer = path.join(snapshotDir(s.cacheDir, parsed.repo, commit), e.path);
    let downloaded = false;
    let resumedFrom: number[] = [];
    const have = await stat(blob).catch(() => undefined);
    if (have?.size !== size) {
      if (!e.lfs && e.xetHash) o.log?.(`${e.path}: the hub lists no sha256 for it (only a xet hash); checking its size only`);
      const url = `${s.endpoint}/${parsed.repo}/resolve/${commit}/${e.path.split("/").map(encodeURIComponent).join("/")}`;
      const base = doneBefore;
      try {
        const r = await downloadBlob(
          { url, name: e.path, size, sha256: e.lfs?.oid, gitSha1 },
          blob,
          {
            token: s.token,
            fetch: o.fetch,
            log: o.log,
            retries: o.retries,
            retryDelayMs: o.retryDelayMs,
            idleTimeoutMs: o.idleTimeoutMs,
            onProgress: (n) => o.onProgress?.({ file: e.path, done: base + n, total }),
          },
        );
        resumedFrom = r.resumedFrom;
      } catch (err) {
        const mapped = hubError(err, s, parsed);
        if (mapped !== err || err instanceof UserError) throw mapped;
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new UserError(`downloading ${e.path} from ${s.endpoint} kept failing (${cause}); the partial file is kept in the cache: run the same pull again to resume`);
      }
      downloaded = true;
    }
    await linkSnapshot(blob, pointer);
    doneBefore += size;
    o.onProgress?.({ file: e.path, done: doneBefore, total });
    pulled.push({ repoPath: e.path, path: pointer, size, downloaded, resumedFrom });
  }
  await writeRef(s.cacheDir, parsed.repo, revision, commit);
  return {
    spec: formatHfSpec(parsed),
    repo: parsed.repo,
    revision,
    commit,
    quant: unit.quant,
    path: pulled[0].path,
    files: pulled,
    totalBytes: total,
    fromCache: false,
    note,
  };
}

const fileSize = (e: ListFileEntry) => e.lfs?.size ?? e.size;

/**
 * The cached unit a spec names. The implicit default quant must match: a snapshot holding only a
 * Q8_0 may be from a repo that also has Q4_K_M, so the hub's "only model" fallback is not applied.
 */
async function findCached(spec: HfSpec, s: Settings): Promise<PullResult | { missing: string }> {
  const revision = spec.revision ?? "main";
  const name = formatHfSpec(spec);
  const refCommit = await cachedCommit(s.cacheDir, spec.repo, revision);
  // without a ref (a cache written by a tool that keeps none), any snapshot may hold the file
  const commits = refCommit ? [refCommit] : spec.revision && !COMMIT_RE.test(spec.revision) ? [] : await snapshotCommits(s.cacheDir, spec.repo);
  const seen: string[] = [];
  for (const commit of commits) {
    const files = await snapshotFiles(s.cacheDir, spec.repo, commit);
    seen.push(...files);
    let sel;
    try {
      sel = selectUnit(files, spec, false);
    } catch {
      continue;
    }
    const { unit } = sel;
    if (unit.missingParts.length) {
      return { missing: `the cached copy of ${name} is incomplete: part(s) ${unit.missingParts.join(", ")} of ${unit.primary} are missing; run \`flint pull ${name}\` online` };
    }
    const dir = snapshotDir(s.cacheDir, spec.repo, commit);
    const pulled: PulledFile[] = [];
    for (const f of unit.files) {
      const st = await stat(path.join(dir, f));
      pulled.push({ repoPath: f, path: path.join(dir, f), size: st.size, downloaded: false, resumedFrom: [] });
    }
    return {
      spec: name,
      repo: spec.repo,
      revision,
      commit,
      quant: unit.quant,
      path: pulled[0].path,
      files: pulled,
      totalBytes: pulled.reduce((a, f) => a + f.size, 0),
      fromCache: true,
      note: sel.note,
    };
  }
  const units = ggufUnits([...new Set(seen)]);
  const what = spec.file ?? `${spec.quant ?? DEFAULT_QUANT} file`;
  const has = units.length ? ` (cached for that repo: ${describeUnits(units)})` : "";
  return {
    missing: `${name} is not in the Hugging Face cache ${s.cacheDir}: no ${what}${has}. Offline mode (--offline or HF_HUB_OFFLINE=1) cannot download; run \`flint pull ${name}\` while online`,
  };
}

function withToken(f: typeof fetch, s: Settings): typeof fetch {
  if (!s.token) return f;
  // passed as a header rather than @huggingface/hub's accessToken, which rejects tokens without the
  // hf_ prefix that mirrors (HF_ENDPOINT) may issue
  return (input, init) => {
    const headers = new Headers(init?.headers);
    if (!headers.has("authorization")) headers.set("Authorization", `Bearer ${s.token}`);
    return f(input, { ...init, headers });
  };
}

function asUser<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw e instanceof Error && e.constructor === Error ? new UserError(e.message) : e;
  }
}

/** Hub and network failures as messages that say what to do. */
function hubError(e: unknown, s: Settings, spec: HfSpec): unknown {
  if (e instanceof UserError) return e;
  const repoUrl = `${s.endpoint}/${spec.repo}`;
  const status = e instanceof HubApiError ? e.statusCode : e instanceof HttpStatusError ? e.status : undefined;
  const hubMsg = e instanceof HubApiError ? e.message.replace(/\. URL: .*$/, "") : "";
  if (status === 401 || status === 403) {
    return new UserError(
      s.token
        ? `${repoUrl}: access denied (HTTP ${status}) with the token in HF_TOKEN: the repo is gated or private; accept its terms at ${repoUrl} with the token's account, or use a token with read access${hubMsg ? ` (${hubMsg})` : ""}`
        : `${repoUrl} needs authentication (HTTP ${status}): it is gated, private or does not exist. Set HF_TOKEN to a token with access (${s.endpoint}/settings/tokens) and accept the model's terms on its page`,
    );
  }
  if (status === 404) {
    const revision = !/repo(sitory)? not found/i.test(hubMsg) && (/revision|rev id/i.test(hubMsg) || spec.revision !== undefined);
    return new UserError(
      revision
        ? `${repoUrl}: revision ${spec.revision ?? "main"} not found${hubMsg ? ` (${hubMsg})` : ""}`
        : `${repoUrl} not found on ${s.endpoint}${hubMsg ? ` (${hubMsg})` : ""}`,
    );
  }
  if (status !== undefined) return new UserError(`${repoUrl}: the hub answered HTTP ${status}${hubMsg ? ` (${hubMsg})` : ""}`);
  if (e instanceof TypeError && /fetch failed/.test(e.message)) {
    const code = (e.cause as { code?: string } | undefined)?.code ?? (e.cause as Error | undefined)?.message ?? "network error";
    return new UserError(`cannot reach ${s.endpoint} (${code}); check the network or HF_ENDPOINT, or use --offline for models already in the cache`);
  }
  return e;
}
