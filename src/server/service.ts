// The generation service behind every HTTP protocol: turns a GenRequest into prompt tokens (chat
// template or raw prompt), waits its turn in the queue, reuses the KV of the longest cached prefix,
// runs plain or speculative generation, and parses the text into GenEvents.
//
// The engine is synchronous FFI: one decode step blocks the event loop. Between steps the loop is
// given a turn (setImmediate), so disconnects, /health and new requests are seen while a request
// decodes; a long prompt's prefill is the one stretch that holds it for longer.
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import { generate, type GenerateEvent, type GenerateResult } from "../engine/generate.js";
import { UserError } from "../native/errors.js";
import { createNgramAssist, createSpecController, draftedTokens, generateSpeculative, type SpecStats } from "../spec/generate-spec.js";
import type { NgramAssist } from "../spec/ngram-assist.js";
import type { Drafter } from "../spec/drafter.js";
import type { SpecController } from "../spec/controller.js";
import { prefillReport, type PFlash, type PrefillPlan } from "../prefill/pflash.js";
import type { Runtime } from "../spec/runtime.js";
import { forcedToolCallPrefix, renderChat, thinkingMode } from "./chat-template.js";
import { QueueFullError, RequestError } from "./errors.js";
import { ServerMetrics } from "./metrics.js";
import { createOutputParser } from "./output-parser.js";
import { planPrefix, SlotStore } from "./prefix-cache.js";
import { AbortedError, RequestQueue } from "./queue.js";
import type { FinishReason, GenerationService, GenEvent, GenRequest, OutputParser, Timings, ToolDef } from "./types.js";

export interface ServiceOptions {
  /** the model name clients use */
  modelId: string;
  /** requests that may wait behind the active one (default 8) */
  maxQueue?: number;
  /** conversations kept in host memory besides the live one (default 2) */
  cacheSlots?: number;
  /** bytes all host slots may hold together (default 4 GiB) */
  cacheBytes?: number;
  /** drafted nodes per verify step, or "auto" (the adaptive controller); default the drafter's depth */
  budget?: number | "auto";
  /** with budget "auto" and a model drafter: verify repeated spans from an n-gram lookup too
   *  (--spec auto; ngram-assist.ts) */
  ngramAssist?: boolean;
  metrics?: ServerMetrics;
  /** a host slot is restored only when it shares this many more tokens than the live sequence (default 16) */
  minRestoreGain?: number;
  /** the live history is saved to a host slot only when a request would lose this many of its tokens (default 64) */
  minSaveTokens?: number;
  /** PFlash speculative prefill (lossy; loadPrefill decides whether there is one); freed with the service */
  prefill?: PFlash;
  /** a Jinja chat template used instead of the GGUF's (llama-server's --chat-template-file) */
  chatTemplate?: string;
}

/** What tests and operators can see of the service's state. */
export interface ServiceState {
  active: boolean;
  waiting: number;
  /** tokens of the history whose KV sequence 0 holds */
  liveTokens: number;
  slots: number;
  slotBytes: number;
}

interface Prepared {
  tokens: Int32Array;
  maxTokens: number;
  stop: string[];
  /** chat requests parse their output; raw completions pass text through */
  parser?: OutputParser;
  /** the answer's forced start (a tool call for tool_choice "required" or a named function): it
   *  ends the prompt, and the parser reads it before the generated text */
  prefill?: string;
}

interface SavedState {
  target: Uint8Array;
  drafter: Uint8Array;
}

type EngineResult = GenerateResult & { spec?: SpecStats };

const EMPTY = new Int32Array(0);
const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

export class FlintService implements GenerationService {
  readonly modelId: string;
  readonly metrics: ServerMetrics;
  private readonly ctx: Context;
  private readonly drafter?: Drafter;
  private readonly controller?: SpecController;
  private readonly assist?: NgramAssist;
  /** the drafter keeps per-position state that must match the reused prefix (dflash, draft-model) */
  private readonly statefulDrafter: boolean;
  private readonly queue: RequestQueue;
  private readonly slots: SlotStore<SavedState>;
  private readonly template: string | undefined;
  private readonly bosText: string;
  private readonly eosText: string;
  private readonly o: Required<Omit<ServiceOptions, "budget" | "metrics" | "prefill" | "chatTemplate">> & Pick<ServiceOptions, "budget" | "prefill">;
  /** the history in sequence 0: KV for live[0, liveLength) */
  private live: Int32Array = EMPTY;
  /** the drafter's state covers live[0, liveDrafter) */
  private liveDrafter = 0;
  private readonly running = new Set<AbortController>();
  private closing = false;
  private avgRequestMs = 1000;

