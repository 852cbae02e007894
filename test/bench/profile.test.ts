// The tuner: its choice over synthetic measurements, the profile file round trip in a temp config
// directory, pair and device matching, GPU-family defaults, and `flint run` picking a profile up.
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerRun } from "../../src/cli/run.js";
import { primaryDeviceName } from "../../src/bench/env.js";
import {
  chooseFixed,
  defaultsForGpu,
  findProfile,
  modelIdentity,
  profileDir,
  profileFromSweep,
  readProfile,
  resolveTuning,
  writeProfile,
  type Profile,
} from "../../src/bench/profile.js";
import type { SweepPoint, SweepSection } from "../../src/bench/results.js";
import { runTune } from "../../src/bench/tune.js";
import { captureCommands } from "../helpers/cli-capture.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";
import { spawnServe } from "../server/spawn.js";

const pt = (drafter: string, shape: "ar" | "chain" | "tree", budget: number | "auto", tps: number, extra: Partial<SweepPoint> = {}): SweepPoint => ({
  drafter,
  shape,
  budget,
  treeK: shape === "tree" ? 4 : 1,
  tokensPerSecond: tps,
  meanAcceptedLength: 1,
  steps: 10,
  arSteps: 0,
  verifyMsPerStep: 1,
  verifyRows: typeof budget === "number" ? budget + 1 : null,
  draftMsPerStep: null,
  ...extra,
});

function sweepOf(points: SweepPoint[]): SweepSection {
  return { prompts: ["a", "b"], tokensPerPrompt: 64, arStepMs: 4, arTokensPerSecond: points[0].tokensPerSecond, points, best: { drafter: "none", shape: "ar", budget: 0, treeK: 1, tokensPerSecond: 0, speedup: 1 }, verifyMsByRows: { "1": 4, "5": 4.4 }, treeVerifyMsByRows: { "17": 5 }, draftMs: 1.5 };
}

describe("tuner choice", () => {
  it("picks the fastest fixed point; simulated and auto points never win", () => {
    const pts = [pt("none", "ar", 0, 100), pt("dflash", "chain", 4, 180), pt("dflash", "tree", 22, 240), pt("dflash", "tree", "auto", 400), pt("oracle", "chain", 15, 900, { simulated: true })];
    expect(chooseFixed(pts)).toMatchObject({ shape: "tree", budget: 22 });
  });

  it("among points within the tolerance of the fastest, the cheapest wins (plain decoding first)", () => {
    expect(chooseFixed([pt("dflash", "tree", 16, 245), pt("dflash", "tree", 64, 249), pt("dflash", "tree", 32, 250)], 0.02)).toMatchObject({ budget: 16 });
    expect(chooseFixed([pt("dflash", "tree", 16, 245), pt("dflash", "tree", 64, 249), pt("dflash", "tree", 32, 250)], 0)).toMatchObject({ budget: 32 });
    expect(chooseFixed([pt("dflash", "chain", 2, 101), pt("none", "ar", 0, 100)], 0.02)).toMatchObject({ shape: "ar" });
    expect(chooseFixed([])).toBeUndefined();
  });

  it("a profile holds the best overall, the best chain length and the best tree budget of the pair's drafter", () => {
    const p = profileFromSweep(sweepOf([pt("none", "ar", 0, 100), pt("dflash", "chain", 4, 130), pt("dflash", "chain", 8, 150), pt("dflash", "tree", 22, 240), pt("dflash", "tree", 40, 200), pt("ngram", "chain", 8, 260)]), meta());
    expect(p.best).toMatchObject({ drafter: "ngram", budget: 8, tokensPerSecond: 260 });
    expect(p.best.speedup).toBeCloseTo(2.6, 12);
    expect(p.chainLength).toBe(8);
    expect(p.tree).toEqual({ budget: 22, treeK: 4 });
    expect(p.costs).toEqual({ arStepMs: 4, draftMs: 1.5, verifyMsByRows: { "1": 4, "5": 4.4 }, treeVerifyMsByRows: { "17": 5 } });
    // useless drafts: plain decoding is best and there is still a chain length/tree budget on record
    const q = profileFromSweep(sweepOf([pt("none", "ar", 0, 100), pt("dflash", "chain", 1, 60), pt("dflash", "tree", 4, 50)]), meta());
    expect(q.best).toMatchObject({ shape: "ar", budget: 0, speedup: 1 });
    expect(q.chainLength).toBe(1);
  });
});

