// Plain autoregressive generation: prefill, then sample/decode one token at a time, as an async
// iterator of text pieces. Stop strings are matched across token boundaries; text that could still
// become a stop string is held back until it cannot.
import { performance } from "node:perf_hooks";
import { eventLoop } from "./event-loop.js";
import { UserError } from "../native/errors.js";
import type { Context } from "./context.js";
import { Sampler, type SamplerOptions } from "./sampler.js";
import { TokenTextDecoder, type Vocab } from "./vocab.js";

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
  /** prompt tokens [0, reuse) are already in the sequence's KV cache from an earlier generation
   *  (prefix cache): only the rest is prefilled. At most prompt.length - 1 (the last prompt token is
   *  always decoded for its logits). Default 0: the sequence is cleared first. */
  reuse?: number;
  /** speculative prefill (src/prefill): the prompt indices to evaluate, ascending, ending with
   *  prompt.length - 1. The other prompt tokens are never evaluated; the kept ones end up in the cache
   *  at their original positions (see prefillKept) and decoding continues at prompt.length. Indices
   *  < reuse are cached already and skipped. kvTokens then ends at the first skipped token. */
  keep?: Int32Array;
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
  /** the stop string that ended generation, when stopReason is "stop" */
  stopSequence?: string;
  /** wall time of the prompt prefill, ms */
  promptMs: number;
  /** wall time from the first generated token to the last one, ms (tokens-1 decode steps) */
  decodeMs: number;
  /** decode steps per second: (tokens - 1) / decodeMs */
  tokensPerSecond: number;
  /** where decode time went: libllama decode calls (incl. logits readout) and the JS sampler, ms */
  split: { decodeCallsMs: number; samplingMs: number };
  /** the first kvTokens tokens of [...prompt, ...tokens] are in the sequence's KV cache when the
   *  generator returns (for a prefix cache; later cells of the sequence were dropped) */
  kvTokens: number;
}

/** Holds back a tail of text that may be the start of a stop string. */
export class StopMatcher {
  private pending = "";
  /** the stop string that ended the text, once one has */
  matched: string | undefined;
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
      if (at >= 0 && (cut < 0 || at < cut)) {
        cut = at;
        this.matched = s;
      }
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

/** The output side shared by plain and speculative generation: end-of-generation, stop strings,
 *  max tokens and UTF-8-safe text, one target token at a time. */
export class TokenEmitter {
  readonly tokens: number[] = [];
  text = "";
  stopReason: StopReason = "length";
  private readonly decoder: TokenTextDecoder;
  private readonly stops: StopMatcher;

  constructor(private readonly vocab: Vocab, private readonly opts: Pick<GenerateOptions, "stop" | "ignoreEog"> & { maxTokens: number }) {
    this.decoder = new TokenTextDecoder(vocab);
    this.stops = new StopMatcher(opts.stop ?? []);
  }

  /** Whether `token` ends generation (an end-of-generation token, unless ignoreEog). */
  ends(token: number): boolean {
    return !this.opts.ignoreEog && this.vocab.isEog(token);
  }

  /** Takes the next target token; returns its event (undefined for an end-of-generation token) and
   *  whether generation goes on after it. `end`: ends(token), when the caller already asked. */
  push(token: number, end = this.ends(token)): { event?: GenerateEvent; more: boolean } {
    if (end) {
      this.stopReason = "eog";
      return { more: false };
    }
    this.tokens.push(token);
    const { release, stopped } = this.stops.push(this.decoder.push(token));
    this.text += release;
    if (stopped) this.stopReason = "stop";
    return { event: { token, text: release }, more: !stopped && this.tokens.length < this.opts.maxTokens };
  }

  /** the stop string that ended generation (stopReason "stop") */
  get stopSequence(): string | undefined {
    return this.stops.matched;
  }

