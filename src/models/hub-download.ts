// Resumable, verified download of one blob into the Hugging Face cache.
//
// @huggingface/hub's downloadFileToCacheDir always starts from byte 0 and checks nothing, so the
// transfer is ours: bytes go to blobs/<etag>.incomplete (the name huggingface_hub uses, so either
// tool resumes the other's partial file); an interrupted transfer continues with
// `Range: bytes=<have>-`, within one pull (automatic retries) and across pulls (the file stays).
// Only a file whose size and hash match what the hub lists is renamed to blobs/<etag>.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { UserError } from "../native/errors.js";

export interface BlobSource {
  /** resolve URL on the hub */
  url: string;
  /** file name in the repo, for messages */
  name: string;
  size: number;
  /** LFS files: sha256 of the contents (the hub's lfs.oid / X-Linked-Etag) */
  sha256?: string;
  /** plain git files: git blob sha1 (the hub's oid) */
  gitSha1?: string;
}

export interface DownloadOptions {
  token?: string;
  fetch?: typeof fetch;
  /** bytes of this blob on disk so far, including a resumed prefix */
  onProgress?: (bytes: number) => void;
  /** say something on stderr-like output (resuming, retrying) */
  log?: (line: string) => void;
  /** attempts after the first when the connection fails (default 5) */
  retries?: number;
  /** wait before retry n is n x this (default 1000 ms) */
  retryDelayMs?: number;
  /** give up on a connection that sends nothing for this long, then resume (default 60 s) */
  idleTimeoutMs?: number;
}

export interface DownloadResult {
  /** offsets the transfer continued from (one per Range request) */
  resumedFrom: number[];
  attempts: number;
}

/** A failed check of downloaded bytes: never retried, the bad file is already deleted. */
export class VerifyError extends UserError {}

/** The hub answered with an HTTP error that retrying will not fix. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    message: string,
  ) {
    super(message);
  }
}

const BUFFER_BYTES = 4 << 20;

export async function downloadBlob(src: BlobSource, dest: string, o: DownloadOptions = {}): Promise<DownloadResult> {
  const incomplete = `${dest}.incomplete`;
  await mkdir(path.dirname(dest), { recursive: true });
  const retries = o.retries ?? 5;
  const result: DownloadResult = { resumedFrom: [], attempts: 0 };
  for (;;) {
    result.attempts++;
    try {
      await transfer(src, incomplete, o, result);
      break;
    } catch (e) {
      if (!retryable(e) || result.attempts > retries) throw e;
      const have = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
      o.log?.(`${src.name}: transfer interrupted at ${have} of ${src.size} bytes (${describe(e)}); resuming (attempt ${result.attempts + 1} of ${retries + 1})`);
      await new Promise((r) => setTimeout(r, (o.retryDelayMs ?? 1000) * result.attempts));
    }
  }
  await verify(src, incomplete);
  await rename(incomplete, dest);
  return result;
}

/** Transient: the network (fetch's TypeErrors, an idle abort), a busy server, a range to redo. */
function retryable(e: unknown): boolean {
  if (e instanceof HttpStatusError) return e.status === 408 || e.status === 429 || e.status >= 500;
  return e instanceof TypeError || e instanceof RestartError || e instanceof IdleTimeout || (e instanceof Error && e.name === "AbortError");
}

/** The partial file was dropped; the next attempt starts from byte 0. */
class RestartError extends Error {}

/** The connection went quiet; the next attempt resumes. */
class IdleTimeout extends Error {}

function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? e.message;
}

async function transfer(src: BlobSource, incomplete: string, o: DownloadOptions, result: DownloadResult): Promise<void> {
  let have = (await stat(incomplete).catch(() => undefined))?.size ?? 0;
  if (have > src.size) {
    await rm(incomplete, { force: true });
    have = 0;
  }
  // one timer covers a stalled connect and a stalled body: each arrival re-arms it
  const idleMs = o.idleTimeoutMs ?? 60_000;
  const idle = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(new IdleTimeout(`no data for ${idleMs} ms`)), idleMs);
  };
  arm();
  try {
    await receive(src, incomplete, o, result, have, idle.signal, arm);
  } finally {
    clearTimeout(timer);
  }
}

