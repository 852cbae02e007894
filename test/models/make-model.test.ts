// makeModel: the qwen3 and dflash GGUFs carry the keys and tensor shapes llama.cpp loads
// (src/models/qwen3.cpp, src/models/dflash.cpp), are reproducible from their seed, and bad
// arguments fail with a message naming the option.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gguf } from "@huggingface/gguf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildQwen3, qwen3Preset } from "../../src/models/arch-qwen3.js";
import { defaultTargetLayers } from "../../src/models/arch-dflash.js";
import { GGMLType } from "../../src/models/ggml-types.js";
import { GGUFValueType, kv, writeGguf } from "../../src/models/gguf-writer.js";
import { makeModel, type MakeModelOptions, type MakeModelResult } from "../../src/models/make-model.js";
import { CHATML_TEMPLATE, SPECIAL_TOKENS, TokenType } from "../../src/models/vocab.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-make-model-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const out = (name: string) => path.join(dir, name);

type Md = Record<string, { value: unknown; type: number; subType?: number }>;
async function read(file: string) {
  const r = await gguf(file, { allowLocalFile: true, typedMetadata: true });
  const shapes = Object.fromEntries(r.tensorInfos.map((t) => [t.name, t.shape.map(Number)]));
  const types = Object.fromEntries(r.tensorInfos.map((t) => [t.name, t.dtype as number]));
  return { md: r.typedMetadata as unknown as Md, names: r.tensorInfos.map((t) => t.name), shapes, types };
}
const sha = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

const BLOCK = ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "attn_q_norm", "attn_k_norm", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"];

