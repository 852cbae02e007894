// Plain autoregressive generation: prefill, then sample/decode one token at a time, as an async
// iterator of text pieces. Stop strings are matched across token boundaries; text that could still
// become a stop string is held back until it cannot.
import { performance } from "node:perf_hooks";
import { UserError } from "../native/errors.js";
import type { Context } from "./context.js";
import { Sampler, type SamplerOptions } from "./sampler.js";
import { TokenTextDecoder } from "./vocab.js";

export interface GenerateOptions extends SamplerOptions {
  /** tokens to generate at most (default 256) */
  maxTokens?: number;
  /** strings that end generation; they are not part of the output */
  stop?: string[];
  /** keep going past end-of-generation tokens (benchmarks) */
  ignoreEog?: boolean;
  signal?: AbortSignal;
  /** sequence id in the context (default 0) */
  seq?: number;
  /** position of the first prompt token (default 0: the context's sequence is cleared first) */
  startPos?: number;
}

export type StopReason = "eog" | "length" | "stop" | "abort";

export interface GenerateEvent {
  token: number;
  /** text released by this token (may be empty while a stop string or UTF-8 char is pending) */
  text: string;
}

export interface GenerateResult {
  text: string;
  tokens: number[];
  promptTokens: number;
  stopReason: StopReason;
  /** wall time of the prompt prefill, ms */
  promptMs: number;
  /** wall time from the first generated token to the last one, ms (tokens-1 decode steps) */
  decodeMs: number;
  /** decode steps per second: (tokens - 1) / decodeMs */
  tokensPerSecond: number;
  /** where decode time went: libllama decode calls (incl. logits readout) and the JS sampler, ms */
  split: { decodeCallsMs: number; samplingMs: number };
}

/** Holds back a tail of text that may be the start of a stop string. */
export class StopMatcher {
  private pending = "";
  private readonly maxLen: number;
  constructor(private readonly stops: readonly string[]) {
    for (const s of stops) if (s.length === 0) throw new UserError("stop strings must not be empty");
    this.maxLen = stops.reduce((m, s) => Math.max(m, s.length), 0);
  }

  /** Adds text; returns the text safe to release and whether a stop string was hit. */
  push(text: string): { release: string; stopped: boolean } {
    if (this.stops.length === 0) return { release: text, stopped: false };
    this.pending += text;
    let cut = -1;
    for (const s of this.stops) {
      const at = this.pending.indexOf(s);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      const release = this.pending.slice(0, cut);
      this.pending = "";
      return { release, stopped: true };
    }
    // keep the longest suffix that is a proper prefix of some stop string
    let keep = 0;
    const lim = Math.min(this.maxLen - 1, this.pending.length);
    for (let k = lim; k > 0; k--) {
      const tail = this.pending.slice(this.pending.length - k);
      if (this.stops.some((s) => s.startsWith(tail))) {
        keep = k;
        break;
      }
    }
    const release = this.pending.slice(0, this.pending.length - keep);
    this.pending = this.pending.slice(this.pending.length - keep);
    return { release, stopped: false };
  }

  flush(): string {
    const p = this.pending;
    this.pending = "";
    return p;
  }
}

export async function* generate(ctx: Context, prompt: ArrayLike<number>, opts: GenerateOptions = {}): AsyncGenerator<GenerateEvent, GenerateResult> {
  const maxTokens = opts.maxTokens ?? 256;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new UserError(`max tokens must be a non-negative integer, got ${maxTokens}`);
  const seq = opts.seq ?? 0;
  const startPos = opts.startPos ?? 0;
  if (prompt.length === 0) throw new UserError("the prompt is empty");
  if (startPos + prompt.length >= ctx.nCtx) {
    throw new UserError(`the prompt (${prompt.length} tokens) does not fit the context of ${ctx.nCtx} tokens; raise --ctx`);
  }
  const vocab = ctx.model.vocab;
  const sampler = new Sampler(ctx.nVocab, opts);
  if (ctx.deviceGreedy && !sampler.isPlainGreedy) {
    throw new UserError("this context picks greedy tokens on the device; sampling (temperature > 0 or penalties) needs a context without deviceGreedy");
  }
  const onDevice = ctx.deviceGreedy;
  for (let i = 0; i < prompt.length; i++) sampler.accept(prompt[i]);
  const decoder = new TokenTextDecoder(vocab);
  const stops = new StopMatcher(opts.stop ?? []);
  if (startPos === 0) ctx.truncate(seq, 0);

  const t0 = performance.now();
  let logits = ctx.prefill(prompt, startPos, seq);
  const tPrompt = performance.now();

  const tokens: number[] = [];
  let text = "";
  let stopReason: StopReason = "length";
  let tFirst = tPrompt;
  let tLast = tPrompt;
  let pos = startPos + prompt.length;
  let samplingMs = 0;
  let decodeCallsMs = 0;
  while (tokens.length < maxTokens) {
    if (opts.signal?.aborted) {
      stopReason = "abort";
      break;
    }
    const tSample = performance.now();
    const token = onDevice ? ctx.sampledToken() : sampler.sample(logits);
    sampler.accept(token);
    tLast = performance.now();
    samplingMs += tLast - tSample;
    if (tokens.length === 0) tFirst = tLast;
    if (!opts.ignoreEog && vocab.isEog(token)) {
      stopReason = "eog";
      break;
    }
    tokens.push(token);
    const { release, stopped } = stops.push(decoder.push(token));
    text += release;
    if (release.length > 0 || stopped) yield { token, text: release };
    else yield { token, text: "" };
    if (stopped) {
      stopReason = "stop";
      break;
    }
    if (tokens.length >= maxTokens) break;
    if (pos >= ctx.nCtx) {
      stopReason = "length";
      break;
    }
    const tStep = performance.now();
    logits = ctx.step(token, pos++, seq);
    decodeCallsMs += performance.now() - tStep;
  }
  if (stopReason !== "stop") {
    const tail = stops.push(decoder.flush()).release + stops.flush();
    if (tail) {
      text += tail;
      yield { token: -1, text: tail };
    }
  }
  const decodeMs = tLast - tFirst;
  return {
    text,
    tokens,
    promptTokens: prompt.length,
    stopReason,
    promptMs: tPrompt - t0,
    decodeMs,
    tokensPerSecond: tokens.length > 1 && decodeMs > 0 ? ((tokens.length - 1) * 1000) / decodeMs : 0,
    split: { decodeCallsMs, samplingMs },
  };
}

/** Runs generate() to completion, calling onText for each released piece. */
export async function generateText(ctx: Context, prompt: ArrayLike<number>, opts: GenerateOptions = {}, onText?: (t: string) => void): Promise<GenerateResult> {
  const it = generate(ctx, prompt, opts);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
    if (onText && r.value.text) onText(r.value.text);
  }
}