  constructor(private readonly rt: Runtime, o: ServiceOptions) {
    this.modelId = o.modelId;
    this.o = {
      modelId: o.modelId,
      maxQueue: o.maxQueue ?? 8,
      cacheSlots: o.cacheSlots ?? 2,
      cacheBytes: o.cacheBytes ?? 4 * 1024 ** 3,
      budget: o.budget,
      ngramAssist: o.ngramAssist ?? false,
      minRestoreGain: o.minRestoreGain ?? 16,
      minSaveTokens: o.minSaveTokens ?? 64,
      prefill: o.prefill,
    };
    this.metrics = o.metrics ?? new ServerMetrics();
    this.ctx = rt.ctx;
    this.drafter = rt.drafter;
    // one controller for the server's life: what it learned about drafts and step costs carries over,
    // so requests do not each pay for learning again (bench/cpu/controller.mjs: 0.89 of plain speed
    // fresh per request vs 0.99 kept, with useless drafts)
    if (this.drafter && o.budget === "auto") this.controller = createSpecController(this.drafter, rt.tree ? "tree" : "chain", rt.prices ? { prices: rt.prices } : {});
    // its n-gram assist learns across requests too
    if (this.controller && o.ngramAssist && this.drafter!.name !== "ngram") this.assist = createNgramAssist(this.drafter!, rt.prices);
    this.statefulDrafter = rt.drafter !== undefined && rt.drafter.name !== "ngram" && rt.drafter.name !== "oracle";
    this.liveDrafter = this.statefulDrafter ? 0 : Infinity;
    this.queue = new RequestQueue(
      this.o.maxQueue,
      () => Math.max(1, Math.ceil(((this.queue.waiting + 1) * this.avgRequestMs) / 1000)),
      () => this.metrics.setQueue(this.queue.active, this.queue.waiting),
    );
    this.slots = new SlotStore({ maxSlots: this.o.cacheSlots, maxBytes: this.o.cacheBytes });
    const model = rt.model;
    this.template = o.chatTemplate ?? model.chatTemplate();
    const v = model.vocab;
    this.bosText = v.bos >= 0 ? v.text(v.bos) : "";
    this.eosText = v.eos >= 0 ? v.text(v.eos) : "";
  }

  get contextSize(): number {
    return this.ctx.nCtx;
  }

  get drafterName(): string | undefined {
    return this.rt.drafter?.name;
  }

  get state(): ServiceState {
    return { active: this.queue.active, waiting: this.queue.waiting, liveTokens: this.live.length, slots: this.slots.size, slotBytes: this.slots.bytes };
  }

  async *stream(req: GenRequest): AsyncGenerator<GenEvent> {
    if (this.closing) throw new QueueFullError("the server is shutting down", 5, 503);
    const p = this.prepare(req);
    // one controller per request: the client's signal, or shutdown, stops it
    const ac = new AbortController();
    const onClientAbort = () => ac.abort();
    if (req.signal.aborted) ac.abort();
    else req.signal.addEventListener("abort", onClientAbort, { once: true });
    this.running.add(ac);
    try {
      let release: () => void;
      try {
        release = await this.queue.acquire(ac.signal);
      } catch (err) {
        if (err instanceof QueueFullError) this.metrics.rejected();
        if (err instanceof AbortedError) {
          yield { type: "done", finishReason: "abort", usage: { promptTokens: p.tokens.length, completionTokens: 0, cachedTokens: 0 }, timings: { promptMs: 0, decodeMs: 0, tokensPerSecond: 0 } };
          return;
        }
        throw err;
      }
      try {
        yield* this.run(req, p, ac);
      } finally {
        release();
      }
    } finally {
      req.signal.removeEventListener("abort", onClientAbort);
      this.running.delete(ac);
    }
  }

