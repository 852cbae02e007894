// Prefix reuse (the server's prefix cache): a generation that starts from KV left by an earlier one
// gives the tokens a fresh generation gives. Near-tie rule: the reused run prefills the new suffix as
// its own batch, and batched logits may round differently from a whole-prompt prefill, so a
// difference is accepted only where the fresh run's top-2 logits are within 5e-3 (counted; at most
// one of the cases below). With generated and trained models no such case occurs at the time of writing.
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { drain, generate, type GenerateOptions, type GenerateResult } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import type { Drafter } from "../../src/spec/drafter.js";
import { generateSpeculative, type SpecResult } from "../../src/spec/generate-spec.js";
import { NgramDrafter } from "../../src/spec/ngram-drafter.js";
import { tinyModelPath } from "../helpers/models.js";

const SHARED = path.resolve(__dirname, "../../../shared/models");
const TRAINED = [path.join(SHARED, "code29m-q8_0.gguf"), path.join(SHARED, "code29m-dflash-3l.gguf")];


const NEAR_TIE = 5e-3;

/** Throws unless the runs are equal or first differ at a near tie of plain decoding; true on a tie. */
function nearTie(ctx: Context, prompt: number[], reused: number[], fresh: number[]): boolean {
  let i = 0;
  while (i < fresh.length && reused[i] === fresh[i]) i++;
  if (i === fresh.length && reused.length === fresh.length) return false;
  ctx.truncate(0, 0);
  const logits = ctx.prefill([...prompt, ...fresh.slice(0, i)]);
  const sorted = Array.from(logits).sort((x, y) => y - x);
  const gap = sorted[0] - sorted[1];
  if (gap >= NEAR_TIE) throw new Error(`reused run differs at token ${i} (${reused[i]} vs ${fresh[i]}) with a top-2 gap of ${gap}`);
  return true;
}

const run = (ctx: Context, drafter: Drafter | undefined, prompt: number[], o: GenerateOptions) =>
  drain(drafter ? generateSpeculative(ctx, drafter, prompt, { ...o, budget: 4 }) : generate(ctx, prompt, o));

/** Two turns of a conversation: the second prompt extends the first prompt and its output. */
async function twoTurns(ctx: Context, drafter: Drafter | undefined, first: number[], extra: number[], n: number) {
  const o = { temperature: 0, maxTokens: n, ignoreEog: true };
  const r1 = await run(ctx, drafter, first, o);
  const history = [...first, ...r1.tokens];
  expect(r1.kvTokens).toBeGreaterThanOrEqual(first.length);
  expect(r1.kvTokens).toBeLessThanOrEqual(history.length);
  expect(ctx.native.seqPosMax(0)).toBe(r1.kvTokens - 1);
  const second = [...history, ...extra];
  const reused = await run(ctx, drafter, second, { ...o, reuse: r1.kvTokens });
  const fresh = await run(ctx, drafter, second, o);
  return { reused, fresh, cached: r1.kvTokens, second };
}

function suite(name: string, paths: () => Promise<string[]>, withDrafter: "none" | "ngram" | "dflash") {
  describe(`prefix reuse: ${name}, ${withDrafter}`, () => {
    let model: Model, draft: Model | undefined, ctx: Context, drafter: Drafter | undefined;
    beforeAll(async () => {
      const [t, d] = await paths();
      model = Model.load(t, { gpuLayers: 0 });
      ctx = Context.create(model, { ctx: 1024, threads: 1 });
      if (withDrafter === "ngram") drafter = new NgramDrafter();
      if (withDrafter === "dflash") {
        draft = Model.load(d, { gpuLayers: 0 });
        drafter = new DFlashDrafter(ctx, draft, { topK: 1, threads: 1 });
      }
    });
    afterAll(() => {
      drafter?.free();
      ctx?.free();
      draft?.free();
      model?.free();
    });

    it("continues a conversation from the cached prefix with the output of a fresh run", async () => {
      const v = model.vocab;
      const cases = [
        ["def fibonacci(n):\n", "\n\ndef main():\n"],
        ["<|im_start|>user\nwrite a sort<|im_end|>\n<|im_start|>assistant\n", "<|im_end|>\n<|im_start|>user\nagain<|im_end|>\n<|im_start|>assistant\n"],
        ["import os\n", "x"],
      ];
      let nearTies = 0;
      for (const [a, b] of cases) {
        const { reused, fresh, cached, second } = await twoTurns(ctx, drafter, Array.from(v.tokenize(a)), Array.from(v.tokenize(b)), 24);
        expect(cached).toBeGreaterThan(0);
        if (nearTie(ctx, second, reused.tokens, fresh.tokens)) nearTies++;
        else if (drafter) {
          // the drafter kept its state for the cached prefix: it drafts as well as after a fresh prefill
          const al = (r: GenerateResult) => (r as SpecResult).spec.meanAcceptedLength;
          expect(al(reused)).toBeCloseTo(al(fresh), 5);
        }
      }
      // a cut that is not at a token boundary of the old output (the client edited the history)
      const first = Array.from(v.tokenize("class Stack:\n    def __init__(self):\n"));
      const r1 = await run(ctx, drafter, first, { temperature: 0, maxTokens: 16, ignoreEog: true });
      const edited = [...first.slice(0, first.length - 3), ...Array.from(v.tokenize(" pass\n"))];
      const common = first.length - 3;
      expect(r1.kvTokens).toBeGreaterThan(common);
      const reused = await run(ctx, drafter, edited, { temperature: 0, maxTokens: 16, ignoreEog: true, reuse: common });
      const fresh = await run(ctx, drafter, edited, { temperature: 0, maxTokens: 16, ignoreEog: true });
      if (nearTie(ctx, edited, reused.tokens, fresh.tokens)) nearTies++;
      expect(nearTies).toBeLessThanOrEqual(1);
    });

    it("rejects a reuse count that leaves no prompt token to decode", async () => {
      const p = Array.from(model.vocab.tokenize("hello world"));
      await expect(run(ctx, drafter, p, { temperature: 0, maxTokens: 2, reuse: p.length })).rejects.toThrow(/reuse must be/);
    });
  });
}

const tiny = async () => [await tinyModelPath(), ""];
suite("tiny qwen3", tiny, "none");
suite("tiny qwen3", tiny, "ngram");
describe.runIf(existsSync(TRAINED[0]) && existsSync(TRAINED[1]))("trained pair", () => {
  suite("code29m", async () => TRAINED, "dflash");
});
