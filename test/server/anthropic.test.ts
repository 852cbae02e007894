// The Anthropic Messages API driven by the official @anthropic-ai/sdk against the routes over a
// scripted fake service. Shape checks (expect*Shape) hold for any model, so they can be pointed at a
// real `flint serve`; the assertions on mapped GenRequests need the fake's record.
import Anthropic from "@anthropic-ai/sdk";
import { Hono } from "hono";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { registerAnthropicRoutes, type AnthropicErrorBody } from "../../src/server/anthropic.js";
import { QueueFullError, RequestError } from "../../src/server/errors.js";
import {
  done,
  FakeService,
  parseSse,
  reasoning,
  serveApp,
  TEST_ROUTE_OPTIONS,
  text,
  toolCall,
  type TestServer,
} from "../helpers/fake-service.js";

let fake: FakeService;
let server: TestServer;
let client: Anthropic;

beforeAll(async () => {
  fake = new FakeService("flint-test-model");
  const app = new Hono();
  registerAnthropicRoutes(app, fake, TEST_ROUTE_OPTIONS);
  server = await serveApp(app);
  client = new Anthropic({ baseURL: server.url, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.countRequests.length = 0;
  fake.abortedCount = 0;
});

const STOP_REASONS = ["end_turn", "max_tokens", "stop_sequence", "tool_use"];

export function expectMessageShape(msg: Anthropic.Message, model: string): void {
  expect(msg.id).toMatch(/^msg_/);
  expect(msg.type).toBe("message");
  expect(msg.role).toBe("assistant");
  expect(msg.model).toBe(model);
  expect(STOP_REASONS).toContain(msg.stop_reason);
  expect(msg.usage.input_tokens).toBeGreaterThanOrEqual(0);
  expect(msg.usage.output_tokens).toBeGreaterThan(0);
  expect(typeof msg.usage.cache_read_input_tokens).toBe("number");
  expect(msg.usage.cache_creation_input_tokens).toBe(0);
  for (const b of msg.content) {
    if (b.type === "text") expect(typeof b.text).toBe("string");
    else if (b.type === "thinking") {
      expect(typeof b.thinking).toBe("string");
      expect(b.signature.length).toBeGreaterThan(0);
    } else if (b.type === "tool_use") {
      expect(b.id.length).toBeGreaterThan(0);
      expect(typeof b.input).toBe("object");
    } else throw new Error(`unexpected block type ${b.type}`);
  }
  if (msg.stop_reason === "tool_use") expect(msg.content.some((b) => b.type === "tool_use")).toBe(true);
}

/** The raw stream's invariants: event order, matching names, increasing block indexes. */
export function expectStreamShape(events: Anthropic.MessageStreamEvent[]): void {
  const types = events.map((e) => e.type);
  expect(types[0]).toBe("message_start");
  expect(types.at(-2)).toBe("message_delta");
  expect(types.at(-1)).toBe("message_stop");
  let open = -1;
  let next = 0;
  for (const e of events) {
    if (e.type === "content_block_start") {
      expect(open).toBe(-1);
      expect(e.index).toBe(next);
      open = e.index;
      next++;
    } else if (e.type === "content_block_delta") expect(e.index).toBe(open);
    else if (e.type === "content_block_stop") {
      expect(e.index).toBe(open);
      open = -1;
    }
  }
  expect(open).toBe(-1);
}

const WEATHER_TOOL: Anthropic.Tool = {
  name: "get_weather",
  description: "Current weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe("POST /v1/messages (non-stream)", () => {
  it("answers a Message and maps system, sampling, stop and max_tokens into the GenRequest", async () => {
    fake.enqueue([...text("Hi", " there"), done("stop", { promptTokens: 30, cachedTokens: 10, completionTokens: 2 })]);
    const msg = await client.messages.create({
      model: "whatever-the-client-calls-it",
      max_tokens: 64,
      system: [{ type: "text", text: "Be brief." }],
      messages: [{ role: "user", content: "Hello" }],
      // SDK 1.x dropped sampling params from its types; older clients (and curl) still send them
      ...({ temperature: 0.2, top_k: 7 } as object),
      stop_sequences: ["###"],
    });
    expectMessageShape(msg, "flint-test-model");
    expect(msg.content).toEqual([{ type: "text", text: "Hi there" }]);
    expect(msg.stop_reason).toBe("end_turn");
    expect(msg.stop_sequence).toBeNull();
    // Anthropic's input_tokens excludes cache reads
    expect(msg.usage).toMatchObject({ input_tokens: 20, cache_read_input_tokens: 10, output_tokens: 2 });

    const req = fake.lastRequest;
    expect(req.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hello" },
    ]);
    expect(req.sampling).toEqual({ ...TEST_ROUTE_OPTIONS.defaults, temperature: 0.2, topK: 7 });
    expect(req.maxTokens).toBe(64);
    expect(req.stop).toEqual(["###"]);
    expect(req.enableThinking).toBeUndefined();
  });

  it("returns thinking, text and tool_use blocks in generation order with stop_reason tool_use", async () => {
    fake.enqueue([
      ...reasoning("Need ", "weather."),
      ...text("Checking."),
      ...toolCall(0, "call_1", "get_weather", '{"city":', '"Paris"}'),
      done("tool_calls"),
    ]);
    const msg = await client.messages.create({
      model: "m",
      max_tokens: 64,
      messages: [{ role: "user", content: "Weather in Paris?" }],
      tools: [WEATHER_TOOL],
      tool_choice: { type: "any" },
      thinking: { type: "enabled", budget_tokens: 1024 },
    });
    expectMessageShape(msg, "flint-test-model");
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.content.map((b) => b.type)).toEqual(["thinking", "text", "tool_use"]);
    expect(msg.content[0]).toMatchObject({ thinking: "Need weather." });
    expect(msg.content[2]).toMatchObject({ id: "call_1", name: "get_weather", input: { city: "Paris" } });

    const req = fake.lastRequest;
    expect(req.tools).toEqual([
      { name: "get_weather", description: "Current weather for a city", parameters: WEATHER_TOOL.input_schema },
    ]);
    expect(req.toolChoice).toBe("required");
    expect(req.enableThinking).toBe(true);
  });

  it("leaves adaptive thinking to the template and turns between_tools thinking on", async () => {
    await client.messages.create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }], thinking: { type: "adaptive" } });
    expect(fake.lastRequest.enableThinking).toBeUndefined();
    await client.messages.create({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }], thinking: { type: "between_tools" } });
    expect(fake.lastRequest.enableThinking).toBe(true);
  });

  it("maps length to max_tokens, tool_choice tool to a name, and thinking disabled", async () => {
    fake.enqueue([...text("cut"), done("length")]);
    const msg = await client.messages.create({
      model: "m",
      max_tokens: 1,
      messages: [{ role: "user", content: "x" }],
      tools: [WEATHER_TOOL],
      tool_choice: { type: "tool", name: "get_weather" },
      thinking: { type: "disabled" },
    });
    expect(msg.stop_reason).toBe("max_tokens");
    expect(fake.lastRequest.toolChoice).toEqual({ name: "get_weather" });
    expect(fake.lastRequest.enableThinking).toBe(false);
  });

  it("round-trips a tool call: tool_use back as assistant toolCalls, tool_result as tool messages", async () => {
    fake.enqueue([...toolCall(0, "toolu_abc", "get_weather", '{"city":"Oslo"}'), done("tool_calls")]);
    const first = await client.messages.create({
      model: "m",
      max_tokens: 64,
      messages: [{ role: "user", content: "Weather in Oslo?" }],
      tools: [WEATHER_TOOL],
    });
    const call = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
    expect(call).toBeDefined();

    fake.enqueue([...text("It is sunny."), done("stop")]);
    const second = await client.messages.create({
      model: "m",
      max_tokens: 64,
      tools: [WEATHER_TOOL],
      messages: [
        { role: "user", content: "Weather in Oslo?" },
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: call!.id, content: [{ type: "text", text: "sunny, 21C" }] },
            { type: "tool_result", tool_use_id: "toolu_other", content: "boom", is_error: true },
            { type: "text", text: "Summarise." },
          ],
        },
      ],
    });
    expectMessageShape(second, "flint-test-model");
    expect(fake.lastRequest.messages).toEqual([
      { role: "user", content: "Weather in Oslo?" },
      {
        role: "assistant",
        content: "",
        toolCalls: [{ id: "toolu_abc", name: "get_weather", arguments: JSON.stringify({ city: "Oslo" }) }],
      },
      { role: "tool", content: "sunny, 21C", toolCallId: "toolu_abc", name: "get_weather" },
      { role: "tool", content: "Error: boom", toolCallId: "toolu_other" },
      { role: "user", content: "Summarise." },
    ]);
  });

  it("sends assistant thinking back as reasoning and ignores redacted thinking", async () => {
    await client.messages.create({
      model: "m",
      max_tokens: 8,
      messages: [
        { role: "user", content: "a" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "hmm", signature: "sig" },
            { type: "redacted_thinking", data: "xxx" },
            { type: "text", text: "b" },
          ],
        },
        { role: "user", content: [{ type: "text", text: "c" }, { type: "text", text: "d" }] },
      ],
    });
    expect(fake.lastRequest.messages).toEqual([
      { role: "user", content: "a" },
      { role: "assistant", content: "b", reasoning: "hmm" },
      { role: "user", content: "c\nd" },
    ]);
  });
});