  private async *run(req: GenRequest, p: Prepared, ac: AbortController): AsyncGenerator<GenEvent> {
    const t0 = performance.now();
    const spec = this.drafter !== undefined && req.speculative !== false;
    let it: AsyncGenerator<GenerateEvent, EngineResult> | undefined;
    let result: EngineResult | undefined;
    let reuse = 0;
    let plan: PrefillPlan | undefined;
    let emitted = false;
    let failed = false;
    try {
      reuse = this.prepareCache(p.tokens, spec);
      plan = this.planPrefill(p.tokens, reuse);
      const opts = {
        ...samplerOptions(req),
        maxTokens: p.maxTokens,
        stop: p.stop,
        signal: ac.signal,
        reuse,
        keep: plan?.keep,
      };
      if (spec) {
        it = generateSpeculative(this.ctx, this.drafter!, p.tokens, { ...opts, budget: this.o.budget, shape: this.rt.tree ? "tree" : "chain", controller: this.controller, ngramAssist: this.assist });
      } else {
        it = generate(this.ctx, p.tokens, opts);
      }
      if (p.prefill && p.parser) {
        for (const e of p.parser.push(p.prefill)) {
          emitted = true;
          yield e;
        }
      }
      for (;;) {
        const r = await it.next();
        if (r.done) {
          result = r.value;
          break;
        }
        if (r.value.text) {
          if (p.parser) {
            for (const e of p.parser.push(r.value.text)) {
              emitted = true;
              yield e;
            }
          } else {
            emitted = true;
            yield { type: "text", text: r.value.text };
          }
        }
        await tick();
      }
    } catch (err) {
      failed = true;
      this.resetCache();
      if (!emitted && err instanceof UserError) throw new RequestError(400, err.message);
      this.metrics.failed();
      throw err;
    } finally {
      if (!failed && result === undefined && it) {
        // the consumer stopped early (client gone): end the engine's run so the KV state is known
        ac.abort();
        try {
          for (;;) {
            const r = await it.next();
            if (r.done) {
              this.commit(p.tokens, r.value, spec, reuse, plan);
              this.finish(p, r.value, spec, reuse, t0, plan);
              break;
            }
          }
        } catch {
          failed = true;
          this.resetCache();
        }
      } else if (result) {
        this.commit(p.tokens, result, spec, reuse, plan);
      }
    }
    if (!result) return;
    // the parser's tail may close a tool call, which decides the finish reason
    const tail = p.parser ? p.parser.finish() : [];
    const done = this.finish(p, result, spec, reuse, t0, plan);
    for (const e of tail) yield e;
    yield done;
  }

  /** Records the request's metrics and makes its done event. */
  private finish(p: Prepared, result: EngineResult, spec: boolean, reuse: number, t0: number, plan?: PrefillPlan): Extract<GenEvent, { type: "done" }> {
    const finishReason = finishOf(result, p.parser);
    const timings: Timings = {
      promptMs: result.promptMs,
      decodeMs: result.decodeMs,
      tokensPerSecond: result.tokensPerSecond,
    };
    if (plan) {
      const r = prefillReport(plan, result);
      timings.prefill = { promptTokens: r.promptTokens, keptTokens: r.keptTokens, keepRatio: r.keepRatio, scorerMs: r.scorerMs, targetPrefillMs: r.targetPrefillMs };
    }
    if (result.spec && spec) {
      const accepted = result.spec.acceptedPerDepth.reduce((a, b) => a + b, 0);
      timings.spec = { drafter: result.spec.drafter, meanAcceptedLength: result.spec.meanAcceptedLength, draftTokens: draftedTokens(result.spec), acceptedTokens: accepted };
    }
    const durationMs = performance.now() - t0;
    this.avgRequestMs = 0.8 * this.avgRequestMs + 0.2 * durationMs;
    this.metrics.request({
      promptProcessed: p.tokens.length - reuse,
      cachedTokens: reuse,
      promptMs: result.promptMs,
      completionTokens: result.tokens.length,
      decodeMs: result.decodeMs,
      draftTokens: timings.spec?.draftTokens ?? 0,
      acceptedTokens: timings.spec?.acceptedTokens ?? 0,
      finishReason,
      durationMs,
    });
    return { type: "done", finishReason, usage: { promptTokens: p.tokens.length, completionTokens: result.tokens.length, cachedTokens: reuse }, timings };
  }

