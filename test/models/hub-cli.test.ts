// The model commands end to end in-process against the fake hub: pull (path, JSON, drafter
// suggestions), ls (cache, models directory, split sets, unreadable files, partial downloads),
// inspect of an hf: spec (cache, offline miss), a split model summed over its parts, and
// `run --model hf:...`.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Command } from "commander";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { registerInspect } from "../../src/cli/inspect.js";
import { registerLs } from "../../src/cli/ls.js";
import { registerPull } from "../../src/cli/pull.js";
import { registerRun } from "../../src/cli/run.js";
import { buildQwen3, qwen3Preset, toSources } from "../../src/models/arch-qwen3.js";
import { kv, writeGguf } from "../../src/models/gguf-writer.js";
import { inspectModel } from "../../src/models/inspect.js";
import { makeModel } from "../../src/models/make-model.js";
import { sha256, startFakeHub, type FakeHub } from "../helpers/hub-server.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-hub-cli-"));
const saved = { ...process.env };
let hub: FakeHub;
let tiny: Buffer;

/** A 3-part split GGUF as llama.cpp's gguf-split writes it: metadata in part 1, split.* keys in all. */
async function writeSplit(prefix: string): Promise<string[]> {
  const b = buildQwen3({ shape: { ...qwen3Preset("tiny"), layers: 2 }, wtype: "f16", name: "split-test" });
  const sources = toSources(b.tensors, 1);
  const n = 3;
  const per = Math.ceil(sources.length / n);
  const files: string[] = [];
  for (let i = 0; i < n; i++) {
    const file = `${prefix}-${String(i + 1).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.gguf`;
    const split: [string, ReturnType<typeof kv.u16>][] = [["split.no", kv.u16(i)], ["split.count", kv.u16(n)], ["split.tensors.count", kv.i32(sources.length)]];
    await writeGguf(file, { metadata: i === 0 ? [...b.metadata, ...split] : split, tensors: sources.slice(i * per, (i + 1) * per) });
    files.push(file);
  }
  return files;
}

let parts: string[] = [];
beforeAll(async () => {
  tiny = readFileSync((await makeModel({ arch: "qwen3", preset: "tiny", layers: 1, out: path.join(dir, "tiny.gguf") })).path);
  parts = await writeSplit(path.join(dir, "sp-Q8_0"));
  hub = await startFakeHub({
    "Qwen/Qwen3-8B-GGUF": { files: { "Qwen3-8B-Q4_K_M.gguf": tiny } },
    "test/split": { files: Object.fromEntries(parts.map((p) => [path.basename(p), readFileSync(p)])) },
  });
  Object.assign(process.env, { HF_HOME: path.join(dir, "hf"), HF_ENDPOINT: hub.url, FLINT_CACHE_DIR: path.join(dir, "flint") });
  for (const k of ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "CI"]) delete process.env[k];
});
afterAll(async () => {
  process.env = saved;
  await hub?.close();
  rmSync(dir, { recursive: true, force: true });
});

let stdout = "";
let stderr = "";
beforeAll(() => {
  vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
  vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
});
afterEach(() => {
  stdout = stderr = "";
});
afterAll(() => vi.restoreAllMocks());

const flint = async (...args: string[]) => {
  const program = new Command().exitOverride();
  for (const r of [registerPull, registerLs, registerInspect, registerRun]) r(program);
  await program.parseAsync(["node", "flint", ...args]);
};

