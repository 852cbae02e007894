// Drafter/scorer pairing on generated models: a matched dflash pair, a drafter made for a deeper
// target, another hidden size, other vocabulary sizes (padding within llama.cpp's 128 and beyond),
// and the `flint pair` / `flint inspect --draft` commands.
import { captureCommands } from "../helpers/cli-capture.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerInspect } from "../../src/cli/inspect.js";
import { registerPair } from "../../src/cli/pair.js";
import { inspectModel, type ModelInfo } from "../../src/models/inspect.js";
import { makeModel } from "../../src/models/make-model.js";
import { checkPair, drafterTable, formatPairCheck, suggestDrafters, targetKey } from "../../src/models/pairing.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-pair-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = (n: string) => path.join(dir, n);
const m: Record<string, ModelInfo> = {};

beforeAll(async () => {
  const q = (name: string, o: object) => makeModel({ arch: "qwen3", preset: "tiny", out: out(name), ...o });
  await q("t4.gguf", { layers: 4 });
  await q("t8.gguf", { layers: 8 });
  await q("e256.gguf", { layers: 4, embd: 256, heads: 4, kvHeads: 2, headDim: 64 });
  await q("v1100.gguf", { layers: 1, vocab: 1100 });
  await q("v2048.gguf", { layers: 2, vocab: 2048 });
  await q("small.gguf", { layers: 1 });
  await makeModel({ arch: "dflash", target: out("t4.gguf"), out: out("d4.gguf") });
  await makeModel({ arch: "dflash", target: out("t8.gguf"), out: out("d8.gguf") });
  await makeModel({ arch: "dflash", target: out("e256.gguf"), out: out("d256.gguf") });
  await makeModel({ arch: "dflash", target: out("v2048.gguf"), out: out("dv2048.gguf") });
  for (const n of ["t4", "t8", "e256", "v1100", "v2048", "small", "d4", "d8", "d256", "dv2048"]) m[n] = await inspectModel(out(`${n}.gguf`), { tokens: true });
});

