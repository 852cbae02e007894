// The server's behaviour around generation: loading gate, auth, error shapes, cancellation on
// disconnect, queueing, concurrency and recovery from an engine failure. In-process (tiny model,
// one thread) so the service's state can be asserted instead of timings.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Context } from "../../src/engine/context.js";
import { startServer } from "../../src/server/server.js";
import { metric, post, startTiny, until, type TinyServer } from "./in-process.js";

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: "m", messages: [{ role: "user", content }], temperature: 0, ...extra });

async function text(url: string, body: unknown): Promise<{ text: string; json: Record<string, any> }> {
  const r = await post(`${url}/v1/chat/completions`, body);
  const json = (await r.json()) as Record<string, any>;
  expect(r.status, JSON.stringify(json)).toBe(200);
  return { text: json.choices[0].message.content as string, json };
}

/** Opens a stream and resolves once its first content delta arrived. */
async function openStream(url: string, body: unknown) {
  const ac = new AbortController();
  const r = await post(`${url}/v1/chat/completions`, { ...(body as object), stream: true }, { signal: ac.signal });
  expect(r.status).toBe(200);
  const reader = r.body!.getReader();
  const dec = new TextDecoder();
  let seen = "";
  while (!/"content":"[^"]/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before any content: ${seen}`);
    seen += dec.decode(value);
  }
  return { ac, reader };
}

describe("loading", () => {
  it("answers 503 while the model loads and 200 once it is ready", async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const inner = startTiny();
    const server = await startServer({
      host: "127.0.0.1",
      port: 0,
      modelId: "slow",
      load: async () => {
        await gate;
        return (await inner).service;
      },
    });
    try {
      const h = await fetch(`${server.url}/health`);
      expect(h.status).toBe(503);
      expect(await h.json()).toEqual({ status: "loading" });
      const m = await fetch(`${server.url}/v1/models`);
      expect(m.status).toBe(503);
      expect(m.headers.get("retry-after")).toBe("1");
      expect(((await m.json()) as any).error.type).toBe("unavailable_error");
      const a = await post(`${server.url}/v1/messages`, { model: "m", max_tokens: 1, messages: [] });
      expect(a.status).toBe(503);
      expect(((await a.json()) as any).type).toBe("error");
      release();
      await server.ready;
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
      expect((await fetch(`${server.url}/v1/models`)).status).toBe(200);
    } finally {
      release();
      await server.close();
      await (await inner).server.close();
    }
  });
});

describe("auth", () => {
  let s: TinyServer;
  beforeAll(async () => {
    s = await startTiny({ start: { apiKey: "sekret" } });
  });
  afterAll(() => s?.close());

  it("needs the key on every route but /health, in each protocol's error shape", async () => {
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    const no = await fetch(`${s.url}/v1/models`);
    expect(no.status).toBe(401);
    expect(((await no.json()) as any).error).toMatchObject({ type: "authentication_error", code: "invalid_api_key" });
    expect((await fetch(`${s.url}/v1/models`, { headers: { authorization: "Bearer wrong" } })).status).toBe(401);
    expect((await fetch(`${s.url}/metrics`)).status).toBe(401);
    expect((await post(`${s.url}/tokenize`, { content: "x" })).status).toBe(401);
    const anth = await post(`${s.url}/v1/messages`, { model: "m", max_tokens: 1, messages: [{ role: "user", content: "hi" }] });
    expect(anth.status).toBe(401);
    expect(await anth.json()).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    expect((await fetch(`${s.url}/v1/models`, { headers: { authorization: "Bearer sekret" } })).status).toBe(200);
    expect((await fetch(`${s.url}/v1/models`, { headers: { "x-api-key": "sekret" } })).status).toBe(200);
    const ok = await post(`${s.url}/v1/messages`, { model: "m", max_tokens: 2, messages: [{ role: "user", content: "hi" }] }, { headers: { "x-api-key": "sekret", "content-type": "application/json" } });
    expect(ok.status).toBe(200);
  });
});

describe("requests and generation", () => {
  let s: TinyServer;
  beforeAll(async () => {
    s = await startTiny({ service: { maxQueue: 1 }, start: { bodyLimit: 64 * 1024 } });
  });
  afterAll(() => s?.close());

  it("refuses bad requests with a message naming what is wrong", async () => {
    const long = "word ".repeat(3000);
    const r = await post(`${s.url}/v1/chat/completions`, chat(long));
    expect(r.status).toBe(400);
    const msg = ((await r.json()) as any).error.message as string;
    expect(msg).toMatch(/the prompt is \d+ tokens, but the context holds 2048 tokens/);
    const bad = await post(`${s.url}/v1/chat/completions`, chat("x", { max_tokens: -1 }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as any).error).toMatchObject({ type: "invalid_request_error", param: "max_tokens" });
    expect((await post(`${s.url}/v1/chat/completions`, '{"messages": [')).status).toBe(400);
    expect((await post(`${s.url}/v1/chat/completions`, "x".repeat(70 * 1024))).status).toBe(413);
    const ct = await fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "multipart/form-data; boundary=x" }, body: "--x--" });
    expect(ct.status).toBe(415);
    const nf = await fetch(`${s.url}/v2/nothing`);
    expect(nf.status).toBe(404);
    expect(((await nf.json()) as any).error.type).toBe("not_found_error");
    expect((await post(`${s.url}/v1/chat/completions`, chat("x", { n: 2 }))).status).toBe(400);
    expect((await post(`${s.url}/v1/chat/completions`, chat("x", { response_format: { type: "json_object" } }))).status).toBe(400);
  });

  it("stops a generation whose client disconnected, stream or not, and serves the next one", async () => {
    // this prompt runs to its token limit at T=0 (no end-of-generation token early on)
    const probe = await text(s.url, chat("Tell a long story.", { max_tokens: 200 }));
    expect(probe.json.choices[0].finish_reason).toBe("length");
    const before = metric(await (await fetch(`${s.url}/metrics`)).text(), 'flint_requests_finished_total{reason="abort"}');

    const { ac } = await openStream(s.url, chat("Tell a long story.", { max_tokens: 1900 }));
    ac.abort();
    await until(() => !s.service.state.active, "the aborted stream to free the decoder");

    const ac2 = new AbortController();
    const pending = post(`${s.url}/v1/chat/completions`, chat("Tell a long story.", { max_tokens: 1900 }), { signal: ac2.signal }).catch((e: Error) => e);
    await until(() => s.service.state.active, "the non-stream request to start");
    ac2.abort();
    expect(await pending).toBeInstanceOf(Error);
    await until(() => !s.service.state.active, "the aborted request to free the decoder");

    const m = await (await fetch(`${s.url}/metrics`)).text();
    expect(metric(m, 'flint_requests_finished_total{reason="abort"}') - before).toBe(2);
    // both stopped long before their limit: far fewer tokens than 2 x 1900 were predicted
    expect(metric(m, "llamacpp:tokens_predicted_total")).toBeLessThan(200 + 1000);
    const next = await text(s.url, chat("Hello", { max_tokens: 4 }));
    expect(next.json.usage.completion_tokens).toBeGreaterThan(0);
  });

  it("answers 429 with Retry-After when the queue is full", async () => {
    const { ac } = await openStream(s.url, chat("Tell a long story.", { max_tokens: 1900 }));
    const waiting = text(s.url, chat("Hi", { max_tokens: 2 }));
    await until(() => s.service.state.waiting === 1, "the second request to wait");
    const full = await post(`${s.url}/v1/chat/completions`, chat("Hi", { max_tokens: 2 }));
    expect(full.status).toBe(429);
    expect(Number(full.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(((await full.json()) as any).error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
    const anth = await post(`${s.url}/v1/messages`, { model: "m", max_tokens: 2, messages: [{ role: "user", content: "hi" }] });
    expect(anth.status).toBe(429);
    expect(((await anth.json()) as any).error.type).toBe("rate_limit_error");
    ac.abort();
    expect((await waiting).json.usage.completion_tokens).toBeGreaterThan(0);
    const m = await (await fetch(`${s.url}/metrics`)).text();
    expect(metric(m, "flint_queue_rejections_total")).toBe(2);
  });

  it("survives an engine failure mid-generation and resets the cache", async () => {
    const body = chat("Count to ten.", { max_tokens: 12 });
    const ok = await text(s.url, body);
    const ctx = (s.service as unknown as { ctx: Context }).ctx;
    const decode = ctx.decode;
    let calls = 0;
    ctx.decode = function (this: Context, ...args: Parameters<Context["decode"]>) {
      // the prefill and the first verify succeed, the second verify fails
      if (++calls === 3) throw new Error("simulated decode failure");
      return decode.apply(this, args);
    };
    try {
      const r = await post(`${s.url}/v1/chat/completions`, body);
      expect(r.status).toBe(500);
      expect(((await r.json()) as any).error.type).toBe("server_error");
      calls = 0;
      const st = await post(`${s.url}/v1/chat/completions`, { ...body, stream: true });
      expect(st.status).toBe(200);
      const sse = await st.text();
      expect(sse).toMatch(/data: \{"error":\{"message":"internal error: simulated decode failure"/);
    } finally {
      ctx.decode = decode;
    }
    expect(s.service.state.active).toBe(false);
    const again = await text(s.url, body);
    expect(again.text).toBe(ok.text);
    // the failure emptied the prefix cache
    expect(again.json.usage.prompt_tokens_details.cached_tokens).toBe(0);
  });

  it("tokenizes and detokenizes", async () => {
    const t = (await (await post(`${s.url}/tokenize`, { content: "hello world", with_pieces: true })).json()) as any;
    expect(t.tokens.map((p: { piece: string }) => p.piece).join("")).toBe("hello world");
    const ids = t.tokens.map((p: { id: number }) => p.id);
    expect(((await (await post(`${s.url}/detokenize`, { tokens: ids })).json()) as any).content).toBe("hello world");
    expect((await post(`${s.url}/detokenize`, { tokens: [1e9] })).status).toBe(400);
  });
});

describe("concurrency", () => {
  it("queues 4 concurrent clients without mixing their outputs", async () => {
    const s = await startTiny();
    try {
      const prompts = ["Write a sort.", "What is a tree?", "def add(a, b):", "Explain recursion to me."];
      const solo: string[] = [];
      for (const p of prompts) solo.push((await text(s.url, chat(p, { max_tokens: 24 }))).text);
      let maxWaiting = 0;
      let settled = false;
      const all = Promise.all(prompts.map((p) => text(s.url, chat(p, { max_tokens: 24 })))).finally(() => (settled = true));
      await until(() => ((maxWaiting = Math.max(maxWaiting, s.service.state.waiting)), settled), "all four to finish");
      expect((await all).map((r) => r.text)).toEqual(solo);
      // they did wait for each other
      expect(maxWaiting).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