  /** Text still held back (an unfinished character or a stop-string prefix), unless a stop string ended it. */
  finish(): GenerateEvent | undefined {
    if (this.stopReason === "stop") return undefined;
    const tail = this.stops.push(this.decoder.flush()).release + this.stops.flush();
    if (!tail) return undefined;
    this.text += tail;
    return { token: -1, text: tail };
  }
}

/** Checks a keep list (GenerateOptions.keep); returns the first prompt index >= reuse it skips
 *  (prompt.length when it skips none): the KV cache holds the plain prefix [0, that index). */
export function checkKeep(n: number, keep: Int32Array, reuse: number): number {
  if (keep.length === 0 || keep[keep.length - 1] !== n - 1) throw new UserError(`the keep list must end with the last prompt index ${n - 1}`);
  let gap = -1;
  let next = reuse;
  for (let i = 0; i < keep.length; i++) {
    const k = keep[i];
    if (!Number.isInteger(k) || k < 0 || (i > 0 && k <= keep[i - 1])) throw new UserError("the keep list must hold ascending prompt indices");
    if (k < reuse) continue;
    if (gap < 0 && k !== next) gap = next;
    next = k + 1;
  }
  return gap < 0 ? n : gap;
}

/** The kept prompt indices >= from as runs [start, end) of consecutive positions. */
export function keptRuns(keep: Int32Array, from: number): [number, number][] {
  const runs: [number, number][] = [];
  for (const k of keep) {
    if (k < from) continue;
    const last = runs[runs.length - 1];
    if (last && last[1] === k) last[1] = k + 1;
    else runs.push([k, k + 1]);
  }
  return runs;
}

/**
 * Evaluates the kept prompt tokens >= from (GenerateOptions.keep) and returns the last one's logits.
 * libllama accepts only consecutive positions per sequence in a batch and after the cache
 * (llama-batch.cpp, for all but M-RoPE models), so the kept tokens are evaluated in full batches at
 * consecutive positions from `from` (the gaps closed), then each run of consecutive kept tokens is
 * moved to its original positions (llama_memory_seq_add; libllama re-rotates their keys at the next
 * decode). The cache then holds every kept token at its original position and decoding continues at
 * prompt.length. `onBatch` sees each decoded batch: its tokens and its first (gap-closed) position.
 */
export function prefillKept(ctx: Context, prompt: ArrayLike<number>, keep: Int32Array, from: number, seq: number, onBatch?: (tokens: Int32Array, pos0: number) => void): Float32Array {
  const b = ctx.batch;
  const n = prompt.length;
  const toks = new Int32Array(ctx.nBatch);
  let pos = from;
  b.clear();
  for (const k of keep) {
    if (k < from) continue;
    toks[b.nTokens] = prompt[k];
    b.add(prompt[k], pos++, seq, k === n - 1);
    if (b.nTokens === ctx.nBatch || k === n - 1) {
      const count = b.nTokens;
      ctx.decode(b);
      onBatch?.(toks.subarray(0, count), pos - count);
      b.clear();
    }
  }
  const logits = ctx.logits();
  // move runs to their original positions, last run first so that no range overlaps one not yet moved
  const runs = keptRuns(keep, from);
  const starts = new Int32Array(runs.length);
  for (let r = 0, c = from; r < runs.length; c += runs[r][1] - runs[r][0], r++) starts[r] = c;
  for (let r = runs.length - 1; r >= 0; r--) {
    const delta = runs[r][0] - starts[r];
    if (delta !== 0) ctx.native.seqAdd(seq, starts[r], starts[r] + runs[r][1] - runs[r][0], delta);
  }
  return logits;
}

/** Validates the request against the context and builds its sampler (penalty history = prompt). */
export function prepareSampler(ctx: Context, prompt: ArrayLike<number>, opts: GenerateOptions): Sampler {
  const maxTokens = opts.maxTokens ?? 256;
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new UserError(`max tokens must be a non-negative integer, got ${maxTokens}`);
  if (prompt.length === 0) throw new UserError("the prompt is empty");
  const reuse = opts.reuse ?? 0;
  if (!Number.isInteger(reuse) || reuse < 0 || reuse >= prompt.length) {
    throw new UserError(`reuse must be an integer in [0, ${prompt.length - 1}] (the last prompt token is always decoded), got ${reuse}`);
  }
  if (prompt.length >= ctx.nCtx) {
    throw new UserError(`the prompt (${prompt.length} tokens) does not fit the context of ${ctx.nCtx} tokens; raise --ctx`);
  }
  const sampler = new Sampler(ctx.nVocab, opts);
  if (ctx.deviceGreedy && !sampler.isPlainGreedy) {
    throw new UserError("this context picks greedy tokens on the device; sampling (temperature > 0 or penalties) needs a context without deviceGreedy");
  }
  for (let i = 0; i < prompt.length; i++) sampler.accept(prompt[i]);
  return sampler;
}

export async function* generate(ctx: Context, prompt: ArrayLike<number>, opts: GenerateOptions = {}): AsyncGenerator<GenerateEvent, GenerateResult> {
  const seq = opts.seq ?? 0;
  const sampler = prepareSampler(ctx, prompt, opts);
  const reuse = opts.reuse ?? 0;
  const maxTokens = opts.maxTokens ?? 256;
  const out = new TokenEmitter(ctx.model.vocab, { ...opts, maxTokens });
  const onDevice = ctx.deviceGreedy;
  ctx.truncate(seq, reuse);
  const kvValid = opts.keep ? checkKeep(prompt.length, opts.keep, reuse) : prompt.length;

  const t0 = performance.now();
  const logits = opts.keep
    ? prefillKept(ctx, prompt, opts.keep, reuse, seq)
    : ctx.prefill(reuse === 0 ? prompt : Array.prototype.slice.call(prompt, reuse), reuse, seq);
  const tPrompt = performance.now();

  let tFirst = tPrompt;
  let tLast = tPrompt;
  let pos = prompt.length;
  let samplingMs = 0;
  let decodeCallsMs = 0;
  let first = true;
  while (maxTokens > 0) {
    const turn = eventLoop.turn();
    if (turn) await turn;
    if (opts.signal?.aborted) {
      out.stopReason = "abort";
      break;
    }
    const tSample = performance.now();
    const token = onDevice ? ctx.sampledToken() : sampler.sample(first ? logits : ctx.logits());
    first = false;
    sampler.accept(token);
    tLast = performance.now();
    samplingMs += tLast - tSample;
    if (out.tokens.length === 0) tFirst = tLast;
    // the next decode starts before this token is detokenized and handed out, so that work overlaps
    // the device's; when a stop string then ends generation, the cache holds one token more (kvTokens)
    const end = out.ends(token);
    const next = !end && out.tokens.length + 1 < maxTokens && pos < ctx.nCtx;
    if (next) {
      const tStep = performance.now();
      ctx.launch(token, pos++, seq);
      decodeCallsMs += performance.now() - tStep;
    }
    const r = out.push(token, end);
    if (r.event) yield r.event;
    if (!r.more || !next) break;
  }
  const tail = out.finish();
  if (tail) yield tail;
  // after a compressed prefill only the prefix before the first skipped token is reusable
  if (kvValid < prompt.length) ctx.truncate(seq, kvValid);
  const n = out.tokens.length;
  const decodeMs = tLast - tFirst;
  return {
    text: out.text,
    tokens: out.tokens,
    promptTokens: prompt.length,
    stopReason: out.stopReason,
    stopSequence: out.stopSequence,
    promptMs: tPrompt - t0,
    decodeMs,
    tokensPerSecond: n > 1 && decodeMs > 0 ? ((n - 1) * 1000) / decodeMs : 0,
    split: { decodeCallsMs, samplingMs },
    kvTokens: kvValid < prompt.length ? kvValid : pos,
  };
}

/** Runs a generator (generate(), generateSpeculative()) to its end and returns its result. */
export async function drain<R>(it: AsyncGenerator<unknown, R>): Promise<R> {
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
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
