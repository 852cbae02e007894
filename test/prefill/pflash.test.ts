// Compressed prefill: the target evaluates only kept prompt tokens, at their original positions, and
// decoding continues at the original prompt length; PFlash plans it from the scorer, never below the
// threshold in auto; scorers with another vocabulary see the prompt re-tokenized by text.
//
// Near-tie rule for the speculative checks (as in test/spec/dflash.test.ts): at the first token where
// speculative and plain decoding differ, plain decoding's top-2 logits must be within 5e-3.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { registerRun } from "../../src/cli/run.js";
import { Context } from "../../src/engine/context.js";
import { checkKeep, drain, generate, generateText, prefillKept, type GenerateEvent, type GenerateResult } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { UserError } from "../../src/native/errors.js";
import { loadPrefill, type PFlash } from "../../src/prefill/pflash.js";
import { mapImportance } from "../../src/prefill/retokenize.js";
import { selectChunks } from "../../src/prefill/select.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import type { Drafter } from "../../src/spec/drafter.js";
import { generateSpeculative, type SpecResult } from "../../src/spec/generate-spec.js";
import { NgramDrafter } from "../../src/spec/ngram-drafter.js";
import { captureCommands } from "../helpers/cli-capture.js";
import { testModelDir, tinyDrafterPath, tinyModelPath } from "../helpers/models.js";
import { otherVocabScorerPath } from "./helpers.js";

let targetPath: string;
let target: Model;
let ctx: Context;
const toFree: { free(): void }[] = [];

beforeAll(async () => {
  targetPath = await tinyModelPath();
  target = Model.load(targetPath, { gpuLayers: 0 });
  ctx = Context.create(target, { ctx: 2048, threads: 1 });
});
afterAll(() => {
  for (const f of toFree.reverse()) f.free();
  ctx?.free();
  target?.free();
});

const WORDS = ["alpha", "river", "stone", "quiet", "number", "seven", "over", "under", "the", "code", "blue", "light", "and", "a", "garden"];
function promptText(words: number, seed = 1): string {
  let s = seed;
  const out: string[] = [];
  while (out.length < words) {
    s = (s * 1103515245 + 12345) >>> 0;
    out.push(WORDS[(s >>> 8) % WORDS.length]);
  }
  return out.join(" ");
}

function argmax(x: Float32Array): number {
  let a = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[a]) a = i;
  return a;
}

/** Greedy decoding after prefillKept, one step at a time from prompt.length; records the top-2 gap of
 *  every token. */
function keptReference(c: Context, prompt: Int32Array, keep: Int32Array, n: number): { tokens: number[]; gaps: number[] } {
  c.clear();
  let logits = prefillKept(c, prompt, keep, 0, 0);
  const tokens: number[] = [];
  const gaps: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = argmax(logits);
    let second = -Infinity;
    for (let v = 0; v < logits.length; v++) if (v !== a && logits[v] > second) second = logits[v];
    tokens.push(a);
    gaps.push(logits[a] - second);
    if (i < n - 1) logits = c.step(a, prompt.length + i);
  }
  return { tokens, gaps };
}


/** A keep list with gaps: head/tail chunks plus every third chunk. */
function gappyKeep(n: number): Int32Array {
  const imp = Float32Array.from({ length: n }, (_, i) => (Math.floor(i / 32) % 3 === 0 ? 1 : 0));
  return selectChunks(imp, { keepRatio: 0.4 }).keep;
}

