// Starting and stopping the server: listen first, load the model in the background (the HTTP side
// answers /health with 503 meanwhile), and shut down gracefully: stop accepting, end running
// generations, free the model.
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import { createApp } from "./app.js";
import { QueueFullError } from "./errors.js";
import { ServerMetrics } from "./metrics.js";
import type { RouteOptions } from "./route-options.js";
import type { FlintService } from "./service.js";
import type { GenerationService, GenRequest, GenEvent, SamplingParams } from "./types.js";

/** llama-server's defaults */
export const DEFAULT_SAMPLING: SamplingParams = {
  temperature: 0.8,
  topK: 40,
  topP: 0.95,
  minP: 0.05,
  repeatPenalty: 1,
  frequencyPenalty: 0,
  presencePenalty: 0,
};

export interface StartOptions {
  host: string;
  /** 0 = any free port */
  port: number;
  apiKey?: string;
  modelId: string;
  /** loads the model and makes the service (runs after the server listens) */
  load: (metrics: ServerMetrics) => Promise<FlintService>;
  sampling?: SamplingParams;
  bodyLimit?: number;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  metrics: ServerMetrics;
  /** resolves with the service once the model is loaded; rejects with the load error */
  ready: Promise<FlintService>;
  /** stops accepting, ends running generations, frees the model */
  close(): Promise<void>;
}

/** A service whose model may still be loading: the app's gate answers 503 before any call gets here. */
class LoadingService implements GenerationService {
  inner?: FlintService;
  constructor(readonly modelId: string) {}
  private get s(): FlintService {
    if (!this.inner) throw new QueueFullError("the model is still loading; retry shortly", 1, 503);
    return this.inner;
  }
  stream(req: GenRequest): AsyncGenerator<GenEvent> {
    return this.s.stream(req);
  }
  countPromptTokens(req: Parameters<GenerationService["countPromptTokens"]>[0]): number {
    return this.s.countPromptTokens(req);
  }
  tokenize(text: string, opts?: { special?: boolean }): number[] {
    return this.s.tokenize(text, opts);
  }
  detokenize(tokens: number[]): string {
    return this.s.detokenize(tokens);
  }
}

export async function startServer(o: StartOptions): Promise<RunningServer> {
  const metrics = new ServerMetrics();
  const lazy = new LoadingService(o.modelId);
  const routes: RouteOptions = { defaults: o.sampling ?? DEFAULT_SAMPLING, defaultMaxTokens: Number.MAX_SAFE_INTEGER };
  const app = createApp(lazy, {
    routes,
    apiKey: o.apiKey,
    ready: () => lazy.inner !== undefined,
    metrics,
    bodyLimit: o.bodyLimit,
    modelMeta: () => (lazy.inner ? { n_ctx: lazy.inner.contextSize, drafter: lazy.inner.drafterName ?? null } : {}),
  });
  const server = await new Promise<ServerType>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: o.host, port: o.port }, () => resolve(s));
    s.once("error", reject);
  });
  const addr = server.address() as AddressInfo;
  const host = addr.address;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${addr.port}`;

  let closed = false;
  const ready = (async () => {
    // let the listening line and early /health polls through before loading blocks the loop
    await new Promise((r) => setImmediate(r));
    const service = await o.load(metrics);
    if (closed) {
      await service.close();
      service.free();
      throw new Error("the server was closed while the model loaded");
    }
    lazy.inner = service;
    // the context size is known now: a Responses request without a limit may fill what is left
    routes.defaultMaxTokens = service.contextSize;
    return service;
  })();
  // the caller decides what a load failure means (flint serve exits); an unobserved one must not crash
  ready.catch(() => {});

  return {
    url,
    host,
    port: addr.port,
    metrics,
    ready,
    async close() {
      if (closed) return;
      closed = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      const service = lazy.inner;
      if (service) await service.close();
      // streams end once their generation stopped; idle keep-alive sockets go now
      (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
      const force = setTimeout(() => (server as { closeAllConnections?: () => void }).closeAllConnections?.(), 2000);
      await stopped;
      clearTimeout(force);
      service?.free();
    },
  };
}
