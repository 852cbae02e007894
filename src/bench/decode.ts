// The decode suite: plain decoding and every speculative mode the pair supports, over a prompt set at
// temperature 0, prompt-major (each prompt runs through every mode before the next prompt), so slow
// drifts of the machine hit all modes alike. Each speculative output is compared with plain decoding
// on the same kind of context; a difference fails the run unless it is a near tie (NEAR_TIE_RULE).
import { Harness, NEAR_TIE, NEAR_TIE_RULE, firstDivergence, type ModeDef, type RunResult } from "./harness.js";
import type { BenchProgress } from "./progress.js";
import { renderChatML, type BenchPrompt } from "./prompts.js";
import type { DecodeSection, Row } from "./results.js";
import { ModeAccumulator, round } from "./stats.js";

export interface EncodedPrompt {
  id: string;
  tokens: Int32Array;
}

/** Renders and tokenizes prompts; those that leave no room for `room` generated tokens are skipped. */
export function encodePrompts(h: Harness, prompts: readonly BenchPrompt[], room: number, nCtx: number): { encoded: EncodedPrompt[]; skipped: string[] } {
  const encoded: EncodedPrompt[] = [];
  const skipped: string[] = [];
  for (const p of prompts) {
    const tokens = h.target.vocab.tokenize(renderChatML(p.messages));
    if (tokens.length + room + 1 > nCtx) skipped.push(`${p.id} (${tokens.length} tokens)`);
    else encoded.push({ id: p.id, tokens });
  }
  return { encoded, skipped };
}

/** The run cut to its first n tokens, its times scaled by the share of decode steps kept. */
function firstTokens(r: RunResult, n: number): RunResult {
  if (r.tokens.length <= n) return r;
  const f = Math.max(0, n - 1) / Math.max(1, r.tokens.length - 1);
  return { ...r, tokens: r.tokens.slice(0, n), decodeMs: r.decodeMs * f, split: { decodeCallsMs: r.split.decodeCallsMs * f, samplingMs: r.split.samplingMs * f } };
}

/** extra reference tokens the oracle needs past the end (it proposes up to 15 ahead) */
const ORACLE_LOOKAHEAD = 16;

export interface DecodeSuiteOptions {
  prompts: EncodedPrompt[];
  tokens: number;
  modes: ModeDef[];
  progress: BenchProgress;
}

export interface DecodeSuiteResult {
  section: DecodeSection;
  rows: Row[];
  failures: string[];
  /** plain decoding's tokens per prompt (main context), for baseline comparisons */
  arTokens: Map<string, number[]>;
}