describe("compressed prefill in generate()", () => {
  it("evaluates the kept tokens, moves them to their original positions and decodes from prompt.length", async () => {
    const prompt = target.vocab.tokenize(promptText(400));
    const n = prompt.length;
    const keep = gappyKeep(n);
    expect(keep.length).toBeLessThan(n);
    const firstGap = checkKeep(n, keep, 0);
    expect(firstGap).toBe(64); // chunks 0 and 1 are the head; chunk 2 is not kept
    const it = generate(ctx, prompt, { temperature: 0, maxTokens: 6, ignoreEog: true, keep });
    const posMax: number[] = [];
    let r: IteratorResult<GenerateEvent, GenerateResult>;
    for (;;) {
      r = await it.next();
      if (r.done) break;
      if (r.value.token < 0) continue; // held-back text released at the end
      posMax.push(ctx.native.seqPosMax(0));
      expect(ctx.native.seqPosMin(0)).toBe(0);
    }
    // generate() starts decoding each token before handing it out, so when token i is seen it sits at
    // n + i; the last one (maxTokens reached) is not decoded
    expect(posMax).toEqual([n, n + 1, n + 2, n + 3, n + 4, n + 4]);
    const result = r.value;
    expect(result.promptTokens).toBe(n);
    // only the prefix before the first skipped token is reusable; the rest was dropped
    expect(result.kvTokens).toBe(firstGap);
    expect(ctx.native.seqPosMax(0)).toBe(firstGap - 1);
    // the first token comes from the kept tokens evaluated as one gap-closed prompt (libllama takes
    // only consecutive positions): the same logits as a plain prefill of just those tokens
    const kept = Int32Array.from(keep, (k) => prompt[k]);
    ctx.clear();
    const direct = ctx.prefill(kept).slice();
    ctx.clear();
    const first = prefillKept(ctx, prompt, keep, 0, 0).slice();
    expect(Array.from(first)).toEqual(Array.from(direct));
    // after the move the cache holds every kept token at its original position: positions 0..n-1
    // minus the gaps, so the next step at n sees other distances than one at keep.length would
    expect(ctx.native.seqPosMax(0)).toBe(n - 1);
    expect(ctx.native.seqPosMin(0)).toBe(0);
    const tok = argmax(first);
    expect(result.tokens[0]).toBe(tok);
    const moved = ctx.step(tok, n).slice();
    ctx.clear();
    ctx.prefill(kept);
    const packed = ctx.step(tok, kept.length).slice();
    let diff = 0;
    for (let v = 0; v < packed.length; v++) diff = Math.max(diff, Math.abs(packed[v] - moved[v]));
    expect(diff).toBeGreaterThan(1e-3);
    expect(result.tokens[1]).toBe(argmax(moved));
  });

  it("rejects keep lists that do not end with the last prompt token or are not ascending", async () => {
    const prompt = target.vocab.tokenize(promptText(50));
    const n = prompt.length;
    await expect(generateText(ctx, prompt, { maxTokens: 1, keep: Int32Array.of(0, 1) })).rejects.toThrow(/last prompt index/);
    await expect(generateText(ctx, prompt, { maxTokens: 1, keep: Int32Array.of(3, 2, n - 1) })).rejects.toThrow(/ascending/);
  });

  it("keeps working with speculative decoding (n-gram and DFlash drafters) after a compressed prefill", async () => {
    const prompt = target.vocab.tokenize(promptText(300, 5));
    const keep = gappyKeep(prompt.length);
    const nTok = 24;
    const draftModel = Model.load(await tinyDrafterPath(), { gpuLayers: 0 });
    toFree.push(draftModel);
    const tctx = Context.create(target, { ctx: 2048, threads: 1 });
    toFree.push(tctx);
    const ref = keptReference(ctx, prompt, keep, nTok);
    const drafters: Drafter[] = [new NgramDrafter(), new DFlashDrafter(tctx, draftModel, { topK: 1, threads: 1 })];
    for (const d of drafters) {
      toFree.push(d);
      const r: SpecResult = await drain(generateSpeculative(tctx, d, prompt, { temperature: 0, maxTokens: nTok, ignoreEog: true, keep, budget: 4 }));
      expect(r.spec.steps).toBeGreaterThan(0);
      expect(r.kvTokens).toBe(checkKeep(prompt.length, keep, 0));
      const i = r.tokens.findIndex((t, k) => t !== ref.tokens[k]);
      if (i >= 0) expect(ref.gaps[i], `${d.name}: token ${i} differs`).toBeLessThan(5e-3);
      else expect(r.tokens).toEqual(ref.tokens);
    }
  });
});

