// A GPU does some work once per process the first time a batch size runs: loading the kernels it
// needs (CUDA loads modules lazily; cuBLAS picks and loads its own per shape) and capturing graphs.
// On an H200 with an 8B target and its DFlash drafter that was tens of ms per new size, paid inside
// the first request's decoding. llama.cpp's tools run a warm-up decode at load for the same reason
// (--no-warmup skips it). A speculative runtime has more sizes than a plain one, so it runs each of
// them once on dummy tokens and forgets them: the target's plain step, one verify per budget the
// controller chooses from, and the drafter's block and injection sizes. Then a short --budget auto
// run with a throwaway controller, for the JavaScript: a fresh process runs the speculative loop's
// plain steps and the controller unoptimized at first, which cost the first request on a small
// target (code29m on one CPU: 8.0 -> 6.3 ms of the loop's own time per 512 tokens).
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import { drain, generate } from "../engine/generate.js";
import type { Drafter } from "./drafter.js";
import { candidateBudgets, createSpecController, generateSpeculative } from "./generate-spec.js";

const PROMPT_TOKENS = 8;
/** tokens of the --budget auto run */
const AUTO_TOKENS = 48;
/** target rows the drafter's injection sizes are taken from (the largest flush chunk) */
const INJECTION_ROWS = 64;

/** Runs the runtime's decode sizes once, then clears the target's cache and resets the drafter.
 *  Returns the time it took in ms. */
export async function warmUp(ctx: Context, drafter?: Drafter, shape: "chain" | "tree" = "chain"): Promise<number> {
  const t0 = performance.now();
  const token = (i: number) => (i + 1) % ctx.nVocab;
  const prompt = Int32Array.from({ length: Math.min(PROMPT_TOKENS, ctx.nCtx >> 2) }, (_, i) => token(i));
  const base = { temperature: 0, ignoreEog: true };
  try {
    await drain(generate(ctx, prompt, { ...base, maxTokens: 3 }));
    if (drafter) {
      const rows = Math.min(INJECTION_ROWS, ctx.nBatch, ctx.nCtx >> 1);
      if (drafter.warmInjections) {
        ctx.clear();
        ctx.prefill(Int32Array.from({ length: rows }, (_, i) => token(i)));
        drafter.warmInjections(rows);
      }
      // the prompt's token, then one draft and one verify at each budget the controller may pick
      for (const budget of candidateBudgets(drafter.maxDepth, shape)) {
        if (budget + 1 + prompt.length > ctx.nCtx) continue;
        await drain(generateSpeculative(ctx, drafter, prompt, { ...base, maxTokens: 2, budget, shape }));
      }
      const n = Math.min(AUTO_TOKENS, ctx.nCtx - prompt.length - 1);
      if (n > 0) await drain(generateSpeculative(ctx, drafter, prompt, { ...base, maxTokens: n, budget: "auto", shape }));
    }
  } finally {
    ctx.clear();
    drafter?.reset();
  }
  return performance.now() - t0;
}
