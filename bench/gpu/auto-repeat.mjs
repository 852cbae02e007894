// Does --spec auto's cost with useless drafts stay when the process is warm? (issue 7: one `flint run`
// ran at 0.74-0.80 of plain; its plain steps' llama_decode averaged 0.8-1.0 ms, while the same steps
// beside an idle or copying drafter take 0.1-0.2 ms: bench/gpu/plain-step.mjs.) Loads the pair as
// `flint run --spec auto` does, then alternates plain and speculative generations of the same prompt
// in one process: "auto" with a fresh controller per request (as `flint run`), "auto-shared" with one
// controller kept across requests (as `flint serve`), "auto-verified" with a fresh controller whose
// probes verify and whose drafter follows every step (shadow and unfollow off: the controller before
// shadow probes), "auto-inline" as "auto" with the shadow probes' drafts made in line (before fb31ad4
// they were; since, a DFlash shadow drafts while the plain steps go on). Every controller starts from
// the load-time step prices, as `flint run` and `flint serve` make theirs (before fb31ad4 this script
// passed none). "spec-auto" is "auto" with the n-gram assist, as `flint run --spec auto` runs it
// since it has one (ngram-assist.ts). Prints one JSON object: per run tok/s and the time split. --no-warmup loads without
// the load-time warm-up (src/spec/warmup.ts).
// usage: node bench/gpu/auto-repeat.mjs TARGET.gguf DRAFTER.gguf [TOKENS] [ROUNDS] [--cpu] [--no-warmup]
import { drain, generate } from "../../dist/engine/generate.js";
import { createSpecController, generateSpeculative } from "../../dist/spec/generate-spec.js";
import { loadRuntime } from "../../dist/spec/runtime.js";

const args = process.argv.slice(2);
const cpu = args.includes("--cpu");
const [tPath, dPath, tokensArg, roundsArg] = args.filter((a) => !a.startsWith("--"));
const maxTokens = Number(tokensArg ?? 128);
const rounds = Number(roundsArg ?? 3);
const rt = await loadRuntime({ modelPath: tPath, draftPath: dPath, spec: "auto", treeK: 1, gpuLayers: cpu ? 0 : -1, flashAttn: "auto", sampling: "auto", greedyOnly: true, warmup: !args.includes("--no-warmup") });
const prompt = rt.model.vocab.tokenize("def fibonacci(n):\n    if n < 2:\n        return n\n");
const priced = rt.prices ? { prices: rt.prices } : {};
const shared = createSpecController(rt.drafter, "chain", priced);
const controllers = {
  auto: () => createSpecController(rt.drafter, "chain", priced),
  "spec-auto": () => createSpecController(rt.drafter, "chain", priced),
  "auto-inline": () => createSpecController(rt.drafter, "chain", priced),
  "auto-shared": () => shared,
  "auto-verified": () => createSpecController(rt.drafter, "chain", { ...priced, shadow: false, unfollow: false }),
};
const base = { maxTokens, temperature: 0, ignoreEog: true };
const r2 = (x) => Math.round(x * 100) / 100;
const runs = [];
for (let round = 0; round < rounds; round++) {
  for (const mode of ["plain", "auto", "spec-auto", "auto-inline", "auto-shared", "auto-verified"]) {
    rt.ctx.clear();
    rt.drafter.reset();
    // an own property hides the drafter's launchProposal: the loop then drafts shadows in line
    if (mode === "auto-inline") rt.drafter.launchProposal = undefined;
    const r =
      mode === "plain"
        ? await drain(generate(rt.ctx, prompt, base))
        : await drain(generateSpeculative(rt.ctx, rt.drafter, prompt, { ...base, budget: "auto", shape: "chain", controller: controllers[mode](), prices: rt.prices, ngramAssist: mode === "spec-auto" }));
    delete rt.drafter.launchProposal;
    const row = { mode, round, tokensPerSecond: r2(r.tokensPerSecond), decodeMs: r2(r.decodeMs) };
    if (r.spec) {
      const t = r.spec.timeMs;
      Object.assign(row, { steps: r.spec.steps, arSteps: r.spec.arSteps, shadowProbes: r.spec.shadowProbes, shadowMs: { launch: r2(r.spec.shadowMs.launch), take: r2(r.spec.shadowMs.take) }, unfollowedSteps: r.spec.unfollowedSteps, ...(r.spec.ngramAssist ? { ngramAssist: { steps: r.spec.ngramAssist.steps, tokens: r.spec.ngramAssist.tokens, shadowProbes: r.spec.ngramAssist.shadowProbes } } : {}), timeMs: { draft: r2(t.draft), verify: r2(t.verify), bookkeeping: r2(t.bookkeeping), sampling: r2(t.sampling), other: r2(t.other) } });
    } else row.split = { decodeCallsMs: r2(r.split.decodeCallsMs), samplingMs: r2(r.split.samplingMs) };
    runs.push(row);
    process.stderr.write(JSON.stringify(row) + "\n");
  }
}
const { warmupMs, loadMs } = rt;
rt.free();
console.log(JSON.stringify({ target: tPath, drafter: dPath, maxTokens, rounds, warmupMs: r2(warmupMs), loadMs: r2(loadMs), runs }, null, 1));