  /** Picks the reused prefix, swapping the live sequence with a host slot when that shares more. */
  private prepareCache(prompt: Int32Array, spec: boolean): number {
    const best = this.slots.best(prompt);
    const plan = planPrefix({
      live: this.live,
      liveLength: this.live.length,
      liveDrafter: this.liveDrafter,
      prompt,
      slot: best ? { common: best.common, length: best.slot.tokens.length, drafterTokens: this.statefulDrafter ? best.slot.drafterTokens : Infinity } : undefined,
      partialReuse: !(this.rt.model.info.isHybrid || this.rt.model.info.isRecurrent),
      speculative: spec,
      minRestoreGain: this.o.minRestoreGain,
      minSaveTokens: this.o.minSaveTokens,
      slotsEnabled: this.o.cacheSlots > 0,
    });
    const native = this.ctx.native;
    if (plan.save) {
      const target = native.seqStateGet(0);
      const drafter = this.statefulDrafter ? this.drafter!.saveState() : new Uint8Array(0);
      const bytes = target.byteLength + drafter.byteLength;
      if (this.slots.accepts(bytes)) {
        this.slots.put(this.live, { target: own(target), drafter: own(drafter) }, bytes, Math.min(this.liveDrafter, this.live.length));
        this.metrics.slot("save");
      }
    }
    let reuse = plan.reuse;
    if (plan.restore && best) {
      this.slots.take(best.slot);
      native.seqStateSet(best.slot.state.target, 0);
      this.live = best.slot.tokens;
      if (this.statefulDrafter) {
        if (best.slot.drafterTokens > 0) this.drafter!.restoreState(best.slot.state.drafter, best.slot.drafterTokens);
        else this.drafter!.reset();
        this.liveDrafter = best.slot.drafterTokens;
      }
      this.metrics.slot("restore");
    }
    // recurrent memory cannot drop an arbitrary tail: then the prefix is not reusable
    if (!native.seqRm(0, reuse, -1)) {
      native.seqRm(0, -1, -1);
      reuse = 0;
    }
    return reuse;
  }

  /** The engine left [...prompt, ...tokens][0, kvTokens) in sequence 0. */
  private commit(prompt: Int32Array, r: EngineResult, spec: boolean, reuse: number, plan?: PrefillPlan): void {
    const n = r.kvTokens;
    const live = new Int32Array(n);
    const fromPrompt = Math.min(n, prompt.length);
    live.set(prompt.subarray(0, fromPrompt));
    for (let i = fromPrompt; i < n; i++) live[i] = r.tokens[i - prompt.length];
    this.live = live;
    if (this.statefulDrafter) this.liveDrafter = spec ? n : Math.min(this.liveDrafter, reuse);
    // after a compressed prefill the drafter saw only the kept tokens: it matches no prefix
    if (plan && this.statefulDrafter) this.liveDrafter = 0;
  }

  /** PFlash for this prompt, when configured and worth it: "auto" looks at the tokens still to
   *  prefill (an agent's next turn is mostly cached and stays exact); never silent (the report goes
   *  into the response's timings). */
  private planPrefill(prompt: Int32Array, reuse: number): PrefillPlan | undefined {
    const pf = this.o.prefill;
    if (!pf) return undefined;
    if (pf.compression === "auto" && prompt.length - reuse < pf.threshold) return undefined;
    return pf.plan(this.rt.model, prompt);
  }

  private resetCache(): void {
    this.live = EMPTY;
    try {
      this.ctx.clear();
      this.drafter?.reset();
    } catch {
      // a context that cannot even be cleared fails the next request with its own error
    }
    this.liveDrafter = this.statefulDrafter ? 0 : Infinity;
  }

  /** Prompt tokens, validated against the context, before the request queues. */
  private prepare(req: GenRequest): Prepared {
    let tokens: Int32Array;
    let parser: OutputParser | undefined;
    let prefill: string | undefined;
    if (req.messages) {
      const { tokens: t, tools, text, prefill: pre } = this.renderPrompt(req);
      tokens = t;
      prefill = pre;
      parser = createOutputParser({ tools: tools !== undefined && tools.length > 0, thinking: thinkingMode(this.template, text), toolDefs: tools });
    } else if (typeof req.prompt === "string") {
      tokens = this.rt.model.vocab.tokenize(req.prompt, { addSpecial: true, parseSpecial: true });
    } else if (Array.isArray(req.prompt)) {
      this.checkTokens(req.prompt, "prompt");
      tokens = Int32Array.from(req.prompt);
    } else {
      throw new RequestError(400, "the request has neither messages nor a prompt");
    }
    const nCtx = this.ctx.nCtx;
    if (tokens.length === 0) throw new RequestError(400, "the prompt is empty", req.messages ? "messages" : "prompt");
    if (tokens.length >= nCtx) {
      throw new RequestError(400, `the prompt is ${tokens.length} tokens, but the context holds ${nCtx} tokens (prompt and output together); shorten the prompt or start the server with a larger --ctx`, req.messages ? "messages" : "prompt");
    }
    if (!Number.isInteger(req.maxTokens) && req.maxTokens !== Infinity) throw new RequestError(400, `max tokens must be an integer, got ${req.maxTokens}`, "max_tokens");
    if (req.maxTokens < 0) throw new RequestError(400, `max tokens must not be negative, got ${req.maxTokens}`, "max_tokens");
    const maxTokens = Math.min(req.maxTokens, nCtx - tokens.length);
    return { tokens, maxTokens, stop: req.stop.filter((s) => s.length > 0), parser, prefill };
  }