export async function runDecodeSuite(h: Harness, o: DecodeSuiteOptions): Promise<DecodeSuiteResult> {
  const modes = o.modes.filter((m) => m.mode !== "ar");
  const ar: ModeDef = o.modes.find((m) => m.mode === "ar") ?? { mode: "ar", label: "plain (AR)", drafter: "none", shape: "ar", treeK: 1, simulated: false };
  const needTreeRef = modes.some((m) => m.shape === "tree");
  const arTree: ModeDef = { ...ar, mode: "ar-fa-off", label: "plain (AR, flash-attn off)", family: "tree" };
  const refs: ModeDef[] = needTreeRef ? [ar, arTree] : [ar];
  const all = [...refs, ...modes];
  const acc = new Map<string, ModeAccumulator>(all.map((m) => [m.mode, new ModeAccumulator()]));
  const extra = modes.some((m) => m.drafter === "oracle") ? ORACLE_LOOKAHEAD : 0;
  const divergences: DecodeSection["divergences"] = [];
  const failures: string[] = [];
  const arTokens = new Map<string, number[]>();

  // warm-up: graph allocation and first-use costs stay out of the measurements
  if (o.prompts.length > 0) {
    const p = o.prompts[0];
    const warm = Math.min(8, o.tokens);
    for (const m of refs) await h.run(m, p.tokens, warm + extra);
    const ref = (await h.run(ar, p.tokens, warm + extra)).tokens;
    for (const m of modes) await h.run(m, p.tokens, warm, [...p.tokens, ...ref]);
  }

  o.progress.start("decode", o.prompts.length * all.length);
  for (const p of o.prompts) {
    const ref = new Map<string, number[]>();
    for (const m of refs) {
      const r = await h.run(m, p.tokens, o.tokens + extra);
      // the extra look-ahead tokens are for the oracle; the measurement covers o.tokens like the others
      acc.get(m.mode)!.add(extra > 0 ? firstTokens(r, o.tokens) : r);
      ref.set(h.family(m), r.tokens);
      o.progress.tick(`${p.id} ${m.mode}`);
    }
    arTokens.set(p.id, ref.get("main")!.slice(0, o.tokens));
    for (const m of modes) {
      const family = h.family(m);
      const reference = ref.get(family)!;
      const r = await h.run(m, p.tokens, o.tokens, [...p.tokens, ...ref.get("main")!]);
      const a = acc.get(m.mode)!;
      a.add(r);
      a.equality.compared++;
      const expected = reference.slice(0, o.tokens);
      const at = firstDivergence(r.tokens, expected);
      if (at < 0) a.equality.equal++;
      else {
        const both = at < expected.length && at < r.tokens.length;
        const { gap, eps } = both ? h.roundingAt(family, p.tokens, expected, at, r.tokens[at]) : { gap: Infinity, eps: 0 };
        const nearTie = gap < Math.max(NEAR_TIE, 2 * eps);
        if (nearTie) a.equality.nearTies++;
        else {
          a.equality.mismatches++;
          failures.push(`${m.mode} on ${p.id}: token ${at} is ${r.tokens[at]}, plain decoding chose ${expected[at]} (logit gap ${Number.isFinite(gap) ? gap.toExponential(2) : "n/a: lengths differ"}, measured rounding ${eps.toExponential(2)})`);
        }
        divergences.push({ prompt: p.id, mode: m.mode, index: at, flintToken: r.tokens[at] ?? -1, arToken: expected[at] ?? -1, gap: Number.isFinite(gap) ? gap : -1, rounding: eps, nearTie });
      }
      o.progress.tick(`${p.id} ${m.mode}`);
    }
  }
  o.progress.stop();

  const section: DecodeSection = {
    prompts: o.prompts.map((p) => p.id),
    tokensPerPrompt: o.tokens,
    nearTieRule: NEAR_TIE_RULE,
    modes: all.map((m) => {
      const a = acc.get(m.mode)!;
      const ms = a.msPerStep();
      return {
        mode: m.mode,
        label: m.label,
        simulated: m.simulated,
        drafter: m.drafter,
        shape: m.shape,
        budget: m.budget ?? null,
        treeK: m.treeK,
        flashAttn: h.family(m) === "tree" ? "off" : h.context("main").flashAttn,
        tokensPerSecond: round(a.tokensPerSecond, 2),
        meanAcceptedLength: round(a.meanAcceptedLength, 3),
        acceptanceByDepth: a.acceptanceByDepth.map((x) => round(x, 4)),
        steps: a.steps,
        arSteps: a.arSteps,
        shadowProbes: a.shadowProbes,
        relayouts: a.relayouts,
        tokens: a.tokens,
        decodeMs: round(a.decodeMs, 2),
        msPerStep: { draft: round(ms.draft, 4), verify: round(ms.verify, 4), bookkeeping: round(ms.bookkeeping, 4), sampling: round(ms.sampling, 4), other: round(ms.other, 4) },
        equality: a.equality,
      };
    }),
    divergences,
  };
  const rows: Row[] = [];
  for (const m of section.modes) {
    rows.push({ suite: "decode", metric: "tokens_per_second", mode: m.mode, label: m.label, unit: "tok/s", flint: m.tokensPerSecond, baseline: null, ratio: null, ...(m.simulated ? { simulated: true } : {}) });
  }
  for (const m of section.modes) {
    if (m.shape === "ar") continue;
    rows.push({ suite: "decode", metric: "mean_accepted_length", mode: m.mode, label: m.label, unit: "tokens/step", flint: m.meanAcceptedLength, baseline: null, ratio: null, ...(m.simulated ? { simulated: true } : {}) });
  }
  return { section, rows, failures, arTokens };
}
