// A GPU does some work once per process the first time a shape runs: loading the kernels a batch size
// needs (CUDA loads modules lazily), building and capturing the graphs. llama.cpp's tools run an empty
// warm-up decode at load for the same reason (--no-warmup skips it). A speculative runtime has more
// shapes than a plain one (the drafter's block, the verify batch), so it runs a short generation of
// each kind on a dummy prompt and forgets it: the first request then pays only for its own tokens.
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import { generate, type GenerateResult } from "../engine/generate.js";
import type { Drafter } from "./drafter.js";
import { generateSpeculative } from "./generate-spec.js";

const PROMPT_TOKENS = 8;
/** DDTree budget of the warm-up verify (trees): a mid-sized one of the controller's range */
const TREE_BUDGET = 16;

/** Runs a plain and (with a drafter) a speculative generation of a few tokens, then clears the
 *  target's cache and resets the drafter. Returns the time it took in ms. */
export async function warmUp(ctx: Context, drafter?: Drafter, shape: "chain" | "tree" = "chain"): Promise<number> {
  const t0 = performance.now();
  const nVocab = ctx.nVocab;
  const prompt = Int32Array.from({ length: PROMPT_TOKENS }, (_, i) => (i + 1) % nVocab);
  const base = { temperature: 0, ignoreEog: true };
  try {
    await drain(generate(ctx, prompt, { ...base, maxTokens: 3 }));
    if (drafter) {
      const budget = shape === "tree" ? TREE_BUDGET : drafter.maxDepth;
      // the prompt's token, then at least one draft and one verify of the largest chain
      await drain(generateSpeculative(ctx, drafter, prompt, { ...base, maxTokens: 3, budget, shape }));
    }
  } finally {
    ctx.clear();
    drafter?.reset();
  }
  return performance.now() - t0;
}

async function drain(it: AsyncGenerator<unknown, GenerateResult>): Promise<void> {
  for (;;) if ((await it.next()).done) return;
}
