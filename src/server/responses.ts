// OpenAI Responses API (POST /v1/responses), the protocol Codex speaks: decodes the body into the one
// GenRequest and encodes the GenEvent stream as a Response object or as the typed, numbered SSE
// events of node_modules/openai/resources/responses/responses.d.ts. Nothing is stored (store and
// previous_response_id: see responses-schema.ts).
import type { Context, Env, Hono } from "hono";
import { streamSSE, type SSEStreamingApi } from "hono/streaming";
import { QueueFullError, RequestError } from "./errors.js";
import { ResponsesBody, toGenRequest } from "./responses-schema.js";
import { parseBody, readJsonBody, type RouteOptions } from "./route-options.js";
import { clientAbortController, randomId, Segmenter, startGeneration, type Segment, type SegmentOp } from "./sse.js";
import type { GenerationService, GenEvent } from "./types.js";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

type ItemStatus = "in_progress" | "completed" | "incomplete";
type Done = Extract<GenEvent, { type: "done" }>;

export type OutputItem =
  | { type: "reasoning"; id: string; summary: []; content: { type: "reasoning_text"; text: string }[]; status: ItemStatus }
  | {
      type: "message";
      id: string;
      role: "assistant";
      status: ItemStatus;
      content: { type: "output_text"; text: string; annotations: []; logprobs: [] }[];
    }
  | { type: "function_call"; id: string; call_id: string; name: string; arguments: string; status: ItemStatus };

export function registerResponsesRoutes<E extends Env>(
  app: Hono<E>,
  service: GenerationService,
  opts: RouteOptions,
): void {
  app.post("/v1/responses", async (c) => {
    try {
      return await handleResponses(c, service, opts);
    } catch (err) {
      return openAIErrorResponse(c, err);
    }
  });
}

/** Status, OpenAI error body and headers for any error a request ends in. */
export function encodeOpenAIError(err: unknown): { status: number; body: OpenAIErrorBody; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (err instanceof QueueFullError) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  if (err instanceof RequestError) {
    const [type, code] =
      err.status === 429
        ? ["rate_limit_error", "rate_limit_exceeded"]
        : err.status === 503
          ? ["server_error", "service_unavailable"]
          : err.status === 401
            ? ["invalid_request_error", "invalid_api_key"]
            : ["invalid_request_error", null];
    return { status: err.status, body: { error: { message: err.message, type, param: err.param ?? null, code } }, headers };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { message, type: "server_error", param: null, code: "server_error" } }, headers };
}

export function openAIErrorResponse(c: Context, err: unknown): Response {
  const { status, body, headers } = encodeOpenAIError(err);
  return c.json(body, status as 400, headers);
}

interface Meta {
  id: string;
  createdAt: number;
  model: string;
  body: ResponsesBody;
}

async function handleResponses(c: Context, service: GenerationService, opts: RouteOptions): Promise<Response> {
  const body = parseBody(ResponsesBody, await readJsonBody(c));
  const ac = clientAbortController(c);
  const req = toGenRequest(body, opts, ac.signal);
  const events = await startGeneration(service, req);
  const meta: Meta = { id: randomId("resp_"), createdAt: Math.floor(Date.now() / 1000), model: service.modelId, body };
  const enc = new OutputEncoder(service);

  if (!body.stream) {
    let done: Done | undefined;
    for await (const ev of events) {
      if (ev.type === "done") done = ev;
      else enc.seg.push(ev);
    }
    if (!done) throw new Error("generation ended without a done event");
    return c.json(enc.response(meta, done));
  }

  return streamSSE(c, async (sse) => {
    sse.onAbort(() => ac.abort());
    let seq = 0;
    const send = (data: Record<string, unknown>) =>
      sse.writeSSE({ event: data.type as string, data: JSON.stringify({ ...data, sequence_number: seq++ }) });
    try {
      const created = enc.response(meta, undefined);
      await send({ type: "response.created", response: created });
      await send({ type: "response.in_progress", response: created });
      let done: Done | undefined;
      for await (const ev of events) {
        if (ev.type === "done") done = ev;
        else for (const op of enc.seg.push(ev)) for (const e of enc.events(op, "completed")) await send(e);
        if (sse.aborted) return;
      }
      if (!done) throw new Error("generation ended without a done event");
      if (done.finishReason === "abort") return;
      const lastStatus = done.finishReason === "length" ? "incomplete" : "completed";
      for (const op of enc.seg.finish()) for (const e of enc.events(op, lastStatus)) await send(e);
      const final = enc.response(meta, done);
      await send({ type: final.status === "incomplete" ? "response.incomplete" : "response.completed", response: final });
    } catch (err) {
      if (sse.aborted) return;
      // after the 200 the failure travels in-band: an `error` event, then the failed response
      const message = encodeOpenAIError(err).body.error.message;
      await send({ type: "error", code: "server_error", message, param: null });
      const failed = { ...enc.response(meta, undefined), status: "failed", error: { code: "server_error", message } };
      await send({ type: "response.failed", response: failed });
    } finally {
      ac.abort(); // generation must not outlive the response (no-op when it already finished)
    }
  });
}

/** Turns segments into output items and stream events; the output_index is the segment index. */
class OutputEncoder {
  readonly seg = new Segmenter();
  private readonly itemIds: string[] = [];
  private readonly statuses: ItemStatus[] = [];

  constructor(private readonly service: GenerationService) {}

