// Single suites outside smoke: decode with a draft-model drafter and a mode filter, niah alone (no
// shared harness), the baseline section when LLAMA_BIN_DIR is unset, and a failing equality check.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runBench } from "../../src/bench/bench.js";
import { Harness } from "../../src/bench/harness.js";
import { generateText } from "../../src/engine/generate.js";
import { runDecodeSuite, encodePrompts } from "../../src/bench/decode.js";
import { benchProgress } from "../../src/bench/progress.js";
import { loadPrompts } from "../../src/bench/prompts.js";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-bench-suites-"));

describe("bench suites", () => {
  it("decode with a draft model (the target drafting for itself) and --modes: plain + the chosen modes", async () => {
    const t = await tinyModelPath();
    const { results } = await runBench({ suite: "decode", model: t, draft: t, prompts: "chat", limit: 2, tokens: 12, modes: ["draft-model", "oracle"], gpuLayers: 0, threads: 1, out: path.join(dir, "decode"), quiet: true, env: {} });
    expect(results.ok).toBe(true);
    expect(results.decode!.modes.map((m) => m.mode)).toEqual(["ar", "draft-model", "oracle"]);
    const dm = results.decode!.modes.find((m) => m.mode === "draft-model")!;
    // a random tiny model is rarely confident enough (0.3) to draft: only the counts are checked
    expect(dm.drafter).toBe("draft-model");
    expect(dm.meanAcceptedLength).toBeGreaterThanOrEqual(1);
    expect(dm.equality.compared).toBe(2);
    expect(dm.equality.mismatches).toBe(0);
    expect(results.baseline).toBeUndefined();
    await expect(runBench({ suite: "decode", model: t, prompts: "chat", limit: 1, tokens: 4, modes: ["ddtree"], gpuLayers: 0, threads: 1, out: path.join(dir, "x"), quiet: true, env: {} })).rejects.toThrow(/unknown or unavailable decode modes: ddtree/);
  });

  it("a carried auto mode keeps one controller across runs (as flint serve across requests) until resetControllers", async () => {
    const h = await Harness.open({ modelPath: await tinyModelPath(), draftPath: await tinyDrafterPath(), gpuLayers: 0, threads: 1, flashAttn: "auto", sampling: "host" });
    try {
      const prompt = h.target.vocab.tokenize("def add(a, b):");
      const carried = { mode: "dflash-chain-auto-carried", label: "", drafter: "dflash", shape: "chain", budget: "auto", treeK: 1, simulated: false, carried: true } as const;
      const fresh = { ...carried, mode: "dflash-chain-auto", carried: false };
      await h.run(fresh, prompt, 12);
      expect(h.controllerOf(fresh.mode)).toBeUndefined();
      await h.run(carried, prompt, 12);
      const c = h.controllerOf(carried.mode)!;
      // random drafts: most steps are plain, each one a plain-step cost observation
      const seen = c.tAr.count;
      expect(seen).toBeGreaterThan(0);
      await h.run(carried, prompt, 12);
      expect(h.controllerOf(carried.mode)).toBe(c);
      expect(c.tAr.count).toBeGreaterThan(seen);
      h.resetControllers();
      expect(h.controllerOf(carried.mode)).toBeUndefined();
    } finally {
      h.free();
    }
  });

  it("--baseline llama without LLAMA_BIN_DIR records why it did not run", async () => {
    const t = await tinyModelPath();
    const { results } = await runBench({ suite: "decode", model: t, prompts: "math", limit: 1, tokens: 6, modes: ["ngram"], baseline: "llama", gpuLayers: 0, threads: 1, out: path.join(dir, "base"), quiet: true, env: {} });
    expect(results.baseline).toEqual({ ran: false, skipped: "LLAMA_BIN_DIR is not set" });
    expect(results.notes).toContain("llama.cpp baseline not run: LLAMA_BIN_DIR is not set.");
  });

  it("niah alone runs runNiah with the scorer and reports needle-kept and TTFT rows", async () => {
    const t = await tinyModelPath();
    const { results } = await runBench({ suite: "niah", model: t, scorer: t, niahContexts: [256], niahTrials: 1, keepRatio: 0.5, gpuLayers: 0, threads: 1, out: path.join(dir, "niah"), quiet: true, env: {} });
    expect(results.niah?.available).toBe(true);
    expect(results.rows.map((r) => `${r.metric}:${r.mode}`)).toEqual(["retrieval_rate:full", "retrieval_rate:pflash", "needle_kept_rate:pflash", "ttft_ms:pflash"]);
    expect(results.decode).toBeUndefined();
  });

  it("a speculative output that differs from plain decoding at a clear margin fails the run", async () => {
    const h = await Harness.open({ modelPath: await tinyModelPath(), gpuLayers: 0, threads: 1, flashAttn: "auto", sampling: "host" });
    try {
      const { encoded } = encodePrompts(h, loadPrompts("coding", 1), 24, h.context("main").nCtx);
      // a broken "drafter" mode: plain decoding whose recorded tokens are then tampered with
      const realRun = h.run.bind(h);
      h.run = async (m, p, n, ref) => {
        const r = await realRun(m, p, n, ref);
        if (m.mode === "broken") r.tokens = r.tokens.map((x, i) => (i === 3 ? (x + 1) % 1000 : x));
        return r;
      };
      const d = await runDecodeSuite(h, { prompts: encoded, tokens: 8, modes: [{ mode: "broken", label: "broken", drafter: "none", shape: "chain", treeK: 1, simulated: false }], progress: benchProgress(process.stderr, {}, true) });
      expect(d.failures).toHaveLength(1);
      expect(d.failures[0]).toMatch(/^broken on coding-py-rle: token 3 is \d+, plain decoding chose \d+ \(logit gap [0-9.e+-]+, measured rounding [0-9.e+-]+\)$/);
      expect(d.section.modes[1].equality).toEqual({ compared: 1, equal: 0, nearTies: 0, mismatches: 1 });
      expect(d.section.divergences[0]).toMatchObject({ index: 3, nearTie: false });
    } finally {
      h.free();
    }
  });

  it("measures how batched evaluation moves the logits of a position (the near-tie bound)", async () => {
    const h = await Harness.open({ modelPath: await tinyModelPath(), gpuLayers: 0, threads: 1, flashAttn: "auto", sampling: "host" });
    try {
      const ctx = h.context("main-host");
      const prompt = h.target.vocab.tokenize("def fibonacci(n):\n    if n < 2:\n");
      const plain = await generateText(ctx, prompt, { temperature: 0, maxTokens: 24, ignoreEog: true });
      // the runner-up at token 20 in plain decoding's own logits
      ctx.truncate(0, 0);
      let logits = ctx.prefill(prompt);
      for (let j = 0; j < 20; j++) logits = ctx.step(plain.tokens[j], prompt.length + j);
      const order = Array.from(logits.keys()).sort((a, b) => logits[b] - logits[a]);
      expect(order[0]).toBe(plain.tokens[20]);
      const gap12 = logits[order[0]] - logits[order[1]];
      const r = h.roundingAt("main", prompt, plain.tokens, 20, order[1]);
      expect(r.gap).toBeCloseTo(gap12, 6);
      expect(Number.isFinite(r.eps) && r.eps >= 0).toBe(true);
      // CPU F16 kernels: batched and single rows agree closely, far inside the logits' spread
      expect(r.eps).toBeLessThan(0.05);
      // it leaves the context as it found the reference: the same answer again
      expect(h.roundingAt("main", prompt, plain.tokens, 20, order[1])).toEqual(r);
    } finally {
      h.free();
    }
  });
});
