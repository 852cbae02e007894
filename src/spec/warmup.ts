// A GPU does some work once per process the first time a batch size runs: loading the kernels it
// needs (CUDA loads modules lazily; cuBLAS picks and loads its own per shape) and capturing graphs.
// On an H200 with an 8B target and its DFlash drafter that was tens of ms per new size, paid inside
// the first request's decoding. llama.cpp's tools run a warm-up decode at load for the same reason
// (--no-warmup skips it). A speculative runtime has more sizes than a plain one, so it runs each of
// them once on dummy tokens and forgets them: the target's plain step, one verify per budget the
// controller chooses from, and the drafter's block and injection sizes. Then a --budget auto run
// with a throwaway controller (48 tokens, or as many as 60 ms allow up to 256), for the JavaScript: a fresh process runs the speculative loop's
// plain steps and the controller unoptimized at first, which cost the first request on a small
// target (code29m on one CPU: 8.0 -> 6.3 ms of the loop's own time per 512 tokens). That run is too
// short for V8 to optimize the controller's estimates, so throwaway controllers then run synthetic
// steps (warmController: 13-20 ms on a CPU, after which a fresh controller's first 512 plain steps
// cost 0.53 us each in choose() and observeAr() instead of 3.04, medians of five processes in
// bench/results/2026-11-24-cpu-controller-warmup.json: ~1.3 ms of a 512-token request, ~1% of one
// on the trained code29m pair on an H200, where the host bounds the step).
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import { drain, generate } from "../engine/generate.js";
import type { Drafter } from "./drafter.js";
import { AR } from "./controller.js";
import { DDTreeBuilder } from "./ddtree.js";
import { candidateBudgets, createSpecController, generateSpeculative } from "./generate-spec.js";

const PROMPT_TOKENS = 8;
/** the --budget auto run: at least AUTO_TOKENS tokens, then on until AUTO_MS have passed (a target
 *  whose step the host bounds, where the loop's JavaScript matters, gets up to AUTO_MAX_TOKENS) */
const AUTO_TOKENS = 48;
const AUTO_MS = 60;
const AUTO_MAX_TOKENS = 256;
/** target rows the drafter's injection sizes are taken from (the largest flush chunk) */
const INJECTION_ROWS = 64;
/** synthetic steps per throwaway controller, and how many controllers (drafts turning good and bad) */
const CONTROLLER_STEPS = 1024;
const CONTROLLERS = 4;

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
      const n = Math.min(AUTO_MAX_TOKENS, ctx.nCtx - prompt.length - 1);
      if (n > 0) {
        const stop = new AbortController();
        const tAuto = performance.now();
        let tokens = 0;
        for await (const _ of generateSpeculative(ctx, drafter, prompt, { ...base, maxTokens: n, budget: "auto", shape, signal: stop.signal })) {
          if (++tokens >= AUTO_TOKENS && performance.now() - tAuto > AUTO_MS) stop.abort();
        }
      }
      warmController(drafter.maxDepth, shape);
    }
  } finally {
    ctx.clear();
    drafter?.reset();
  }
  return performance.now() - t0;
}

/** What warmController's synthetic steps did, over all its controllers. */
export interface ControllerWarmup {
  plain: number;
  shadows: number;
  verifies: number;
}

/** Synthetic step costs (ms) of a small target on a GPU; a verify of r rows costs VERIFY_MS(r). */
const AR_MS = 0.33;
const DRAFT_MS = 0.9;
const CATCH_UP_MS = 1.2;
const VERIFY_MS = (rows: number) => 0.36 + 0.04 * rows;

/** Runs throwaway controllers of the runtime's budgets and shape through synthetic steps (drafts
 *  accepted whole for stretches of 128 steps and hardly at all between), so that V8 has optimized
 *  the controller's methods before the first request's controller runs. */
export function warmController(maxDepth: number, shape: "chain" | "tree"): ControllerWarmup {
  const verifyMsByRows: Record<string, number> = {};
  for (const b of candidateBudgets(maxDepth, shape)) verifyMsByRows[b + 1] = VERIFY_MS(b + 1);
  const prices = { arMs: AR_MS, draftMs: DRAFT_MS, catchUpDraftMs: CATCH_UP_MS, verifyMsByRows };
  const builder = new DDTreeBuilder(maxDepth);
  const ids = new Int32Array(maxDepth);
  const path = Int32Array.from({ length: maxDepth }, (_, i) => i);
  const done: ControllerWarmup = { plain: 0, shadows: 0, verifies: 0 };
  for (let r = 0; r < CONTROLLERS; r++) {
    const c = createSpecController({ maxDepth }, shape, { prices });
    for (let i = 0; i < CONTROLLER_STEPS; i++) {
      const b = c.choose();
      if (b === AR) {
        c.observeAr(AR_MS);
        done.plain++;
        continue;
      }
      const shadow = c.shadowProbe;
      const n = Math.min(b, maxDepth);
      const good = ((i >> 7) & 1) === (r & 1);
      c.observeDraft(shadow ? CATCH_UP_MS : DRAFT_MS, !shadow);
      if (!shadow) c.observeVerify(n + 1, VERIFY_MS(n + 1));
      c.observeProposalLength(n, n);
      c.observeAcceptance(builder.buildChain(ids, n), good ? n : i % 2, path);
      if (shadow) {
        c.observeAr(AR_MS);
        done.shadows++;
      } else done.verifies++;
    }
    c.snapshot();
  }
  return done;
}
