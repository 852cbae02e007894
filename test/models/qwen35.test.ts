// makeModel --arch qwen35: the hybrid GGUF carries the keys and tensor shapes llama.cpp's qwen35
// loader reads (src/models/qwen35.cpp), and libllama loads and runs it as a hybrid model.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gguf } from "@huggingface/gguf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { isRecurrentLayer, ropeSections } from "../../src/models/arch-qwen35.js";
import { GGMLType } from "../../src/models/ggml-types.js";
import { GGUFValueType } from "../../src/models/gguf-writer.js";
import { makeModel, type MakeModelResult } from "../../src/models/make-model.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-qwen35-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Md = Record<string, { value: unknown; type: number; subType?: number }>;

describe("qwen35 tiny", () => {
  let res: MakeModelResult;
  let md: Md;
  let shapes: Record<string, number[]>;
  let types: Record<string, number>;
  beforeAll(async () => {
    res = await makeModel({ arch: "qwen35", preset: "tiny", out: path.join(dir, "tiny.gguf") });
    const r = await gguf(res.path, { allowLocalFile: true, typedMetadata: true });
    md = r.typedMetadata as unknown as Md;
    shapes = Object.fromEntries(r.tensorInfos.map((t) => [t.name, t.shape.map(Number)]));
    types = Object.fromEntries(r.tensorInfos.map((t) => [t.name, t.dtype as number]));
  });

  it("writes the qwen35 hparams, including the Gated DeltaNet ssm.* keys", () => {
    const u32 = GGUFValueType.UINT32;
    const want: [string, number, unknown][] = [
      ["general.architecture", GGUFValueType.STRING, "qwen35"],
      ["general.name", GGUFValueType.STRING, "flint-random-qwen35-tiny"],
      ["qwen35.block_count", u32, 4],
      ["qwen35.embedding_length", u32, 128],
      ["qwen35.feed_forward_length", u32, 256],
      ["qwen35.attention.head_count", u32, 4],
      ["qwen35.attention.head_count_kv", u32, 2],
      ["qwen35.attention.key_length", u32, 32],
      ["qwen35.attention.value_length", u32, 32],
      ["qwen35.rope.dimension_count", u32, 8],
      ["qwen35.ssm.conv_kernel", u32, 4],
      ["qwen35.ssm.state_size", u32, 32],
      ["qwen35.ssm.group_count", u32, 2],
      ["qwen35.ssm.time_step_rank", u32, 4],
      ["qwen35.ssm.inner_size", u32, 128],
      ["qwen35.full_attention_interval", u32, 4],
      ["qwen35.vocab_size", u32, 1024],
      ["tokenizer.ggml.pre", GGUFValueType.STRING, "qwen2"],
    ];
    for (const [key, type, value] of want) {
      expect(md[key]?.type, key).toBe(type);
      expect(md[key]?.value, key).toEqual(value);
    }
    expect(md["qwen35.rope.dimension_sections"].subType).toBe(GGUFValueType.INT32);
    expect(md["qwen35.rope.dimension_sections"].value).toEqual([1, 1, 2, 0]);
    expect(ropeSections(64)).toEqual([11, 11, 10, 0]); // upstream's default for 64 rotary dims
  });

  it("has 3 Gated DeltaNet layers and 1 gated full-attention layer with llama.cpp's shapes", () => {
    const [E, FF, V] = [128, 256, 1024];
    const lin: Record<string, number[]> = {
      "attn_norm.weight": [E], "post_attention_norm.weight": [E],
      "attn_qkv.weight": [E, 256], "attn_gate.weight": [E, 128], "ssm_conv1d.weight": [4, 256],
      "ssm_dt.bias": [4], ssm_a: [4], "ssm_beta.weight": [E, 4], "ssm_alpha.weight": [E, 4],
      "ssm_norm.weight": [32], "ssm_out.weight": [128, E],
      "ffn_gate.weight": [E, FF], "ffn_up.weight": [E, FF], "ffn_down.weight": [FF, E],
    };
    const full: Record<string, number[]> = {
      "attn_norm.weight": [E], "post_attention_norm.weight": [E],
      "attn_q.weight": [E, 2 * 4 * 32], "attn_k.weight": [E, 64], "attn_v.weight": [E, 64], "attn_output.weight": [128, E],
      "attn_q_norm.weight": [32], "attn_k_norm.weight": [32],
      "ffn_gate.weight": [E, FF], "ffn_up.weight": [E, FF], "ffn_down.weight": [FF, E],
    };
    const want: Record<string, number[]> = { "token_embd.weight": [E, V], "output_norm.weight": [E], "output.weight": [E, V] };
    for (let i = 0; i < 4; i++) {
      expect(isRecurrentLayer(i, 4)).toBe(i !== 3);
      for (const [n, s] of Object.entries(isRecurrentLayer(i, 4) ? lin : full)) want[`blk.${i}.${n}`] = s;
    }
    expect(shapes).toEqual(want);
    expect(res.tensorCount).toBe(Object.keys(want).length);
    expect(types["blk.0.attn_qkv.weight"]).toBe(GGMLType.F16);
    for (const n of ["blk.0.ssm_conv1d.weight", "blk.0.ssm_a", "blk.0.ssm_dt.bias", "blk.0.ssm_norm.weight"]) expect(types[n], n).toBe(GGMLType.F32);
    expect(res.qwen35).toEqual({ fullAttentionInterval: 4, ropeDim: 8, ssmConv: 4, ssmState: 32, ssmKHeads: 2, ssmVHeads: 4 });
  });

  it("rejects shapes llama.cpp cannot run and presets it does not have", async () => {
    await expect(makeModel({ arch: "qwen35", preset: "8b", out: path.join(dir, "x.gguf") })).rejects.toThrow(/unknown qwen35 preset "8b"/);
    await expect(makeModel({ arch: "qwen35", headDim: 4, out: path.join(dir, "x.gguf") })).rejects.toThrow(/rope dims/);
  });

  it("loads in libllama as a hybrid model and generates finite, varied, deterministic text", async () => {
    const model = Model.load(res.path, { gpuLayers: 0 });
    const ctx = Context.create(model, { ctx: 256, threads: 1 });
    try {
      expect(model.info.architecture).toBe("qwen35");
      expect(model.info.isHybrid).toBe(true);
      expect(model.info.nLayer).toBe(4);
      const prompt = model.vocab.tokenize("Hello, world! The quick brown fox", { addSpecial: false, parseSpecial: false });
      const logits = ctx.prefill(prompt);
      expect(logits.length).toBe(1024);
      expect(logits.every(Number.isFinite)).toBe(true);
      const opts = { temperature: 0, maxTokens: 16, ignoreEog: true };
      const a = await generateText(ctx, prompt, opts);
      const b = await generateText(ctx, prompt, opts);
      expect(a.tokens).toHaveLength(16);
      expect(b.tokens).toEqual(a.tokens);
      expect(new Set(a.tokens).size).toBeGreaterThan(4);
    } finally {
      ctx.free();
      model.free();
    }
  });
});
