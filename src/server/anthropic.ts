// Anthropic Messages API (POST /v1/messages, /v1/messages/count_tokens): decodes the body into the
// one GenRequest and encodes the GenEvent stream as a Message or as the SSE sequence Claude Code
// reads (message_start, ping, content_block_start/delta/stop per block, message_delta, message_stop).
import type { Context, Env, Hono } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { CountTokensBody, MessagesBody, mapConversation, toGenRequest } from "./anthropic-schema.js";
import { QueueFullError, RequestError } from "./errors.js";
import { parseBody, readJsonBody, type RouteOptions } from "./route-options.js";
import { clientAbortController, randomId, Segmenter, startGeneration, type Segment, type SegmentOp } from "./sse.js";
import type { FinishReason, GenerationService, GenEvent, Usage } from "./types.js";

export type AnthropicErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "request_too_large"
  | "rate_limit_error"
  | "api_error"
  | "overloaded_error";

export interface AnthropicErrorBody {
  type: "error";
  error: { type: AnthropicErrorType; message: string };
}

export type AnthropicStopReason = "end_turn" | "max_tokens" | "stop_sequence" | "tool_use";

export type AnthropicContentBlock =
  | { type: "text"; text: string }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "tool_use"; id: string; name: string; input: Record<string, unknown> };

export interface AnthropicUsage {
  /** prompt tokens NOT read from the prefix cache (Anthropic's meaning: total = this + cache reads) */
  input_tokens: number;
  output_tokens: number;
  cache_read_input_tokens: number;
  cache_creation_input_tokens: number;
}

export interface AnthropicMessage {
  id: string;
  type: "message";
  role: "assistant";
  model: string;
  content: AnthropicContentBlock[];
  stop_reason: AnthropicStopReason | null;
  stop_sequence: string | null;
  usage: AnthropicUsage;
}

// Clients (Claude Code) send thinking blocks back with their signature and some drop blocks without
// one. We cannot sign anything, so this constant marks "ours"; incoming signatures are ignored.
export const THINKING_SIGNATURE = "flint-unsigned";

export function registerAnthropicRoutes<E extends Env>(
  app: Hono<E>,
  service: GenerationService,
  opts: RouteOptions,
): void {
  app.post("/v1/messages", async (c) => {
    try {
      return await handleMessages(c, service, opts);
    } catch (err) {
      return anthropicErrorResponse(c, err);
    }
  });
  app.post("/v1/messages/count_tokens", async (c) => {
    try {
      const body = parseBody(CountTokensBody, await readJsonBody(c));
      return c.json({ input_tokens: service.countPromptTokens(mapConversation(body)) });
    } catch (err) {
      return anthropicErrorResponse(c, err);
    }
  });
}

/** Status, Anthropic error body and headers for any error a request ends in. */
export function encodeAnthropicError(err: unknown): {
  status: number;
  body: AnthropicErrorBody;
  headers: Record<string, string>;
} {
  const headers: Record<string, string> = {};
  if (err instanceof QueueFullError) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  if (err instanceof RequestError) {
    return { status: err.status, body: errorBody(anthropicErrorType(err.status), err.message), headers };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: errorBody("api_error", message), headers };
}

export function anthropicErrorType(status: number): AnthropicErrorType {
  switch (status) {
    case 401:
      return "authentication_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
      return "overloaded_error";
    default:
      return status >= 500 ? "api_error" : "invalid_request_error";
  }
}

export function anthropicErrorResponse(c: Context, err: unknown): Response {
  const { status, body, headers } = encodeAnthropicError(err);
  return c.json(body, status as 400, headers);
}

function errorBody(type: AnthropicErrorType, message: string): AnthropicErrorBody {
  return { type: "error", error: { type, message } };
}

async function handleMessages(c: Context, service: GenerationService, opts: RouteOptions): Promise<Response> {
  const body = parseBody(MessagesBody, await readJsonBody(c));
  const ac = clientAbortController(c);
  const req = toGenRequest(body, opts, ac.signal);
  const events = await startGeneration(service, req);
  const id = randomId("msg_");
  if (!body.stream) return c.json(await collectMessage(events, id, service.modelId));

  return streamSSE(c, async (sse) => {
    sse.onAbort(() => ac.abort());
    try {
      await writeMessageStream(sse, events, id, service.modelId);
    } catch (err) {
      // the status line is long gone: the error travels as an SSE event, as Anthropic sends it
      if (!sse.aborted) await send(sse, "error", { error: encodeAnthropicError(err).body.error });
    } finally {
      ac.abort(); // generation must not outlive the response (no-op when it already finished)
    }
  });
}

