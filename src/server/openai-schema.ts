// OpenAI chat/completions and completions: request schemas, their mapping to the one GenRequest,
// and the encoders from the GenEvent stream to OpenAI's objects and chunks. Unknown fields (user,
// store, metadata, parallel_tool_calls, logit_bias...) are dropped: they change nothing here.
import { z } from "zod";
import { RequestError } from "./errors.js";
import type { RouteOptions } from "./route-options.js";
import type { ChatMessage, FinishReason, GenEvent, GenRequest, SamplingParams, Timings, ToolCall, ToolChoice, ToolDef, Usage } from "./types.js";

const MAX_INT = 2 ** 31 - 1;
const maxTokens = z.int().min(0).max(MAX_INT).nullish();

const ContentPart = z.object({ type: z.string(), text: z.unknown().optional() });
const Content = z.union([z.string(), z.array(ContentPart)]).nullish();

const ToolCallIn = z.object({
  id: z.string().nullish(),
  type: z.literal("function").nullish(),
  function: z.object({
    name: z.string().min(1),
    // the SDK types say string; some clients send the object itself
    arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
  }),
});

const Message = z.object({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: Content,
  name: z.string().nullish(),
  tool_calls: z.array(ToolCallIn).nullish(),
  tool_call_id: z.string().nullish(),
  reasoning_content: z.string().nullish(),
});

const Tool = z.object({
  type: z.literal("function"),
  function: z.object({
    name: z.string().min(1).max(256),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  }),
});

const ToolChoiceIn = z.union([
  z.enum(["none", "auto", "required"]),
  z.object({ type: z.literal("function"), function: z.object({ name: z.string().min(1) }) }),
]);

const Stop = z.union([z.string(), z.array(z.string()).max(64)]).nullish();

const sampling = {
  temperature: z.number().min(0).max(100).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  top_k: z.int().min(0).max(MAX_INT).nullish(),
  min_p: z.number().min(0).max(1).nullish(),
  seed: z.int().nullish(),
  frequency_penalty: z.number().min(-2).max(2).nullish(),
  presence_penalty: z.number().min(-2).max(2).nullish(),
  repeat_penalty: z.number().min(0).max(100).nullish(),
};

const common = {
  // any name is accepted: one model per server, like llama-server
  model: z.string().nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.object({ include_usage: z.boolean().nullish() }).nullish(),
  max_tokens: maxTokens,
  n: z.int().min(1).max(1, "only n = 1 is supported").nullish(),
  stop: Stop,
  /** flint's extension: false decodes this request without speculation */
  speculative: z.boolean().nullish(),
  ...sampling,
};

export const ChatBody = z.object({
  ...common,
  messages: z.array(Message).min(1, "must hold at least one message"),
  max_completion_tokens: maxTokens,
  tools: z.array(Tool).max(1024).nullish(),
  tool_choice: ToolChoiceIn.nullish(),
  response_format: z.object({ type: z.enum(["text", "json_object", "json_schema"]) }).nullish(),
  logprobs: z.boolean().nullish(),
  chat_template_kwargs: z.object({ enable_thinking: z.boolean().nullish() }).nullish(),
});
export type ChatBody = z.output<typeof ChatBody>;

export const CompletionBody = z.object({
  ...common,
  prompt: z.union([
    z.string(),
    z.array(z.string()).length(1, "one prompt per request (batches are not supported)"),
    z.array(z.int()).min(1),
    z.array(z.array(z.int()).min(1)).length(1, "one prompt per request (batches are not supported)"),
  ]),
  echo: z.boolean().nullish(),
  suffix: z.string().nullish(),
  logprobs: z.int().nullish(),
  best_of: z.int().min(1).max(1, "only best_of = 1 is supported").nullish(),
});
export type CompletionBody = z.output<typeof CompletionBody>;

function mergeAll(defaults: SamplingParams, b: z.output<z.ZodObject<typeof sampling>>): SamplingParams {
  return {
    temperature: b.temperature ?? defaults.temperature,
    topP: b.top_p ?? defaults.topP,
    topK: b.top_k ?? defaults.topK,
    minP: b.min_p ?? defaults.minP,
    seed: b.seed ?? defaults.seed,
    repeatPenalty: b.repeat_penalty ?? defaults.repeatPenalty,
    frequencyPenalty: b.frequency_penalty ?? defaults.frequencyPenalty,
    presencePenalty: b.presence_penalty ?? defaults.presencePenalty,
  };
}