describe("PFlash planning", () => {
  let same: PFlash;
  beforeAll(async () => {
    same = (await loadPrefill({ compression: "always", keepRatio: 1, scorer: targetPath, scorerDevice: "cpu", threads: 1, scorerChunk: 64 }, targetPath))!;
    toFree.push(same);
  });

  it("with keep ratio 1 keeps every token, and greedy output equals plain output", async () => {
    const prompt = target.vocab.tokenize(promptText(300, 9));
    const plan = same.plan(target, prompt)!;
    expect(plan.keep.length).toBe(prompt.length);
    expect(plan.report).toMatchObject({ promptTokens: prompt.length, keptTokens: prompt.length, keepRatio: 1 });
    expect(plan.report.scorer.retokenized).toBe(false);
    expect(plan.report.scorerMs).toBeGreaterThan(0);
    const a = await generateText(ctx, prompt, { temperature: 0, maxTokens: 24, ignoreEog: true, keep: plan.keep });
    const b = await generateText(ctx, prompt, { temperature: 0, maxTokens: 24, ignoreEog: true });
    expect(a.tokens).toEqual(b.tokens);
    expect(a.kvTokens).toBe(b.kvTokens);
  });

  it("auto compresses only at or above the threshold, and only with a scorer", async () => {
    const prompt = target.vocab.tokenize(promptText(200, 2));
    const auto = (await loadPrefill({ compression: "auto", threshold: prompt.length + 1, keepRatio: 0.25, scorer: targetPath, scorerDevice: "cpu", threads: 1 }, targetPath))!;
    toFree.push(auto);
    expect(auto.plan(target, prompt)).toBeUndefined();
    const at = (await loadPrefill({ compression: "auto", threshold: prompt.length, keepRatio: 0.25, scorer: targetPath, scorerDevice: "cpu", threads: 1 }, targetPath))!;
    toFree.push(at);
    const plan = at.plan(target, prompt)!;
    const nChunks = Math.ceil(prompt.length / 32);
    expect(plan.keep.length).toBeLessThan(prompt.length);
    expect(new Set(Array.from(plan.keep, (i) => Math.floor(i / 32))).size).toBe(Math.max(4, Math.ceil(nChunks * 0.25)));
    expect(plan.keep[plan.keep.length - 1]).toBe(prompt.length - 1);
    expect(await loadPrefill({ compression: "auto" }, targetPath)).toBeUndefined();
    expect(await loadPrefill({ compression: "off", scorer: targetPath }, targetPath)).toBeUndefined();
    await expect(loadPrefill({ compression: "always" }, targetPath)).rejects.toThrow(/needs a scorer/);
    await expect(loadPrefill({ compression: "auto", keepRatio: 2, scorer: targetPath }, targetPath)).rejects.toThrow(UserError);
  });

  it("refuses a bad scorer file with a UserError", async () => {
    const { writeFileSync } = await import("node:fs");
    const junk = `${testModelDir}/not-a-scorer.gguf`;
    writeFileSync(junk, "GGUF but not really");
    await expect(loadPrefill({ compression: "always", scorer: junk }, targetPath)).rejects.toThrow(UserError);
    await expect(loadPrefill({ compression: "always", scorer: `${testModelDir}/nope.gguf` }, targetPath)).rejects.toThrow(UserError);
    await expect(loadPrefill({ compression: "always", scorer: await tinyDrafterPath(), scorerDevice: "cpu" }, targetPath)).rejects.toThrow(/qwen3/);
  });
});