async function receive(src: BlobSource, incomplete: string, o: DownloadOptions, result: DownloadResult, have: number, signal: AbortSignal, arm: () => void): Promise<void> {
  const res = await fetchFollowing(src.url, o, have > 0 ? { Range: `bytes=${have}-` } : {}, signal);
  if (res.status === 416) {
    await res.body?.cancel();
    if (have === src.size) return; // everything was already there
    await rm(incomplete, { force: true });
    throw new RestartError(`the server refused to resume ${src.name} at byte ${have}; starting over`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new HttpStatusError(res.status, src.url, `downloading ${src.name} failed: HTTP ${res.status}`);
  }
  let offset = 0;
  if (res.status === 206) {
    const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
    if (!m || Number(m[1]) !== have) {
      await res.body?.cancel();
      await rm(incomplete, { force: true });
      throw new RestartError(`the server resumed ${src.name} at the wrong offset (${res.headers.get("content-range")}); starting over`);
    }
    if (m[2] !== "*" && Number(m[2]) !== src.size) {
      await res.body?.cancel();
      await rm(incomplete, { force: true });
      throw new VerifyError(`${src.name}: the server's file is ${m[2]} bytes, the hub lists ${src.size}; deleted the partial download`);
    }
    offset = have;
    result.resumedFrom.push(have);
  }
  // a 200 to a Range request means the server sends everything again: start the file over
  const len = Number(res.headers.get("content-length") ?? NaN);
  if (Number.isFinite(len) && offset + len !== src.size) {
    await res.body?.cancel();
    await rm(incomplete, { force: true });
    throw new VerifyError(`${src.name}: the server sends ${offset + len} bytes, the hub lists ${src.size}; deleted the partial download`);
  }
  if (!res.body) throw new Error(`empty response for ${src.name}`);

  const fh = await open(incomplete, offset > 0 ? "a" : "w");
  let written = offset;
  let buf = Buffer.allocUnsafe(BUFFER_BYTES);
  let used = 0;
  const flush = async () => {
    if (used === 0) return;
    await fh.write(buf, 0, used);
    written += used;
    used = 0;
    o.onProgress?.(written);
  };
  try {
    if (offset > 0) o.onProgress?.(offset);
    arm();
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      arm();
      if (written + used + chunk.length > src.size) {
        await res.body.cancel().catch(() => undefined);
        throw new VerifyError(`${src.name}: the server sent more than the ${src.size} bytes the hub lists`);
      }
      if (used + chunk.length > buf.length) {
        await flush();
        if (chunk.length > buf.length) buf = Buffer.allocUnsafe(chunk.length);
      }
      buf.set(chunk, used);
      used += chunk.length;
    }
    await flush();
  } catch (e) {
    // keep every byte that arrived: the next attempt continues after them
    await flush().catch(() => undefined);
    if (e instanceof VerifyError) await rm(incomplete, { force: true });
    throw e;
  } finally {
    await fh.close();
  }
}

/** GET with redirects followed by hand, so the token never goes to another origin (the CDN). */
async function fetchFollowing(url: string, o: DownloadOptions, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
  const f = o.fetch ?? fetch;
  const origin = new URL(url).origin;
  let current = url;
  for (let hop = 0; hop < 10; hop++) {
    const sameOrigin = new URL(current).origin === origin;
    const res = await f(current, {
      redirect: "manual",
      signal,
      headers: { ...headers, ...(o.token && sameOrigin ? { Authorization: `Bearer ${o.token}` } : {}), "Accept-Encoding": "identity" },
    });
    const loc = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && loc) {
      await res.body?.cancel();
      current = new URL(loc, current).href;
      continue;
    }
    return res;
  }
  throw new Error(`too many redirects for ${url}`);
}

/** Size, then sha256 (LFS) or git blob sha1, of the finished file; a mismatch deletes it. */
async function verify(src: BlobSource, file: string): Promise<void> {
  const size = (await stat(file)).size;
  const fail = async (what: string) => {
    await rm(file, { force: true });
    throw new VerifyError(`downloaded ${src.name} is corrupt (${what}); deleted it. Pull again; if this repeats, the server (HF_ENDPOINT) serves a different file than the hub lists`);
  };
  if (size !== src.size) return fail(`${size} bytes, expected ${src.size}`);
  if (src.sha256) {
    const got = await hashFile(createHash("sha256"), file);
    if (got !== src.sha256.toLowerCase()) return fail(`sha256 ${got}, expected ${src.sha256}`);
  } else if (src.gitSha1) {
    const got = await hashFile(createHash("sha1").update(`blob ${size}\0`), file);
    if (got !== src.gitSha1.toLowerCase()) return fail(`git sha1 ${got}, expected ${src.gitSha1}`);
  }
}

async function hashFile(h: Hash, file: string): Promise<string> {
  for await (const chunk of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}
