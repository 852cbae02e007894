// The memory estimate's arithmetic against hand-computed cases, and layer kinds from metadata.
import { describe, expect, it } from "vitest";
import { layerKinds, ssmStateElems } from "../../src/models/layer-kinds.js";
import { cacheTypeBytes, estimateMemory, memoryInputFor, padCtx } from "../../src/models/memory.js";

// Qwen3-8B: 36 layers, 32 heads, 8 KV heads, head dim 128, embd 4096, ff 12288, vocab 151936
const q8b = { weightsBytes: 5_000_000_000, attentionLayers: 36, ctx: 4096, headKv: 8, headDimK: 128, heads: 32, embd: 4096, ff: 12288, vocab: 151936 };

describe("estimateMemory", () => {
  it("sizes an f16 KV cache as llama.cpp does (576 MiB for Qwen3-8B at 4096)", () => {
    const m = estimateMemory(q8b);
    expect(m.kvPerToken).toBe(36 * 8 * (128 * 2 + 128 * 2)); // 147456
    expect(m.kv).toBe(147456 * 4096);
    expect(m.kv / 2 ** 20).toBe(576);
    // logits stage 151936 + 4096 beats the layer stage 3*4096 + 3*12288
    expect(m.compute).toBe(4 * 512 * (151936 + 4096));
    expect(m.total).toBe(5_000_000_000 + 147456 * 4096 + 4 * 512 * 156032);
    expect(m.recurrent).toBe(0);
  });

  it("uses block sizes for quantized caches: q8_0 = 34/32, q4_0 = 18/32 bytes per element", () => {
    expect(cacheTypeBytes("q8_0")).toBe(1.0625);
    expect(cacheTypeBytes("q4_0")).toBe(0.5625);
    expect(estimateMemory({ ...q8b, cacheTypeK: "q8_0", cacheTypeV: "q8_0" }).kv).toBe(36 * 8 * 272 * 4096); // 306 MiB
    expect(estimateMemory({ ...q8b, cacheTypeK: "q4_0", cacheTypeV: "q4_0" }).kv).toBe(36 * 8 * 144 * 4096);
    expect(estimateMemory({ ...q8b, cacheTypeK: "q8_0", cacheTypeV: "f16" }).kvPerToken).toBe(36 * 8 * (136 + 256));
    expect(estimateMemory({ ...q8b, cacheTypeK: "f32", cacheTypeV: "f32" }).kv).toBe(36 * 8 * 1024 * 4096);
  });

  it("pads the context to 256 and honours a separate V head size", () => {
    expect(padCtx(1000)).toBe(1024);
    expect(padCtx(4096)).toBe(4096);
    const m = estimateMemory({ ...q8b, ctx: 1000, headDimV: 64 });
    expect(m.ctxPadded).toBe(1024);
    expect(m.kv).toBe(36 * 8 * (128 * 2 + 64 * 2) * 1024);
  });

  it("adds the KQ scores without flash attention, which dominate at long context", () => {
    const on = estimateMemory({ ...q8b, ctx: 32768 });
    const off = estimateMemory({ ...q8b, ctx: 32768, flashAttn: false });
    expect(on.compute).toBe(4 * 512 * 156032);
    expect(off.compute).toBe(4 * 512 * (3 * 4096 + 32 * 32768));
    expect(estimateMemory({ ...q8b, ubatch: 128 }).compute).toBe(4 * 128 * 156032);
  });

  it("counts recurrent state per recurrent layer and sequence, not per token", () => {
    const elems = ssmStateElems({ convKernel: 4, innerSize: 2048, stateSize: 128, groupCount: 16 })!;
    expect(elems).toBe(3 * (2048 + 2 * 16 * 128) + 128 * 2048); // 280576
    const m = estimateMemory({ ...q8b, attentionLayers: 6, recurrentLayers: 18, recurrentStateElems: elems, seqs: 2 });
    expect(m.recurrent).toBe(18 * 2 * 280576 * 4);
    expect(m.kv).toBe(6 * 8 * 512 * 4096);
    expect(estimateMemory({ ...q8b, ctx: 8192, attentionLayers: 6, recurrentLayers: 18, recurrentStateElems: elems }).recurrent).toBe(18 * 280576 * 4);
  });

  it("rejects nonsense and says what metadata is missing", () => {
    expect(() => estimateMemory({ ...q8b, ctx: 0 })).toThrow(/ctx must be at least 1/);
    expect(() => estimateMemory({ ...q8b, headKv: -1 })).toThrow(/headKv must be a non-negative number/);
    expect(memoryInputFor({ architecture: "x", dataBytes: 1, layers: 2 }, { ctx: 8 })).toEqual({ missing: ["heads", "kvHeads", "headDim", "embd", "vocabSize"] });
  });
});

describe("layerKinds", () => {
  it("reads recurrent layers of hybrids from metadata, with llama.cpp's defaults", () => {
    expect(layerKinds({ arch: "qwen3", layers: 36 })).toEqual({ attention: 36, recurrent: 0, rule: "all attention", known: true });
    const q35 = layerKinds({ arch: "qwen35", layers: 8 });
    expect(q35).toMatchObject({ attention: 2, recurrent: 6, recurrentIds: [0, 1, 2, 4, 5, 6], known: true });
    expect(q35.rule).toMatch(/every 4th layer is attention \(qwen35 default interval 4\)/);
    expect(layerKinds({ arch: "qwen35", layers: 6, fullAttentionInterval: 3 })).toMatchObject({ attention: 2, recurrentIds: [0, 1, 3, 4] });
    // trailing MTP layers are attention
    expect(layerKinds({ arch: "qwen35", layers: 9, nextn: 1 })).toMatchObject({ attention: 3, recurrent: 6 });
    expect(layerKinds({ arch: "minimax-01", layers: 16 })).toMatchObject({ attention: 2, recurrent: 14 });
    expect(layerKinds({ arch: "x", layers: 4, recurrentFlags: [true, false, true, 0] })).toMatchObject({ attention: 2, recurrent: 2, recurrentIds: [0, 2] });
    expect(layerKinds({ arch: "mamba2", layers: 4 })).toMatchObject({ attention: 0, recurrent: 4, known: true });
    expect(layerKinds({ arch: "jamba", layers: 4 })).toMatchObject({ known: false });
  });
});
