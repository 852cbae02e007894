// Memory fit arithmetic against hand-computed cases (Qwen3-8B shape: 36 layers, 8 KV heads of 128,
// 32 heads, embd 4096, ff 12288, vocab 151936; weights 5e9 bytes):
//   KV f16 = 36 x 8 x (128 x 2 + 128 x 2) = 147456 bytes/token; q8_0 = 36 x 8 x 272 = 78336
//   compute (flash attention) = 4 x 512 x (151936 + 4096) = 319553536
//   8 GiB free, headroom max(256 MiB, 5%) = 429496729 -> usable 8160437863
import { describe, expect, it } from "vitest";
import type { ModelShape } from "../../src/models/memory.js";
import { adviseFit, checkFit, deviceBudget, deviceBytesAt, fitForRun, FitError, kvTypeWarning, largestFittingCtx, largestFittingGpuLayers, offloadFraction, type FitInput } from "../../src/models/memory-fit.js";

const GiB = 2 ** 30;
const q8b: ModelShape & { contextLength: number } = { architecture: "qwen3", dataBytes: 5e9, layers: 36, kvHeads: 8, heads: 32, headDim: 128, embd: 4096, ff: 12288, vocabSize: 151936, contextLength: 40960 };
const input = (freeBytes: number, run: FitInput["run"] = {}): FitInput => ({ models: [q8b], run, freeBytes, maxCtx: 40960 });

describe("memory fit arithmetic", () => {
  it("need at a context: weights + KV (padded to 256) + compute", () => {
    expect(deviceBytesAt([q8b], {}, 4096)).toBe(5e9 + 147456 * 4096 + 319553536);
    expect(deviceBytesAt([q8b], {}, 4000)).toBe(deviceBytesAt([q8b], {}, 4096));
    expect(checkFit(input(8 * GiB), 4096)).toEqual({ fits: true, ctx: 4096, neededBytes: 5e9 + 147456 * 4096 + 319553536, budgetBytes: 8 * GiB - 429496729 });
  });

  it("largest context, f16 KV: (8160437863 - 5e9 - 319553536) / 147456 = 19265.8 -> 19200", () => {
    expect(largestFittingCtx(input(8 * GiB))).toBe(19200);
    expect(checkFit(input(8 * GiB), 19200).fits).toBe(true);
    expect(checkFit(input(8 * GiB), 19201).fits).toBe(false);
  });

  it("largest context, q8_0 KV: 2840884327 / 78336 = 36265.1 -> 36096", () => {
    expect(largestFittingCtx(input(8 * GiB, { cacheTypeK: "q8_0", cacheTypeV: "q8_0" }))).toBe(36096);
  });

  it("without flash attention the KQ scores grow with the context: (8160437863 - 5e9 - 25165824) / 212992 = 14720.3 -> 14592", () => {
    // compute = 4 x 512 x (3 x 4096 + 32 x ctx) once 32 x ctx beats 3 x ff and the logits stage
    expect(deviceBytesAt([q8b], { flashAttn: false }, 14592)).toBe(5e9 + 147456 * 14592 + 2048 * (12288 + 32 * 14592));
    expect(largestFittingCtx(input(8 * GiB, { flashAttn: false }))).toBe(14592);
  });

  it("capped at the training context when everything fits; undefined when nothing does", () => {
    expect(largestFittingCtx(input(80 * GiB))).toBe(40960);
    expect(largestFittingCtx({ ...input(80 * GiB), maxCtx: 40000 })).toBe(40000);
    expect(largestFittingCtx(input(4 * GiB))).toBeUndefined();
  });

  it("partial offload: N of 36 layers' weights and KV plus the compute buffer; 4 GiB at 4096 -> 23 layers", () => {
    expect(offloadFraction(36, -1)).toBe(1);
    expect(offloadFraction(36, 18)).toBe(0.5);
    expect(offloadFraction(36, 0)).toBe(1); // all on the host: host memory is the budget
    expect(offloadFraction(36, 99)).toBe(1);
    expect(deviceBytesAt([q8b], { gpuLayers: 18 }, 4096)).toBe(Math.ceil(0.5 * (5e9 + 147456 * 4096) + 319553536));
    // usable 4 GiB - 256 MiB = 4026531840; n/36 x 5603979776 + 319553536 <= it -> n <= 23.8
    expect(largestFittingGpuLayers(input(4 * GiB), 4096)).toBe(23);
  });

  it("a drafter adds its own weights, KV and compute at the same context", () => {
    const drafter: ModelShape = { architecture: "dflash", dataBytes: 1e9, layers: 1, kvHeads: 8, heads: 32, headDim: 128, embd: 4096, ff: 12288, vocabSize: 151936 };
    expect(deviceBytesAt([q8b, drafter], {}, 4096)).toBe(deviceBytesAt([q8b], {}, 4096) + 1e9 + 1 * 8 * 512 * 4096 + 319553536);
  });
});