async function collectMessage(events: AsyncIterable<GenEvent>, id: string, model: string): Promise<AnthropicMessage> {
  const seg = new Segmenter();
  let done: Extract<GenEvent, { type: "done" }> | undefined;
  for await (const ev of events) {
    if (ev.type === "done") done = ev;
    else seg.push(ev);
  }
  if (!done) throw new Error("generation ended without a done event");
  return {
    id,
    type: "message",
    role: "assistant",
    model,
    content: seg.segments.map(toBlock),
    ...stopOf(done),
    usage: toUsage(done.usage),
  };
}

async function writeMessageStream(
  sse: SSEStreamingApi,
  events: AsyncIterable<GenEvent>,
  id: string,
  model: string,
): Promise<void> {
  // Usage is only known at the end (the done event); message_start carries zeros and message_delta
  // the real counts. Claude Code and SDK >= 0.5x take non-zero message_delta usage over the start's.
  const message = {
    id,
    type: "message",
    role: "assistant",
    model,
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: toUsage({ promptTokens: 0, completionTokens: 0, cachedTokens: 0 }),
  };
  await send(sse, "message_start", { message });
  await send(sse, "ping", {});

  const seg = new Segmenter();
  let done: Extract<GenEvent, { type: "done" }> | undefined;
  for await (const ev of events) {
    if (ev.type === "done") done = ev;
    else for (const op of seg.push(ev)) await writeOp(sse, seg.segments, op);
    if (sse.aborted) return;
  }
  for (const op of seg.finish()) await writeOp(sse, seg.segments, op);
  if (!done) throw new Error("generation ended without a done event");
  if (done.finishReason === "abort") return;
  await send(sse, "message_delta", { delta: stopOf(done), usage: toUsage(done.usage) });
  await send(sse, "message_stop", {});
}

async function writeOp(sse: SSEStreamingApi, segments: Segment[], op: SegmentOp): Promise<void> {
  const kind = segments[op.index].kind;
  switch (op.op) {
    case "start": {
      const s = op.segment;
      const content_block =
        s.kind === "text"
          ? { type: "text", text: "" }
          : s.kind === "reasoning"
            ? { type: "thinking", thinking: "", signature: "" }
            : { type: "tool_use", id: s.id, name: s.name, input: {} };
      return send(sse, "content_block_start", { index: op.index, content_block });
    }
    case "delta": {
      const delta =
        kind === "text"
          ? { type: "text_delta", text: op.text }
          : kind === "reasoning"
            ? { type: "thinking_delta", thinking: op.text }
            : { type: "input_json_delta", partial_json: op.text };
      return send(sse, "content_block_delta", { index: op.index, delta });
    }
    case "stop":
      if (kind === "reasoning") {
        await send(sse, "content_block_delta", {
          index: op.index,
          delta: { type: "signature_delta", signature: THINKING_SIGNATURE },
        });
      }
      return send(sse, "content_block_stop", { index: op.index });
  }
}

/** One SSE event whose `event:` name is also the data's `type`, as the Anthropic SDK reads it. */
function send(sse: SSEStreamingApi, event: string, data: Record<string, unknown>): Promise<void> {
  return sse.writeSSE({ event, data: JSON.stringify({ type: event, ...data }) });
}

function toBlock(s: Segment): AnthropicContentBlock {
  switch (s.kind) {
    case "text":
      return { type: "text", text: s.text };
    case "reasoning":
      return { type: "thinking", thinking: s.text, signature: THINKING_SIGNATURE };
    case "tool":
      return { type: "tool_use", id: s.id, name: s.name, input: parseInput(s.text) };
  }
}

// The parser closes a call cut off by max_tokens "as far as it parsed", which may not be valid JSON;
// Anthropic's `input` must be an object, so such a call gets {} (stop_reason max_tokens says why).
function parseInput(args: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  try {
    const v = JSON.parse(args) as unknown;
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * Which stop sequence matched is not part of the GenEvent stream, so a "stop" finish reports
 * end_turn, also when one of the request's stop_sequences ended it. If the done event ever carries a
 * `stopSequence` (proposed to the core), it is reported as Anthropic does.
 */
function stopOf(done: { finishReason: FinishReason }): {
  stop_reason: AnthropicStopReason;
  stop_sequence: string | null;
} {
  const matched = (done as { stopSequence?: unknown }).stopSequence;
  switch (done.finishReason) {
    case "length":
      return { stop_reason: "max_tokens", stop_sequence: null };
    case "tool_calls":
      return { stop_reason: "tool_use", stop_sequence: null };
    case "stop":
    case "abort":
      return typeof matched === "string"
        ? { stop_reason: "stop_sequence", stop_sequence: matched }
        : { stop_reason: "end_turn", stop_sequence: null };
  }
}

function toUsage(u: Usage): AnthropicUsage {
  return {
    input_tokens: u.promptTokens - u.cachedTokens,
    output_tokens: u.completionTokens,
    cache_read_input_tokens: u.cachedTokens,
    cache_creation_input_tokens: 0,
  };
}