function meta(target = { path: "/m/t.gguf", sizeBytes: 10, sha256FirstLastMiB: "aa".repeat(32) }, draft = { path: "/m/d.gguf", sizeBytes: 5, sha256FirstLastMiB: "bb".repeat(32) }, device = "NVIDIA H200") {
  return { device, target, draft, drafter: "dflash", gitCommit: "abc", flintVersion: "0.1.0", command: "flint tune" };
}

describe("profile files", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flint-profile-"));
  const env = { FLINT_CONFIG_DIR: path.join(dir, "config") };
  const t = path.join(dir, "t.gguf");
  const d = path.join(dir, "d.gguf");
  const other = path.join(dir, "other.gguf");
  beforeAll(() => {
    // 3 MiB target: the identity reads its first and last MiB only
    const big = Buffer.alloc(3 << 20, 7);
    writeFileSync(t, big);
    writeFileSync(d, Buffer.from("drafter bytes"));
    writeFileSync(other, Buffer.from("another drafter"));
  });

  it("identity: size + first and last MiB; a change in the tail changes it, a change in the middle does not", () => {
    const a = modelIdentity(t);
    expect(a.sizeBytes).toBe(3 << 20);
    const copy = path.join(dir, "t2.gguf");
    const buf = Buffer.alloc(3 << 20, 7);
    buf[(3 << 20) - 1] = 1;
    writeFileSync(copy, buf);
    expect(modelIdentity(copy).sha256FirstLastMiB).not.toBe(a.sha256FirstLastMiB);
    buf[(3 << 20) - 1] = 7;
    buf[3 << 19] = 9;
    writeFileSync(copy, buf);
    expect(modelIdentity(copy).sha256FirstLastMiB).toBe(a.sha256FirstLastMiB);
  });

  it("round trip: written into FLINT_CONFIG_DIR/profiles, read back equal, found for the same pair and device", () => {
    const p = profileFromSweep(sweepOf([pt("none", "ar", 0, 100), pt("dflash", "tree", 22, 240)]), meta(modelIdentity(t), modelIdentity(d)));
    const file = writeProfile(p, undefined, env);
    expect(path.dirname(file)).toBe(profileDir(env));
    expect(readProfile(file)).toEqual(p);
    // found through a copy of the target elsewhere: identity, not path
    const moved = path.join(dir, "moved.gguf");
    copyFileSync(t, moved);
    expect(findProfile(moved, d, "NVIDIA H200", env)?.file).toBe(file);
  });

  it("pair or device mismatch: no profile", () => {
    expect(findProfile(t, other, "NVIDIA H200", env)).toBeUndefined();
    expect(findProfile(t, d, "NVIDIA GeForce RTX 4090", env)).toBeUndefined();
    expect(findProfile(t, d, "NVIDIA H200", { FLINT_CONFIG_DIR: path.join(dir, "empty") })).toBeUndefined();
  });

  it("skips unreadable files and prefers the newest matching profile", () => {
    writeFileSync(path.join(profileDir(env), "broken.json"), "{not json");
    writeFileSync(path.join(profileDir(env), "foreign.json"), JSON.stringify({ hello: 1 }));
    const newer: Profile = { ...profileFromSweep(sweepOf([pt("none", "ar", 0, 100), pt("dflash", "tree", 40, 300)]), meta(modelIdentity(t), modelIdentity(d))), createdAt: "2999-01-01T00:00:00.000Z" };
    const file = writeProfile(newer, path.join(profileDir(env), "newer.json"), env);
    expect(findProfile(t, d, "NVIDIA H200", env)).toMatchObject({ file, profile: { tree: { budget: 40 } } });
  });

  it("resolveTuning: the profile's faster shape, an explicit --tree-k keeps its shape, --spec auto keeps the controller", () => {
    const base = { modelPath: t, draftPath: d, treeK: 1, treeKExplicit: false, flashAttn: "auto" as const, device: "NVIDIA H200", env };
    expect(resolveTuning({ ...base, spec: "dflash" })).toMatchObject({ budget: 40, treeK: 4, message: expect.stringMatching(/^flint: using tuned profile .*newer\.json$/) });
    // explicit chain: the profile has no chain length, so nothing applies
    expect(resolveTuning({ ...base, spec: "dflash", treeKExplicit: true })).toEqual({});
    expect(resolveTuning({ ...base, spec: "dflash", treeK: 4, treeKExplicit: true })).toMatchObject({ budget: 40 });
    expect(resolveTuning({ ...base, spec: "dflash", flashAttn: "on" })).toEqual({});
    expect(resolveTuning({ ...base, spec: "auto" })).toEqual({});
  });

  it("built-in GPU defaults (DDTree budgets from public results) apply to tree verify without a profile", () => {
    expect(defaultsForGpu("NVIDIA GeForce RTX 3090")?.budget).toBe(22);
    expect(defaultsForGpu("NVIDIA GeForce RTX 5090")?.budget).toBe(40);
    expect(defaultsForGpu("AMD Radeon 8060S Graphics (gfx1151)")?.budget).toBe(22);
    expect(defaultsForGpu("AMD Radeon RX 7900 XTX")?.budget).toBe(8);
    expect(defaultsForGpu("gfx1100")?.budget).toBe(8);
    expect(defaultsForGpu("NVIDIA H200")).toBeUndefined();
    const base = { modelPath: t, draftPath: other, spec: "dflash", treeKExplicit: true, flashAttn: "auto" as const, device: "NVIDIA GeForce RTX 3090", env };
    expect(resolveTuning({ ...base, treeK: 4 })).toMatchObject({ budget: 22, message: expect.stringContaining("built-in DDTree budget 22 for RTX 3090") });
    expect(resolveTuning({ ...base, treeK: 1 })).toEqual({});
  });
});