describe("model commands", { timeout: 20_000 }, () => {
  it("pull prints the path, suggests drafters, and reports JSON", async () => {
    await flint("pull", "hf:Qwen/Qwen3-8B-GGUF");
    const p = stdout.trim();
    expect(p).toMatch(/hf\/hub\/models--Qwen--Qwen3-8B-GGUF\/snapshots\/[0-9a-f]{40}\/Qwen3-8B-Q4_K_M\.gguf$/);
    expect(readFileSync(p).equals(tiny)).toBe(true);
    expect(stderr).toMatch(/hf:Qwen\/Qwen3-8B-GGUF Q4_K_M downloaded \(.*, commit [0-9a-f]{12}\)/);
    expect(stderr).toMatch(/qwen3, .* parameters, F16/);
    expect(stderr).toMatch(/known drafters for Qwen\/Qwen3-8B-GGUF[\s\S]*dflash\s+z-lab\/Qwen3-8B-DFlash-b16: safetensors: convert/);
    expect(stderr).not.toMatch(/\[#+/); // no progress bar off a TTY
    stdout = stderr = "";
    await flint("pull", "hf:Qwen/Qwen3-8B-GGUF", "--json");
    const j = JSON.parse(stdout);
    expect(j).toMatchObject({ repo: "Qwen/Qwen3-8B-GGUF", quant: "Q4_K_M", path: p, model: { architecture: "qwen3" } });
    expect(j.files[0].downloaded).toBe(false);
    expect(j.drafters.length).toBeGreaterThan(0);
  });

  it("a split model downloads as a set and inspects as a whole", async () => {
    await flint("pull", "hf:test/split:Q8_0");
    const p = stdout.trim();
    expect(p.endsWith("sp-Q8_0-00001-of-00003.gguf")).toBe(true);
    const whole = await inspectModel(p);
    const ref = await makeModel({ arch: "qwen3", preset: "tiny", layers: 2, out: path.join(dir, "ref.gguf") });
    expect(whole.splitFiles).toHaveLength(3);
    expect(whole.parameterCount).toBe(ref.params);
    expect(whole.tensorCount).toBe(ref.tensorCount);
    expect(whole.fileBytes).toBe(parts.reduce((a, f) => a + readFileSync(f).length, 0));
    await expect(inspectModel(whole.splitFiles![1])).rejects.toThrow(/sp-Q8_0-00002-of-00003\.gguf is part 2 of a 3-part split model; inspect or load its first part/);
  });

  it("ls lists cached and directory models, unreadable files and partial downloads", async () => {
    const models = path.join(dir, "flint", "models");
    mkdirSync(models, { recursive: true });
    writeFileSync(path.join(models, "local-Q4_0.gguf"), tiny);
    writeFileSync(path.join(models, "broken.gguf"), "not a model");
    const extra = path.join(dir, "extra");
    mkdirSync(extra);
    writeFileSync(path.join(extra, "x.gguf"), tiny);
    const blobs = path.join(dir, "hf", "hub", "models--Qwen--Qwen3-8B-GGUF", "blobs");
    writeFileSync(path.join(blobs, `${sha256(Buffer.from("x"))}.incomplete`), Buffer.alloc(1000));
    await flint("ls", "--dir", extra);
    expect(stdout).toMatch(/^MODEL\s+SIZE\s+ARCH\s+QUANT\s+PARAMS/);
    expect(stdout).toMatch(/hf:Qwen\/Qwen3-8B-GGUF\/Qwen3-8B-Q4_K_M\.gguf\s+[\d.]+ KiB\s+qwen3\s+F16\s+[\d.]+K/);
    expect(stdout).toMatch(/hf:test\/split\/sp-Q8_0-00001-of-00003\.gguf\s+.*qwen3\s+F16\s+.*3 parts/);
    expect(stdout).toMatch(/local-Q4_0\.gguf\s+.*qwen3/);
    expect(stdout).toMatch(/broken\.gguf\s+\?\s+\?\s+\?\s+\?\n\s+\(unreadable: not a GGUF file/);
    expect(stdout).toMatch(/extra\/x\.gguf/);
    expect(stdout).toMatch(/partial download: Qwen\/Qwen3-8B-GGUF, 1000 B so far/);
    stdout = "";
    await flint("ls", "--json");
    const j = JSON.parse(stdout);
    expect(j.models.filter((m: { source: string }) => m.source === "hf-cache")).toHaveLength(2);
  });

  it("inspect takes an hf: spec from the cache; offline misses are clear", async () => {
    hub.requests.length = 0;
    await flint("inspect", "hf:Qwen/Qwen3-8B-GGUF", "--json");
    expect(JSON.parse(stdout)).toMatchObject({ architecture: "qwen3", quantization: "F16" });
    expect(hub.requests).toEqual([]);
    await expect(flint("inspect", "hf:Qwen/Qwen3-8B-GGUF:Q8_0", "--offline")).rejects.toMatchObject({
      name: "UserError",
      message: expect.stringMatching(/not in the Hugging Face cache .*no Q8_0 file \(cached for that repo: Q4_K_M\)/),
    });
    await expect(flint("pull", "hf:nobody/nothing")).rejects.toThrow(/nobody\/nothing not found/);
  });

  it("run --model hf:... loads the cached file", async () => {
    await flint("run", "--model", "hf:Qwen/Qwen3-8B-GGUF", "--prompt", "Hi", "-n", "2", "--temperature", "0", "--ignore-eos", "--threads", "1", "--json");
    const j = JSON.parse(stdout);
    expect(j.tokens).toBe(2);
    expect(j.model.path).toMatch(/snapshots\/[0-9a-f]{40}\/Qwen3-8B-Q4_K_M\.gguf$/);
  });
});