describe("POST /v1/messages (stream)", () => {
  it("streams the event sequence the SDK accumulates into the same Message", async () => {
    fake.enqueue([
      ...reasoning("think", "ing"),
      ...text("Hel", "lo"),
      ...toolCall(0, "call_9", "get_weather", '{"ci', 'ty":"Rome"}'),
      done("tool_calls", { promptTokens: 40, cachedTokens: 8, completionTokens: 6 }),
    ]);
    const stream = client.messages.stream({
      model: "m",
      max_tokens: 64,
      messages: [{ role: "user", content: "go" }],
      tools: [WEATHER_TOOL],
    });
    const events: Anthropic.MessageStreamEvent[] = [];
    for await (const ev of stream) events.push(ev);
    const msg = await stream.finalMessage();

    expectStreamShape(events);
    expectMessageShape(msg, "flint-test-model");
    expect(msg.content).toEqual([
      { type: "thinking", thinking: "thinking", signature: expect.any(String) },
      { type: "text", text: "Hello" },
      { type: "tool_use", id: "call_9", name: "get_weather", input: { city: "Rome" } },
    ]);
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.usage).toMatchObject({ input_tokens: 32, cache_read_input_tokens: 8, output_tokens: 6 });
    const deltas = events.flatMap((e) => (e.type === "content_block_delta" ? [e.delta.type] : []));
    expect(deltas).toEqual([
      "thinking_delta",
      "thinking_delta",
      "signature_delta",
      "text_delta",
      "text_delta",
      "input_json_delta",
      "input_json_delta",
    ]);
  });

  it("puts event names on the wire that match each data type, with a ping early", async () => {
    fake.enqueue([...text("a"), done("stop")]);
    const res = await fetch(`${server.url}/v1/messages`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "m", max_tokens: 8, stream: true, messages: [{ role: "user", content: "x" }] }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const start = JSON.parse(events[0].data);
    expect(start.message).toMatchObject({ content: [], stop_reason: null, model: "flint-test-model" });
    const delta = JSON.parse(events[5].data);
    expect(delta.delta).toEqual({ stop_reason: "end_turn", stop_sequence: null });
    expect(delta.usage.output_tokens).toBe(5);
  });

  it("sends an error event when generation fails after the stream began", async () => {
    fake.enqueue([...text("partial"), { type: "throw", error: new Error("decode failed") }]);
    const stream = client.messages.stream({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }] });
    const err = await stream.finalMessage().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.APIError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "api_error", message: "decode failed" },
    });
  });

  it("aborts generation when the client goes away mid-stream", async () => {
    fake.enqueue([...text("first"), { type: "hang" }, ...text("never"), done("stop")]);
    const stream = client.messages.stream({ model: "m", max_tokens: 8, messages: [{ role: "user", content: "x" }] });
    for await (const ev of stream) {
      if (ev.type === "content_block_delta") break; // leaving the loop aborts the request
    }
    await fake.waitForAbort();
    expect(fake.lastRequest.signal.aborted).toBe(true);
  });
});