describe("qwen3 tiny", () => {
  let res: MakeModelResult;
  let f: Awaited<ReturnType<typeof read>>;
  beforeAll(async () => {
    res = await makeModel({ arch: "qwen3", preset: "tiny", out: out("tiny.gguf") });
    f = await read(res.path);
  });

  it("writes the qwen3 hparams llama.cpp reads, with their GGUF types", () => {
    const want: [string, number, unknown][] = [
      ["general.architecture", GGUFValueType.STRING, "qwen3"],
      ["general.name", GGUFValueType.STRING, "flint-random-qwen3-tiny"],
      ["general.file_type", GGUFValueType.UINT32, 1],
      ["qwen3.block_count", GGUFValueType.UINT32, 2],
      ["qwen3.context_length", GGUFValueType.UINT32, 4096],
      ["qwen3.embedding_length", GGUFValueType.UINT32, 128],
      ["qwen3.feed_forward_length", GGUFValueType.UINT32, 256],
      ["qwen3.attention.head_count", GGUFValueType.UINT32, 4],
      ["qwen3.attention.head_count_kv", GGUFValueType.UINT32, 2],
      ["qwen3.attention.key_length", GGUFValueType.UINT32, 32],
      ["qwen3.attention.value_length", GGUFValueType.UINT32, 32],
      ["qwen3.rope.freq_base", GGUFValueType.FLOAT32, 1e6],
      ["qwen3.vocab_size", GGUFValueType.UINT32, 1024],
      ["tokenizer.ggml.model", GGUFValueType.STRING, "gpt2"],
      ["tokenizer.ggml.pre", GGUFValueType.STRING, "qwen2"],
      ["tokenizer.ggml.add_bos_token", GGUFValueType.BOOL, false],
      ["tokenizer.ggml.eos_token_id", GGUFValueType.UINT32, 1022],
      ["tokenizer.ggml.bos_token_id", GGUFValueType.UINT32, 1020],
      ["tokenizer.ggml.padding_token_id", GGUFValueType.UINT32, 1020],
      ["tokenizer.chat_template", GGUFValueType.STRING, CHATML_TEMPLATE],
      ["flint.seed", GGUFValueType.UINT32, 1],
      ["flint.preset", GGUFValueType.STRING, "tiny"],
    ];
    for (const [key, type, value] of want) {
      expect(f.md[key]?.type, key).toBe(type);
      expect(f.md[key]?.value, key).toEqual(value);
    }
    expect(f.md["qwen3.attention.layer_norm_rms_epsilon"].value as number).toBeCloseTo(1e-6, 12);
    const tokens = f.md["tokenizer.ggml.tokens"];
    expect([tokens.type, tokens.subType]).toEqual([GGUFValueType.ARRAY, GGUFValueType.STRING]);
    expect((tokens.value as string[]).slice(1020)).toEqual([...SPECIAL_TOKENS]);
    expect(f.md["tokenizer.ggml.token_type"].subType).toBe(GGUFValueType.INT32);
    expect((f.md["tokenizer.ggml.token_type"].value as number[]).slice(1019)).toEqual([TokenType.NORMAL, 3, 3, 3, 3]);
    expect(f.md["tokenizer.ggml.merges"].subType).toBe(GGUFValueType.STRING);
    expect((f.md["tokenizer.ggml.merges"].value as string[]).length).toBe(764);
  });

  it("has every tensor in ggml order (ne0 = input dim), matrices F16, norms F32", () => {
    const [E, FF, Q, KV, V, D] = [128, 256, 4 * 32, 2 * 32, 1024, 32];
    const want: Record<string, number[]> = { "token_embd.weight": [E, V], "output_norm.weight": [E], "output.weight": [E, V] };
    for (let i = 0; i < 2; i++) {
      Object.assign(want, {
        [`blk.${i}.attn_norm.weight`]: [E],
        [`blk.${i}.attn_q.weight`]: [E, Q],
        [`blk.${i}.attn_k.weight`]: [E, KV],
        [`blk.${i}.attn_v.weight`]: [E, KV],
        [`blk.${i}.attn_output.weight`]: [Q, E],
        [`blk.${i}.attn_q_norm.weight`]: [D],
        [`blk.${i}.attn_k_norm.weight`]: [D],
        [`blk.${i}.ffn_norm.weight`]: [E],
        [`blk.${i}.ffn_gate.weight`]: [E, FF],
        [`blk.${i}.ffn_up.weight`]: [E, FF],
        [`blk.${i}.ffn_down.weight`]: [FF, E],
      });
    }
    expect(f.shapes).toEqual(want);
    expect(f.names.slice(0, 4)).toEqual(["token_embd.weight", "output_norm.weight", "output.weight", "blk.0.attn_norm.weight"]);
    for (const [name, shape] of Object.entries(f.shapes)) {
      expect(f.types[name], name).toBe(shape.length === 1 ? GGMLType.F32 : GGMLType.F16);
    }
    const params = Object.values(want).reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
    expect(res.params).toBe(params);
    expect(res).toMatchObject({ arch: "qwen3", preset: "tiny", layers: 2, embd: 128, vocab: 1024, type: "f16", tensorCount: 25 });
  });

  it("is reproducible from its seed", async () => {
    const again = await makeModel({ arch: "qwen3", preset: "tiny", out: out("tiny-again.gguf") });
    const other = await makeModel({ arch: "qwen3", preset: "tiny", seed: 2, out: out("tiny-seed2.gguf") });
    expect(sha(again.path)).toBe(sha(res.path));
    expect(sha(other.path)).not.toBe(sha(res.path));
  });
});

