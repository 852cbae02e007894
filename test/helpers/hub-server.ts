// A stand-in for the Hugging Face hub on 127.0.0.1, with the URL layout, headers and Range behaviour
// that @huggingface/hub (modelInfo, listFiles) and flint's downloader use:
//   GET /api/models/<user>/<repo>/revision/<rev>     -> { id, sha, gated, ... }
//   GET /api/models/<user>/<repo>/tree/<rev>?recursive=true -> [{ type, path, size, oid, lfs? }]
//   GET /<user>/<repo>/resolve/<rev>/<path>         -> LFS: 302 to /cdn/<sha256> with X-Repo-Commit,
//                                                      X-Linked-Etag, X-Linked-Size; git files: the bytes
//   GET <cdn>/cdn/<sha256> (a second port)           -> the bytes, honouring Range (206 / 416)
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeFile {
  data: Buffer;
  /** stored in git, not LFS (no lfs entry; etag = git blob sha1) */
  git?: boolean;
  /** what the tree listing claims, to simulate a server that sends other bytes */
  listedSize?: number;
  listedSha256?: string;
}

export interface FakeRepo {
  files: Record<string, FakeFile | Buffer>;
  gated?: boolean;
  commit?: string;
}

export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  auth?: string;
}

export interface FakeHub {
  url: string;
  requests: LoggedRequest[];
  /** cut the connection after this many body bytes, the next time this CDN blob is served */
  cutOnce(sha256: string, afterBytes: number): void;
  /** send this many body bytes, the next time this CDN blob is served, then go silent (socket open) */
  stallOnce(sha256: string, afterBytes: number): void;
  /** answer Range requests for this CDN blob with the whole file (200), as some mirrors do */
  ignoreRange(sha256: string): void;
  close(): Promise<void>;
}

export const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");
const gitSha1 = (b: Buffer) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");

export async function startFakeHub(repos: Record<string, FakeRepo>, token = "hf_testtoken"): Promise<FakeHub> {
  const blobs = new Map<string, Buffer>();
  const cuts = new Map<string, number>();
  const noRange = new Set<string>();
  const stalls = new Map<string, number>();
  const requests: LoggedRequest[] = [];
  const norm = (f: FakeFile | Buffer): FakeFile => (Buffer.isBuffer(f) ? { data: f } : f);
  for (const r of Object.values(repos)) for (const f of Object.values(r.files)) blobs.set(sha256(norm(f).data), norm(f).data);
  const commitOf = (name: string) => repos[name].commit ?? createHash("sha1").update(name).digest("hex");

  const json = (res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { "Content-Type": "application/json", ...headers });
    res.end(JSON.stringify(body));
  };

  const serveBytes = (req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, key: string, headers: Record<string, string>) => {
    let start = 0;
    let status = 200;
    const range = noRange.has(key) ? undefined : req.headers.range;
    if (range) {
      const m = /^bytes=(\d+)-$/.exec(range);
      if (!m) return json(res, 400, { error: "bad range" });
      start = Number(m[1]);
      if (start >= data.length) {
        res.writeHead(416, { "Content-Range": `bytes */${data.length}` });
        return res.end();
      }
      status = 206;
      headers["Content-Range"] = `bytes ${start}-${data.length - 1}/${data.length}`;
    }
    const body = data.subarray(start);
    res.writeHead(status, { ...headers, "Content-Length": String(body.length), "Accept-Ranges": "bytes" });
    const stall = stalls.get(key);
    if (stall !== undefined && stall < body.length) {
      stalls.delete(key);
      res.write(body.subarray(0, stall));
      return;
    }
    const cut = cuts.get(key);
    if (cut !== undefined && cut < body.length) {
      cuts.delete(key);
      res.write(body.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(body);
  };

  let cdnUrl = "";
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = decodeURIComponent(url.pathname);
    requests.push({ method: req.method ?? "GET", path: p, range: req.headers.range, auth: req.headers.authorization });
    const authed = req.headers.authorization === `Bearer ${token}`;

    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(p);
    if (m) {
      const repo = repos[m[1]];
      if (!repo) return json(res, 404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      if (m[2] !== "main" && m[2] !== "HEAD" && m[2] !== commitOf(m[1])) return json(res, 404, { error: `Invalid rev id: ${m[2]}` }, { "X-Error-Code": "RevisionNotFound" });
      return json(res, 200, { _id: "x", id: m[1], sha: commitOf(m[1]), gated: repo.gated ? "manual" : false, private: false, downloads: 0, likes: 0, lastModified: "2026-01-01T00:00:00.000Z" });
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/tree\/([^/]+)$/.exec(p);
    if (m) {
      const repo = repos[m[1]];
      if (!repo) return json(res, 404, { error: "Repository not found" }, { "X-Error-Code": "RepoNotFound" });
      const list = Object.entries(repo.files).map(([path, f0]) => {
        const f = norm(f0);
        if (f.git) return { type: "file", path, size: f.data.length, oid: gitSha1(f.data) };
        const size = f.listedSize ?? f.data.length;
        return { type: "file", path, size, oid: gitSha1(Buffer.from(path)), lfs: { oid: f.listedSha256 ?? sha256(f.data), size, pointerSize: 134 } };
      });
      return json(res, 200, list);
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p);
    if (m) {
      const repo = repos[m[1]];
      const f0 = repo?.files[m[3]];
      if (!repo || !f0) return json(res, 404, { error: "Entry not found" }, { "X-Error-Code": "EntryNotFound" });
      if (repo.gated && !authed) {
        return json(res, 401, { error: `Access to model ${m[1]} is restricted. You must have access to it and be authenticated to access it. Please log in.` });
      }
      const f = norm(f0);
      const commit = commitOf(m[1]);
      if (f.git) return serveBytes(req, res, f.data, `git:${m[3]}`, { ETag: `"${gitSha1(f.data)}"`, "X-Repo-Commit": commit });
      const sha = sha256(f.data);
      res.writeHead(302, {
        Location: `${cdnUrl}/cdn/${sha}?signature=abc`,
        ETag: `"${gitSha1(Buffer.from(m[3]))}"`,
        "X-Linked-Etag": `"${f.listedSha256 ?? sha}"`,
        "X-Linked-Size": String(f.listedSize ?? f.data.length),
        "X-Repo-Commit": commit,
      });
      return res.end();
    }
    m = /^\/cdn\/([0-9a-f]{64})$/.exec(p);
    if (m && blobs.has(m[1])) return serveBytes(req, res, blobs.get(m[1])!, m[1], { ETag: `"${m[1]}"` });
    json(res, 404, { error: "not found" });
  };
  // the CDN is another origin, as on the real hub, so a token must not follow the redirect
  const servers = [http.createServer(handler), http.createServer(handler)];
  const urls = await Promise.all(
    servers.map((s) => new Promise<string>((r) => s.listen(0, "127.0.0.1", () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)))),
  );
  cdnUrl = urls[1];
  return {
    url: urls[0],
    requests,
    cutOnce: (sha, after) => cuts.set(sha, after),
    ignoreRange: (sha) => noRange.add(sha),
    stallOnce: (sha, after) => stalls.set(sha, after),
    close: async () => {
      for (const s of servers) {
        s.closeAllConnections();
        await new Promise<void>((r) => s.close(() => r()));
      }
    },
  };
}
