// An in-process server over the generated tiny model (threads 1), for tests that look at the
// service's state; the SDK conformance tests spawn a real `flint serve` instead (spawn.ts).
import { FlintService, type ServiceOptions } from "../../src/server/service.js";
import { startServer, type RunningServer, type StartOptions } from "../../src/server/server.js";
import { loadRuntime, type SpecMode } from "../../src/spec/runtime.js";
import { tinyModelPath } from "../helpers/models.js";

export interface TinyServer {
  server: RunningServer;
  service: FlintService;
  url: string;
  close(): Promise<void>;
}

export async function startTiny(o: { spec?: SpecMode; budget?: number | "auto"; ctx?: number; service?: Partial<ServiceOptions>; start?: Partial<StartOptions> } = {}): Promise<TinyServer> {
  const modelPath = await tinyModelPath();
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    modelId: "tiny",
    load: async (metrics) => {
      const rt = await loadRuntime({ modelPath, spec: o.spec ?? "ngram", treeK: 1, gpuLayers: 0, ctx: o.ctx ?? 2048, threads: 1, flashAttn: "auto", sampling: "host", greedyOnly: false });
      return new FlintService(rt, { modelId: "tiny", metrics, budget: o.budget ?? 4, ...o.service });
    },
    ...o.start,
  });
  const service = await server.ready;
  return { server, service, url: server.url, close: () => server.close() };
}

export function post(url: string, body: unknown, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body), ...init });
}

/** Polls until cond() holds (state changes the server makes between decode steps). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > limitMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A metric's value in Prometheus text (first sample whose name and labels match). */
export function metric(text: string, name: string): number {
  const esc = name.replace(/[{}"=:]/g, (ch) => `\\${ch}`);
  const m = new RegExp(`^${esc} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}