describe("scorer with another vocabulary", () => {
  it("maps importance by byte offsets", () => {
    // target tokens: "ab" "c" "" "def"; scorer tokens: "a" "bcd" "ef"
    const t = Int32Array.of(2, 3, 3, 6);
    const s = Int32Array.of(1, 4, 6);
    expect(Array.from(mapImportance(t, s, Float32Array.of(0.1, 0.5, 0.2)))).toEqual([0.5, 0.5, 0.5, 0.5].map(Math.fround));
    expect(Array.from(mapImportance(t, s, Float32Array.of(0.9, 0.1, 0.3)))).toEqual([0.9, 0.1, 0.1, 0.3].map(Math.fround));
    // totals that disagree are scaled onto the target's bytes
    expect(Array.from(mapImportance(Int32Array.of(5, 10), Int32Array.of(1, 2), Float32Array.of(1, 2)))).toEqual([1, 2]);
  });

  it("re-tokenizes the prompt by text for the scorer and plans for the target's tokens", async () => {
    const pf = (await loadPrefill({ compression: "always", keepRatio: 0.25, scorer: await otherVocabScorerPath(), scorerDevice: "cpu", threads: 1, scorerChunk: 64 }, targetPath))!;
    toFree.push(pf);
    expect(pf.scorer.info.vocab).not.toBe(target.info.nVocab);
    const text = `<|im_start|>user\n${promptText(250, 4)} naïve café 日本<|im_end|>\n<|im_start|>assistant\n`;
    const prompt = target.vocab.tokenize(text);
    const plan = pf.plan(target, prompt)!;
    expect(plan.report.scorer.retokenized).toBe(true);
    // fewer merges: the same text takes more scorer tokens
    expect(plan.report.scorer.scorerTokens).toBeGreaterThan(prompt.length);
    expect(plan.keep[plan.keep.length - 1]).toBe(prompt.length - 1);
    for (let i = 1; i < plan.keep.length; i++) expect(plan.keep[i]).toBeGreaterThan(plan.keep[i - 1]);
    const r = await generateText(ctx, prompt, { temperature: 0, maxTokens: 8, ignoreEog: true, keep: plan.keep });
    expect(r.tokens.length).toBe(8);
  });
});

describe("flint run --prefill-compression", () => {
  const { state, run } = captureCommands(registerRun);
  let stderr = "";
  beforeAll(() => {
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => {
      stderr += String(s);
      return true;
    });
  });
  const json = () => JSON.parse(state.stdout.trim().split("\n").pop()!) as { tokenIds: number[]; promptTokens: number; prefill?: Record<string, number> };
  const base = () => ["run", "--model", targetPath, "--prompt", promptText(120, 3), "--temperature", "0", "-n", "12", "--ignore-eos", "--threads", "1", "--gpu-layers", "0", "--json"];

  it("always with keep ratio 1 gives the plain greedy output and reports prefill", async () => {
    await run(...base());
    const plain = json();
    expect(plain.prefill).toBeUndefined();
    state.stdout = "";
    stderr = "";
    await run(...base(), "--prefill-compression", "always", "--keep-ratio", "1", "--scorer", targetPath);
    const pf = json();
    expect(pf.tokenIds).toEqual(plain.tokenIds);
    expect(pf.prefill).toMatchObject({ promptTokens: plain.promptTokens, keptTokens: plain.promptTokens, keepRatio: 1 });
    expect(stderr).toMatch(/PFlash kept \d+ of \d+ prompt tokens/);
  });

  it("auto leaves a prompt below the threshold untouched", async () => {
    stderr = "";
    await run(...base(), "--scorer", targetPath, "--prefill-threshold", "100000");
    expect(json().prefill).toBeUndefined();
    expect(stderr).not.toMatch(/PFlash/);
  });

  it("a bad --scorer is a clear error before anything runs", async () => {
    await expect(run(...base(), "--prefill-compression", "always", "--scorer", `${testModelDir}/missing-scorer.gguf`)).rejects.toThrow(UserError);
    await expect(run(...base(), "--prefill-compression", "always")).rejects.toThrow(/--scorer/);
  });
});
