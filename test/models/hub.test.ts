// flint's hub client against a local fake hub (test/helpers/hub-server.ts): quant resolution, the
// shared cache layout, resume (within a pull and across pulls), split sets, offline mode, gated
// repos and corrupt downloads. No external network.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { inspectModel } from "../../src/models/inspect.js";
import { hubSettings, pullModel, resolveModel, type HubOptions } from "../../src/models/hub.js";
import { ggufUnits, matchesQuant, parseHfSpec, quantOf, selectUnit } from "../../src/models/hub-spec.js";
import { makeModel } from "../../src/models/make-model.js";
import { sha256, startFakeHub, type FakeHub } from "../helpers/hub-server.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-hub-"));
let hub: FakeHub;
const models: Buffer[] = [];
let home = "";
let n = 0;

const TOKEN = "hf_testtoken";
const COMMIT = "0123456789abcdef0123456789abcdef01234567";

beforeAll(async () => {
  for (let seed = 1; seed <= 4; seed++) {
    const out = path.join(dir, `m${seed}.gguf`);
    await makeModel({ arch: "qwen3", preset: "tiny", layers: 1, seed, out });
    models.push(readFileSync(out));
  }
  const [a, b, c, d] = models;
  const third = Math.ceil(d.length / 3);
  hub = await startFakeHub(
    {
      "test/tiny-GGUF": {
        commit: COMMIT,
        files: {
          "README.md": { data: Buffer.from("# tiny\n"), git: true },
          "tiny-Q4_K_M.gguf": a,
          "tiny-Q8_0.gguf": b,
          "tiny-F16.gguf": c,
          "mmproj-tiny-F16.gguf": Buffer.from("projector"),
        },
      },
      "test/split-GGUF": {
        files: {
          "big-Q4_K_M-00001-of-00003.gguf": d.subarray(0, third),
          "big-Q4_K_M-00002-of-00003.gguf": d.subarray(third, 2 * third),
          "big-Q4_K_M-00003-of-00003.gguf": d.subarray(2 * third),
          "Q8_0/big-Q8_0.gguf": b,
        },
      },
      "test/only-f16": { files: { "model-f16.gguf": c } },
      "test/gated-GGUF": { gated: true, files: { "g-Q4_K_M.gguf": a } },
      "test/bad-hash": { files: { "x-Q4_K_M.gguf": { data: a, listedSha256: sha256(b) } } },
      "test/bad-size": { files: { "x-Q4_K_M.gguf": { data: a, listedSize: a.length + 10 } } },
      "test/cut": { files: { "c-Q4_K_M.gguf": b } },
    },
    TOKEN,
  );
});
afterAll(async () => {
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  home = path.join(dir, `home${++n}`);
  hub.requests.length = 0;
});

const opts = (extra: Partial<HubOptions> = {}, env: NodeJS.ProcessEnv = {}): HubOptions => ({
  env: { HF_HOME: home, HF_ENDPOINT: hub.url, ...env },
  retryDelayMs: 5,
  ...extra,
});
const repoDir = (repo: string) => path.join(home, "hub", `models--${repo.replace("/", "--")}`);