describe("checkPair", () => {
  it("accepts a dflash drafter made for the target", () => {
    const r = checkPair(m.t4, m.d4, "dflash");
    expect(r.errors).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.notes.join("\n")).toMatch(/same vocabulary \(1024 tokens, hash [0-9a-f]{16}\)[\s\S]*target layers \[1, 2, 3\] exist in the target \(4 layers\)[\s\S]*hidden size 128 matches/);
    expect(formatPairCheck(r)).toMatch(/^compatible as dflash: .*d4\.gguf -> .*t4\.gguf/);
  });

  it("rejects a drafter whose target_layers the target lacks", () => {
    expect(m.d8.dflash?.targetLayers).toEqual([2, 4, 6]);
    const r = checkPair(m.t4, m.d8, "dflash");
    expect(r.ok).toBe(false);
    expect(r.errors).toEqual([expect.stringMatching(/reads target layers \[2, 4, 6\], but 4, 6 are not a layer of the target \(it has 4: 0\.\.3\)/)]);
    expect(checkPair(m.t8, m.d8, "dflash").ok).toBe(true);
  });

  it("rejects another hidden size and another vocabulary", () => {
    expect(checkPair(m.t4, m.d256, "dflash").errors).toEqual([expect.stringMatching(/hidden size differs: drafter 256, target 128/)]);
    expect(checkPair(m.t4, m.dv2048, "dflash").errors).toEqual([expect.stringMatching(/vocabulary sizes differ \(target 1024 tokens, drafter 2048\); a DFlash drafter uses the target's embeddings/)]);
    expect(checkPair(m.t4, m.v1100, "dflash").errors).toEqual(
      expect.arrayContaining([expect.stringMatching(/vocabulary sizes differ/), expect.stringMatching(/is not a DFlash drafter \(architecture qwen3\)/)]),
    );
  });

  it("applies llama.cpp's draft-model vocabulary rule: padding within 128 is fine, beyond is not", () => {
    const pad = checkPair(m.t4, m.v1100, "draft-model");
    expect(pad.ok).toBe(true);
    expect(pad.notes).toContain("the shared 1024 tokens are identical; sizes differ by 76 (padding): compatible");
    expect(checkPair(m.t4, m.v2048, "draft-model").errors).toEqual([expect.stringMatching(/vocabulary sizes differ by 1024 .* at most 128/)]);
    // without token lists only the hash can speak
    const { tokens: _a, ...t } = m.t4;
    const { tokens: _b, ...d } = m.v1100;
    expect(checkPair(t, d, "draft-model").errors[0]).toMatch(/token lists were not read/);
    // a changed token is found by id; a changed EOS id is named
    const bad = { ...m.small, tokens: m.small.tokens!.map((s, i) => (i === 77 ? "zzz" : s)), vocabHash: "0" };
    expect(checkPair(m.t4, bad, "draft-model").errors[0]).toMatch(/token 77 differs: target ".*", drafter "zzz"/);
    expect(checkPair(m.t4, { ...m.small, eosTokenId: 5 }, "draft-model").errors).toEqual([expect.stringMatching(/EOS token ids differ: target 1022, drafter 5/)]);
    expect(checkPair(m.small, m.t4, "draft-model").warnings[0]).toMatch(/not smaller than the target/);
    expect(checkPair(m.t4, m.d4, "draft-model").errors[0]).toMatch(/is a DFlash drafter; check it with --kind dflash/);
  });

  it("checks scorers: attention everywhere, vocabulary shared", () => {
    expect(checkPair(m.t4, m.small, "scorer").ok).toBe(true);
    const hybrid = { ...m.small, layerKinds: { attention: 1, recurrent: 3, rule: "x", known: true } };
    expect(checkPair(m.t4, hybrid, "scorer").errors[0]).toMatch(/scorer has recurrent layers/);
    expect(checkPair(m.t4, { ...m.small, contextLength: 1024 }, "scorer").warnings[0]).toMatch(/scorer's training context \(1024\) is shorter than the target's \(4096\)/);
  });
});

describe("drafter table", () => {
  it("maps repo names to known drafters", () => {
    expect(targetKey("Qwen/Qwen3-8B-GGUF")).toBe("qwen3-8b");
    expect(targetKey("bartowski/Qwen_Qwen3-8B-GGUF")).toBe("qwen3-8b");
    expect(targetKey("unsloth/Qwen3.5-9B-GGUF")).toBe("qwen3.5-9b");
    expect(suggestDrafters("unsloth/Qwen3-8B-GGUF").map((e) => e.repo)).toContain("z-lab/Qwen3-8B-DFlash-b16");
    expect(suggestDrafters("someone/Unknown-7B-GGUF")).toEqual([]);
    for (const e of drafterTable()) {
      expect(e.repo).toMatch(/^[\w.-]+\/[\w.-]+$/);
      expect(["dflash", "draft-model", "scorer"]).toContain(e.kind);
    }
  });
});

describe("commands", () => {
  const { state, run } = captureCommands(registerPair, registerInspect);

  it("flint pair prints the check, JSON, and fails on a mismatch", async () => {
    await run("pair", out("t4.gguf"), out("d4.gguf"));
    expect(state.stdout).toMatch(/^compatible as dflash/);
    state.stdout = "";
    await run("pair", out("t4.gguf"), out("v1100.gguf"), "--json");
    expect(JSON.parse(state.stdout)).toMatchObject({ ok: true, kind: "draft-model" });
    state.stdout = "";
    await expect(run("pair", out("t4.gguf"), out("d8.gguf"))).rejects.toMatchObject({ name: "UserError", message: expect.stringMatching(/^not a compatible pair: the drafter reads target layers/) });
    expect(state.stdout).toMatch(/NOT compatible as dflash[\s\S]*error: the drafter reads target layers/);
  });

  it("flint inspect shows layer kinds, vocabulary and a memory estimate; --draft checks a pair", async () => {
    await run("inspect", out("t4.gguf"), "--ctx", "1000", "--cache-type-k", "q8_0");
    expect(state.stdout).toMatch(/layers:\s+4 \(4 attention\)/);
    expect(state.stdout).toMatch(/vocab:\s+1024 tokens \(gpt2\/qwen2; bos 1020, eos 1022; hash [0-9a-f]{16}\)/);
    expect(state.stdout).toMatch(/memory:\s+~.* at ctx 1000 \(KV sized for 1024\), K q8_0 \/ V f16, ubatch 512, flash attention on: weights .* \+ KV 784\.0 KiB \+ compute ~/); // 4 x 2 x (32 x 34/32 + 32 x 2) x 1024 B
    state.stdout = "";
    await run("inspect", out("t4.gguf"), "--json", "--ctx", "2048");
    const j = JSON.parse(state.stdout);
    // 4 layers x 2 KV heads x (32 + 32) x 2 bytes x 2048
    expect(j.memory).toMatchObject({ ctx: 2048, cacheTypeK: "f16", kv: 4 * 2 * 64 * 2 * 2048, weights: j.dataBytes });
    expect(j.layerKinds).toMatchObject({ attention: 4, recurrent: 0 });
    expect(j.tokens).toBeUndefined();
    state.stdout = "";
    await run("inspect", out("t4.gguf"), "--draft", out("d4.gguf"));
    expect(state.stdout).toMatch(/compatible as dflash/);
    state.stdout = "";
    await expect(run("inspect", out("t4.gguf"), "--draft", out("d256.gguf"))).rejects.toThrow(/does not fit .* as dflash: hidden size differs/);
  });
});
