// The n-gram drafter and the adaptive controller inside the speculative loop: lossless, and the
// controller falls back to plain decoding when drafts do not pay.
import { existsSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { drain, generateText } from "../../src/engine/generate.js";
import { Model } from "../../src/engine/model.js";
import { DFlashDrafter } from "../../src/spec/dflash-drafter.js";
import type { Drafter } from "../../src/spec/drafter.js";
import { createNgramAssist, createSpecController, draftedTokens, generateSpeculative, type SpecOptions, type SpecResult } from "../../src/spec/generate-spec.js";
import { NgramDrafter } from "../../src/spec/ngram-drafter.js";
import { tinyModelPath, useTinyPair } from "../helpers/models.js";

function runSpec(target: Context, drafter: Drafter, prompt: Int32Array, opts: SpecOptions): Promise<SpecResult> {
  return drain(generateSpeculative(target, drafter, prompt, opts));
}

const shared = path.resolve(__dirname, "../../../shared/models");
const code = path.join(shared, "code29m-q8_0.gguf");

describe.runIf(existsSync(code))("n-gram drafter on the trained code model", () => {
  let model: Model, ctx: Context, plainCtx: Context;
  beforeAll(() => {
    model = Model.load(code, { gpuLayers: 0 });
    ctx = Context.create(model, { ctx: 512, threads: 1 });
    plainCtx = Context.create(model, { ctx: 512, threads: 1 });
  });
  afterAll(() => {
    ctx?.free();
    plainCtx?.free();
    model?.free();
  });

  it("emits plain greedy output and accepts repeats", async () => {
    const drafter = new NgramDrafter({ maxDepth: 8 });
    let totalAl = 0;
    const prompts = ["def fibonacci(n):\n", "for i in range(10):\n", "import os\nimport sys\n\ndef main():\n"];
    for (const p of prompts) {
      const prompt = model.vocab.tokenize(p);
      const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 64, ignoreEog: true });
      for (const budget of [2, 8] as const) {
        const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 64, ignoreEog: true, budget });
        expect(r.tokens).toEqual(plain.tokens);
        expect(r.spec.drafter).toBe("ngram");
        if (budget === 8) totalAl += r.spec.meanAcceptedLength;
      }
    }
    // this model repeats itself: the history predicts several tokens per step on average
    expect(totalAl / prompts.length).toBeGreaterThan(2);
  });
});

