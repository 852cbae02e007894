// OpenAI routes: /v1/chat/completions, /v1/completions, /v1/models. Bodies are decoded by
// openai-schema.ts; generation runs through the shared service; errors use OpenAI's JSON shape.
import type { Context, Env, Hono } from "hono";
import { QueueFullError, RequestError } from "./errors.js";
import { ChatBody, ChatChunkEncoder, ChatCollector, chatRequest, collectCompletion, CompletionBody, CompletionChunkEncoder, completionRequest, type EncodeInfo } from "./openai-schema.js";
import { parseBody, readJsonBody, type RouteOptions } from "./route-options.js";
import { clientAbortController, randomId, startGeneration } from "./sse.js";
import type { GenerationService, GenEvent } from "./types.js";

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export function openAIErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 503) return "unavailable_error";
  return status >= 500 ? "server_error" : "invalid_request_error";
}

function openAICode(status: number): string | null {
  if (status === 401) return "invalid_api_key";
  if (status === 429) return "rate_limit_exceeded";
  if (status === 413) return "request_too_large";
  return null;
}

/** Status, body and headers of OpenAI's error shape for any error a request ends in. */
export function encodeOpenAIError(err: unknown): { status: number; body: OpenAIErrorBody; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  if (err instanceof QueueFullError) headers["retry-after"] = String(Math.max(1, Math.ceil(err.retryAfterSeconds)));
  if (err instanceof RequestError) {
    return { status: err.status, body: { error: { message: err.message, type: openAIErrorType(err.status), param: err.param ?? null, code: openAICode(err.status) } }, headers };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: { error: { message: `internal error: ${message}`, type: "server_error", param: null, code: null } }, headers };
}

export function openAIErrorResponse(c: Context, err: unknown): Response {
  const { status, body, headers } = encodeOpenAIError(err);
  return c.json(body, status as 400, headers);
}

const encoder = new TextEncoder();
const sseData = (obj: unknown) => encoder.encode(`data: ${JSON.stringify(obj)}\n\n`);
const SSE_DONE = encoder.encode("data: [DONE]\n\n");

/** An SSE response pulled from the event stream: generation runs as fast as the client reads, and a
 *  client that goes away cancels it (the request's abort signal fires too). */
function sseResponse(events: AsyncGenerator<GenEvent, void, undefined>, first: object | undefined, encode: (e: GenEvent) => object[]): Response {
  let sentFirst = first === undefined;
  let finished = false;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!sentFirst) {
        sentFirst = true;
        controller.enqueue(sseData(first));
        return;
      }
      try {
        for (;;) {
          const r = await events.next();
          if (r.done) {
            finished = true;
            controller.enqueue(SSE_DONE);
            controller.close();
            return;
          }
          const chunks = encode(r.value);
          if (chunks.length === 0) continue;
          for (const ch of chunks) controller.enqueue(sseData(ch));
          return;
        }
      } catch (err) {
        // headers are long sent: the error travels as a data event, which the OpenAI SDK raises
        finished = true;
        controller.enqueue(sseData(encodeOpenAIError(err).body));
        controller.close();
      }
    },
    async cancel() {
      if (!finished) await events.return(undefined);
    },
  });
  return new Response(stream, { status: 200, headers: { "content-type": "text/event-stream", "cache-control": "no-cache", "x-accel-buffering": "no" } });
}

async function collect(events: AsyncGenerator<GenEvent, void, undefined>, push: (e: GenEvent) => void): Promise<void> {
  for await (const e of events) push(e);
}

export function registerOpenAIRoutes<E extends Env>(app: Hono<E>, service: GenerationService, opts: RouteOptions, meta: () => Record<string, unknown> = () => ({})): void {
  const wrap = (handler: (c: Context<E>) => Promise<Response>) => async (c: Context<E>) => {
    try {
      return await handler(c);
    } catch (err) {
      return openAIErrorResponse(c, err);
    }
  };
  const info = (prefix: string): EncodeInfo => ({ id: randomId(prefix), created: Math.floor(Date.now() / 1000), model: service.modelId });

  app.post(
    "/v1/chat/completions",
    wrap(async (c) => {
      const body = parseBody(ChatBody, await readJsonBody(c));
      const ac = clientAbortController(c);
      const events = await startGeneration(service, chatRequest(body, opts, ac.signal));
      const i = info("chatcmpl-");
      if (!body.stream) {
        const out = new ChatCollector(i);
        await collect(events, (e) => out.push(e));
        return c.json(out.result());
      }
      const enc = new ChatChunkEncoder(i, body.stream_options?.include_usage === true);
      return sseResponse(events, enc.start(), (e) => enc.push(e));
    }),
  );

  app.post(
    "/v1/completions",
    wrap(async (c) => {
      const body = parseBody(CompletionBody, await readJsonBody(c));
      const ac = clientAbortController(c);
      const events = await startGeneration(service, completionRequest(body, opts, ac.signal));
      const i = info("cmpl-");
      if (!body.stream) {
        const all: GenEvent[] = [];
        await collect(events, (e) => all.push(e));
        return c.json(collectCompletion(i, all));
      }
      const enc = new CompletionChunkEncoder(i, body.stream_options?.include_usage === true);
      return sseResponse(events, undefined, (e) => enc.push(e));
    }),
  );

  const model = () => ({ id: service.modelId, object: "model", created: STARTED, owned_by: "flint", meta: meta() });
  app.get("/v1/models", (c) => c.json({ object: "list", data: [model()] }));
  app.get(
    "/v1/models/:id{.+}",
    wrap(async (c) => {
      const id = c.req.param("id");
      if (id !== service.modelId) {
        throw new RequestError(404, `model "${id}" is not served here; this server serves "${service.modelId}" (requests naming any model are answered by it)`, "model");
      }
      return c.json(model());
    }),
  );
}

const STARTED = Math.floor(Date.now() / 1000);