describe("hf: specs and file choice", () => {
  it("parses specs", () => {
    expect(parseHfSpec("hf:Qwen/Qwen3-8B-GGUF")).toEqual({ repo: "Qwen/Qwen3-8B-GGUF" });
    expect(parseHfSpec("hf:Qwen/Qwen3-8B-GGUF:q8_0")).toMatchObject({ repo: "Qwen/Qwen3-8B-GGUF", quant: "q8_0" });
    expect(parseHfSpec("hf:u/r@v1.0:Q4_K_M")).toMatchObject({ repo: "u/r", revision: "v1.0", quant: "Q4_K_M" });
    expect(parseHfSpec("hf:u/r/sub/m-Q4_K_M.gguf")).toMatchObject({ repo: "u/r", file: "sub/m-Q4_K_M.gguf" });
    expect(() => parseHfSpec("hf:u")).toThrow(/expected hf:<user>\/<repo>/);
    expect(() => parseHfSpec("hf:u/r/README.md")).toThrow(/not a \.gguf file/);
    expect(() => parseHfSpec("hf:u/r/../x.gguf")).toThrow(/bad file path/);
  });

  it("matches quantizations on name boundaries, case-insensitively", () => {
    expect(matchesQuant("Qwen3-8B-Q4_K_M.gguf", "q4_k_m")).toBe(true);
    expect(matchesQuant("Qwen3-8B-Q4_K_M.gguf", "Q4_K")).toBe(false);
    expect(matchesQuant("Qwen3-8B-IQ4_XS.gguf", "Q4_XS")).toBe(false);
    expect(matchesQuant("Q4_K_M/Qwen3-Q4_K_M-00001-of-00002.gguf", "Q4_K_M")).toBe(true);
    expect(quantOf("Qwen3-8B-UD-Q4_K_XL.gguf")).toBe("UD-Q4_K_XL");
    expect(quantOf("qwen3-8b-q8_0-00001-of-00002.gguf")).toBe("Q8_0");
    expect(quantOf("Qwen3-8B-BF16.gguf")).toBe("BF16");
  });

  it("groups split sets, prefers one file, falls back to a sole model only when no quant was asked", () => {
    const files = ["a-Q4_K_M-00002-of-00002.gguf", "a-Q4_K_M-00001-of-00002.gguf", "a-Q4_K_M.gguf", "b-Q8_0-00001-of-00003.gguf", "mmproj-F16.gguf", "README.md"];
    const units = ggufUnits(files);
    expect(units.map((u) => [u.primary, u.files.length, u.missingParts])).toEqual([
      ["a-Q4_K_M-00001-of-00002.gguf", 2, []],
      ["a-Q4_K_M.gguf", 1, []],
      ["b-Q8_0-00001-of-00003.gguf", 1, [2, 3]],
    ]);
    const pick = selectUnit(files, { repo: "u/r" });
    expect(pick.unit.primary).toBe("a-Q4_K_M.gguf");
    expect(pick.note).toMatch(/2 files match Q4_K_M/);
    expect(selectUnit(["m-F16.gguf"], { repo: "u/r" }).unit.primary).toBe("m-F16.gguf");
    expect(() => selectUnit(["m-F16.gguf"], { repo: "u/r" }, false)).toThrow(/no Q4_K_M file/);
    expect(() => selectUnit(["m-F16.gguf", "m-Q8_0.gguf"], { repo: "u/r" })).toThrow(/no Q4_K_M file .*available: F16, Q8_0/);
    expect(() => selectUnit(["x.safetensors"], { repo: "u/r" })).toThrow(/no \.gguf files/);
  });

  it("reads HF_* settings", () => {
    const s = hubSettings({ env: { HF_HOME: "/h", HF_ENDPOINT: "http://mirror/", HF_TOKEN: "t", HF_HUB_OFFLINE: "1" } });
    expect(s).toEqual({ endpoint: "http://mirror", token: "t", cacheDir: "/h/hub", offline: true });
    expect(hubSettings({ env: { HF_HUB_CACHE: "/c", HOME: "/x" } }).cacheDir).toBe("/c");
    expect(hubSettings({ env: { HF_HOME: "/h", HF_HUB_OFFLINE: "0" } })).toMatchObject({ endpoint: "https://huggingface.co", offline: false });
  });
});