function stops(s: string | string[] | null | undefined): string[] {
  return s == null ? [] : typeof s === "string" ? [s] : s;
}

/** Text of a message's content; parts other than text say why they are refused. */
function contentText(content: z.output<typeof Content>, i: number): string {
  if (content == null) return "";
  if (typeof content === "string") return content;
  let out = "";
  content.forEach((part, j) => {
    const param = `messages[${i}].content[${j}]`;
    if (part.type === "text" || part.type === "input_text" || part.type === "refusal") {
      const t = part.type === "refusal" ? (part as { refusal?: unknown }).refusal : part.text;
      if (typeof t !== "string") throw new RequestError(400, `${param}.text: expected string`, `${param}.text`);
      out += t;
    } else if (part.type === "image_url" || part.type === "input_image" || part.type === "image") {
      throw new RequestError(400, `${param}: image input is not supported (no vision: this server runs text models)`, param);
    } else if (part.type === "input_audio" || part.type === "file") {
      throw new RequestError(400, `${param}: ${part.type} content is not supported (text only)`, param);
    } else {
      throw new RequestError(400, `${param}.type: unknown content part type "${part.type}"`, `${param}.type`);
    }
  });
  return out;
}

function mapMessages(messages: ChatBody["messages"]): ChatMessage[] {
  const names = new Map<string, string>();
  return messages.map((m, i): ChatMessage => {
    const content = contentText(m.content, i);
    if (m.role === "system" || m.role === "developer" || m.role === "user") return { role: m.role === "user" ? "user" : "system", content };
    if (m.role === "tool") {
      const msg: ChatMessage = { role: "tool", content };
      if (m.tool_call_id) {
        msg.toolCallId = m.tool_call_id;
        const name = names.get(m.tool_call_id) ?? m.name ?? undefined;
        if (name) msg.name = name;
      }
      return msg;
    }
    const msg: ChatMessage = { role: "assistant", content };
    if (m.reasoning_content) msg.reasoning = m.reasoning_content;
    if (m.tool_calls?.length) {
      msg.toolCalls = m.tool_calls.map((c, j): ToolCall => {
        const id = c.id ?? `call_${i}_${j}`;
        names.set(id, c.function.name);
        const args = c.function.arguments;
        return { id, name: c.function.name, arguments: args == null ? "{}" : typeof args === "string" ? args : JSON.stringify(args) };
      });
    }
    return msg;
  });
}

function mapTools(tools: ChatBody["tools"]): ToolDef[] | undefined {
  if (!tools?.length) return undefined;
  return tools.map((t) => {
    const d: ToolDef = { name: t.function.name, parameters: t.function.parameters ?? { type: "object", properties: {} } };
    if (t.function.description) d.description = t.function.description;
    return d;
  });
}

function mapToolChoice(c: ChatBody["tool_choice"], tools: ToolDef[] | undefined): ToolChoice | undefined {
  if (c == null) return undefined;
  if (typeof c === "string") return c;
  if (!tools?.some((t) => t.name === c.function.name)) {
    throw new RequestError(400, `tool_choice.function.name: "${c.function.name}" is not among the tools`, "tool_choice.function.name");
  }
  return { name: c.function.name };
}

/** No limit given: the service caps it at what is left of the context. */
const UNTIL_FULL = Number.MAX_SAFE_INTEGER;

export function chatRequest(b: ChatBody, opts: RouteOptions, signal: AbortSignal): GenRequest {
  if (b.response_format && b.response_format.type !== "text") {
    throw new RequestError(400, `response_format.type: "${b.response_format.type}" is not supported (no grammar-constrained decoding yet); use "text"`, "response_format.type");
  }
  if (b.logprobs) throw new RequestError(400, "logprobs: not supported", "logprobs");
  const tools = mapTools(b.tools);
  const req: GenRequest = {
    messages: mapMessages(b.messages),
    sampling: mergeAll(opts.defaults, b),
    maxTokens: b.max_completion_tokens ?? b.max_tokens ?? UNTIL_FULL,
    stop: stops(b.stop),
    signal,
  };
  if (tools) req.tools = tools;
  const choice = mapToolChoice(b.tool_choice, tools);
  if (choice) req.toolChoice = choice;
  if (b.speculative != null) req.speculative = b.speculative;
  const thinking = b.chat_template_kwargs?.enable_thinking;
  if (thinking != null) req.enableThinking = thinking;
  return req;
}