  events(op: SegmentOp, stopStatus: ItemStatus): Record<string, unknown>[] {
    const output_index = op.index;
    const s = this.seg.segments[op.index];
    switch (op.op) {
      case "start": {
        this.itemIds[op.index] = randomId(idPrefix(s));
        this.statuses[op.index] = "in_progress";
        const item = this.item(op.index, true);
        const out: Record<string, unknown>[] = [{ type: "response.output_item.added", output_index, item }];
        if (s.kind !== "tool") {
          const part = s.kind === "text" ? outputText("") : { type: "reasoning_text", text: "" };
          out.push({ type: "response.content_part.added", item_id: item.id, output_index, content_index: 0, part });
        }
        return out;
      }
      case "delta": {
        const item_id = this.itemIds[op.index];
        if (s.kind === "tool") {
          return [{ type: "response.function_call_arguments.delta", item_id, output_index, delta: op.text }];
        }
        const type = s.kind === "text" ? "response.output_text.delta" : "response.reasoning_text.delta";
        const logprobs = s.kind === "text" ? { logprobs: [] } : {};
        return [{ type, item_id, output_index, content_index: 0, delta: op.text, ...logprobs }];
      }
      case "stop": {
        this.statuses[op.index] = stopStatus;
        const item = this.item(op.index, false);
        const item_id = item.id;
        const out: Record<string, unknown>[] = [];
        if (s.kind === "tool") {
          out.push({ type: "response.function_call_arguments.done", item_id, output_index, name: s.name, arguments: s.text });
        } else {
          const where = { item_id, output_index, content_index: 0 };
          if (s.kind === "text") out.push({ type: "response.output_text.done", ...where, text: s.text, logprobs: [] });
          else out.push({ type: "response.reasoning_text.done", ...where, text: s.text });
          const part = s.kind === "text" ? outputText(s.text) : { type: "reasoning_text", text: s.text };
          out.push({ type: "response.content_part.done", ...where, part });
        }
        out.push({ type: "response.output_item.done", output_index, item });
        return out;
      }
    }
  }

  /** The Response object: in progress (no done yet) or final. */
  response(meta: Meta, done: Done | undefined) {
    const incomplete = done?.finishReason === "length";
    const output: OutputItem[] = [];
    if (done) {
      this.seg.segments.forEach((_, i) => {
        this.itemIds[i] ??= randomId(idPrefix(this.seg.segments[i]));
        // what the stream ended in; the last item is the one max_output_tokens cut off
        this.statuses[i] = incomplete && i === this.seg.segments.length - 1 ? "incomplete" : "completed";
        output.push(this.item(i, false));
      });
    }
    const b = meta.body;
    return {
      id: meta.id,
      object: "response",
      created_at: meta.createdAt,
      status: !done ? "in_progress" : incomplete ? "incomplete" : "completed",
      ...(done ? { completed_at: Math.floor(Date.now() / 1000) } : {}),
      error: null,
      incomplete_details: incomplete ? { reason: "max_output_tokens" } : null,
      instructions: b.instructions ?? null,
      max_output_tokens: b.max_output_tokens ?? null,
      metadata: {},
      model: meta.model,
      output,
      parallel_tool_calls: b.parallel_tool_calls ?? true,
      previous_response_id: null,
      reasoning: { effort: b.reasoning?.effort ?? null, summary: null },
      store: false,
      temperature: b.temperature ?? null,
      text: { format: { type: "text" } },
      tool_choice: b.tool_choice ?? "auto",
      tools: (b.tools ?? []).map((t) => ({
        type: "function",
        name: t.name,
        description: t.description ?? null,
        parameters: t.parameters ?? null,
        strict: t.strict ?? false,
      })),
      top_p: b.top_p ?? null,
      truncation: "disabled",
      usage: done ? this.usage(done) : null,
    };
  }

  private item(i: number, empty: boolean): OutputItem {
    const s = this.seg.segments[i];
    const id = this.itemIds[i];
    const status = this.statuses[i];
    const text = empty ? "" : s.text;
    switch (s.kind) {
      case "reasoning":
        return { type: "reasoning", id, summary: [], content: empty ? [] : [{ type: "reasoning_text", text }], status };
      case "text":
        return { type: "message", id, role: "assistant", status, content: empty ? [] : [outputText(text)] };
      case "tool":
        return { type: "function_call", id, call_id: s.id, name: s.name, arguments: text, status };
    }
  }

  // The done event counts completion tokens as one number; the reasoning share is re-counted by
  // tokenizing the reasoning text (close, not exact: template markers around it are not included).
  private usage(done: Done) {
    const u = done.usage;
    const reasoningText = this.seg.segments.filter((s) => s.kind === "reasoning").map((s) => s.text).join("");
    const reasoning = reasoningText ? Math.min(u.completionTokens, this.service.tokenize(reasoningText).length) : 0;
    return {
      input_tokens: u.promptTokens,
      input_tokens_details: { cached_tokens: u.cachedTokens },
      output_tokens: u.completionTokens,
      output_tokens_details: { reasoning_tokens: reasoning },
      total_tokens: u.promptTokens + u.completionTokens,
    };
  }
}

function outputText(text: string) {
  return { type: "output_text" as const, text, annotations: [] as [], logprobs: [] as [] };
}

function idPrefix(s: Segment): string {
  return s.kind === "text" ? "msg_" : s.kind === "reasoning" ? "rs_" : "fc_";
}
