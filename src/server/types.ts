// The server's one internal request and event stream. Every HTTP protocol (OpenAI chat/completions,
// Anthropic messages, OpenAI responses) decodes its body into a GenRequest and encodes the same
// GenEvent stream, so templates, stop handling, tool parsing and speculation exist once.

/** A chat message after protocol decoding: content is plain text (content parts joined). */
export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
  /** assistant: the thinking text of a reasoning model, when the client sends it back */
  reasoning?: string;
  /** assistant: tool calls it made; arguments is the JSON text of the arguments object */
  toolCalls?: ToolCall[];
  /** tool: the id of the call this message answers */
  toolCallId?: string;
  /** tool: the function name of the call this message answers (when known) */
  name?: string;
}

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text of the arguments object */
  arguments: string;
}

/** A function tool as the template and the parser see it (OpenAI's `function` object). */
export interface ToolDef {
  name: string;
  description?: string;
  /** JSON schema of the arguments */
  parameters: Record<string, unknown>;
}

export type ToolChoice = "auto" | "none" | "required" | { name: string };

export interface SamplingParams {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
  seed?: number;
  repeatPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
}

export interface GenRequest {
  /** chat request: rendered with the model's chat template */
  messages?: ChatMessage[];
  /** raw completion request: text (special tokens parsed) or token ids; no template */
  prompt?: string | number[];
  tools?: ToolDef[];
  toolChoice?: ToolChoice;
  sampling: SamplingParams;
  maxTokens: number;
  stop: string[];
  /** false turns speculation off for this request (default: the server's configured drafter) */
  speculative?: boolean;
  /** thinking models: render the template with thinking on/off (default: the template's default) */
  enableThinking?: boolean;
  /** the client went away or the request was cancelled: generation stops within one step */
  signal: AbortSignal;
}

export type FinishReason = "stop" | "length" | "tool_calls" | "abort";

export interface Usage {
  promptTokens: number;
  completionTokens: number;
  /** prompt tokens whose KV came from the prefix cache (not prefilled again) */
  cachedTokens: number;
}

export interface Timings {
  /** prompt prefill wall time, ms (only the tokens not found in the prefix cache) */
  promptMs: number;
  /** first to last generated token, ms */
  decodeMs: number;
  /** (completionTokens - 1) per second of decodeMs */
  tokensPerSecond: number;
  /** present when PFlash compressed the prompt (lossy: the target prefilled keptTokens of promptTokens) */
  prefill?: {
    promptTokens: number;
    keptTokens: number;
    keepRatio: number;
    scorerMs: number;
    targetPrefillMs: number;
  };
  /** present when speculation ran */
  spec?: {
    drafter: string;
    meanAcceptedLength: number;
    /** drafted tokens sent to verify, and how many were accepted (llama-server's counting) */
    draftTokens: number;
    acceptedTokens: number;
  };
}

/** What generation yields, in order: deltas, then exactly one `done`. */
export type GenEvent =
  | { type: "text"; text: string }
  | { type: "reasoning"; text: string }
  /** a tool call begins; its arguments follow as `tool_args` deltas with the same index */
  | { type: "tool_call"; index: number; id: string; name: string }
  | { type: "tool_args"; index: number; delta: string }
  /** stopSequence: the request's stop string that ended generation (finishReason "stop") */
  | { type: "done"; finishReason: FinishReason; stopSequence?: string; usage: Usage; timings: Timings };

/** Turns generated text into text/reasoning/tool-call events as it streams (see output-parser.ts). */
export interface OutputParser {
  push(text: string): GenEvent[];
  /** end of generation: flush held-back text; a tool call left open is closed as far as it parsed */
  finish(): GenEvent[];
  /** tool calls seen so far (the finish reason is "tool_calls" when there is at least one) */
  readonly toolCallCount: number;
}

/** The generation service the HTTP routes call (implemented in service.ts). */
export interface GenerationService {
  /** the model name clients use (--alias, else the GGUF file name) */
  readonly modelId: string;
  /** Queues the request and streams its events. Input errors (prompt longer than the context, bad
   *  parameters) throw a RequestError before the first event; a full queue throws QueueFullError. */
  stream(req: GenRequest): AsyncGenerator<GenEvent>;
  /** Prompt tokens the request would use after templating (Anthropic count_tokens). */
  countPromptTokens(req: Omit<GenRequest, "signal" | "sampling" | "maxTokens" | "stop">): number;
  tokenize(text: string, opts?: { special?: boolean }): number[];
  detokenize(tokens: number[]): string;
}
