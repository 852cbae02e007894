// The prefill suite: time to first token over context lengths, full prefill (and PFlash when
// src/prefill provides it: see optional.ts). Prompts are the prompt sets' text, concatenated and cut
// to each length, so every length prefills real text.
import { performance } from "node:perf_hooks";
import { Context } from "../engine/context.js";
import { generate } from "../engine/generate.js";
import type { PFlash } from "../prefill/pflash.js";
import type { Harness } from "./harness.js";
import type { BenchProgress } from "./progress.js";
import { renderChatML, type BenchPrompt } from "./prompts.js";
import type { PrefillSection, Row } from "./results.js";
import { round } from "./stats.js";

/** Context lengths for the suite: powers of two from `min` up to `max` (and `max` itself). */
export function contextLengths(min: number, max: number): number[] {
  const out: number[] = [];
  for (let l = min; l <= max; l *= 2) out.push(l);
  if (out[out.length - 1] !== max && max > min) out.push(max);
  return out;
}

/** A token stream of at least n tokens from the prompts' text (repeated when short). */
export function textTokens(h: Harness, prompts: readonly BenchPrompt[], n: number): Int32Array {
  const parts: Int32Array[] = [];
  let have = 0;
  for (let round = 0; have < n; round++) {
    for (const p of prompts) {
      const t = h.target.vocab.tokenize(renderChatML(p.messages), { addSpecial: have === 0 });
      parts.push(t);
      have += t.length;
      if (have >= n) break;
    }
    if (round > 10_000) throw new Error("prompt text tokenizes to nothing");
  }
  const out = new Int32Array(have);
  let off = 0;
  for (const t of parts) {
    out.set(t, off);
    off += t.length;
  }
  return out.subarray(0, n);
}

export interface PrefillOptions {
  prompts: BenchPrompt[];
  lengths: number[];
  /** timed repetitions per length (the median is reported) */
  reps: number;
  progress: BenchProgress;
  /** PFlash (src/prefill), loaded with compression "always": every length is compressed */
  pflash?: PFlash;
  pflashNote: string;
}

/** Time to the first generated token through generate() (the path `flint run` takes), ms. */
async function firstTokenMs(ctx: Context, tokens: Int32Array, keep?: Int32Array, t0 = performance.now()): Promise<number> {
  const it = generate(ctx, tokens, { maxTokens: 1, temperature: 0, ignoreEog: true, keep });
  let t1 = 0;
  for (;;) {
    const r = await it.next();
    if (r.done) break;
    if (r.value.token >= 0 && t1 === 0) t1 = performance.now();
  }
  return (t1 || performance.now()) - t0;
}

/** PFlash's time to first token: scoring, selection and the target's prefill of the kept tokens. */
async function pflashTtft(pf: PFlash, h: Harness, ctx: Context, tokens: Int32Array): Promise<{ ttftMs: number; keepRatio: number }> {
  const t0 = performance.now();
  const plan = pf.plan(h.target, tokens);
  const ttftMs = await firstTokenMs(ctx, tokens, plan?.keep, t0);
  return { ttftMs, keepRatio: plan ? plan.report.keepRatio : 1 };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export async function runPrefill(h: Harness, o: PrefillOptions): Promise<{ section: PrefillSection; rows: Row[] }> {
  const max = Math.max(...o.lengths);
  const tokens = textTokens(h, o.prompts, max);
  const opts = h.options;
  // one context sized for the longest prompt (the KV cache is cleared between runs)
  const ctx = Context.create(h.target, { ctx: max + 8, threads: opts.threads, flashAttn: opts.flashAttn, cacheTypeK: opts.cacheTypeK, cacheTypeV: opts.cacheTypeV, rsSeq: undefined });
  const points: PrefillSection["points"] = [];
  try {
    const ttft = (n: number) => firstTokenMs(ctx, tokens.subarray(0, n));
    await ttft(Math.min(...o.lengths)); // warm-up
    o.progress.start("prefill", o.lengths.length * (o.pflash ? 2 : 1));
    for (const n of o.lengths) {
      const times: number[] = [];
      for (let r = 0; r < o.reps; r++) times.push(await ttft(n));
      const ms = median(times);
      points.push({ method: "full", contextTokens: n, ttftMs: round(ms, 3), prefillTokensPerSecond: round((n * 1000) / ms, 1) });
      o.progress.tick(`full ${n}`);
      if (o.pflash) {
        const runs: { ttftMs: number; keepRatio: number }[] = [];
        for (let r = 0; r < o.reps; r++) runs.push(await pflashTtft(o.pflash, h, ctx, tokens.subarray(0, n)));
        const pm = median(runs.map((x) => x.ttftMs));
        points.push({ method: "pflash", contextTokens: n, ttftMs: round(pm, 3), prefillTokensPerSecond: round((n * 1000) / pm, 1), keepRatio: round(runs[0].keepRatio, 4) });
        o.progress.tick(`pflash ${n}`);
      }
    }
    o.progress.stop();
  } finally {
    ctx.free();
  }
  const rows: Row[] = [];
  for (const p of points) {
    const full = points.find((q) => q.method === "full" && q.contextTokens === p.contextTokens)!;
    if (p.method === "full") {
      rows.push({ suite: "prefill", metric: "prefill_tokens_per_second", mode: "full", label: `full prefill ${p.contextTokens}`, params: { contextTokens: p.contextTokens }, unit: "tok/s", flint: p.prefillTokensPerSecond, baseline: null, ratio: null });
      rows.push({ suite: "prefill", metric: "ttft_ms", mode: "full", label: `TTFT full ${p.contextTokens}`, params: { contextTokens: p.contextTokens }, unit: "ms", flint: p.ttftMs, baseline: null, ratio: null });
    } else {
      rows.push({
        suite: "prefill",
        metric: "ttft_ms",
        mode: p.method,
        label: `TTFT ${p.method} ${p.contextTokens}`,
        params: { contextTokens: p.contextTokens, keepRatio: p.keepRatio ?? 1 },
        unit: "ms",
        flint: p.ttftMs,
        baseline: full.ttftMs,
        baselineSource: "flint full prefill (same run)",
        ratio: round(full.ttftMs / p.ttftMs, 4),
        note: "lossy: keeps a share of the prompt (keepRatio)",
      });
    }
  }
  return { section: { points, pflash: { available: !!o.pflash, note: o.pflashNote } }, rows };
}
