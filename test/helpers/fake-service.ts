// A GenerationService that replays scripted GenEvents, so protocol encoders can be tested against
// real SDK clients without a model. It records every GenRequest, honours the abort signal the way the
// real service does (ends with finishReason "abort"), and can fail before the first event or mid-way.
import type { AddressInfo } from "node:net";
import { serve, type ServerType } from "@hono/node-server";
import type { Hono } from "hono";
import type { FinishReason, GenerationService, GenEvent, GenRequest, Usage } from "../../src/server/types.js";
import type { RouteOptions } from "../../src/server/route-options.js";

export type ScriptStep =
  | GenEvent
  /** pause between events (lets a client read what came so far) */
  | { type: "wait"; ms: number }
  /** stop here until the request is aborted, then end as the real service does */
  | { type: "hang" }
  /** fail after the events so far were sent */
  | { type: "throw"; error: Error };

/** An Error: thrown before the first event (RequestError, QueueFullError); else the steps. */
export type Script = ScriptStep[] | Error;

type CountArg = Parameters<GenerationService["countPromptTokens"]>[0];

export class FakeService implements GenerationService {
  readonly requests: GenRequest[] = [];
  readonly countRequests: CountArg[] = [];
  private readonly scripts: Script[] = [];
  private abortWaiters: (() => void)[] = [];
  abortedCount = 0;

  constructor(
    readonly modelId = "fake-model",
    /** replayed when no script is queued */
    public defaultScript: Script = [...text("Hello", " world"), done("stop")],
  ) {}

  /** Scripts for the next requests, one each, in order. */
  enqueue(...scripts: Script[]): this {
    this.scripts.push(...scripts);
    return this;
  }

  get lastRequest(): GenRequest {
    const r = this.requests.at(-1);
    if (!r) throw new Error("the fake service has received no request");
    return r;
  }

  /** Resolves when some request's signal is aborted (now, if one already was). */
  waitForAbort(timeoutMs = 5000): Promise<void> {
    if (this.abortedCount > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error("no request was aborted")), timeoutMs);
      this.abortWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  async *stream(req: GenRequest): AsyncGenerator<GenEvent> {
    this.requests.push(req);
    req.signal.addEventListener("abort", () => {
      this.abortedCount++;
      for (const w of this.abortWaiters.splice(0)) w();
    });
    const script = this.scripts.shift() ?? this.defaultScript;
    if (script instanceof Error) throw script;
    let completion = 0;
    for (const step of script) {
      if (req.signal.aborted) {
        yield done("abort", { completionTokens: completion });
        return;
      }
      switch (step.type) {
        case "wait":
          await sleep(step.ms, req.signal);
          break;
        case "hang":
          await sleep(Infinity, req.signal);
          yield done("abort", { completionTokens: completion });
          return;
        case "throw":
          throw step.error;
        default:
          if (step.type !== "done") completion++;
          yield step;
      }
    }
  }

  countPromptTokens(req: CountArg): number {
    this.countRequests.push(req);
    const chars = JSON.stringify([req.messages ?? req.prompt, req.tools ?? []]).length;
    return Math.max(1, Math.ceil(chars / 4));
  }

  tokenize(s: string): number[] {
    return Array.from(s, (ch) => ch.codePointAt(0) ?? 0);
  }

  detokenize(tokens: number[]): string {
    return String.fromCodePoint(...tokens);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = Number.isFinite(ms) ? setTimeout(done, ms) : undefined;
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

export function text(...chunks: string[]): GenEvent[] {
  return chunks.map((t) => ({ type: "text", text: t }));
}

export function reasoning(...chunks: string[]): GenEvent[] {
  return chunks.map((t) => ({ type: "reasoning", text: t }));
}

/** A tool call whose arguments arrive in the given pieces. */
export function toolCall(index: number, id: string, name: string, ...args: string[]): GenEvent[] {
  return [{ type: "tool_call", index, id, name }, ...args.map((delta): GenEvent => ({ type: "tool_args", index, delta }))];
}

export function done(finishReason: FinishReason, usage: Partial<Usage> = {}): GenEvent {
  return {
    type: "done",
    finishReason,
    usage: { promptTokens: 12, completionTokens: 5, cachedTokens: 0, ...usage },
    timings: { promptMs: 1, decodeMs: 1, tokensPerSecond: 100 },
  };
}

export const TEST_ROUTE_OPTIONS: RouteOptions = {
  defaults: {
    temperature: 0.8,
    topP: 0.95,
    topK: 40,
    minP: 0.05,
    repeatPenalty: 1,
    frequencyPenalty: 0,
    presencePenalty: 0,
  },
  defaultMaxTokens: 256,
};

export interface TestServer {
  url: string;
  close(): Promise<void>;
}

/** Serves a hono app on 127.0.0.1 at a free port. */
export async function serveApp(app: Hono): Promise<TestServer> {
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: app.fetch, hostname: "127.0.0.1", port: 0 }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}

export interface SseEvent {
  event: string | undefined;
  data: string;
}

/** Splits an SSE body into its events (for checking the wire format itself, below the SDKs). */
export function parseSse(body: string): SseEvent[] {
  const out: SseEvent[] = [];
  for (const chunk of body.split(/\r?\n\r?\n/)) {
    if (chunk.trim() === "") continue;
    let event: string | undefined;
    const data: string[] = [];
    for (const line of chunk.split(/\r?\n/)) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
    }
    out.push({ event, data: data.join("\n") });
  }
  return out;
}