describe("pull", { timeout: 15_000 }, () => {
  it("downloads the default quant into the shared cache layout, verified", async () => {
    const progress: number[] = [];
    const r = await pullModel("hf:test/tiny-GGUF", opts({ onProgress: (p) => progress.push(p.done) }));
    const [a] = models;
    expect(r).toMatchObject({ repo: "test/tiny-GGUF", revision: "main", commit: COMMIT, quant: "Q4_K_M", fromCache: false, totalBytes: a.length });
    expect(r.path).toBe(path.join(repoDir("test/tiny-GGUF"), "snapshots", COMMIT, "tiny-Q4_K_M.gguf"));
    expect(lstatSync(r.path).isSymbolicLink()).toBe(true);
    expect(readlinkSync(r.path)).toBe(path.join("..", "..", "blobs", sha256(a)));
    expect(readFileSync(r.path).equals(a)).toBe(true);
    expect(readFileSync(path.join(repoDir("test/tiny-GGUF"), "refs", "main"), "utf8")).toBe(COMMIT);
    expect(readdirSync(path.join(repoDir("test/tiny-GGUF"), "blobs"))).toEqual([sha256(a)]);
    expect(progress.at(-1)).toBe(a.length);
    expect((await inspectModel(r.path)).architecture).toBe("qwen3");
    // the token-less CDN hop is taken through a redirect, and nothing was fetched twice
    expect(hub.requests.filter((q) => q.path.startsWith("/cdn/"))).toHaveLength(1);

    // pulling again downloads nothing
    hub.requests.length = 0;
    const again = await pullModel("hf:test/tiny-GGUF", opts());
    expect(again.files[0].downloaded).toBe(false);
    expect(hub.requests.some((q) => q.path.startsWith("/cdn/"))).toBe(false);
  });

  it("resolves a quant case-insensitively, an exact file, and says what exists", async () => {
    expect((await pullModel("hf:test/tiny-GGUF:q8_0", opts())).files.map((f) => f.repoPath)).toEqual(["tiny-Q8_0.gguf"]);
    expect((await pullModel("hf:test/tiny-GGUF/tiny-F16.gguf", opts())).quant).toBe("F16");
    await expect(pullModel("hf:test/tiny-GGUF:Q5_K_S", opts())).rejects.toThrow(/no Q5_K_S file; available: F16, Q4_K_M, Q8_0/);
    await expect(pullModel("hf:test/tiny-GGUF/nope.gguf", opts())).rejects.toThrow(/has no file nope\.gguf/);
    const sole = await pullModel("hf:test/only-f16", opts());
    expect(sole.note).toMatch(/no Q4_K_M file; using the repo's only model model-f16\.gguf/);
    await expect(pullModel("hf:test/missing", opts())).rejects.toThrow(/test\/missing not found on http:\/\/127\.0\.0\.1/);
    await expect(pullModel("hf:test/tiny-GGUF@v9", opts())).rejects.toThrow(/revision v9 not found/);
  });

  it("downloads a split set as a whole and loads from its first part", async () => {
    const r = await pullModel("hf:test/split-GGUF", opts());
    expect(r.files.map((f) => f.repoPath)).toEqual(["big-Q4_K_M-00001-of-00003.gguf", "big-Q4_K_M-00002-of-00003.gguf", "big-Q4_K_M-00003-of-00003.gguf"]);
    expect(r.path.endsWith("big-Q4_K_M-00001-of-00003.gguf")).toBe(true);
    expect(Buffer.concat(r.files.map((f) => readFileSync(f.path))).equals(models[3])).toBe(true);
    const sub = await pullModel("hf:test/split-GGUF:Q8_0", opts());
    expect(sub.path).toBe(path.join(repoDir("test/split-GGUF"), "snapshots", sub.commit, "Q8_0", "big-Q8_0.gguf"));
  });

  it("resumes with a Range request when the connection drops mid-body", async () => {
    const b = models[1];
    hub.cutOnce(sha256(b), 300_000);
    const logs: string[] = [];
    const r = await pullModel("hf:test/cut", opts({ log: (l) => logs.push(l) }));
    expect(readFileSync(r.path).equals(b)).toBe(true);
    expect(r.files[0].resumedFrom).toHaveLength(1);
    const from = r.files[0].resumedFrom[0];
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(300_000);
    const cdn = hub.requests.filter((q) => q.path.startsWith("/cdn/"));
    expect(cdn.map((q) => q.range)).toEqual([undefined, `bytes=${from}-`]);
    expect(logs.join("\n")).toMatch(/transfer interrupted at \d+ of \d+ bytes .*resuming/);
  });

  it("gives up on a connection that goes silent and resumes", async () => {
    const c = models[2];
    hub.stallOnce(sha256(c), 200_000);
    const r = await pullModel("hf:test/only-f16", opts({ idleTimeoutMs: 300 }));
    expect(readFileSync(r.path).equals(c)).toBe(true);
    expect(r.files[0].resumedFrom).toEqual([200_000]);
  });

  it("continues a partial file left by an earlier run", async () => {
    const b = models[1];
    const blobs = path.join(repoDir("test/cut"), "blobs");
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(blobs, `${sha256(b)}.incomplete`), b.subarray(0, 123_456));
    const r = await pullModel("hf:test/cut", opts());
    expect(r.files[0].resumedFrom).toEqual([123_456]);
    expect(readFileSync(r.path).equals(b)).toBe(true);
    expect(existsSync(path.join(blobs, `${sha256(b)}.incomplete`))).toBe(false);
  });

  it("starts over when the server answers a Range request with the whole file", async () => {
    const b = models[1];
    const blobs = path.join(repoDir("test/cut"), "blobs");
    mkdirSync(blobs, { recursive: true });
    writeFileSync(path.join(blobs, `${sha256(b)}.incomplete`), Buffer.alloc(5000, 7)); // garbage prefix
    hub.ignoreRange(sha256(b));
    const r = await pullModel("hf:test/cut", opts());
    expect(r.files[0].resumedFrom).toEqual([]);
    expect(readFileSync(r.path).equals(b)).toBe(true);
  });

  it("asks for HF_TOKEN on a gated repo, and sends it to the hub but not to the CDN", async () => {
    await expect(pullModel("hf:test/gated-GGUF", opts())).rejects.toThrow(/needs authentication \(HTTP 401\).*Set HF_TOKEN/);
    await expect(pullModel("hf:test/gated-GGUF", opts({}, { HF_TOKEN: "hf_wrong" }))).rejects.toThrow(/access denied \(HTTP 401\) with the token in HF_TOKEN/);
    hub.requests.length = 0;
    const r = await pullModel("hf:test/gated-GGUF", opts({}, { HF_TOKEN: TOKEN }));
    expect(readFileSync(r.path).equals(models[0])).toBe(true);
    expect(hub.requests.filter((q) => !q.path.startsWith("/cdn/")).every((q) => q.auth === `Bearer ${TOKEN}`)).toBe(true);
    expect(hub.requests.filter((q) => q.path.startsWith("/cdn/")).every((q) => q.auth === undefined)).toBe(true);
  });

  it("deletes and reports a download whose hash or size is wrong", async () => {
    await expect(pullModel("hf:test/bad-hash", opts())).rejects.toThrow(/x-Q4_K_M\.gguf is corrupt \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); deleted it/);
    const blobs = path.join(repoDir("test/bad-hash"), "blobs");
    expect(readdirSync(blobs)).toEqual([]);
    expect(existsSync(path.join(repoDir("test/bad-hash"), "snapshots"))).toBe(false);
    await expect(resolveModel("hf:test/bad-hash", opts({ offline: true }))).rejects.toThrow(/not in the Hugging Face cache/);

    await expect(pullModel("hf:test/bad-size", opts())).rejects.toThrow(/sends \d+ bytes, the hub lists \d+; deleted the partial download/);
    expect(readdirSync(path.join(repoDir("test/bad-size"), "blobs"))).toEqual([]);
  });

  it("fails clearly when the hub cannot be reached", async () => {
    const closed = await startFakeHub({});
    await closed.close();
    await expect(pullModel("hf:test/tiny-GGUF", opts({ endpoint: closed.url }))).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\).*--offline/);
  });
});