  private renderPrompt(req: Pick<GenRequest, "messages" | "tools" | "toolChoice" | "enableThinking">): { tokens: Int32Array; tools?: ToolDef[]; text: string; prefill?: string } {
    const tools = offeredTools(req);
    let text: string;
    try {
      text = renderChat(this.template, req.messages ?? [], {
        tools,
        addGenerationPrompt: true,
        enableThinking: req.enableThinking,
        bosToken: this.bosText,
        eosToken: this.eosText,
      });
    } catch (err) {
      if (err instanceof RequestError) throw err;
      // a template failure is not always the client's doing, but a retry will not help either: a
      // 400 with the template's words says what happened (ChatTemplateError, or a stack overflow
      // on absurdly nested tool schemas)
      throw new RequestError(400, (err as Error).message, "messages");
    }
    // templates usually write the BOS text themselves; adding it again would double it
    const addSpecial = !(this.bosText !== "" && text.startsWith(this.bosText));
    const choice = req.toolChoice;
    const prefill = tools && (choice === "required" || (choice && typeof choice === "object")) ? forcedToolCallPrefix(this.template, choice, thinkingMode(this.template, text)) : undefined;
    const full = prefill ? text + prefill : text;
    return { tokens: this.rt.model.vocab.tokenize(full, { addSpecial, parseSpecial: true }), tools, text, prefill };
  }

  countPromptTokens(req: Omit<GenRequest, "signal" | "sampling" | "maxTokens" | "stop">): number {
    if (req.messages) return this.renderPrompt(req).tokens.length;
    if (typeof req.prompt === "string") return this.rt.model.vocab.tokenize(req.prompt, { addSpecial: true, parseSpecial: true }).length;
    if (Array.isArray(req.prompt)) return req.prompt.length;
    throw new RequestError(400, "the request has neither messages nor a prompt");
  }

  tokenize(text: string, opts: { special?: boolean } = {}): number[] {
    return Array.from(this.rt.model.vocab.tokenize(text, { addSpecial: opts.special ?? false, parseSpecial: true }));
  }

  detokenize(tokens: number[]): string {
    this.checkTokens(tokens, "tokens");
    return this.rt.model.vocab.detokenize(tokens);
  }

  /** libllama reads out of bounds on a bad id: every id from a client is checked first. */
  private checkTokens(tokens: readonly number[], param: string): void {
    const n = this.rt.model.vocab.size;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= n) throw new RequestError(400, `${param}[${i}] = ${t} is not a token id of this model (0 to ${n - 1})`, param);
    }
  }

  /** Frees the model, contexts and drafter (after close()). */
  free(): void {
    this.slots.clear();
    this.o.prefill?.free();
    this.rt.free();
  }

  /** Refuses new requests, stops the running and waiting ones, and waits until none decodes. */
  async close(): Promise<void> {
    this.closing = true;
    for (const ac of this.running) ac.abort();
    while (this.queue.active || this.queue.waiting > 0) await new Promise((r) => setTimeout(r, 5));
  }
}

/** seqStateGet may return a view of a larger buffer: keep only the bytes */
function own(a: Uint8Array): Uint8Array {
  return a.byteLength === a.buffer.byteLength ? a : a.slice();
}

function samplerOptions(req: GenRequest) {
  const s = req.sampling;
  return {
    temperature: s.temperature,
    topK: s.topK,
    topP: s.topP,
    minP: s.minP,
    seed: s.seed,
    repeatPenalty: s.repeatPenalty,
    frequencyPenalty: s.frequencyPenalty,
    presencePenalty: s.presencePenalty,
  };
}

/** The tools the template and the parser see: none for tool_choice "none", the one named otherwise. */
function offeredTools(req: Pick<GenRequest, "tools" | "toolChoice">): ToolDef[] | undefined {
  if (!req.tools?.length || req.toolChoice === "none") return undefined;
  const choice = req.toolChoice;
  if (choice && typeof choice === "object") {
    const named = req.tools.filter((t) => t.name === choice.name);
    if (named.length === 0) throw new RequestError(400, `tool_choice names "${choice.name}", which is not among the tools`, "tool_choice");
    return named;
  }
  return req.tools;
}

function finishOf(r: EngineResult, parser: OutputParser | undefined): FinishReason {
  if (r.stopReason === "abort") return "abort";
  if (r.stopReason === "length") return "length";
  return parser && parser.toolCallCount > 0 ? "tool_calls" : "stop";
}