describe("qwen3 options", () => {
  it("applies overrides, f32, tied embeddings and a padded vocabulary", async () => {
    const r = await makeModel({
      arch: "qwen3", preset: "tiny", layers: 3, embd: 96, ff: 160, heads: 6, kvHeads: 3, headDim: 16, vocab: 1100, ctx: 512,
      type: "f32", tiedEmbeddings: true, name: "custom", out: out("custom.gguf"),
    });
    const f = await read(r.path);
    expect(f.md["general.name"].value).toBe("custom");
    expect(f.md["general.file_type"].value).toBe(0);
    expect(f.md["qwen3.block_count"].value).toBe(3);
    expect(f.md["qwen3.context_length"].value).toBe(512);
    expect(f.names).not.toContain("output.weight");
    expect(f.shapes["token_embd.weight"]).toEqual([96, 1100]);
    expect(f.shapes["blk.2.attn_q.weight"]).toEqual([96, 96]);
    expect(f.shapes["blk.2.attn_k.weight"]).toEqual([96, 48]);
    expect(f.types["blk.2.ffn_up.weight"]).toBe(GGMLType.F32);
    const tokens = f.md["tokenizer.ggml.tokens"].value as string[];
    expect(tokens.length).toBe(1100);
    expect(tokens[1099]).toBe("[PAD1099]");
    expect((f.md["tokenizer.ggml.token_type"].value as number[])[1099]).toBe(TokenType.UNUSED);

    // [PAD] rows of the (tied) embedding are zero so the head never prefers an unused token;
    // the tied model's output norm is random-signed, not 1.0
    const r2 = await gguf(r.path, { allowLocalFile: true });
    const bytes = readFileSync(r.path);
    const at = (name: string) => Number(r2.tensorDataOffset + r2.tensorInfos.find((t) => t.name === name)!.offset);
    const embd = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at("token_embd.weight"), bytes.byteOffset + at("token_embd.weight") + 96 * 1100 * 4));
    expect(embd.subarray(1024 * 96).every((x) => x === 0)).toBe(true);
    expect(embd.subarray(1023 * 96, 1024 * 96).some((x) => x !== 0)).toBe(true);
    const onorm = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at("output_norm.weight"), bytes.byteOffset + at("output_norm.weight") + 96 * 4));
    expect(onorm.some((x) => x < 0)).toBe(true);
    const fnorm = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at("blk.0.ffn_norm.weight"), bytes.byteOffset + at("blk.0.ffn_norm.weight") + 96 * 4));
    expect(fnorm.every((x) => x === 1)).toBe(true);
  });

  it("real-shape presets match Qwen3 (checked without writing them)", () => {
    const count = (p: string) => {
      const b = buildQwen3({ shape: qwen3Preset(p), wtype: "f16", name: p });
      return { params: b.tensors.reduce((s, t) => s + t.shape.reduce((a, c) => a * c, 1), 0), b };
    };
    const small = count("0.6b");
    expect(small.b.tensors.some((t) => t.name === "output.weight")).toBe(false);
    expect(small.params / 1e9).toBeCloseTo(0.596, 2);
    const p8 = count("8b");
    expect(p8.b.tensors.find((t) => t.name === "blk.35.ffn_down.weight")?.shape).toEqual([12288, 4096]);
    expect(p8.b.tensors.find((t) => t.name === "blk.0.attn_q.weight")?.shape).toEqual([4096, 4096]);
    expect(p8.b.tensors.find((t) => t.name === "blk.0.attn_k.weight")?.shape).toEqual([4096, 1024]);
    expect(p8.params / 1e9).toBeCloseTo(8.19, 2);
    const p32 = count("32b");
    expect(p32.b.tensors.find((t) => t.name === "blk.0.attn_q.weight")?.shape).toEqual([5120, 8192]);
    expect(p32.params / 1e9).toBeCloseTo(32.76, 1);
    expect(p8.b.shape.vocab).toBe(151936);
  });
});

