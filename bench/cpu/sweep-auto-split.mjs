// Where an auto point of `flint bench --suite sweep` loses against the fixed budgets: its steps priced
// at the fixed points' steady wall time per step (a plain step at plain decoding's, a verify of b
// nodes at the fixed budget b's, a verify of no node at a plain step's, a shadow probe's draft at the
// auto point's mean draft), against its measured time.
// The rest, divided by its shape changes beyond the fixed points' one per prompt, is what each change
// of the target's decode shape cost (on ggml-cuda: the CUDA graph, re-captured) plus anything the
// steady prices miss. Needs results with verifiedByNodes (flint at 24f4b32 or later).
// usage: node bench/cpu/sweep-auto-split.mjs results.json [...]
import { readFileSync } from "node:fs";

const out = [];
for (const file of process.argv.slice(2)) {
  const r = JSON.parse(readFileSync(file, "utf8"));
  const sw = r.sweep;
  const intervals = sw.prompts.length * (sw.tokensPerPrompt - 1);
  const wallMs = (p) => (intervals * 1000) / p.tokensPerSecond;
  const plain = sw.points.find((p) => p.shape === "ar");
  const plainStep = wallMs(plain) / plain.steps;
  for (const auto of sw.points.filter((p) => p.budget === "auto" && p.verifiedByNodes)) {
    const fixed = new Map(sw.points.filter((p) => p.drafter === auto.drafter && p.shape === auto.shape && typeof p.budget === "number").map((p) => [p.budget, wallMs(p) / p.steps]));
    // plain steps at plain decoding's cost, shadow probes at the auto point's mean draft
    let steadyMs = auto.arSteps * plainStep + auto.shadowProbes * (auto.draftMsPerStep ?? 0);
    let priced = true;
    for (const [nodes, n] of Object.entries(auto.verifiedByNodes)) {
      const b = Number(nodes);
      const step = b === 0 ? plainStep : fixed.get(b);
      if (step === undefined) priced = false;
      else steadyMs += n * step;
    }
    if (!priced) continue;
    const measuredMs = wallMs(auto);
    // the best fixed choice: a budget of this drafter and shape, or plain decoding
    const best = Math.max(plain.tokensPerSecond, ...[...fixed.keys()].map((b) => sw.points.find((p) => p.drafter === auto.drafter && p.shape === auto.shape && p.budget === b).tokensPerSecond));
    const extraChanges = auto.shapeChanges - sw.prompts.length;
    const round = (x, d = 3) => Math.round(x * 10 ** d) / 10 ** d;
    out.push({
      file,
      gitCommit: r.gitCommit,
      drafter: auto.drafter + (auto.simulated ? " (simulated acceptance)" : ""),
      controllerCarried: auto.controllerCarried ?? false,
      shape: auto.shape,
      autoTokPerSec: auto.tokensPerSecond,
      bestFixedTokPerSec: best,
      autoToBestFixed: round(auto.tokensPerSecond / best),
      measuredMs: round(measuredMs, 1),
      steadyMs: round(steadyMs, 1),
      steadyToBestFixed: round(intervals * 1000 / steadyMs / best),
      excessMs: round(measuredMs - steadyMs, 1),
      shapeChanges: auto.shapeChanges,
      excessMsPerExtraShapeChange: extraChanges > 0 ? round((measuredMs - steadyMs) / extraChanges, 2) : null,
      plainStepMs: round(plainStep, 3),
    });
  }
}
console.log(JSON.stringify({ what: "sweep auto points: measured time against their steps at the fixed points' steady cost", rows: out }, null, 1));