export function completionRequest(b: CompletionBody, opts: RouteOptions, signal: AbortSignal): GenRequest {
  if (b.echo) throw new RequestError(400, "echo: not supported", "echo");
  if (b.suffix) throw new RequestError(400, "suffix: not supported (no fill-in-the-middle template)", "suffix");
  if (b.logprobs != null) throw new RequestError(400, "logprobs: not supported", "logprobs");
  const p = b.prompt;
  const prompt: string | number[] = typeof p === "string" ? p : typeof p[0] === "string" ? (p[0] as string) : Array.isArray(p[0]) ? (p[0] as number[]) : (p as number[]);
  const req: GenRequest = {
    prompt,
    sampling: mergeAll(opts.defaults, b),
    maxTokens: b.max_tokens ?? UNTIL_FULL,
    stop: stops(b.stop),
    signal,
  };
  if (b.speculative != null) req.speculative = b.speculative;
  return req;
}

// ---- encoders ----

export interface EncodeInfo {
  id: string;
  created: number;
  model: string;
}

export type OpenAIFinish = "stop" | "length" | "tool_calls";

export function finishReason(f: FinishReason): OpenAIFinish {
  // "abort": the client is gone or the server is stopping; "stop" is the nearest OpenAI value
  return f === "abort" ? "stop" : f;
}

export function encodeUsage(u: Usage) {
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens },
  };
}

/** llama-server's `timings` object. */
export function encodeTimings(u: Usage, t: Timings) {
  const promptN = u.promptTokens - u.cachedTokens;
  const out: Record<string, number> = {
    cache_n: u.cachedTokens,
    prompt_n: promptN,
    prompt_ms: t.promptMs,
    prompt_per_token_ms: promptN > 0 ? t.promptMs / promptN : 0,
    prompt_per_second: t.promptMs > 0 ? (promptN * 1000) / t.promptMs : 0,
    predicted_n: u.completionTokens,
    predicted_ms: t.decodeMs,
    predicted_per_token_ms: u.completionTokens > 1 ? t.decodeMs / (u.completionTokens - 1) : 0,
    predicted_per_second: t.tokensPerSecond,
  };
  if (t.spec) {
    out.draft_n = t.spec.draftTokens;
    out.draft_n_accepted = t.spec.acceptedTokens;
  }
  return out;
}

/** flint's own: which drafter ran and its mean accepted length (tokens per verify step). */
export function encodeSpec(t: Timings) {
  return t.spec ? { drafter: t.spec.drafter, mean_accepted_length: t.spec.meanAcceptedLength } : undefined;
}

/** flint's own: PFlash's report when it compressed the prompt (never silent) */
export function encodePrefill(t: Timings) {
  const p = t.prefill;
  return p ? { prompt_tokens: p.promptTokens, kept_tokens: p.keptTokens, keep_ratio: p.keepRatio, scorer_ms: p.scorerMs, target_prefill_ms: p.targetPrefillMs } : undefined;
}

function extras(u: Usage, t: Timings) {
  const spec = encodeSpec(t);
  const prefill = encodePrefill(t);
  return { timings: encodeTimings(u, t), ...(spec ? { spec } : {}), ...(prefill ? { prefill } : {}) };
}

type Delta = Record<string, unknown>;

/** Chat completion chunks for a GenEvent stream (stream: true). */
export class ChatChunkEncoder {
  constructor(private readonly info: EncodeInfo, private readonly includeUsage: boolean) {}

