// Needle in a haystack for PFlash: a haystack of filler prose (data/niah-filler.txt, written for this
// repo) with one key/value needle ("The secret code for <key> is <value>.") at a seeded random depth
// and the question at the end. For each context size it measures, with and without PFlash: whether
// the kept chunks contain the needle, whether greedy generation retrieves the value, and the time to
// first token (scorer + selection + target prefill of the kept tokens, vs a full prefill).
//
// With random-weight models the answer is never retrieved: `retrieved` is reported as measured, and
// `needleKept` (did the scorer keep the needle's chunks) is the signal such runs give.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { Context } from "../engine/context.js";
import { generate, type GenerateOptions, type GenerateResult } from "../engine/generate.js";
import { Model } from "../engine/model.js";
import { UserError } from "../native/errors.js";
import { loadPrefill, prefillReport, type PFlash, type PrefillReport } from "./pflash.js";

export const NIAH_FILLER_FILE = fileURLToPath(new URL("../../data/niah-filler.txt", import.meta.url));

export interface NiahOptions {
  /** target GGUF */
  model: string;
  /** PFlash scorer GGUF; without it only the full prefill runs */
  scorer?: string;
  /** prompt sizes in target tokens (the haystack is filled up to about this many) */
  contexts: number[];
  /** haystacks per context size (default 1) */
  trials?: number;
  /** needle depths in [0, 1], cycled over trials; default: seeded random */
  depths?: number[];
  keepRatio?: number;
  seed?: number;
  /** tokens generated to look for the value (default 16) */
  maxTokens?: number;
  /** also run the full prefill (default true) */
  full?: boolean;
  threads?: number;
  gpuLayers?: number;
  flashAttn?: "auto" | "on" | "off";
  scorerDevice?: "auto" | "cpu" | "gpu";
  scorerChunk?: number;
  /** the scorer's prefill attention window (0 = full) */
  scorerWindow?: number;
  fillerFile?: string;
  /** called with each row as it is measured */
  onRow?: (row: NiahRow) => void;
}

export interface NiahRunResult {
  /** time from the start of the request (scoring included) to the first generated token, ms */
  ttftMs: number;
  /** from the first generated token to the second, ms (after PFlash it includes libllama's re-rotation
   *  of the moved keys) */
  secondTokenMs: number;
  retrieved: boolean;
  text: string;
}

export interface NiahRow {
  context: number;
  trial: number;
  promptTokens: number;
  depth: number;
  key: string;
  value: string;
  /** prompt token span [start, end) of the needle sentence */
  needleSpan: [number, number];
  full?: NiahRunResult;
  pflash?: NiahRunResult & {
    /** every needle token was kept */
    needleKept: boolean;
    /** fraction of the needle's tokens kept */
    needleKeptFraction: number;
    prefill: PrefillReport;
    /** the scorer's memory on its device: weights, KV cache, compute buffer (bytes) */
    scorerBytes: { weights: number; kv: number; compute: number };
  };
}

/** xorshift32, seeded: haystacks are reproducible. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

const KEY_WORDS = ["amber", "harbour", "violet", "granite", "willow", "copper", "lantern", "meadow", "falcon", "cedar", "orchid", "tundra", "marble", "saffron", "glacier", "thistle"];

export interface Haystack {
  text: string;
  key: string;
  value: string;
  depth: number;
  /** text before the needle sentence, and the needle sentence */
  before: string;
  needle: string;
}

/**
 * Builds a haystack of about `tokens` tokens (counted with `count`) from filler paragraphs in a seeded
 * order, the needle at paragraph boundary nearest `depth`, and the question at the end.
 */
export function buildHaystack(paragraphs: string[], tokens: number, count: (text: string) => number, seed: number, depth?: number): Haystack {
  if (paragraphs.length === 0) throw new UserError("the NIAH filler text has no paragraphs");
  const rand = rng(seed);
  const key = `${KEY_WORDS[Math.floor(rand() * KEY_WORDS.length)]} ${KEY_WORDS[Math.floor(rand() * KEY_WORDS.length)]}`;
  const value = String(100000 + Math.floor(rand() * 900000));
  const d = depth ?? rand();
  const needle = `The secret code for ${key} is ${value}.`;
  const question = `\n\nQuestion: What is the secret code for ${key}?\nAnswer: The secret code for ${key} is`;
  const budget = tokens - count(needle) - count(question);
  const lens = paragraphs.map((p) => count(p + "\n\n"));
  const chosen: string[] = [];
  let used = 0;
  let i = Math.floor(rand() * paragraphs.length);
  while (used < budget) {
    const k = i % paragraphs.length;
    if (used + lens[k] > budget) {
      // top up with the leading sentences of the next paragraph that still fit
      let part = "";
      for (const sentence of paragraphs[k].split(/(?<=[.!?])\s+/)) {
        const next = part ? `${part} ${sentence}` : sentence;
        if (used + count(next + "\n\n") > budget) break;
        part = next;
      }
      if (part) chosen.push(part);
      break;
    }
    chosen.push(paragraphs[k]);
    used += lens[k];
    // a seeded stride through the paragraphs so long haystacks do not repeat in one fixed cycle
    i += 1 + Math.floor(rand() * 3);
  }
  const at = Math.round(d * chosen.length);
  const before = chosen.slice(0, at).map((p) => p + "\n\n").join("");
  const after = chosen.slice(at).map((p) => p + "\n\n").join("");
  return { text: before + needle + "\n\n" + after.replace(/\n\n$/, "") + question, key, value, depth: d, before, needle };
}