describe("dflash drafter", () => {
  let target: string;
  let deepTarget: string;
  beforeAll(async () => {
    target = (await makeModel({ arch: "qwen3", preset: "tiny", out: out("t.gguf") })).path;
    deepTarget = (await makeModel({ arch: "qwen3", preset: "tiny", layers: 8, out: out("t8.gguf") })).path;
  });

  it("mirrors llama.cpp's dflash layout and copies the target's vocabulary", async () => {
    const r = await makeModel({ arch: "dflash", target: deepTarget, out: out("d8.gguf") });
    expect(r.dflash).toMatchObject({ blockSize: 16, targetLayers: [2, 4, 6], maskTokenId: 1023 });
    expect(r.layers).toBe(3);
    const d = await read(r.path);
    const t = await read(deepTarget);
    expect(d.md["general.architecture"].value).toBe("dflash");
    for (const k of ["block_count", "embedding_length", "feed_forward_length", "attention.head_count", "attention.head_count_kv", "attention.key_length", "attention.value_length", "context_length"]) {
      expect(d.md[`dflash.${k}`]?.type, k).toBe(GGUFValueType.UINT32);
    }
    expect(d.md["dflash.embedding_length"].value).toBe(128);
    expect(d.md["dflash.block_count"].value).toBe(3);
    expect(d.md["dflash.block_size"]).toMatchObject({ type: GGUFValueType.UINT32, value: 16 });
    expect(d.md["dflash.target_layers"]).toMatchObject({ type: GGUFValueType.ARRAY, subType: GGUFValueType.INT32, value: [2, 4, 6] });
    expect(d.md["dflash.vocab_size"].value).toBe(1024);
    expect(d.md["tokenizer.ggml.mask_token_id"]).toMatchObject({ type: GGUFValueType.UINT32, value: 1023 });
    for (const k of Object.keys(t.md).filter((k) => k.startsWith("tokenizer."))) expect(d.md[k], k).toEqual(t.md[k]);

    const want: Record<string, number[]> = { "fc.weight": [3 * 128, 128], "enc.output_norm.weight": [128], "output_norm.weight": [128] };
    for (let i = 0; i < 3; i++) for (const b of BLOCK) want[`blk.${i}.${b}.weight`] = t.shapes[`blk.${i}.${b}.weight`];
    expect(d.shapes).toEqual(want);
    expect(d.names).not.toContain("token_embd.weight");
    expect(d.names).not.toContain("output.weight");
  });

  it("takes explicit drafter options", async () => {
    const r = await makeModel({ arch: "dflash", target: deepTarget, layers: 1, blockSize: 8, targetLayers: [1, 7], maskTokenId: 5, ff: 64, out: out("d-custom.gguf") });
    const d = await read(r.path);
    expect(d.md["dflash.block_size"].value).toBe(8);
    expect(d.md["dflash.target_layers"].value).toEqual([1, 7]);
    expect(d.md["tokenizer.ggml.mask_token_id"].value).toBe(5);
    expect(d.shapes["fc.weight"]).toEqual([256, 128]);
    expect(d.shapes["blk.0.ffn_up.weight"]).toEqual([128, 64]);
  });

  it("uses one feature layer for a 2-layer target", async () => {
    const r = await makeModel({ arch: "dflash", target, out: out("d2.gguf") });
    expect(r.dflash?.targetLayers).toEqual([1]);
    expect(r.layers).toBe(1);
  });

  it("needs --mask-token-id for a target without <|mask|>", async () => {
    const file = out("no-mask.gguf");
    await writeGguf(file, {
      metadata: [
        ["general.architecture", kv.str("qwen3")],
        ["qwen3.block_count", kv.u32(4)],
        ["qwen3.context_length", kv.u32(256)],
        ["qwen3.embedding_length", kv.u32(32)],
        ["qwen3.feed_forward_length", kv.u32(64)],
        ["qwen3.attention.head_count", kv.u32(2)],
        ["tokenizer.ggml.model", kv.str("gpt2")],
        ["tokenizer.ggml.tokens", kv.arr(GGUFValueType.STRING, ["a", "b", "c"])],
      ],
      tensors: [{ name: "token_embd.weight", shape: [32, 3], type: GGMLType.F32, data: () => [new Uint8Array(32 * 3 * 4)] }],
    });
    await expect(makeModel({ arch: "dflash", target: file, out: out("x.gguf") })).rejects.toThrow(/has no <\|mask\|> token; pass --mask-token-id/);
    const r = await makeModel({ arch: "dflash", target: file, maskTokenId: 2, out: out("no-mask-d.gguf") });
    // head layout falls back to llama.cpp's defaults: kv heads = heads, head dim = embd / heads
    expect(r).toMatchObject({ heads: 2, kvHeads: 2, headDim: 16, vocab: 3, layers: 1 });
    expect(r.dflash).toMatchObject({ maskTokenId: 2, targetLayers: [1, 2, 3] });
  });

  it("spreads target layers like z-lab's build_target_layer_ids, shifted to layer inputs", () => {
    expect(defaultTargetLayers(8)).toEqual([2, 4, 6]);
    expect(defaultTargetLayers(36)).toEqual([2, 18, 34]);
    expect(defaultTargetLayers(28)).toEqual([2, 14, 26]);
    expect(defaultTargetLayers(64)).toEqual([2, 32, 62]);
    expect(defaultTargetLayers(36, 5)).toEqual([2, 10, 18, 26, 34]);
    expect(defaultTargetLayers(4)).toEqual([1, 2, 3]);
    expect(defaultTargetLayers(2)).toEqual([1]);
  });
});

