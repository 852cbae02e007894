// `flint bench --suite smoke` end to end on generated models (CPU, one thread): it writes results.json
// that passes its schema, a markdown report with the suite tables, and SVG charts that parse as XML
// with the expected marks; every speculative output equals plain decoding (or is a counted near tie).
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerBench } from "../../src/cli/bench.js";
import { ResultsSchema, type BenchResults } from "../../src/bench/results.js";
import { captureCommands } from "../helpers/cli-capture.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-bench-smoke-"));
const out = path.join(dir, "out");
const saved = process.env.FLINT_CACHE_DIR;
const { run } = captureCommands(registerBench);
let results: BenchResults;

type Node = Record<string, unknown>;
const asArray = <T>(x: T | T[] | undefined): T[] => (x === undefined ? [] : Array.isArray(x) ? x : [x]);

describe("flint bench --suite smoke", () => {
  beforeAll(async () => {
    // the smoke models are generated into the cache directory: a fresh one
    process.env.FLINT_CACHE_DIR = path.join(dir, "cache");
    await run("bench", "--suite", "smoke", "--out", out);
    results = ResultsSchema.parse(JSON.parse(readFileSync(path.join(out, "results.json"), "utf8")));
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.FLINT_CACHE_DIR;
    else process.env.FLINT_CACHE_DIR = saved;
  });

  it("writes schema-valid results with every suite, and passes", () => {
    expect(results.suite).toBe("smoke");
    expect(results.ok).toBe(true);
    expect(results.failures).toEqual([]);
    expect(results.llamaCpp.commit).toBe("de3ff81");
    expect(results.models.target.randomWeights).toBe(true);
    expect(results.models.draft?.architecture).toBe("dflash");
    expect(new Set(results.rows.map((r) => r.suite))).toEqual(new Set(["decode", "sweep", "prefill", "niah"]));
    for (const r of results.rows) expect(r.ratio === null || r.baseline !== null).toBe(true);
  });

  it("decode: plain decoding and every mode of a dflash pair, each compared with plain decoding", () => {
    const d = results.decode!;
    expect(d.modes.map((m) => m.mode)).toEqual(["ar", "ar-fa-off", "ngram", "ngram-auto", "dflash-chain", "dflash-auto", "spec-auto", "ddtree", "oracle"]);
    for (const m of d.modes) {
      expect(m.tokensPerSecond).toBeGreaterThan(0);
      expect(m.tokens).toBe(d.prompts.length * d.tokensPerPrompt);
      if (m.shape === "ar") continue;
      expect(m.equality.compared).toBe(d.prompts.length);
      expect(m.equality.equal + m.equality.nearTies).toBe(d.prompts.length);
      expect(m.equality.mismatches).toBe(0);
    }
    const oracle = d.modes.find((m) => m.mode === "oracle")!;
    expect(oracle.simulated).toBe(true);
    expect(oracle.meanAcceptedLength).toBeGreaterThan(1.5);
    expect(oracle.acceptanceByDepth.length).toBe(15);
    const tree = d.modes.find((m) => m.mode === "ddtree")!;
    expect(tree.flashAttn).toBe("off");
    expect(results.rows.find((r) => r.mode === "oracle" && r.metric === "tokens_per_second")?.simulated).toBe(true);
  });

  it("sweep: fixed chain and tree budgets, auto, and a best choice among the measured fixed points", () => {
    const s = results.sweep!;
    const budgets = (drafter: string, shape: string) => s.points.filter((p) => p.drafter === drafter && p.shape === shape).map((p) => p.budget);
    // auto four times: a fresh controller per prompt, one carried across the prompts
    // (controllerCarried), and the same two with the n-gram assist (as --spec auto runs them)
    expect(budgets("dflash", "chain")).toEqual([1, 4, 15, "auto", "auto", "auto", "auto"]);
    expect(s.points.filter((p) => p.controllerCarried).map((p) => p.drafter)).toEqual(["dflash", "dflash", "ngram", "oracle"]);
    const assisted = s.points.filter((p) => p.ngramAssist);
    expect(assisted.map((p) => [p.drafter, p.budget, p.controllerCarried ?? false])).toEqual([["dflash", "auto", false], ["dflash", "auto", true]]);
    for (const p of assisted) expect(p.ngramAssist!.steps + p.ngramAssist!.shadowProbes).toBeGreaterThan(0);
    for (const p of s.points.filter((x) => x.budget === "auto")) expect(p.controller?.acceptance.length).toBeGreaterThan(0);
    expect(budgets("dflash", "tree")).toEqual([4, 16, "auto"]);
    expect(Object.keys(s.verifyMsByRows).map(Number).sort((a, b) => a - b)).toEqual([1, 2, 5, 16]);
    expect(Object.keys(s.treeVerifyMsByRows).map(Number).sort((a, b) => a - b)).toEqual([5, 17]);
    expect(s.verifyMsByRows["16"]).toBeGreaterThan(0);
    const fixed = s.points.filter((p) => p.budget !== "auto" && !p.simulated);
    expect(s.best.tokensPerSecond).toBe(Math.max(...fixed.map((p) => p.tokensPerSecond)));
  });

  it("prefill and niah: TTFT per length for full prefill and PFlash; NIAH rows from runNiah", () => {
    const p = results.prefill!;
    expect(p.points.filter((x) => x.method === "full").map((x) => x.contextTokens)).toEqual([64, 128, 256]);
    expect(p.pflash.available).toBe(true);
    expect(p.points.filter((x) => x.method === "pflash")).toHaveLength(3);
    expect(results.niah?.available).toBe(true);
    expect(results.rows.some((r) => r.suite === "niah" && r.metric === "needle_kept_rate")).toBe(true);
  });

  it("report.md has the tables; every chart is well-formed SVG with its marks", () => {
    const md = readFileSync(path.join(out, "report.md"), "utf8");
    for (const h of ["# flint bench: smoke", "## Decode", "## Budget sweep", "## Prefill", "## Needle in a haystack", "simulated acceptance", "| mode | tok/s |"]) expect(md).toContain(h);
    const svgs = readdirSync(out).filter((f) => f.endsWith(".svg")).sort();
    expect(svgs).toEqual(["decode-tokens-per-second.svg", "prefill-ttft.svg", "sweep-tokens-per-second.svg", "sweep-verify-cost.svg"]);
    expect([...results.charts].sort()).toEqual(svgs);
    const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@" });
    for (const f of svgs) {
      const text = readFileSync(path.join(out, f), "utf8");
      expect(XMLValidator.validate(text), f).toBe(true);
      const svg = parser.parse(text).svg as Node;
      expect(String(svg.title)).not.toBe("");
      const labels = asArray(svg.text as Node[]).map((t) => t["@class"]);
      expect(labels).toEqual(expect.arrayContaining(["title", "x-label", "y-label"]));
      const groups = asArray(svg.g as Node[]);
      if (f.startsWith("decode")) {
        const bars = asArray((groups.find((g) => g["@class"] === "bars") as Node).rect as Node[]);
        expect(bars).toHaveLength(results.decode!.modes.length);
      } else {
        expect(groups.filter((g) => g["@class"] === "series").length).toBeGreaterThanOrEqual(2);
      }
    }
  });
});