describe("flint tune, then flint run", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flint-tune-"));
  const saved = process.env.FLINT_CONFIG_DIR;
  const { state, run } = captureCommands(registerRun);
  beforeAll(() => {
    process.env.FLINT_CONFIG_DIR = dir;
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.FLINT_CONFIG_DIR;
    else process.env.FLINT_CONFIG_DIR = saved;
  });

  it("tune stores a profile for the pair on this device; run finds it and says so", async () => {
    const [t, d] = [await tinyModelPath(), await tinyDrafterPath()];
    const { profile, file } = await runTune({ modelPath: t, draftPath: d, prompts: "coding", limit: 1, tokens: 8, chainBudgets: [1, 2], treeBudgets: [4], gpuLayers: 0, threads: 1, quiet: true });
    expect(path.dirname(file)).toBe(path.join(dir, "profiles"));
    expect(profile.device).toBe(primaryDeviceName(0));
    expect(profile.sweep.points.filter((p) => p.drafter === "dflash").map((p) => `${p.shape}:${p.budget}`)).toEqual(["chain:1", "chain:2", "chain:auto", "tree:4", "tree:auto"]);
    expect([1, 2]).toContain(profile.chainLength);
    expect(profile.tree).toEqual({ budget: 4, treeK: 4 });
    expect(profile.costs.arStepMs).toBeGreaterThan(0);
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await run("run", "--model", t, "--spec", "dflash", "--draft", d, "--tree-k", "1", "--prompt", "def f(x):", "-n", "4", "--temperature", "0", "--gpu-layers", "0", "--threads", "1", "--json");
      const lines = stderr.mock.calls.map((c) => String(c[0]));
      expect(lines).toContain(`flint: using tuned profile ${file}\n`);
    } finally {
      stderr.mockRestore();
    }
    const out = JSON.parse(state.stdout.trim().split("\n").pop()!);
    expect(out.spec.budget).toBe(profile.chainLength);
  });

  it("flint serve finds the profile too, and --ctx auto fits the context", async () => {
    const [t, d] = [await tinyModelPath(), await tinyDrafterPath()];
    const s = await spawnServe(["--model", t, "--spec", "dflash", "--draft", d, "--tree-k", "1", "--ctx", "auto", "--gpu-layers", "0"], { FLINT_CONFIG_DIR: dir });
    try {
      expect(s.output()).toMatch(/flint: using tuned profile .*\.json/);
      // the tiny model trains at 4096 tokens, which fits any machine that runs the tests
      expect(s.output()).toMatch(/model loaded \(context 4096 tokens, drafter dflash\)/);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});
