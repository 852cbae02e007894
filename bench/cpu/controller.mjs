// The adaptive controller against plain decoding and fixed budgets, on this machine's CPU (issue 7):
//   useless drafts: code29m target + a random-weight DFlash drafter made for it (accepts nothing);
//     plain vs --budget auto with a fresh controller per request vs one controller kept across requests;
//   good drafts: the trained pair code29m + code29m-dflash-3l; auto vs each fixed chain budget.
// Runs are interleaved (plain, auto, ... per prompt and repetition) and the ratio is taken per pair
// and then the median, so a machine whose speed drifts (other jobs) biases both sides alike.
// Usage: node bench/cpu/controller.mjs [reps] > result.json   (needs `npm run build` and ../shared/models)
import { execSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Context } from "../../dist/engine/context.js";
import { drain, generate } from "../../dist/engine/generate.js";
import { Model } from "../../dist/engine/model.js";
import { makeModel } from "../../dist/models/make-model.js";
import { DFlashDrafter } from "../../dist/spec/dflash-drafter.js";
import { createSpecController, generateSpeculative } from "../../dist/spec/generate-spec.js";

const reps = Number(process.argv[2] ?? 5);
const N = 128;
const shared = path.resolve("../shared/models");
const T = path.join(shared, "code29m-q8_0.gguf");
const D = path.join(shared, "code29m-dflash-3l.gguf");
const work = path.join(os.tmpdir(), "flint-controller-bench");
mkdirSync(work, { recursive: true });
const R = path.join(work, "code29m-random-dflash.gguf");
if (!existsSync(R)) await makeModel({ arch: "dflash", target: T, seed: 7, out: R });
const PROMPTS = ["def fibonacci(n):\n", "class Stack:\n    def __init__(self):\n", "import os\nimport sys\n\ndef main():\n", "for i in range(10):\n"];

const target = Model.load(T, { gpuLayers: 0 });
const ctx = Context.create(target, { ctx: 1024, threads: 1 });
const base = { temperature: 0, maxTokens: N, ignoreEog: true };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function compare(draftPath, variants) {
  const draft = Model.load(draftPath, { gpuLayers: 0 });
  const drafter = new DFlashDrafter(ctx, draft, { topK: 1, threads: 1 });
  const kept = createSpecController(drafter, "chain");
  const runs = Object.fromEntries(["plain", ...variants.map((v) => v.label)].map((k) => [k, []]));
  const extra = Object.fromEntries(variants.map((v) => [v.label, { al: [], arSteps: [], steps: [], timeMs: [] }]));
  for (let r = 0; r < reps; r++) {
    for (const p of PROMPTS) {
      const prompt = target.vocab.tokenize(p);
      const plain = await drain(generate(ctx, prompt, base));
      runs.plain.push(plain.tokensPerSecond);
      for (const v of variants) {
        const res = await drain(generateSpeculative(ctx, drafter, prompt, { ...base, budget: v.budget, controller: v.kept ? kept : undefined }));
        if (res.tokens.join() !== plain.tokens.join()) throw new Error(`${v.label}: output differs from plain decoding on ${JSON.stringify(p)}`);
        runs[v.label].push(res.tokensPerSecond);
        extra[v.label].al.push(res.spec.meanAcceptedLength);
        extra[v.label].arSteps.push(res.spec.arSteps);
        extra[v.label].steps.push(res.spec.steps);
        extra[v.label].timeMs.push(res.spec.timeMs);
      }
    }
  }
  drafter.free();
  draft.free();
  const rows = variants.map((v) => ({
    label: v.label,
    budget: v.budget,
    keptController: !!v.kept,
    medianTokensPerSecond: median(runs[v.label]),
    medianRatioVsPlain: median(runs[v.label].map((x, i) => x / runs.plain[i])),
    meanAcceptedLength: extra[v.label].al.reduce((a, b) => a + b, 0) / extra[v.label].al.length,
    arStepFraction: extra[v.label].arSteps.reduce((a, b) => a + b, 0) / extra[v.label].steps.reduce((a, b) => a + b, 0),
  }));
  return { plainMedianTokensPerSecond: median(runs.plain), rows };
}

const useless = await compare(R, [
  { label: "auto (fresh controller per request)", budget: "auto" },
  { label: "auto (controller kept across requests)", budget: "auto", kept: true },
]);
const good = await compare(D, [
  { label: "auto", budget: "auto" },
  { label: "auto (kept)", budget: "auto", kept: true },
  ...[1, 2, 4, 8, 15].map((b) => ({ label: `chain ${b}`, budget: b })),
]);
ctx.free();
target.free();
const result = {
  what: `${N} greedy tokens per run, ${PROMPTS.length} prompts x ${reps} repetitions, interleaved; 1 thread; ratios are medians of per-run tok/s ratios vs the plain run just before`,
  command: `node bench/cpu/controller.mjs ${reps}`,
  date: new Date().toISOString(),
  gitCommit: execSync("git rev-parse HEAD").toString().trim(),
  cpu: os.cpus()[0]?.model,
  note: "CPU: a verify of n tokens costs nearly n times a single step here, unlike a GPU, so speculation rarely pays; the point is the controller's overhead (useless drafts) and whether it finds the best fixed budget (good drafts)",
  useless: { drafter: "random-weight dflash drafter made for code29m (make-model --arch dflash --seed 7)", ...useless },
  good: { drafter: "code29m-dflash-3l (trained)", ...good },
};
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