describe("adaptive controller (--budget auto)", () => {
  const pair = useTinyPair();
  let target: Model, ctx: Context, plainCtx: Context, drafter: DFlashDrafter;
  beforeAll(() => {
    target = pair.target;
    ctx = Context.create(target, { ctx: 512, threads: 1 });
    plainCtx = Context.create(target, { ctx: 512, threads: 1 });
    drafter = new DFlashDrafter(ctx, pair.draft, { topK: 1, threads: 1 });
  });
  afterAll(() => {
    drafter?.free();
    ctx?.free();
    plainCtx?.free();
  });

  it("with a random drafter, falls back to plain decoding and stays lossless", async () => {
    const prompt = target.vocab.tokenize("The quick brown fox");
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 160, ignoreEog: true });
    const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 160, ignoreEog: true, budget: "auto" });
    expect(r.tokens).toEqual(plain.tokens);
    expect(r.spec.budgetMode).toBe("auto");
    // nothing is ever accepted from a random drafter, so the controller runs plain steps. How many
    // depends on the step times it measures (a loaded CI machine blurs them), so this test only asks
    // that it falls back at all; controller.test.ts checks the decisions on fixed costs and
    // bench/cpu/controller.mjs measures the speed.
    expect(r.spec.acceptedPerDepth.reduce((a, b) => a + b, 0)).toBe(0);
    expect(r.spec.arSteps).toBeGreaterThan(0);
    // the drafts were tried as shadow probes (scored against the plain tokens), never verified
    expect(r.spec.shadowProbes).toBeGreaterThan(0);
    expect(r.spec.steps).toBe(r.spec.arSteps);
  });

  it("a controller kept across requests does not pay for learning again", async () => {
    const controller = createSpecController(drafter, "chain");
    const o = { temperature: 0, maxTokens: 24, ignoreEog: true, budget: "auto" as const };
    const prompts = ["The quick brown fox", "Once upon a time", "1, 2, 3, 4,", "hello", "def f(x):", "SELECT *"];
    const shared: SpecResult[] = [];
    const fresh: SpecResult[] = [];
    for (const p of prompts) {
      const prompt = target.vocab.tokenize(p);
      shared.push(await runSpec(ctx, drafter, prompt, { ...o, controller }));
      fresh.push(await runSpec(ctx, drafter, prompt, o));
      expect(shared[shared.length - 1].tokens).toEqual(fresh[fresh.length - 1].tokens);
    }
    const drafted = (r: SpecResult) => r.spec.shadowProbes + r.spec.steps - r.spec.arSteps;
    // a fresh controller tries drafts (shadow probes) at the start of every request; the kept one
    // learned in the first request that they fail, so later requests draft only on its periodic
    // probes (one per 64 plain steps at least, counted across requests)
    for (const r of fresh) expect(drafted(r)).toBeGreaterThan(0);
    const sum = (rs: SpecResult[]) => rs.reduce((a, r) => a + drafted(r), 0);
    const arTotal = shared.reduce((a, r) => a + r.spec.arSteps, 0);
    expect(sum(shared)).toBeLessThanOrEqual(drafted(shared[0]) + Math.floor(arTotal / 64));
    expect(sum(shared)).toBeLessThan(sum(fresh));
    // a controller made for another shape is refused rather than silently mis-predicting
    await expect(runSpec(ctx, drafter, target.vocab.tokenize("x"), { ...o, controller: createSpecController(drafter, "tree") })).rejects.toThrow(/made for trees/);
  });

  it("refuses the n-gram assist without budget auto or with the n-gram drafter", async () => {
    const prompt = target.vocab.tokenize("x");
    const o = { temperature: 0, maxTokens: 4, ignoreEog: true };
    await expect(runSpec(ctx, drafter, prompt, { ...o, budget: 4, ngramAssist: true })).rejects.toThrow(/n-gram assist needs budget "auto"/);
    await expect(runSpec(ctx, new NgramDrafter(), prompt, { ...o, budget: "auto", ngramAssist: true })).rejects.toThrow(/a model drafter/);
    await expect(runSpec(ctx, drafter, prompt, { ...o, budget: "auto", ngramAssist: createNgramAssist({ maxDepth: 15 }) })).resolves.toBeDefined();
  });

  it("drafts and probes up to the end of the context, and ends there as plain decoding does", async () => {
    // a DFlash block drafted at the last positions reaches past the target's context: the drafter's
    // cache has room for it (such requests used to fail with "the context is full")
    const prompt = target.vocab.tokenize("The quick brown fox");
    const o = { temperature: 0, maxTokens: 4096, ignoreEog: true };
    const plain = await generateText(plainCtx, prompt, o);
    expect(prompt.length + plain.tokens.length).toBeGreaterThanOrEqual(ctx.nCtx - 1);
    // equal to plain decoding, or first different at a near tie (top-2 logits within 5e-3, the rule
    // of dflash.test.ts: a verify batch rounds differently from a single-token decode)
    const sameOrNearTie = (tokens: number[]) => {
      let i = 0;
      while (i < tokens.length && tokens[i] === plain.tokens[i]) i++;
      if (i < plain.tokens.length) {
        plainCtx.truncate(0, 0);
        const top = Array.from(plainCtx.prefill([...prompt, ...plain.tokens.slice(0, i)])).sort((a, b) => b - a);
        expect(top[0] - top[1], `first difference at token ${i}`).toBeLessThan(5e-3);
      }
      expect(tokens.length).toBe(plain.tokens.length);
    };
    const fixed = await runSpec(ctx, drafter, prompt, { ...o, budget: 15 });
    sameOrNearTie(fixed.tokens);
    expect(fixed.stopReason).toBe(plain.stopReason);
    // shadow probes verify nothing: exactly plain decoding's tokens
    const probing = await runSpec(ctx, drafter, prompt, { ...o, budget: "auto", controller: createSpecController(drafter, "chain", { probeEvery: 1, maxProbeOverhead: 100 }) });
    expect(probing.tokens).toEqual(plain.tokens);
    expect(probing.spec.shadowProbes).toBeGreaterThan(plain.tokens.length / 2);
  });

  it("keeps seeded sampling identical to plain sampling", async () => {
    const prompt = target.vocab.tokenize("Once upon a time");
    const o = { temperature: 0.8, seed: 11, maxTokens: 48, ignoreEog: true };
    const plain = await generateText(plainCtx, prompt, o);
    const r = await runSpec(ctx, drafter, prompt, { ...o, budget: "auto" });
    expect(r.tokens).toEqual(plain.tokens);
  });

  // a random drafter is never accepted, so after its first tries the controller decodes plainly and
  // probes every probeEvery steps (maxProbeOverhead 1 keeps the gap at probeEvery whatever the
  // measured costs); by default (unfollow) the drafter is handed the target's rows only in the last
  // 32 plain steps before a probe
  it("stops copying features between probes, probes after the gap, and stays lossless", async () => {
    const prompt = target.vocab.tokenize("The quick brown fox");
    const o = { temperature: 0, maxTokens: 200, ignoreEog: true, budget: "auto" as const };
    const plain = await generateText(plainCtx, prompt, o);
    const controller = createSpecController(drafter, "chain", { probeEvery: 48, maxProbeOverhead: 1 });
    const r = await runSpec(ctx, drafter, prompt, { ...o, controller });
    expect(r.tokens).toEqual(plain.tokens);
    expect(r.spec.unfollowedSteps).toBeGreaterThan(0);
    // with unfollow off the drafter follows all along
    const following = await runSpec(ctx, drafter, prompt, { ...o, controller: createSpecController(drafter, "chain", { probeEvery: 48, maxProbeOverhead: 1, unfollow: false }) });
    expect(following.tokens).toEqual(plain.tokens);
    expect(following.spec.unfollowedSteps).toBe(0);
    expect(following.spec.arSteps).toBeGreaterThan(0);
    expect(r.spec.unfollowedSteps).toBeLessThan(r.spec.arSteps);
    // the probes after unfollowed stretches drafted (as shadows: the drafts were scored, not verified)
    expect(r.spec.shadowProbes).toBeGreaterThan(3);
    // verified probes (shadow off) after unfollowed stretches: drafted, verified, lossless
    const verified = await runSpec(ctx, drafter, prompt, { ...o, controller: createSpecController(drafter, "chain", { probeEvery: 48, maxProbeOverhead: 1, shadow: false }) });
    expect(verified.tokens).toEqual(plain.tokens);
    expect(verified.spec.shadowProbes).toBe(0);
    expect(verified.spec.unfollowedSteps).toBeGreaterThan(0);
    expect(verified.spec.steps - verified.spec.arSteps).toBeGreaterThan(1);
    // the next request starts following again: its prefill injects, its drafts work
    const again = await runSpec(ctx, drafter, prompt, { ...o, maxTokens: 32, budget: 4 });
    expect(again.tokens).toEqual(plain.tokens.slice(0, 32));
    expect(again.spec.unfollowedSteps).toBe(0);
  });

  it("continues from a cached prefix after a request that ended unfollowed (the server's next turn)", async () => {
    const prompt = target.vocab.tokenize("Once upon a time");
    // probes far apart: the request ends in a stretch the drafter did not follow
    const controller = createSpecController(drafter, "chain", { probeEvery: 1000, maxProbeOverhead: 1 });
    const first = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 120, ignoreEog: true, budget: "auto", controller });
    expect(first.spec.unfollowedSteps).toBeGreaterThan(0);
    // the next turn: the conversation so far plus a new user message, reusing the cached KV
    const history = Int32Array.from([...prompt, ...first.tokens.slice(0, first.kvTokens - prompt.length)]);
    const next = Int32Array.from([...history, ...target.vocab.tokenize(" and then", { addSpecial: false })]);
    const plainNext = await generateText(plainCtx, next, { temperature: 0, maxTokens: 24, ignoreEog: true });
    const r = await runSpec(ctx, drafter, next, { temperature: 0, maxTokens: 24, ignoreEog: true, budget: 4, reuse: history.length });
    expect(r.tokens).toEqual(plainNext.tokens);
  });
  // Plain steps launch the next decode before handing out the current token (as generate() does):
  // that must not change the output, where a stop string or the token limit ends it, or what the
  // cache holds afterwards (a decode launched past the end is dropped).
  it("counts the drafted tokens sent to verify (flint serve's draft_n)", async () => {
    const prompt = target.vocab.tokenize("Once upon a time");
    // a fixed chain of 4 sends 4 drafted tokens per verify (fewer only where the context or the
    // request ends)
    const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 64, ignoreEog: true, budget: 4 });
    const verifies = r.spec.steps - r.spec.arSteps;
    expect(verifies).toBeGreaterThan(10);
    expect(draftedTokens(r.spec)).toBeLessThanOrEqual(4 * verifies);
    expect(draftedTokens(r.spec)).toBeGreaterThan(4 * (verifies - 2));
  });

  it("budget 0 (no controller) decodes plainly and equals generate()", async () => {
    const prompt = target.vocab.tokenize("once upon a time");
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 40, ignoreEog: true });
    const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 40, ignoreEog: true, budget: 0 });
    expect(r.tokens).toEqual(plain.tokens);
    expect(r.spec.arSteps).toBe(r.spec.steps);
    // the cache holds the history up to the last token or the one before (not the launched one after)
    expect(r.kvTokens).toBeGreaterThanOrEqual(prompt.length + r.tokens.length - 2);
    expect(r.kvTokens).toBeLessThanOrEqual(prompt.length + r.tokens.length - 1);
    expect(ctx.native.seqPosMax(0)).toBe(r.kvTokens - 1);
  });

  it("a stop string ending a plain stretch: same text as generate(), nothing launched left in the cache", async () => {
    const prompt = target.vocab.tokenize("the cat sat on");
    const free = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true });
    // a stop string taken from the middle of the plain output, so it ends generation there
    const stop = free.text.slice(Math.floor(free.text.length / 2), Math.floor(free.text.length / 2) + 3);
    expect(stop.length).toBe(3);
    const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true, stop: [stop] });
    expect(plain.stopReason).toBe("stop");
    // "auto" with useless drafts: nearly every step is plain
    const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true, budget: "auto", stop: [stop] });
    expect(r.stopReason).toBe("stop");
    expect(r.text).toBe(plain.text);
    expect(r.spec.arSteps).toBeGreaterThan(r.spec.steps / 2);
    expect(ctx.native.seqPosMax(0)).toBe(r.kvTokens - 1);
    // the cache holds exactly the history it claims: a continuation from it equals a fresh one
    const history = Int32Array.from([...prompt, ...r.tokens]);
    const fresh = await generateText(plainCtx, history, { temperature: 0, maxTokens: 8, ignoreEog: true });
    const next = await runSpec(ctx, drafter, history, { temperature: 0, maxTokens: 8, ignoreEog: true, budget: "auto", reuse: r.kvTokens });
    expect(next.tokens).toEqual(fresh.tokens);
  });
});

