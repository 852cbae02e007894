// What the load-time controller warm-up (warmController in src/spec/warmup.ts) saves the first
// request: in a fresh Node process, the first 512 plain steps of a fresh controller (observeAr +
// choose, trained code29m pair's H200 prices), without and with warmController run first. Each run
// is its own process (V8's optimization state is per process); RUNS runs each, interleaved.
// usage: node bench/cpu/controller-warmup.mjs [RUNS=5] > result.json   (needs `npm run build`)
import { execFileSync } from "node:child_process";
import os from "node:os";
import { fileURLToPath } from "node:url";

const STEPS = 512;
if (process.argv[2] === "--child") {
  const { AR } = await import("../../dist/spec/controller.js");
  const { createSpecController } = await import("../../dist/spec/generate-spec.js");
  const { warmController } = await import("../../dist/spec/warmup.js");
  let warmMs = 0;
  if (process.argv[3] === "warm") {
    const t = performance.now();
    warmController(15, "chain");
    warmMs = performance.now() - t;
  }
  const prices = { arMs: 0.33, draftMs: 0.9, catchUpDraftMs: 1.2, verifyMsByRows: { 2: 0.41, 3: 0.42, 5: 0.47, 8: 0.57, 16: 1.03 } };
  const c = createSpecController({ maxDepth: 15 }, "chain", { prices });
  let ms = 0;
  for (let i = 0; i < STEPS; i++) {
    const t = performance.now();
    c.observeAr(0.33);
    const b = c.choose();
    ms += performance.now() - t;
    if (b !== AR) c.observeDraft(1.2, false);
  }
  console.log(JSON.stringify({ usPerStep: (ms / STEPS) * 1000, warmMs }));
} else {
  const runs = Number(process.argv[2] ?? 5);
  const self = fileURLToPath(import.meta.url);
  const out = { cold: [], warm: [], warmUpMs: [] };
  for (let r = 0; r < runs; r++) {
    for (const mode of ["cold", "warm"]) {
      const x = JSON.parse(execFileSync(process.execPath, [self, "--child", mode], { encoding: "utf8" }));
      out[mode].push(Math.round(x.usPerStep * 100) / 100);
      if (mode === "warm") out.warmUpMs.push(Math.round(x.warmMs * 10) / 10);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  console.log(JSON.stringify({
    what: `us per plain step (observeAr + choose) over a fresh controller's first ${STEPS} steps in a fresh process, without (cold) and with (warm) warmController first`,
    command: "node bench/cpu/controller-warmup.mjs " + runs,
    date: new Date().toISOString(),
    cpu: os.cpus()[0]?.model,
    node: process.version,
    ...out,
    medianCold: median(out.cold),
    medianWarm: median(out.warm),
  }, null, 1));
}
