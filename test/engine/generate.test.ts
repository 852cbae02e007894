import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { generateText, StopMatcher } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { TokenTextDecoder } from "../../src/engine/vocab.js";
import { tinyModelPath } from "../helpers/models.js";

let model: Model;
let ctx: Context;

beforeAll(async () => {
  model = Model.load(await tinyModelPath(), { gpuLayers: 0 });
  ctx = Context.create(model, { ctx: 512, threads: 1 });
});
afterAll(() => {
  ctx?.free();
  model?.free();
});

describe("tokenizer", () => {
  const texts = [
    "Hello, world!",
    "  leading spaces and\ttabs\nnew lines\r\n",
    "def f(x):\n    return x ** 2  # square",
    "naïve café — déjà vu",
    "日本語のテキストと中文",
    "emoji 🚀🔥 and ZWJ 👩‍💻",
    "",
  ];
  for (const text of texts) {
    it(`round-trips ${JSON.stringify(text).slice(0, 30)}`, () => {
      const toks = model.vocab.tokenize(text, { addSpecial: false, parseSpecial: false });
      expect(model.vocab.detokenize(toks)).toBe(text);
      // piecewise streaming decode gives the same text, even when a character spans tokens
      const dec = new TokenTextDecoder(model.vocab);
      let s = "";
      for (const t of toks) s += dec.push(t);
      expect(s + dec.flush()).toBe(text);
    });
  }

  it("parses special tokens to single ids and renders them back", () => {
    const text = "<|im_start|>user\nhi<|im_end|>\n";
    const toks = model.vocab.tokenize(text, { addSpecial: false, parseSpecial: true });
    const start = toks[0];
    expect(model.vocab.text(start)).toBe("<|im_start|>");
    expect(model.vocab.isControl(start)).toBe(true);
    expect(model.vocab.detokenize(toks, { renderSpecial: true })).toBe(text);
    expect(model.vocab.detokenize(toks, { renderSpecial: false })).toBe("user\nhi\n");
    // without parse_special the markers are plain text
    const plain = model.vocab.tokenize(text, { addSpecial: false, parseSpecial: false });
    expect(plain.length).toBeGreaterThan(toks.length);
    expect(model.vocab.detokenize(plain)).toBe(text);
  });

  it("marks <|im_end|> as end of generation", () => {
    const [end] = model.vocab.tokenize("<|im_end|>", { addSpecial: false, parseSpecial: true });
    expect(model.vocab.isEog(end)).toBe(true);
  });
});

describe("generate", () => {
  const prompt = () => model.vocab.tokenize("The quick brown fox", { addSpecial: false });

  it("greedy generation is deterministic", async () => {
    const a = await generateText(ctx, prompt(), { temperature: 0, maxTokens: 32, ignoreEog: true });
    const b = await generateText(ctx, prompt(), { temperature: 0, maxTokens: 32, ignoreEog: true });
    expect(a.tokens).toHaveLength(32);
    expect(b.tokens).toEqual(a.tokens);
    expect(new Set(a.tokens).size).toBeGreaterThan(1);
    expect(a.stopReason).toBe("length");
  });

  it("seeded sampling is reproducible and the seed matters", async () => {
    const run = (seed: number) => generateText(ctx, prompt(), { temperature: 1, topK: 0, topP: 1, minP: 0, seed, maxTokens: 48, ignoreEog: true });
    const a = await run(7);
    const b = await run(7);
    const c = await run(8);
    expect(b.tokens).toEqual(a.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it("stops on a stop string and leaves it out of the text", async () => {
    const free = await generateText(ctx, prompt(), { temperature: 0, maxTokens: 40, ignoreEog: true });
    // pick a stop string from the middle of the greedy output
    const mid = Math.floor(free.text.length / 2);
    const stop = free.text.slice(mid, mid + 3);
    expect(stop.length).toBe(3);
    const stopped = await generateText(ctx, prompt(), { temperature: 0, maxTokens: 40, ignoreEog: true, stop: ["\u0000never", stop] });
    expect(stopped.stopReason).toBe("stop");
    expect(stopped.stopSequence).toBe(stop);
    expect(stopped.text).toBe(free.text.slice(0, free.text.indexOf(stop)));
  });

  it("honours an AbortSignal between tokens", async () => {
    const abort = new AbortController();
    let n = 0;
    const r = await generateText(ctx, prompt(), { temperature: 0, maxTokens: 64, ignoreEog: true, signal: abort.signal }, () => {
      if (++n === 5) abort.abort();
    });
    expect(r.stopReason).toBe("abort");
    expect(r.tokens.length).toBeLessThan(64);
  });

  it("refuses a prompt longer than the context", async () => {
    const long = new Int32Array(600).fill(11);
    await expect(generateText(ctx, long, { maxTokens: 1 })).rejects.toThrow(/does not fit the context of 512/);
  });
});

describe("StopMatcher", () => {
  it("holds back a possible stop prefix and releases it when it is not one", () => {
    const m = new StopMatcher(["</end>"]);
    expect(m.push("abc</e")).toEqual({ release: "abc", stopped: false });
    expect(m.push("x")).toEqual({ release: "</ex", stopped: false });
    expect(m.push("yy</en")).toEqual({ release: "yy", stopped: false });
    expect(m.push("d> tail")).toEqual({ release: "", stopped: true });
  });
  it("picks the earliest of several stops", () => {
    const m = new StopMatcher(["BB", "A"]);
    expect(m.push("xxBBA")).toEqual({ release: "xx", stopped: true });
    expect(m.matched).toBe("BB");
  });
});

describe("greedy on the device", () => {
  it("picks the same tokens as the host sampler", async () => {
    const dctx = Context.create(model, { ctx: 512, threads: 1, deviceGreedy: true });
    try {
      expect(dctx.deviceGreedy).toBe(true);
      expect(dctx.logits()).toHaveLength(0);
      const prompts = ["The quick brown fox", "def main():\n", "日本語", "<|im_start|>user\nhello<|im_end|>\n"];
      for (const p of prompts) {
        const toks = model.vocab.tokenize(p, { addSpecial: false });
        const host = await generateText(ctx, toks, { temperature: 0, maxTokens: 24, ignoreEog: true });
        const dev = await generateText(dctx, toks, { temperature: 0, maxTokens: 24, ignoreEog: true });
        expect(dev.tokens).toEqual(host.tokens);
      }
      await expect(generateText(dctx, model.vocab.tokenize("x"), { temperature: 0.7, maxTokens: 2 })).rejects.toThrow(/device/);
    } finally {
      dctx.free();
    }
  });
});