describe("fit advice", () => {
  it("too long a context: names the context, the KV type and the layer count that fit", () => {
    const a = adviseFit(input(8 * GiB), 32768, "NVIDIA GeForce RTX 4070");
    expect(a.fits).toBe(false);
    // q8_0 at 32768: 78336 x 32768 = 2566914048 <= 2840884327; layers: n/36 x 9831838208 + 319553536 <= 8160437863 -> 28
    expect(a.fixes).toEqual(["--ctx 19200", "--cache-type-k q8_0 --cache-type-v q8_0", "--gpu-layers 28 (the other layers run on the CPU, slower)"]);
    expect(a.message).toMatch(/needs ~9\.\d\d GiB on NVIDIA GeForce RTX 4070 at --ctx 32768 but 7\.60 GiB is usable/);
  });

  it("weights bigger than the device: only fewer GPU layers help", () => {
    const a = adviseFit(input(4 * GiB), 4096, "GPU");
    expect(a.fixes).toEqual(["--gpu-layers 23 (the other layers run on the CPU, slower)"]);
  });

  it("warns when K and V cache types differ", () => {
    expect(kvTypeWarning("q8_0", "q8_0")).toBeUndefined();
    expect(kvTypeWarning()).toBeUndefined();
    expect(kvTypeWarning("q8_0", "f16")).toMatch(/K and V cache types differ \(K q8_0, V f16\)/);
    expect(kvTypeWarning(undefined, "q4_0")).toMatch(/--cache-type-k f16 --cache-type-v f16/);
  });
});

describe("the device budget and `flint run --ctx`", () => {
  const gpu = (free: number) => ({ type: "gpu" as const, name: "CUDA0", description: "NVIDIA GeForce RTX 4070", freeBytes: free });
  const cpu = { type: "cpu" as const, name: "CPU", description: "AMD EPYC", freeBytes: 64 * GiB };

  it("GPUs' free memory (summed) when layers are offloaded, else host memory", () => {
    expect(deviceBudget([cpu, gpu(8 * GiB), gpu(4 * GiB)], -1, 32 * GiB)).toEqual({ freeBytes: 12 * GiB, device: "NVIDIA GeForce RTX 4070 + NVIDIA GeForce RTX 4070", onGpu: true });
    expect(deviceBudget([cpu, gpu(8 * GiB)], 0, 32 * GiB)).toEqual({ freeBytes: 32 * GiB, device: "host memory", onGpu: false });
    expect(deviceBudget([cpu], -1, 80 * GiB)).toMatchObject({ freeBytes: 64 * GiB, onGpu: false });
  });

  it("--ctx auto picks the largest fitting context and says so", () => {
    const r = fitForRun({ target: q8b, ctx: "auto", run: {}, devices: [cpu, gpu(8 * GiB)], hostAvailable: 32 * GiB });
    expect(r.ctx).toBe(19200);
    expect(r.notes).toEqual([expect.stringMatching(/^flint: --ctx auto: 19200 tokens \(training context 40960; ~7\.\d\d GiB of 7\.60 GiB usable on NVIDIA GeForce RTX 4070\)$/)]);
  });

  it("refuses when nothing fits on the GPU, naming the fix; on host memory it only warns", () => {
    expect(() => fitForRun({ target: q8b, ctx: "auto", run: {}, devices: [gpu(4 * GiB)], hostAvailable: 32 * GiB })).toThrow(FitError);
    expect(() => fitForRun({ target: q8b, ctx: 4096, run: {}, devices: [gpu(4 * GiB)], hostAvailable: 32 * GiB })).toThrow(/--gpu-layers 23/);
    const host = fitForRun({ target: q8b, ctx: 4096, run: { gpuLayers: 0 }, devices: [cpu], hostAvailable: 4 * GiB });
    expect(host.ctx).toBe(4096);
    expect(host.notes[0]).toMatch(/^flint: warning: the model needs/);
  });

  it("an explicit context that fits passes silently; one that does not warns with the fixes; mixed K/V types warn", () => {
    expect(fitForRun({ target: q8b, ctx: 8192, run: {}, devices: [gpu(8 * GiB)], hostAvailable: 0 })).toEqual({ ctx: 8192, notes: [] });
    expect(fitForRun({ target: q8b, ctx: undefined, run: {}, devices: [gpu(8 * GiB)], hostAvailable: 0 })).toEqual({ ctx: undefined, notes: [] });
    // past the training context: left to the context's own error
    expect(fitForRun({ target: q8b, ctx: 99999999, run: {}, devices: [gpu(8 * GiB)], hostAvailable: 0 })).toEqual({ ctx: 99999999, notes: [] });
    const big = fitForRun({ target: q8b, ctx: 32768, run: {}, devices: [gpu(8 * GiB)], hostAvailable: 0 });
    expect(big.notes[0]).toMatch(/what fits: --ctx 19200, or --cache-type-k q8_0/);
    expect(fitForRun({ target: q8b, ctx: 4096, run: { cacheTypeK: "q8_0" }, devices: [gpu(8 * GiB)], hostAvailable: 0 }).notes[0]).toMatch(/^flint: warning: K and V cache types differ/);
  });

  it("--ctx auto on a model without shape metadata asks for --ctx N", () => {
    expect(() => fitForRun({ target: { architecture: "x", dataBytes: 10 }, ctx: "auto", run: {}, devices: [gpu(8 * GiB)], hostAvailable: 0 })).toThrow(/cannot size this model.*pass --ctx N/);
    expect(fitForRun({ target: { architecture: "x", dataBytes: 10 }, ctx: 512, run: {}, devices: [gpu(8 * GiB)], hostAvailable: 0 })).toEqual({ ctx: 512, notes: [] });
  });
});
