// The OpenAI Responses API driven by the official openai SDK against the routes over a scripted fake
// service. Shape checks (expect*Shape) hold for any model, so they can be pointed at a real
// `flint serve`; the assertions on mapped GenRequests need the fake's record.
import { Hono } from "hono";
import OpenAI from "openai";
import type {
  Response as OAResponse,
  ResponseInputItem,
  ResponseStreamEvent,
} from "openai/resources/responses/responses";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { QueueFullError, RequestError } from "../../src/server/errors.js";
import { registerResponsesRoutes, type OpenAIErrorBody } from "../../src/server/responses.js";
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
let client: OpenAI;

beforeAll(async () => {
  fake = new FakeService("flint-test-model");
  const app = new Hono();
  registerResponsesRoutes(app, fake, TEST_ROUTE_OPTIONS);
  server = await serveApp(app);
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => server.close());
beforeEach(() => {
  fake.requests.length = 0;
  fake.abortedCount = 0;
});

export function expectResponseShape(r: OAResponse, model: string): void {
  expect(r.id).toMatch(/^resp_/);
  expect(r.object).toBe("response");
  expect(r.model).toBe(model);
  expect(Number.isInteger(r.created_at)).toBe(true);
  expect(["completed", "incomplete"]).toContain(r.status);
  expect(r.error).toBeNull();
  if (r.status === "incomplete") expect(r.incomplete_details?.reason).toBe("max_output_tokens");
  else expect(r.incomplete_details).toBeNull();
  const u = r.usage!;
  expect(u.input_tokens).toBeGreaterThan(0);
  expect(u.output_tokens).toBeGreaterThan(0);
  expect(u.total_tokens).toBe(u.input_tokens + u.output_tokens);
  expect(u.input_tokens_details.cached_tokens).toBeGreaterThanOrEqual(0);
  expect(u.output_tokens_details.reasoning_tokens).toBeLessThanOrEqual(u.output_tokens);
  for (const item of r.output) {
    if (item.type === "message") {
      expect(item.id).toMatch(/^msg_/);
      expect(item.role).toBe("assistant");
      for (const c of item.content) expect(c).toMatchObject({ type: "output_text", text: expect.any(String), annotations: [] });
    } else if (item.type === "function_call") {
      expect(item.id).toMatch(/^fc_/);
      expect(item.call_id.length).toBeGreaterThan(0);
      expect(typeof item.arguments).toBe("string");
    } else if (item.type === "reasoning") {
      expect(item.id).toMatch(/^rs_/);
      expect(item.summary).toEqual([]);
    } else throw new Error(`unexpected output item type ${item.type}`);
  }
}

/** Stream invariants: numbering, lifecycle, and every delta inside an added-and-not-yet-done item. */
export function expectStreamShape(events: ResponseStreamEvent[]): void {
  expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
  expect(events[0].type).toBe("response.created");
  expect(events[1].type).toBe("response.in_progress");
  expect(["response.completed", "response.incomplete"]).toContain(events.at(-1)!.type);
  const open = new Map<number, string>();
  let added = 0;
  for (const e of events) {
    if (e.type === "response.output_item.added") {
      expect(e.output_index).toBe(added++);
      open.set(e.output_index, e.item.id!);
    } else if (e.type === "response.output_item.done") {
      expect(open.get(e.output_index)).toBe(e.item.id);
      open.delete(e.output_index);
    } else if ("item_id" in e && "output_index" in e) {
      expect(open.get(e.output_index)).toBe(e.item_id);
    }
  }
  expect(open.size).toBe(0);
}

const WEATHER = {
  type: "function" as const,
  name: "get_weather",
  description: "Current weather for a city",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  strict: false,
};

describe("POST /v1/responses (non-stream)", () => {
  it("answers a Response and maps instructions, input and sampling into the GenRequest", async () => {
    fake.enqueue([...text("Hello", " world"), done("stop", { promptTokens: 20, cachedTokens: 6, completionTokens: 2 })]);
    const r = await client.responses.create({
      model: "any-name",
      instructions: "Be brief.",
      input: "Hi",
      temperature: 0.3,
      top_p: 0.5,
      store: false,
    });
    expectResponseShape(r, "flint-test-model");
    expect(r.status).toBe("completed");
    expect(r.output_text).toBe("Hello world");
    expect(r.output).toHaveLength(1);
    expect(r.usage).toMatchObject({ input_tokens: 20, input_tokens_details: { cached_tokens: 6 }, output_tokens: 2 });

    const req = fake.lastRequest;
    expect(req.messages).toEqual([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    expect(req.sampling).toEqual({ ...TEST_ROUTE_OPTIONS.defaults, temperature: 0.3, topP: 0.5 });
    expect(req.maxTokens).toBe(TEST_ROUTE_OPTIONS.defaultMaxTokens);
    expect(req.enableThinking).toBeUndefined();
  });

  it("returns reasoning, message and function_call items; maps tools, tool_choice and effort", async () => {
    fake.enqueue([
      ...reasoning("Need the weather."),
      ...text("Checking."),
      ...toolCall(0, "call_1", "get_weather", '{"city":', '"Paris"}'),
      done("tool_calls", { completionTokens: 30 }),
    ]);
    const r = await client.responses.create({
      model: "m",
      input: "Weather in Paris?",
      tools: [WEATHER],
      tool_choice: "required",
      reasoning: { effort: "high" },
    });
    expectResponseShape(r, "flint-test-model");
    expect(r.output.map((o) => o.type)).toEqual(["reasoning", "message", "function_call"]);
    expect(r.output[0]).toMatchObject({ content: [{ type: "reasoning_text", text: "Need the weather." }] });
    expect(r.output[2]).toMatchObject({ call_id: "call_1", name: "get_weather", arguments: '{"city":"Paris"}', status: "completed" });
    expect(r.usage!.output_tokens_details.reasoning_tokens).toBeGreaterThan(0);

    const req = fake.lastRequest;
    expect(req.tools).toEqual([{ name: "get_weather", description: WEATHER.description, parameters: WEATHER.parameters }]);
    expect(req.toolChoice).toBe("required");
    expect(req.enableThinking).toBe(true);
  });

  it("reports a max_output_tokens cut as incomplete; effort minimal turns thinking off", async () => {
    fake.enqueue([...text("cut"), done("length")]);
    const r = await client.responses.create({
      model: "m",
      input: "x",
      max_output_tokens: 3,
      reasoning: { effort: "minimal" },
      tools: [WEATHER],
      tool_choice: { type: "function", name: "get_weather" },
    });
    expectResponseShape(r, "flint-test-model");
    expect(r.status).toBe("incomplete");
    expect(r.output[0]).toMatchObject({ type: "message", status: "incomplete" });
    expect(fake.lastRequest.maxTokens).toBe(3);
    expect(fake.lastRequest.enableThinking).toBe(false);
    expect(fake.lastRequest.toolChoice).toEqual({ name: "get_weather" });
  });

  it("round-trips a function call: output items back as input, function_call_output as a tool message", async () => {
    fake.enqueue([...reasoning("think"), ...toolCall(0, "call_7", "get_weather", '{"city":"Oslo"}'), done("tool_calls")]);
    const first = await client.responses.create({ model: "m", input: "Weather in Oslo?", tools: [WEATHER] });
    const call = first.output.find((o) => o.type === "function_call");
    expect(call).toBeDefined();

    const input: ResponseInputItem[] = [
      { role: "user", content: "Weather in Oslo?" },
      ...(first.output as ResponseInputItem[]),
      { type: "function_call_output", call_id: call!.call_id, output: "sunny, 21C" },
    ];
    fake.enqueue([...text("Sunny."), done("stop")]);
    const second = await client.responses.create({ model: "m", input, tools: [WEATHER] });
    expectResponseShape(second, "flint-test-model");
    expect(fake.lastRequest.messages).toEqual([
      { role: "user", content: "Weather in Oslo?" },
      {
        role: "assistant",
        content: "",
        reasoning: "think",
        toolCalls: [{ id: "call_7", name: "get_weather", arguments: '{"city":"Oslo"}' }],
      },
      { role: "tool", content: "sunny, 21C", toolCallId: "call_7", name: "get_weather" },
    ]);
  });

  it("maps message items: developer to system, content parts joined, assistant text with its calls", async () => {
    await client.responses.create({
      model: "m",
      input: [
        { type: "message", role: "developer", content: [{ type: "input_text", text: "Rules." }] },
        { role: "user", content: [{ type: "input_text", text: "a" }, { type: "input_text", text: "b" }] },
        { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "summary only" }] },
        {
          type: "message",
          role: "assistant",
          id: "msg_1",
          status: "completed",
          content: [{ type: "output_text", text: "Let me look.", annotations: [] }],
        },
        { type: "function_call", call_id: "c1", name: "get_weather", arguments: "{}" },
        { type: "function_call", call_id: "c2", name: "get_weather", arguments: '{"city":"x"}' },
        { type: "function_call_output", call_id: "c1", output: [{ type: "input_text", text: "r1" }] },
        { type: "function_call_output", call_id: "c2", output: "r2" },
      ],
    });
    expect(fake.lastRequest.messages).toEqual([
      { role: "system", content: "Rules." },
      { role: "user", content: "a\nb" },
      {
        role: "assistant",
        content: "Let me look.",
        reasoning: "summary only",
        toolCalls: [
          { id: "c1", name: "get_weather", arguments: "{}" },
          { id: "c2", name: "get_weather", arguments: '{"city":"x"}' },
        ],
      },
      { role: "tool", content: "r1", toolCallId: "c1", name: "get_weather" },
      { role: "tool", content: "r2", toolCallId: "c2", name: "get_weather" },
    ]);
  });
});

describe("POST /v1/responses (stream)", () => {
  it("streams typed, numbered events that the SDK accumulates into the same Response", async () => {
    fake.enqueue([
      ...reasoning("thin", "king"),
      ...text("Hel", "lo"),
      ...toolCall(0, "call_3", "get_weather", '{"ci', 'ty":"Rome"}'),
      done("tool_calls"),
    ]);
    const stream = client.responses.stream({ model: "m", input: "go", tools: [WEATHER] });
    const events: ResponseStreamEvent[] = [];
    for await (const e of stream) events.push(e);
    const r = await stream.finalResponse();

    expectStreamShape(events);
    expectResponseShape(r, "flint-test-model");
    expect(r.output_text).toBe("Hello");
    expect(r.output.map((o) => o.type)).toEqual(["reasoning", "message", "function_call"]);
    expect(r.output[2]).toMatchObject({ call_id: "call_3", arguments: '{"city":"Rome"}' });
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t.endsWith(".delta"))).toEqual([
      "response.reasoning_text.delta",
      "response.reasoning_text.delta",
      "response.output_text.delta",
      "response.output_text.delta",
      "response.function_call_arguments.delta",
      "response.function_call_arguments.delta",
    ]);
    expect(types).toContain("response.output_text.done");
    expect(types).toContain("response.reasoning_text.done");
    expect(types).toContain("response.function_call_arguments.done");
    expect(types.filter((t) => t === "response.content_part.done")).toHaveLength(2);
  });

  it("ends a cut-off stream with response.incomplete", async () => {
    fake.enqueue([...text("a", "b"), done("length")]);
    const events: ResponseStreamEvent[] = [];
    for await (const e of await client.responses.create({ model: "m", input: "x", stream: true })) events.push(e);
    expectStreamShape(events);
    const last = events.at(-1)!;
    expect(last.type).toBe("response.incomplete");
    if (last.type === "response.incomplete") expect(last.response.incomplete_details?.reason).toBe("max_output_tokens");
  });

  it("names each SSE event after its data type on the wire", async () => {
    fake.enqueue([...text("a"), done("stop")]);
    const res = await post(JSON.stringify({ model: "m", input: "x", stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = parseSse(await res.text());
    expect(events.length).toBeGreaterThan(4);
    for (const e of events) expect(JSON.parse(e.data).type).toBe(e.event);
  });

  it("sends an error event and response.failed when generation fails after the stream began", async () => {
    fake.enqueue([...text("partial"), { type: "throw", error: new Error("decode failed") }]);
    const events: ResponseStreamEvent[] = [];
    for await (const e of await client.responses.create({ model: "m", input: "x", stream: true })) events.push(e);
    expect(events.at(-2)).toMatchObject({ type: "error", code: "server_error", message: "decode failed" });
    expect(events.at(-1)).toMatchObject({
      type: "response.failed",
      response: { status: "failed", error: { code: "server_error", message: "decode failed" } },
    });
  });

  it("aborts generation when the client goes away mid-stream", async () => {
    fake.enqueue([...text("first"), { type: "hang" }, ...text("never"), done("stop")]);
    const stream = await client.responses.create({ model: "m", input: "x", stream: true });
    for await (const e of stream) {
      if (e.type === "response.output_text.delta") break; // leaving the loop aborts the request
    }
    await fake.waitForAbort();
    expect(fake.lastRequest.signal.aborted).toBe(true);
  });
});

describe("errors", () => {
  const base = { model: "m", input: "x" };
  const cases: [string, unknown, RegExp, string | null][] = [
    ["missing input", { model: "m" }, /input: is required/, "input"],
    ["missing model", { input: "x" }, /model: is required/, "model"],
    ["input of the wrong type", { ...base, input: 42 }, /input: expected string or array/, "input"],
    ["unknown item type", { ...base, input: [{ type: "item_reference", id: "x" }] }, /input\[0\]\.type/, "input[0].type"],
    ["message with a bad role", { ...base, input: [{ role: "robot", content: "x" }] }, /input\[0\]\.role/, "input[0].role"],
    [
      "image part",
      { ...base, input: [{ role: "user", content: [{ type: "input_image", image_url: "data:" }] }] },
      /input\[0\]\.content\[0\]: input_image is not supported/,
      "input[0].content[0]",
    ],
    [
      "function_call without call_id",
      { ...base, input: [{ type: "function_call", name: "f", arguments: "{}" }] },
      /input\[0\]\.call_id: is required/,
      "input[0].call_id",
    ],
    ["non-function tool", { ...base, tools: [{ type: "web_search" }] }, /tool type "web_search" is not supported/, "tools[0].type"],
    ["tool_choice naming no tool", { ...base, tools: [WEATHER], tool_choice: { type: "function", name: "nope" } }, /no function named/, "tool_choice.name"],
    ["tool_choice of an unknown kind", { ...base, tool_choice: "sometimes" }, /tool_choice/, "tool_choice"],
    ["previous_response_id", { ...base, previous_response_id: "resp_1" }, /previous_response_id is not supported/, "previous_response_id"],
    ["max_output_tokens zero", { ...base, max_output_tokens: 0 }, /max_output_tokens/, "max_output_tokens"],
    ["temperature above 2", { ...base, temperature: 3 }, /temperature/, "temperature"],
    ["unknown reasoning effort", { ...base, reasoning: { effort: "extreme" } }, /reasoning\.effort/, "reasoning.effort"],
    ["json_schema output", { ...base, text: { format: { type: "json_schema", name: "x", schema: {} } } }, /text\.format/, "text.format"],
    ["body that is an array", [base], /JSON object/, null],
  ];

  it.each(cases)("%s -> 400 invalid_request_error", async (_name, body, message, param) => {
    const res = await post(JSON.stringify(body));
    expect(res.status).toBe(400);
    const json = (await res.json()) as OpenAIErrorBody;
    expect(json).toEqual({ error: { message: expect.any(String), type: "invalid_request_error", param, code: null } });
    expect(json.error.message).toMatch(message);
  });

  it("rejects a body that is not JSON", async () => {
    const res = await post("{nope");
    expect(res.status).toBe(400);
    expect(((await res.json()) as OpenAIErrorBody).error.message).toMatch(/not valid JSON/);
  });

  it("encodes a service RequestError with its status and param, for stream requests too", async () => {
    fake.enqueue(new RequestError(400, "prompt is 9000 tokens, context is 4096", "input"));
    const err = await client.responses.create({ ...base, stream: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toEqual({
      message: "prompt is 9000 tokens, context is 4096",
      type: "invalid_request_error",
      param: "input",
      code: null,
    });
  });

  it("encodes a full queue as 429 with Retry-After", async () => {
    fake.enqueue(new QueueFullError("queue is full", 2));
    const res = await post(JSON.stringify(base));
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(((await res.json()) as OpenAIErrorBody).error).toMatchObject({ type: "rate_limit_error", code: "rate_limit_exceeded" });
  });

  it("encodes an unexpected failure as 500 server_error", async () => {
    fake.enqueue(new Error("native crash"));
    const err = await client.responses.create(base).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.InternalServerError);
    expect((err as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ message: "native crash", type: "server_error" });
  });
});

function post(body: string): Promise<Response> {
  return fetch(`${server.url}/v1/responses`, { method: "POST", headers: { "content-type": "application/json" }, body });
}