describe.runIf(existsSync(code))("oracle drafter (simulated acceptance)", () => {
  // on the trained model: greedy decoding has no near ties on this prompt, so the oracle's
  // reference (plain greedy output) stays the target's continuation for the whole run
  it("accepts as much as its profile says and emits the target's greedy output", async () => {
    const { OracleSpecDrafter } = await import("../../src/spec/oracle-drafter.js");
    const { constantProfile, expectedAcceptedLength } = await import("../../src/spec/oracle.js");
    const model = Model.load(code, { gpuLayers: 0 });
    const ctx = Context.create(model, { ctx: 1024, threads: 1 });
    try {
      const prompt = model.vocab.tokenize("def f(x):");
      const n = 400;
      const plain = await generateText(ctx, prompt, { temperature: 0, maxTokens: n + 16, ignoreEog: true });
      for (const al of [2, 6.5]) {
        const profile = constantProfile(al, 15);
        const drafter = new OracleSpecDrafter([...prompt, ...plain.tokens], profile, ctx.nVocab, { maxDepth: 15, seed: 5 });
        const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: n, ignoreEog: true, budget: 15 });
        // identical to plain decoding, except after a near tie (top-2 logits within 5e-3, as in dflash.test.ts)
        let i = 0;
        while (i < n && r.tokens[i] === plain.tokens[i]) i++;
        if (i < n) {
          ctx.truncate(0, 0);
          const logits = Array.from(ctx.prefill([...prompt, ...plain.tokens.slice(0, i)]));
          const sorted = logits.sort((a, b) => b - a);
          expect(sorted[0] - sorted[1], `divergence at ${i}`).toBeLessThan(5e-3);
        }
        // tokens per step = accepted + 1; the sample mean over ~100 steps lands near the expectation
        const expected = expectedAcceptedLength(profile, 15) + 1;
        expect(r.spec.meanAcceptedLength).toBeGreaterThan(0.75 * expected);
        expect(r.spec.meanAcceptedLength).toBeLessThan(1.25 * expected);
      }
      // --budget auto with a fresh controller: a shadow probe finds the drafts good (scored against
      // the plain tokens that follow), and the next step verifies them. (Whether verifying keeps
      // paying depends on this machine's verify cost: on one CPU thread a 5-row verify of this model
      // costs ~5 plain steps, so the controller goes back to plain decoding after measuring it.)
      const drafter = new OracleSpecDrafter([...prompt, ...plain.tokens], constantProfile(6.5, 15), ctx.nVocab, { maxDepth: 15, seed: 5 });
      const controller = createSpecController(drafter, "chain");
      const choices: string[] = [];
      const choose = controller.choose.bind(controller);
      let budget = 0;
      controller.choose = () => {
        const b = choose();
        budget = b;
        choices.push(b === 0 ? "ar" : controller.shadowProbe ? "shadow" : "verify");
        return b;
      };
      // what each verified step let the controller observe: [budget, chain observed, accepted]
      const seen: [number, number, number][] = [];
      const observe = controller.observeAcceptance.bind(controller);
      controller.observeAcceptance = (tree, accepted, path) => {
        if (choices[choices.length - 1] === "verify") seen.push([budget, tree.size, accepted]);
        observe(tree, accepted, path);
      };
      const auto = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 120, ignoreEog: true, budget: "auto", controller });
      expect(auto.tokens).toEqual(plain.tokens.slice(0, 120));
      expect(choices.slice(0, 2)).toEqual(["ar", "shadow"]);
      expect(choices).toContain("verify");
      // a chain accepted whole is observed one token longer, scored by the bonus token
      for (const [b, size, accepted] of seen) {
        if (size === b + 1) expect(accepted).toBeGreaterThanOrEqual(b);
        else expect(size).toBeLessThanOrEqual(b);
      }
      expect(seen.some(([b, size]) => size === b + 1)).toBe(true);
      expect(auto.spec.shadowProbes).toBeGreaterThanOrEqual(1);
      expect(auto.spec.acceptedPerDepth[0]).toBeGreaterThanOrEqual(1);
      // where the steps went: verified steps by node count, shape changes (plain -> verify and back)
      const verified = Object.values(auto.spec.verifiedByNodes).reduce((x, y) => x + y, 0);
      expect(verified).toBe(auto.spec.steps - auto.spec.arSteps);
      expect(auto.spec.shapeChanges).toBeGreaterThanOrEqual(2);
      expect(auto.spec.controller?.arMs).toBeGreaterThan(0);
      expect(Object.keys(auto.spec.controller?.verifyMsByRows ?? {}).length).toBeGreaterThanOrEqual(1);
      // the same with DDTrees (top-4 drafts: the shadow walks a tree)
      // (trees keep a sequence per branch: a unified cache, as the runtime makes for trees)
      const treeCtx = Context.create(model, { ctx: 1024, threads: 1, flashAttn: "off", kvUnified: true });
      try {
        const treeDrafter = new OracleSpecDrafter([...prompt, ...plain.tokens], constantProfile(6.5, 15), ctx.nVocab, { maxDepth: 15, seed: 5, topK: 4 });
        const tree = await runSpec(treeCtx, treeDrafter, prompt, { temperature: 0, maxTokens: 120, ignoreEog: true, budget: "auto", shape: "tree" });
        expect(tree.tokens).toEqual(plain.tokens.slice(0, 120));
        expect(tree.spec.shadowProbes).toBeGreaterThanOrEqual(1);
        expect(tree.spec.steps - tree.spec.arSteps).toBeGreaterThanOrEqual(1);
        expect(tree.spec.mode).toBe("tree");
      } finally {
        treeCtx.free();
      }
    } finally {
      ctx.free();
      model.free();
    }
  });

  it("keeps the oracle's simulation out of the controller's draft cost", async () => {
    // an oracle re-deriving its script (here: handed plain decoding's next tokens after a 10 ms
    // wait) is measurement work, not drafting: on the H200 such re-derivations near the end of
    // each sweep prompt (60 greedy steps) made the controller rate drafting at hundreds of ms
    const { OracleSpecDrafter } = await import("../../src/spec/oracle-drafter.js");
    const { constantProfile } = await import("../../src/spec/oracle.js");
    const model = Model.load(code, { gpuLayers: 0 });
    const ctx = Context.create(model, { ctx: 1024, threads: 1 });
    try {
      const prompt = model.vocab.tokenize("def f(x):");
      const plain = await generateText(ctx, prompt, { temperature: 0, maxTokens: 200, ignoreEog: true });
      const script = [...prompt, ...plain.tokens];
      // 16 tokens at a time (fewer than the 60 asked): nearly every draft re-derives first
      const extend = (history: Int32Array) => {
        const until = performance.now() + 10;
        while (performance.now() < until);
        return script.slice(history.length, history.length + 16);
      };
      const drafter = new OracleSpecDrafter(script.slice(0, prompt.length + 1), constantProfile(6.5, 15), ctx.nVocab, { maxDepth: 15, seed: 5, extend });
      const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 120, ignoreEog: true, budget: "auto" });
      expect(r.tokens).toEqual(plain.tokens.slice(0, 120));
      expect(drafter.resyncs).toBeGreaterThanOrEqual(3);
      expect(r.spec.simulatedMs).toBeGreaterThanOrEqual(10 * drafter.resyncs);
      // an oracle's draft itself is a few array copies
      expect(r.spec.controller!.draftMs).toBeLessThan(3);
      expect(r.spec.controller!.catchUpDraftMs).toBeLessThan(3);
    } finally {
      ctx.free();
      model.free();
    }
  });
});

