// inspectModel on generated models, on the trained pair when ../shared is present, and on broken
// files (missing, not GGUF, header cut, data cut); plus the make-model / inspect commands.
import { captureCommands } from "../helpers/cli-capture.js";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerInspect } from "../../src/cli/inspect.js";
import { registerMakeModel } from "../../src/cli/make-model.js";
import { formatModelInfo, inspectModel } from "../../src/models/inspect.js";
import { makeModel } from "../../src/models/make-model.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-inspect-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => path.join(dir, name);

let target = "";
let drafter = "";
beforeAll(async () => {
  target = (await makeModel({ arch: "qwen3", preset: "tiny", layers: 4, out: out("t.gguf") })).path;
  drafter = (await makeModel({ arch: "dflash", target, out: out("d.gguf") })).path;
});

describe("inspectModel", () => {
  it("summarizes a qwen3 model", async () => {
    const i = await inspectModel(target);
    expect(i).toMatchObject({
      architecture: "qwen3", name: "flint-random-qwen3-tiny", ggufVersion: 3, contextLength: 4096, layers: 4, embd: 128, ff: 256,
      heads: 4, kvHeads: 2, headDim: 32, vocabSize: 1024, tokenizerModel: "gpt2", tokenizerPre: "qwen2", eosTokenId: 1022,
      hasChatTemplate: true, tiedEmbeddings: false, fileType: { id: 1, name: "F16" }, quantization: "F16",
      tensorTypes: { F16: 2 + 4 * 7, F32: 1 + 4 * 4 }, generated: { seed: 1, preset: "tiny" },
    });
    expect(i.dflash).toBeUndefined();
    expect(i.parameterCount).toBe(128 * 1024 * 2 + 128 + 4 * (128 * 2 + 128 * 128 + 2 * 128 * 64 + 128 * 128 + 2 * 32 + 3 * 128 * 256));
    expect(i.bitsPerWeight).toBeGreaterThan(15.9);
    expect(i.bitsPerWeight).toBeLessThan(16.5);
    expect(i.fileBytes).toBe(readFileSync(target).length);
    const text = formatModelInfo(i);
    expect(text).toMatch(/architecture:\s+qwen3/);
    expect(text).toMatch(/chat template:\s+yes/);
    expect(text).toMatch(/quantization:\s+F16 \(tensors: F16 x30, F32 x17\)/);
  });

  it("summarizes a dflash drafter", async () => {
    const i = await inspectModel(drafter);
    expect(i).toMatchObject({ architecture: "dflash", layers: 1, embd: 128, vocabSize: 1024, dflash: { blockSize: 16, targetLayers: [1, 2, 3], maskTokenId: 1023 } });
    expect(i.tiedEmbeddings).toBeUndefined();
    expect(formatModelInfo(i)).toMatch(/dflash:\s+block size 16, target layers \[1, 2, 3\], mask token 1023/);
  });

  const shared = path.resolve(__dirname, "../../../shared/models");
  it.runIf(existsSync(path.join(shared, "code29m-dflash-3l.gguf")))("reads the trained pair in ../shared/models", async () => {
    const t = await inspectModel(path.join(shared, "code29m-q8_0.gguf"));
    expect(t).toMatchObject({ architecture: "qwen3", quantization: "Q8_0", layers: 8, embd: 512, vocabSize: 4096, parameterCount: 29369856 });
    const d = await inspectModel(path.join(shared, "code29m-dflash-3l.gguf"));
    expect(d.dflash).toEqual({ blockSize: 16, targetLayers: [2, 4, 6], maskTokenId: 3 });
  });

  it("fails clearly on missing, non-GGUF and truncated files", async () => {
    const bytes = readFileSync(target);
    const cut = (name: string, n: number) => {
      writeFileSync(out(name), bytes.subarray(0, n));
      return out(name);
    };
    writeFileSync(out("text.gguf"), "this is certainly not a model file, just some text\n");
    await expect(inspectModel(out("missing.gguf"))).rejects.toThrow(/model file not found: .*missing.gguf/);
    await expect(inspectModel(dir)).rejects.toThrow(/not a file/);
    await expect(inspectModel(out("text.gguf"))).rejects.toThrow(/not a GGUF file: .*text.gguf/);
    await expect(inspectModel(cut("t10.gguf", 10))).rejects.toThrow(/not a GGUF file \(or truncated\)/);
    await expect(inspectModel(cut("t100.gguf", 100))).rejects.toThrow(/truncated GGUF file: .*shorter than its own header/);
    await expect(inspectModel(cut("thalf.gguf", 20_000))).rejects.toThrow(/truncated GGUF file: .*shorter than its own header/);
    await expect(inspectModel(cut("tdata.gguf", bytes.length - 1000))).rejects.toThrow(/truncated GGUF file: .*tensors need \d+ \(missing \d+ bytes/);
  });
});

describe("commands", () => {
  const { state, run } = captureCommands(registerMakeModel, registerInspect);

  it("make-model prints a one-line summary, or JSON", async () => {
    await run("make-model", "--arch", "qwen3", "--layers", "1", "--out", out("cli.gguf"));
    expect(state.stdout).toMatch(/^qwen3 tiny: .* params, .* F16 -> .*cli.gguf \(\d+\.\d s\)\n$/);
    state.stdout = "";
    await run("make-model", "--arch", "dflash", "--target", out("cli.gguf"), "--target-layers", "0", "--block-size", "4", "--out", out("cli-d.gguf"), "--json");
    const r = JSON.parse(state.stdout);
    expect(r).toMatchObject({ arch: "dflash", dflash: { blockSize: 4, targetLayers: [0] } });
  });

  it("inspect prints text or JSON", async () => {
    await run("inspect", target);
    expect(state.stdout).toMatch(/parameters:\s+[\d.]+[KM]/);
    state.stdout = "";
    await run("inspect", drafter, "--json");
    const info = JSON.parse(state.stdout);
    expect(info.architecture).toBe("dflash");
    expect(info.chatTemplate).toBeUndefined();
    expect(info.hasChatTemplate).toBe(true);
  });

  it("reports bad input as a UserError (message only), bad flags through commander", async () => {
    await expect(run("make-model", "--arch", "qwen3", "--heads", "6", "--kv-heads", "4", "--out", out("x.gguf"))).rejects.toMatchObject({
      name: "UserError",
      message: "--kv-heads (4) must divide --heads (6)",
    });
    await expect(run("inspect", out("nope.gguf"))).rejects.toMatchObject({ name: "UserError" });
    vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await expect(run("make-model", "--arch", "gpt9", "--out", out("x.gguf"))).rejects.toThrow(/argument 'gpt9' is invalid/);
    await expect(run("make-model", "--arch", "qwen3", "--layers", "0", "--out", out("x.gguf"))).rejects.toThrow(/--layers/);
    await expect(run("make-model", "--arch", "dflash", "--target", target, "--target-layers", "1,x", "--out", out("x.gguf"))).rejects.toThrow(/comma-separated layer ids/);
  });
});