describe("POST /v1/messages/count_tokens", () => {
  it("counts through the service with the same mapping as messages", async () => {
    const res = await client.messages.countTokens({
      model: "m",
      system: "sys",
      messages: [{ role: "user", content: "count me" }],
      tools: [WEATHER_TOOL],
    });
    expect(res.input_tokens).toBeGreaterThan(0);
    expect(fake.countRequests.at(-1)).toMatchObject({
      messages: [
        { role: "system", content: "sys" },
        { role: "user", content: "count me" },
      ],
      tools: [{ name: "get_weather" }],
    });
  });
});

describe("errors", () => {
  const base = { model: "m", max_tokens: 16, messages: [{ role: "user", content: "x" }] };
  const cases: [string, unknown, RegExp][] = [
    ["missing max_tokens", { model: "m", messages: base.messages }, /max_tokens: is required/],
    ["missing messages", { model: "m", max_tokens: 16 }, /messages: is required/],
    ["messages not an array", { ...base, messages: "hi" }, /^messages:/],
    ["bad role", { ...base, messages: [{ role: "system", content: "x" }] }, /messages\[0\]\.role/],
    ["max_tokens zero", { ...base, max_tokens: 0 }, /max_tokens/],
    ["temperature as string", { ...base, temperature: "hot" }, /temperature/],
    [
      "image block",
      { ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64" } }] }] },
      /messages\[0\]\.content\[0\]: image content is not supported/,
    ],
    [
      "unknown block type",
      { ...base, messages: [{ role: "user", content: [{ type: "video" }] }] },
      /messages\[0\]\.content\[0\]\.type/,
    ],
    [
      "text block without text",
      { ...base, messages: [{ role: "user", content: [{ type: "text" }] }] },
      /messages\[0\]\.content\[0\]\.text: is required/,
    ],
    [
      "tool_use in a user message",
      { ...base, messages: [{ role: "user", content: [{ type: "tool_use", id: "a", name: "f", input: {} }] }] },
      /not valid in a user message/,
    ],
    ["tool without input_schema", { ...base, tools: [{ name: "f" }] }, /tools\[0\]\.input_schema/],
    ["server tool", { ...base, tools: [{ type: "web_search_20250305", name: "web_search" }] }, /not supported/],
    ["tool_choice tool without name", { ...base, tool_choice: { type: "tool" } }, /tool_choice\.name/],
    ["tool_choice names an unknown tool", { ...base, tools: [WEATHER_TOOL], tool_choice: { type: "tool", name: "nope" } }, /no tool named/],
    ["thinking without budget", { ...base, thinking: { type: "enabled" } }, /thinking\.budget_tokens/],
    ["stop_sequences not an array", { ...base, stop_sequences: "###" }, /stop_sequences/],
    ["JSON output format", { ...base, output_config: { format: { type: "json_schema", schema: {} } } }, /output_config\.format/],
  ];

  it.each(cases)("%s -> 400 invalid_request_error", async (_name, body, message) => {
    const res = await post("/v1/messages", JSON.stringify(body));
    expect(res.status).toBe(400);
    const json = (await res.json()) as AnthropicErrorBody;
    expect(json).toEqual({ type: "error", error: { type: "invalid_request_error", message: expect.any(String) } });
    expect(json.error.message).toMatch(message);
  });

  it("rejects a body that is not JSON", async () => {
    const res = await post("/v1/messages", "{not json");
    expect(res.status).toBe(400);
    expect(((await res.json()) as AnthropicErrorBody).error.message).toMatch(/not valid JSON/);
  });

  it("encodes a service RequestError with its status, for stream requests too", async () => {
    fake.enqueue(new RequestError(400, "prompt is 9000 tokens, context is 4096"));
    const err = await client.messages
      .create({ ...base, stream: true, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "prompt is 9000 tokens, context is 4096" },
    });
  });

  it("encodes a full queue as 429 rate_limit_error with Retry-After", async () => {
    fake.enqueue(new QueueFullError("queue is full", 3));
    const res = await post("/v1/messages", JSON.stringify(base));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(((await res.json()) as AnthropicErrorBody).error.type).toBe("rate_limit_error");
  });

  it("encodes a still-loading 503 as overloaded_error", async () => {
    fake.enqueue(new QueueFullError("model is loading", 5, 503));
    const err = await client.messages.create(base as Anthropic.MessageCreateParamsNonStreaming).catch((e: unknown) => e);
    expect((err as InstanceType<typeof Anthropic.APIError>).status).toBe(503);
    expect((err as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ error: { type: "overloaded_error" } });
  });

  it("encodes an unexpected failure as 500 api_error", async () => {
    fake.enqueue(new Error("native crash"));
    const res = await post("/v1/messages", JSON.stringify(base));
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ type: "error", error: { type: "api_error", message: "native crash" } });
  });
});

function post(path: string, body: string): Promise<Response> {
  return fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body });
}