describe("draft-model drafter", () => {
  it("with the target itself as drafter accepts (nearly) every draft, losslessly", async () => {
    const { DraftModelDrafter } = await import("../../src/spec/draft-model-drafter.js");
    const model = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    const drafterModel = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    const ctx = Context.create(model, { ctx: 512, threads: 1 });
    const plainCtx = Context.create(model, { ctx: 512, threads: 1 });
    const drafter = new DraftModelDrafter(ctx, drafterModel, { maxDepth: 6, minProb: 0, threads: 1 });
    try {
      for (const p of ["The quick brown fox", "def main():\n", "日本語"]) {
        const prompt = model.vocab.tokenize(p);
        const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true });
        const r = await runSpec(ctx, drafter, prompt, { temperature: 0, maxTokens: 60, ignoreEog: true, budget: 6 });
        expect(r.tokens).toEqual(plain.tokens);
        expect(r.spec.drafter).toBe("draft-model");
        // the drafter is the target: every drafted token is the target's own choice (near ties aside)
        expect(r.spec.meanAcceptedLength).toBeGreaterThan(6);
      }

    } finally {
      drafter.free();
      ctx.free();
      plainCtx.free();
      drafterModel.free();
      model.free();
    }
  });

  it.runIf(existsSync(code))("refuses a drafter with another vocabulary", async () => {
    const { DraftModelDrafter } = await import("../../src/spec/draft-model-drafter.js");
    const model = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    const other = Model.load(code, { gpuLayers: 0 });
    const ctx = Context.create(model, { ctx: 256, threads: 1 });
    try {
      expect(() => new DraftModelDrafter(ctx, other)).toThrow(/vocabulary \(4096 tokens\) does not match the target's \(1024\)/);
    } finally {
      ctx.free();
      other.free();
      model.free();
    }
  });
});