export function loadFiller(file = NIAH_FILLER_FILE): string[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UserError(`cannot read the NIAH filler text ${file}`);
  }
  return text
    .split(/\n\s*\n/)
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
}

async function timed(ctx: Context, prompt: Int32Array, opts: GenerateOptions, t0: number): Promise<{ ttftMs: number; secondTokenMs: number; result: GenerateResult }> {
  const it = generate(ctx, prompt, opts);
  const at: number[] = [];
  for (;;) {
    const r = await it.next();
    if (r.done) {
      const ttftMs = (at[0] ?? performance.now()) - t0;
      return { ttftMs, secondTokenMs: at.length > 1 ? at[1] - at[0] : 0, result: r.value };
    }
    if (r.value.token >= 0 && at.length < 2) at.push(performance.now());
  }
}

/** Runs the NIAH measurement; returns one row per (context, trial). Frees everything it loads. */
export async function runNiah(o: NiahOptions): Promise<NiahRow[]> {
  if (o.contexts.length === 0) throw new UserError("give at least one context size");
  for (const c of o.contexts) if (!Number.isInteger(c) || c < 64) throw new UserError(`context sizes must be integers >= 64, got ${c}`);
  const trials = o.trials ?? 1;
  const maxTokens = o.maxTokens ?? 16;
  const paragraphs = loadFiller(o.fillerFile);
  const model = Model.load(o.model, { gpuLayers: o.gpuLayers ?? -1 });
  let ctx: Context | undefined;
  let pf: PFlash | undefined;
  const rows: NiahRow[] = [];
  try {
    const need = Math.max(...o.contexts) + maxTokens + 64;
    ctx = Context.create(model, { ctx: need, threads: o.threads, flashAttn: o.flashAttn });
    if (o.scorer) {
      pf = await loadPrefill(
        { compression: "always", keepRatio: o.keepRatio, scorer: o.scorer, scorerDevice: o.scorerDevice ?? (o.gpuLayers === 0 ? "cpu" : "auto"), threads: o.threads, scorerChunk: o.scorerChunk, scorerWindow: o.scorerWindow },
        o.model,
      );
    }
    const count = (t: string) => model.vocab.tokenize(t, { addSpecial: false }).length;
    const gen: GenerateOptions = { temperature: 0, maxTokens, ignoreEog: true };
    let seed = o.seed ?? 1;
    for (const context of o.contexts) {
      for (let trial = 0; trial < trials; trial++) {
        const depth = o.depths?.length ? o.depths[rows.length % o.depths.length] : undefined;
        const h = buildHaystack(paragraphs, context, count, seed++, depth);
        const prompt = model.vocab.tokenize(h.text);
        if (prompt.length >= ctx.nCtx - maxTokens) throw new UserError(`the ${context}-token haystack came out at ${prompt.length} tokens, more than the context allows`);
        // the needle's token span: tokens of the text before it, and through it (the BOS the
        // tokenizer may add counts in both)
        const start = model.vocab.tokenize(h.before).length;
        const end = model.vocab.tokenize(h.before + h.needle).length;
        const row: NiahRow = { context, trial, promptTokens: prompt.length, depth: h.depth, key: h.key, value: h.value, needleSpan: [start, end] };
        if (o.full ?? true) {
          const t0 = performance.now();
          const r = await timed(ctx, prompt, gen, t0);
          row.full = { ttftMs: r.ttftMs, secondTokenMs: r.secondTokenMs, retrieved: r.result.text.includes(h.value), text: r.result.text };
        }
        if (pf) {
          const t0 = performance.now();
          const plan = pf.plan(model, prompt)!;
          const r = await timed(ctx, prompt, { ...gen, keep: plan.keep }, t0);
          const kept = new Set(plan.keep);
          let inside = 0;
          for (let k = start; k < end; k++) if (kept.has(k)) inside++;
          row.pflash = {
            ttftMs: r.ttftMs,
            secondTokenMs: r.secondTokenMs,
            retrieved: r.result.text.includes(h.value),
            text: r.result.text,
            needleKept: inside === end - start,
            needleKeptFraction: end > start ? inside / (end - start) : 0,
            prefill: prefillReport(plan, r.result),
            scorerBytes: pf.scorer.memory(),
          };
        }
        rows.push(row);
        o.onRow?.(row);
      }
    }
  } finally {
    pf?.free();
    ctx?.free();
    model.free();
  }
  return rows;
}