  chunk(delta: Delta, finish: OpenAIFinish | null = null) {
    const { id, created, model } = this.info;
    return { id, object: "chat.completion.chunk", created, model, system_fingerprint: "flint", choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] };
  }

  /** The first chunk: the role, as OpenAI sends it. */
  start() {
    return this.chunk({ role: "assistant", content: "" });
  }

  push(e: GenEvent): object[] {
    switch (e.type) {
      case "text":
        return e.text ? [this.chunk({ content: e.text })] : [];
      case "reasoning":
        return e.text ? [this.chunk({ reasoning_content: e.text })] : [];
      case "tool_call":
        return [this.chunk({ tool_calls: [{ index: e.index, id: e.id, type: "function", function: { name: e.name, arguments: "" } }] })];
      case "tool_args":
        return e.delta ? [this.chunk({ tool_calls: [{ index: e.index, function: { arguments: e.delta } }] })] : [];
      case "done": {
        const last = { ...this.chunk({}, finishReason(e.finishReason)), ...extras(e.usage, e.timings) };
        if (!this.includeUsage) return [last];
        const { id, created, model } = this.info;
        return [last, { id, object: "chat.completion.chunk", created, model, system_fingerprint: "flint", choices: [], usage: encodeUsage(e.usage) }];
      }
    }
  }
}

/** One chat.completion object from a whole GenEvent stream (stream: false). */
export class ChatCollector {
  private content = "";
  private reasoning = "";
  private readonly calls: { id: string; type: "function"; function: { name: string; arguments: string } }[] = [];
  private readonly callAt = new Map<number, number>();
  private done?: Extract<GenEvent, { type: "done" }>;

  constructor(private readonly info: EncodeInfo) {}

  push(e: GenEvent): void {
    switch (e.type) {
      case "text":
        this.content += e.text;
        break;
      case "reasoning":
        this.reasoning += e.text;
        break;
      case "tool_call":
        this.callAt.set(e.index, this.calls.length);
        this.calls.push({ id: e.id, type: "function", function: { name: e.name, arguments: "" } });
        break;
      case "tool_args": {
        const at = this.callAt.get(e.index);
        if (at !== undefined) this.calls[at].function.arguments += e.delta;
        break;
      }
      case "done":
        this.done = e;
        break;
    }
  }

  result() {
    const d = this.done;
    if (!d) throw new Error("generation ended without a done event");
    const message: Record<string, unknown> = { role: "assistant", content: this.calls.length && !this.content ? null : this.content };
    if (this.reasoning) message.reasoning_content = this.reasoning;
    if (this.calls.length) message.tool_calls = this.calls;
    const { id, created, model } = this.info;
    return {
      id,
      object: "chat.completion",
      created,
      model,
      system_fingerprint: "flint",
      choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason(d.finishReason) }],
      usage: encodeUsage(d.usage),
      ...extras(d.usage, d.timings),
    };
  }
}

/** text_completion chunks (stream: true). */
export class CompletionChunkEncoder {
  constructor(private readonly info: EncodeInfo, private readonly includeUsage: boolean) {}

  private chunk(text: string, finish: OpenAIFinish | null) {
    const { id, created, model } = this.info;
    return { id, object: "text_completion", created, model, system_fingerprint: "flint", choices: [{ index: 0, text, logprobs: null, finish_reason: finish }] };
  }

  push(e: GenEvent): object[] {
    if (e.type === "text") return e.text ? [this.chunk(e.text, null)] : [];
    if (e.type !== "done") return [];
    const last = { ...this.chunk("", finishReason(e.finishReason)), ...extras(e.usage, e.timings) };
    if (!this.includeUsage) return [last];
    const { id, created, model } = this.info;
    return [last, { id, object: "text_completion", created, model, system_fingerprint: "flint", choices: [], usage: encodeUsage(e.usage) }];
  }
}

/** One text_completion object (stream: false). */
export function collectCompletion(info: EncodeInfo, events: GenEvent[]) {
  let text = "";
  let done: Extract<GenEvent, { type: "done" }> | undefined;
  for (const e of events) {
    if (e.type === "text") text += e.text;
    else if (e.type === "done") done = e;
  }
  if (!done) throw new Error("generation ended without a done event");
  return {
    id: info.id,
    object: "text_completion",
    created: info.created,
    model: info.model,
    system_fingerprint: "flint",
    choices: [{ index: 0, text, logprobs: null, finish_reason: finishReason(done.finishReason) }],
    usage: encodeUsage(done.usage),
    ...extras(done.usage, done.timings),
  };
}
