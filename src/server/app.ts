// The HTTP app: health, auth, the loading gate, body limits, the protocol routes (OpenAI, Anthropic,
// Responses), tokenize/detokenize and metrics. Every error leaves in the JSON shape of the protocol
// its path belongs to.
import { timingSafeEqual } from "node:crypto";
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import { anthropicErrorResponse, registerAnthropicRoutes } from "./anthropic.js";
import { QueueFullError, RequestError } from "./errors.js";
import type { ServerMetrics } from "./metrics.js";
import { openAIErrorResponse, registerOpenAIRoutes } from "./openai.js";
import { registerResponsesRoutes } from "./responses.js";
import { parseBody, readJsonBody, type RouteOptions } from "./route-options.js";
import type { GenerationService } from "./types.js";

export interface AppOptions {
  routes: RouteOptions;
  /** required as `Authorization: Bearer KEY` or `x-api-key: KEY` on every route but /health */
  apiKey?: string;
  /** false while the model loads: /health says so and every other route answers 503 */
  ready?: () => boolean;
  metrics?: ServerMetrics;
  /** largest request body in bytes (default 32 MiB) */
  bodyLimit?: number;
  /** extra fields of the model object in /v1/models (context size once known) */
  modelMeta?: () => Record<string, unknown>;
}

export const DEFAULT_BODY_LIMIT = 32 * 1024 * 1024;

const TokenizeBody = z.object({
  content: z.string(),
  add_special: z.boolean().nullish(),
  with_pieces: z.boolean().nullish(),
});
const DetokenizeBody = z.object({ tokens: z.array(z.int()) });

/** Anthropic's paths answer errors in Anthropic's shape; everything else in OpenAI's. */
function errorResponse(c: Context, err: unknown): Response {
  return c.req.path.startsWith("/v1/messages") ? anthropicErrorResponse(c, err) : openAIErrorResponse(c, err);
}

// curl -d sends form-urlencoded by default and many clients send no type at all: both are read as
// JSON; a type that says the body is something else entirely is refused
function acceptableType(type: string | undefined): boolean {
  if (!type) return true;
  const t = type.split(";")[0].trim().toLowerCase();
  return t === "" || t === "application/json" || t.endsWith("+json") || t === "text/plain" || t === "application/x-www-form-urlencoded";
}

function keyMatches(given: string | undefined, key: Buffer): boolean {
  if (given === undefined) return false;
  const g = Buffer.from(given);
  return g.length === key.length && timingSafeEqual(g, key);
}

export function createApp(service: GenerationService, opts: AppOptions): Hono {
  const app = new Hono();
  const ready = opts.ready ?? (() => true);
  const limit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const status = err.status as RequestError["status"];
      const msg = status === 413 ? `request body is larger than the limit of ${limit} bytes` : err.message || `HTTP ${status}`;
      return errorResponse(c, new RequestError(status >= 400 && status < 500 ? status : 400, msg));
    }
    return errorResponse(c, err);
  });
  app.notFound((c) => errorResponse(c, new RequestError(404, `no route for ${c.req.method} ${c.req.path}`)));

  app.get("/health", (c) => (ready() ? c.json({ status: "ok" }) : c.json({ status: "loading" }, 503, { "retry-after": "1" })));

  if (opts.apiKey) {
    const key = Buffer.from(opts.apiKey);
    app.use("*", async (c, next) => {
      const auth = c.req.header("authorization");
      const bearer = auth && /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, "").trim() : undefined;
      if (!keyMatches(bearer, key) && !keyMatches(c.req.header("x-api-key"), key)) {
        return errorResponse(c, new RequestError(401, "invalid or missing API key: send Authorization: Bearer KEY (or x-api-key: KEY)"));
      }
      await next();
    });
  }

  app.use("*", async (c, next) => {
    if (!ready()) return errorResponse(c, new QueueFullError("the model is still loading; retry shortly", 1, 503));
    if (c.req.method === "POST" && !acceptableType(c.req.header("content-type"))) {
      return errorResponse(c, new RequestError(415, `Content-Type ${c.req.header("content-type")} is not supported: send application/json`));
    }
    await next();
  });
  app.use(
    "*",
    bodyLimit({
      maxSize: limit,
      onError: (c) => errorResponse(c, new RequestError(413, `request body is larger than the limit of ${limit} bytes`)),
    }),
  );

  registerOpenAIRoutes(app, service, opts.routes, opts.modelMeta);
  registerAnthropicRoutes(app, service, opts.routes);
  registerResponsesRoutes(app, service, opts.routes);

  app.post("/tokenize", async (c) => {
    try {
      const b = parseBody(TokenizeBody, await readJsonBody(c));
      const tokens = service.tokenize(b.content, { special: b.add_special ?? false });
      if (!b.with_pieces) return c.json({ tokens });
      return c.json({ tokens: tokens.map((id) => ({ id, piece: service.detokenize([id]) })) });
    } catch (err) {
      return openAIErrorResponse(c, err);
    }
  });
  app.post("/detokenize", async (c) => {
    try {
      const b = parseBody(DetokenizeBody, await readJsonBody(c));
      return c.json({ content: service.detokenize(b.tokens) });
    } catch (err) {
      return openAIErrorResponse(c, err);
    }
  });
  const metrics = opts.metrics;
  if (metrics) app.get("/metrics", async (c) => c.body(await metrics.text(), 200, { "content-type": metrics.contentType }));

  return app;
}