describe("hybrid target (qwen35: Gated DeltaNet + attention)", () => {
  it("chain speculation rolls the recurrent state back and stays lossless", async () => {
    const { makeModel } = await import("../../src/models/make-model.js");
    const { OracleSpecDrafter } = await import("../../src/spec/oracle-drafter.js");
    const { constantProfile } = await import("../../src/spec/oracle.js");
    const { DraftModelDrafter } = await import("../../src/spec/draft-model-drafter.js");
    const { mkdtempSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const file = path.join(mkdtempSync(path.join(tmpdir(), "flint-q35-")), "q35.gguf");
    await makeModel({ arch: "qwen35", preset: "tiny", seed: 1, out: file });
    const model = Model.load(file, { gpuLayers: 0 });
    expect(model.info.isHybrid).toBe(true);
    const plainCtx = Context.create(model, { ctx: 512, threads: 1 });
    const ctx = Context.create(model, { ctx: 512, threads: 1, rsSeq: 16 });
    const bare = Context.create(model, { ctx: 512, threads: 1 });
    try {
      const prompt = model.vocab.tokenize("The quick brown fox");
      const n = 80;
      const plain = await generateText(plainCtx, prompt, { temperature: 0, maxTokens: n + 16, ignoreEog: true });
      // the oracle rejects at drawn depths, so most steps roll back part of the verified chain
      const oracle = new OracleSpecDrafter([...prompt, ...plain.tokens], constantProfile(3, 15), ctx.nVocab, { maxDepth: 15, seed: 3 });
      const r = await runSpec(ctx, oracle, prompt, { temperature: 0, maxTokens: n, ignoreEog: true, budget: 15 });
      expect(r.tokens).toEqual(plain.tokens.slice(0, n));
      expect(r.spec.meanAcceptedLength).toBeGreaterThan(2);
      const ngram = await runSpec(ctx, new NgramDrafter({ maxDepth: 4 }), prompt, { temperature: 0, maxTokens: n, ignoreEog: true, budget: 4 });
      expect(ngram.tokens).toEqual(plain.tokens.slice(0, n));
      // without snapshots the rollback cannot happen: a clear error, not a wrong answer
      await expect(runSpec(bare, oracle, prompt, { temperature: 0, maxTokens: 8, budget: 15 })).rejects.toThrow(/recurrent layers: a chain of 15 needs a context with at least that many rollback snapshots/);
      expect(() => new DraftModelDrafter(ctx, model)).toThrow(/has recurrent layers/);
    } finally {
      bare.free();
      ctx.free();
      plainCtx.free();
      model.free();
    }
  });
});