describe("bad arguments", () => {
  let target = "";
  let drafter = "";
  beforeAll(async () => {
    target = (await makeModel({ arch: "qwen3", out: out("bad-target.gguf") })).path;
    drafter = (await makeModel({ arch: "dflash", target, out: out("bad-drafter.gguf") })).path;
  });
  const cases: [string, () => MakeModelOptions, RegExp][] = [
    ["unknown arch", () => ({ arch: "llama", out: out("x.gguf") }), /unknown arch "llama" \(expected one of: qwen3, qwen35, dflash\)/],
    ["unknown preset", () => ({ arch: "qwen3", preset: "7b", out: out("x.gguf") }), /unknown qwen3 preset "7b"/],
    ["zero layers", () => ({ arch: "qwen3", layers: 0, out: out("x.gguf") }), /--layers must be a positive integer, got 0/],
    ["negative embd", () => ({ arch: "qwen3", embd: -4, out: out("x.gguf") }), /--embd must be a positive integer/],
    ["fractional ff", () => ({ arch: "qwen3", ff: 1.5, out: out("x.gguf") }), /--ff must be a positive integer/],
    ["kv heads not dividing", () => ({ arch: "qwen3", heads: 6, kvHeads: 4, out: out("x.gguf") }), /--kv-heads \(4\) must divide --heads \(6\)/],
    ["odd head dim", () => ({ arch: "qwen3", headDim: 33, out: out("x.gguf") }), /--head-dim must be even/],
    ["too many layers", () => ({ arch: "qwen3", layers: 513, out: out("x.gguf") }), /at most 512/],
    ["small vocab", () => ({ arch: "qwen3", vocab: 500, out: out("x.gguf") }), /vocab size must be an integer >= 1024/],
    ["bad type", () => ({ arch: "qwen3", type: "q4_0", out: out("x.gguf") }), /--type must be f16 or f32/],
    ["bad seed", () => ({ arch: "qwen3", seed: -1, out: out("x.gguf") }), /--seed must be an integer/],
    ["missing out", () => ({ arch: "qwen3", out: "" }), /an output path is required/],
    ["missing directory", () => ({ arch: "qwen3", out: out("no/dir/x.gguf") }), /cannot write .*directory .* does not exist/],
    ["out is a directory", () => ({ arch: "qwen3", out: dir }), /is a directory/],
    ["target on qwen3", () => ({ arch: "qwen3", target, out: out("x.gguf") }), /--target applies to --arch dflash only/],
    ["block size on qwen3", () => ({ arch: "qwen3", blockSize: 8, out: out("x.gguf") }), /--block-size applies to --arch dflash only/],
    ["dflash without target", () => ({ arch: "dflash", out: out("x.gguf") }), /--arch dflash needs --target/],
    ["dflash missing target", () => ({ arch: "dflash", target: out("nope.gguf"), out: out("x.gguf") }), /--target .*nope.gguf: file not found/],
    ["dflash non-gguf target", () => ({ arch: "dflash", target: path.resolve("package.json"), out: out("x.gguf") }), /not a readable GGUF file/],
    ["dflash on a drafter", () => ({ arch: "dflash", target: drafter, out: out("x.gguf") }), /is itself a dflash drafter/],
    ["dflash preset", () => ({ arch: "dflash", target, preset: "tiny", out: out("x.gguf") }), /--preset applies to --arch qwen3 only/],
    ["dflash embd mismatch", () => ({ arch: "dflash", target, embd: 64, out: out("x.gguf") }), /--embd 64 differs from the target's hidden size 128/],
    ["dflash vocab mismatch", () => ({ arch: "dflash", target, vocab: 2048, out: out("x.gguf") }), /--vocab 2048 differs from the target's vocabulary size 1024/],
    ["dflash bad target layer", () => ({ arch: "dflash", target, targetLayers: [5], out: out("x.gguf") }), /--target-layers: 5 is not a layer of the target \(0..1\)/],
    ["dflash duplicate target layers", () => ({ arch: "dflash", target, targetLayers: [1, 1], out: out("x.gguf") }), /duplicates/],
    ["dflash block size 1", () => ({ arch: "dflash", target, blockSize: 1, out: out("x.gguf") }), /--block-size must be at least 2/],
    ["dflash mask out of vocab", () => ({ arch: "dflash", target, maskTokenId: 4096, out: out("x.gguf") }), /--mask-token-id 4096 is outside the target vocabulary \(1024\)/],
  ];
  for (const [label, opts, msg] of cases) {
    it(label, async () => {
      await expect(makeModel(opts())).rejects.toThrow(msg);
      expect(existsSync(out("x.gguf"))).toBe(false);
    });
  }
});
