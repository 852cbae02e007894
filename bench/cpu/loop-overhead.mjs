// What the speculative loop's own JavaScript costs per plain step, against generate()'s (issue 7: on
// the H200 the trained code29m pair's all-plain --spec auto steps spent 12-13 us per token in
// bookkeeping and other time against 4.3 for plain decoding, bench/results/2026-11-24-h200-3,
// bench-sweep-trained-8-6a3a6b6). The tiny generated pair on the CPU, with the target's decode
// replaced by nothing: launch() returns at once and sampledToken() hands out a fixed cycle of
// tokens, so what is timed is the loop. The controller is priced so that no draft could pay (no
// probe, no feature copy): every step is the plain path. ROUNDS rounds of generate() and
// generateSpeculative(--budget auto) alternate in one process; prints per-token medians (us).
// usage: node bench/cpu/loop-overhead.mjs [TOKENS=4000] [ROUNDS=7]   (needs `npm run build`)
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Context } from "../../dist/engine/context.js";
import { drain, generate } from "../../dist/engine/generate.js";
import { Model } from "../../dist/engine/model.js";
import { DFlashDrafter } from "../../dist/spec/dflash-drafter.js";
import { createSpecController, generateSpeculative } from "../../dist/spec/generate-spec.js";

const tokens = Number(process.argv[2] ?? 4000);
const rounds = Number(process.argv[3] ?? 7);
const dir = path.join(os.tmpdir(), "flint-loop-overhead");
const tPath = path.join(dir, "tiny.gguf");
const dPath = path.join(dir, "tiny-dflash.gguf");
const cli = path.resolve(import.meta.dirname, "../../dist/cli.js");
if (!existsSync(dPath)) {
  mkdirSync(dir, { recursive: true });
  for (const args of [["--arch", "qwen3", "--preset", "tiny", "--out", tPath], ["--arch", "dflash", "--target", tPath, "--out", dPath]]) {
    const r = spawnSync(process.execPath, [cli, "make-model", ...args], { stdio: ["ignore", 2, 2] });
    if (r.status !== 0) process.exit(1);
  }
}
const target = Model.load(tPath, { gpuLayers: 0 });
const draft = Model.load(dPath, { gpuLayers: 0 });
const ctx = Context.create(target, { ctx: tokens + 64, threads: 1, deviceGreedy: true });
const drafter = new DFlashDrafter(ctx, draft, { topK: 1, threads: 1, deviceArgmax: true });
const prompt = target.vocab.tokenize("The quick brown fox");
// the decode replaced: the prefill is real (it decides the first token), every later step is not
const cycle = target.vocab.tokenize(" jumps over the lazy dog and runs away", { addSpecial: false });
let step = 0;
const realSampled = ctx.sampledToken.bind(ctx);
// (the first launch is the first plain step: from there on nothing is decoded)
let fake = false;
ctx.launch = (tok, pos, seq) => {
  fake = true;
};
ctx.sampledToken = (i) => (fake ? cycle[step++ % cycle.length] : realSampled(i));
// no draft can pay at these prices: the controller decodes plainly and never probes
const prices = { arMs: 0.33, draftMs: 50, catchUpDraftMs: 60, verifyMsByRows: { 2: 5, 3: 5, 5: 5, 8: 5, 16: 5 } };
const base = { maxTokens: tokens, temperature: 0, ignoreEog: true };
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const us = (ms) => Math.round((ms * 1000 * 100) / (tokens - 1)) / 100;
const rows = { plain: [], auto: [] };
let split;
for (let r = 0; r < rounds; r++) {
  for (const mode of ["plain", "auto"]) {
    fake = false;
    step = 0;
    ctx.clear();
    drafter.reset();
    const res =
      mode === "plain"
        ? await drain(generate(ctx, prompt, base))
        : await drain(generateSpeculative(ctx, drafter, prompt, { ...base, budget: "auto", controller: createSpecController(drafter, "chain", { prices }) }));
    if (res.tokens.length !== tokens) throw new Error(`${mode}: ${res.tokens.length} tokens`);
    if (res.spec && res.spec.arSteps !== res.spec.steps) throw new Error("auto drafted");
    rows[mode].push(us(res.decodeMs));
    if (res.spec) split = Object.fromEntries(Object.entries(res.spec.timeMs).map(([k, v]) => [k, us(v)]));
  }
}
drafter.free();
ctx.free();
draft.free();
target.free();
console.log(JSON.stringify({ tokens, rounds, node: process.version, cpu: os.cpus()[0]?.model, note: "us per token of decodeMs with the target's decode replaced by nothing; median over rounds; autoSplit: the last auto round's timeMs per token", plainUs: median(rows.plain), autoUs: median(rows.auto), rounds_us: rows, autoSplit: split }, null, 1));
