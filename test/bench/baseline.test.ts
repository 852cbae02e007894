// Parsing llama.cpp's outputs, from recorded samples (llama-bench -o json and llama-server /completion
// of the CPU build of de3ff81 on a generated tiny model), and the ratio convention.
import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { aggregateServer, findLlamaTools, parseLlamaBenchJson, parseServerCompletion } from "../../src/bench/baseline.js";
import { ratioOf } from "../../src/bench/results.js";

const fixture = (f: string) => readFileSync(path.join(import.meta.dirname, "fixtures", f), "utf8");

describe("llama.cpp baseline parsing", () => {
  it("llama-bench -o json: tg and pp tests with their mean tokens/s", () => {
    const tg = parseLlamaBenchJson(fixture("llama-bench-tg.json"));
    expect(tg).toEqual([{ test: "tg32", nPrompt: 0, nGen: 32, tokensPerSecond: 15007.072685, stddev: 921.04585, buildCommit: "de3ff81" }]);
    const pp = parseLlamaBenchJson(fixture("llama-bench-pp.json"));
    expect(pp.map((r) => [r.test, r.tokensPerSecond])).toEqual([["pp64", 84147.207771], ["pp128", 78355.519696]]);
  });

  it("llama-bench output with log lines before the JSON still parses; garbage does not", () => {
    expect(parseLlamaBenchJson("load_backend: loaded CPU backend\n" + fixture("llama-bench-tg.json"))[0].test).toBe("tg32");
    expect(() => parseLlamaBenchJson("error: failed to load model")).toThrow(/no JSON/);
    expect(() => parseLlamaBenchJson('[{"n_prompt": 1}]')).toThrow();
  });

  it("llama-server /completion timings (with DFlash draft counts) and their aggregate", () => {
    const r = parseServerCompletion(JSON.parse(fixture("llama-server-dflash.json")));
    expect(r).toMatchObject({ predictedN: 24, predictedMs: 32.021, promptN: 15, draftN: 225, draftAccepted: 0 });
    expect(r.tokens).toHaveLength(24);
    const plain = { predictedN: 100, predictedMs: 400 };
    const agg = aggregateServer([r, plain]);
    expect(agg.tokensPerSecond).toBeCloseTo((124 * 1000) / 432.021, 9);
    expect(agg).toMatchObject({ draftN: 225, draftAccepted: 0 });
    expect(aggregateServer([plain])).toEqual({ tokensPerSecond: 250 });
    expect(() => parseServerCompletion({ content: "x" })).toThrow();
  });

  it("ratios: > 1 means flint is faster, for rates and for times", () => {
    expect(ratioOf(240, 260, true)).toBeCloseTo(240 / 260, 12);
    expect(ratioOf(50, 100, false)).toBe(2);
    expect(ratioOf(null, 100, true)).toBeNull();
    expect(ratioOf(10, 0, true)).toBeNull();
  });

  it("finds the tools only through LLAMA_BIN_DIR", () => {
    expect(findLlamaTools({})).toEqual({ missing: "LLAMA_BIN_DIR is not set" });
    expect(findLlamaTools({ LLAMA_BIN_DIR: "/nonexistent" })).toEqual({ missing: "no llama-bench or llama-server in LLAMA_BIN_DIR=/nonexistent" });
  });
});