describe("offline and resolveModel", { timeout: 15_000 }, () => {
  it("serves pulled models from the cache without the network; a miss says what to do", async () => {
    const pulled = await pullModel("hf:test/tiny-GGUF:Q8_0", opts());
    hub.requests.length = 0;
    expect(await resolveModel("hf:test/tiny-GGUF:Q8_0", opts({ offline: true }))).toBe(pulled.path);
    expect(await resolveModel("hf:test/tiny-GGUF/tiny-Q8_0.gguf", opts({}, { HF_HUB_OFFLINE: "1" }))).toBe(pulled.path);
    expect(await resolveModel("hf:test/tiny-GGUF:Q8_0", opts())).toBe(pulled.path); // cache first, online too
    expect((await pullModel("hf:test/tiny-GGUF:q8_0", opts({ offline: true }))).fromCache).toBe(true);
    expect(hub.requests).toEqual([]);
    // the default quant is not cached: offline is an error naming what is there; online it is pulled
    await expect(resolveModel("hf:test/tiny-GGUF", opts({ offline: true }))).rejects.toThrow(
      /hf:test\/tiny-GGUF is not in the Hugging Face cache .*: no Q4_K_M file \(cached for that repo: Q8_0\)\. Offline mode .* run `flint pull hf:test\/tiny-GGUF` while online/,
    );
    await expect(resolveModel("hf:test/never-pulled:Q8_0", opts({ offline: true }))).rejects.toThrow(/not in the Hugging Face cache/);
    expect(hub.requests).toEqual([]);
    const online = await resolveModel("hf:test/tiny-GGUF", opts());
    expect(online.endsWith("tiny-Q4_K_M.gguf")).toBe(true);
    expect(await resolveModel("/some/local.gguf", opts())).toBe("/some/local.gguf");
  });

  it("offline, the default quant is strict: a cached other quant is named, not silently taken", async () => {
    await pullModel("hf:test/only-f16", opts());
    await expect(resolveModel("hf:test/only-f16", opts({ offline: true }))).rejects.toThrow(/no Q4_K_M file \(cached for that repo: F16\)/);
    expect((await resolveModel("hf:test/only-f16:F16", opts({ offline: true }))).endsWith("model-f16.gguf")).toBe(true);
  });
});
