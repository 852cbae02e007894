import { describe, expect, it } from "vitest";
import { Model } from "../../src/engine/model.js";
import { buildHaystack, loadFiller, runNiah } from "../../src/prefill/niah.js";
import { tinyModelPath } from "../helpers/models.js";

describe("NIAH haystacks", () => {
  const paragraphs = loadFiller();
  const words = (t: string) => t.split(/\s+/).filter(Boolean).length;

  it("has about 20 KB of filler in many paragraphs", () => {
    expect(paragraphs.length).toBeGreaterThan(30);
    expect(paragraphs.join("\n\n").length).toBeGreaterThan(18000);
  });

  it("puts a seeded needle at the asked depth and the question at the end", () => {
    const a = buildHaystack(paragraphs, 2000, words, 7, 0.5);
    const b = buildHaystack(paragraphs, 2000, words, 7, 0.5);
    expect(a.text).toBe(b.text);
    expect(a.text).toContain(`The secret code for ${a.key} is ${a.value}.`);
    expect(a.value).toMatch(/^\d{6}$/);
    expect(a.text.endsWith(`Answer: The secret code for ${a.key} is`)).toBe(true);
    expect(words(a.text)).toBeLessThanOrEqual(2000);
    expect(words(a.text)).toBeGreaterThan(1950);
    const at = a.text.indexOf("The secret code");
    expect(at / a.text.length).toBeGreaterThan(0.4);
    expect(at / a.text.length).toBeLessThan(0.6);
    expect(buildHaystack(paragraphs, 2000, words, 7, 0).text.startsWith("The secret code")).toBe(true);
    expect(buildHaystack(paragraphs, 2000, words, 8).key).not.toBe("");
    // longer than the filler: paragraphs repeat, the size still follows the request
    expect(words(buildHaystack(paragraphs, 9000, words, 3).text)).toBeGreaterThan(8000);
  });
});

describe("runNiah", () => {
  it("measures kept needle, retrieval and TTFT with and without PFlash", async () => {
    const model = await tinyModelPath();
    const rows = await runNiah({ model, scorer: model, contexts: [600, 1200], keepRatio: 0.2, depths: [0.3, 0.7], maxTokens: 4, threads: 1, gpuLayers: 0, scorerChunk: 128 });
    expect(rows).toHaveLength(2);
    const m = Model.load(model, { gpuLayers: 0 });
    try {
      for (const r of rows) {
        expect(r.promptTokens).toBeGreaterThan(r.context * 0.9); // filled to the sentence
        expect(r.promptTokens).toBeLessThanOrEqual(r.context + 8);
        expect(r.needleSpan[1]).toBeGreaterThan(r.needleSpan[0]);
        expect(r.full!.ttftMs).toBeGreaterThan(0);
        expect(typeof r.full!.retrieved).toBe("boolean");
        const p = r.pflash!;
        expect(p.prefill.promptTokens).toBe(r.promptTokens);
        expect(p.prefill.keptTokens).toBeLessThan(r.promptTokens);
        expect(p.needleKeptFraction).toBeGreaterThanOrEqual(0);
        expect(p.needleKeptFraction).toBeLessThanOrEqual(1);
        expect(p.needleKept).toBe(p.needleKeptFraction === 1);
        expect(p.ttftMs).toBeGreaterThan(0);
      }
      expect(rows.map((r) => r.depth)).toEqual([0.3, 0.7]);
    } finally {
      m.free();
    }
  });
});
