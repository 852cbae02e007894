// The OpenAI encoders over scripted event streams (no model): tool-call deltas, reasoning, finish
// reasons, usage and errors, read back by the openai SDK as a real client of createApp.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/server/app.js";
import { RequestError } from "../../src/server/errors.js";
import { ChatChunkEncoder } from "../../src/server/openai-schema.js";
import { done, FakeService, parseSse, reasoning, serveApp, TEST_ROUTE_OPTIONS, text, toolCall, type TestServer } from "../helpers/fake-service.js";

const TOOLS = [{ type: "function" as const, function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } } } } }];

describe("OpenAI encoding of scripted events", () => {
  let fake: FakeService;
  let srv: TestServer;
  let c: OpenAI;
  beforeAll(async () => {
    fake = new FakeService("scripted");
    srv = await serveApp(createApp(fake, { routes: TEST_ROUTE_OPTIONS }));
    c = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "x", maxRetries: 0 });
  });
  afterAll(() => srv?.close());

  const toolScript = () => [...reasoning("need ", "weather"), ...text("Checking."), ...toolCall(0, "call_a", "get_weather", '{"ci', 'ty": "Paris"}'), ...toolCall(1, "call_b", "get_weather", '{"city": "Rome"}'), done("tool_calls", { promptTokens: 30, completionTokens: 20, cachedTokens: 10 })];

  it("streams tool calls as indexed deltas the SDK accumulates", async () => {
    fake.enqueue(toolScript());
    const stream = c.chat.completions.stream({ model: "m", messages: [{ role: "user", content: "weather?" }], tools: TOOLS, stream_options: { include_usage: true } });
    const reasoningText: string[] = [];
    stream.on("chunk", (ch) => {
      const d = ch.choices[0]?.delta as { reasoning_content?: string } | undefined;
      if (d?.reasoning_content) reasoningText.push(d.reasoning_content);
    });
    const final = await stream.finalChatCompletion();
    const msg = final.choices[0].message;
    expect(reasoningText.join("")).toBe("need weather");
    expect(msg.content).toBe("Checking.");
    expect(msg.tool_calls).toEqual([
      { id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city": "Paris"}' } },
      { id: "call_b", type: "function", function: { name: "get_weather", arguments: '{"city": "Rome"}' } },
    ]);
    expect(final.choices[0].finish_reason).toBe("tool_calls");
    expect(final.usage).toMatchObject({ prompt_tokens: 30, completion_tokens: 20, total_tokens: 50, prompt_tokens_details: { cached_tokens: 10 } });
    // the request reached the service with its tools
    expect(fake.lastRequest.tools?.[0].name).toBe("get_weather");
  });

  it("returns tool calls whole in a non-stream response", async () => {
    fake.enqueue([...toolCall(0, "call_a", "get_weather", '{"city":"Oslo"}'), done("tool_calls")]);
    const r = await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "weather?" }], tools: TOOLS });
    expect(r.choices[0].message.content).toBeNull();
    expect(r.choices[0].message.tool_calls).toEqual([{ id: "call_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Oslo"}' } }]);
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    expect(r.model).toBe("scripted");
  });

  it("maps the request's fields onto the internal request", async () => {
    await c.chat.completions.create({
      model: "whatever",
      messages: [
        { role: "developer", content: [{ type: "text", text: "be brief" }] },
        { role: "user", content: "hi" },
        { role: "assistant", content: "", tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c1", content: "sunny" },
      ],
      tools: TOOLS,
      tool_choice: { type: "function", function: { name: "get_weather" } },
      max_completion_tokens: 7,
      stop: "END",
      temperature: 0.1,
      top_p: 0.5,
      seed: 42,
      speculative: false,
    } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const r = fake.lastRequest;
    expect(r.messages).toEqual([
      { role: "system", content: "be brief" },
      { role: "user", content: "hi" },
      { role: "assistant", content: "", toolCalls: [{ id: "c1", name: "get_weather", arguments: "{}" }] },
      { role: "tool", content: "sunny", toolCallId: "c1", name: "get_weather" },
    ]);
    expect(r).toMatchObject({ maxTokens: 7, stop: ["END"], speculative: false, toolChoice: { name: "get_weather" } });
    expect(r.sampling).toMatchObject({ temperature: 0.1, topP: 0.5, seed: 42, topK: 40, minP: 0.05 });
  });

  it("sends a request error before the stream as JSON with its status", async () => {
    fake.enqueue(new RequestError(400, "the prompt is 9000 tokens, but the context holds 4096 tokens", "messages"));
    const err = await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }], stream: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toMatch(/9000 tokens/);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages");
  });

  it("ends a stream that fails mid-way with an error event the SDK raises", async () => {
    fake.enqueue([...text("partial"), { type: "throw", error: new Error("decode failed") }]);
    const stream = await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "x" }], stream: true });
    let got = "";
    const err = await (async () => {
      for await (const ch of stream) got += ch.choices[0]?.delta.content ?? "";
    })().catch((e: unknown) => e);
    expect(got).toBe("partial");
    expect(String(err)).toMatch(/decode failed/);
  });

  it("encodes completions, their usage chunk and [DONE]", async () => {
    fake.enqueue([...text("a", "b"), done("length")]);
    const res = await fetch(`${srv.url}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: [1, 2, 3], stream: true, stream_options: { include_usage: true } }) });
    const events = parseSse(await res.text());
    expect(events.at(-1)!.data).toBe("[DONE]");
    const objs = events.slice(0, -1).map((e) => JSON.parse(e.data) as { choices: { text: string; finish_reason: string | null }[]; usage?: unknown; timings?: unknown });
    expect(objs.map((o) => o.choices[0]?.text ?? "").join("")).toBe("ab");
    expect(objs.at(-2)!.choices[0].finish_reason).toBe("length");
    expect(objs.at(-2)!.timings).toMatchObject({ prompt_n: 12, predicted_n: 5 });
    expect(objs.at(-1)!.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 5 });
    expect(fake.lastRequest.prompt).toEqual([1, 2, 3]);
  });
});

describe("ChatChunkEncoder", () => {
  it("reports speculation in timings and spec, and abort as stop", () => {
    const enc = new ChatChunkEncoder({ id: "x", created: 1, model: "m" }, false);
    const [last] = enc.push({
      type: "done",
      finishReason: "abort",
      usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 4 },
      timings: { promptMs: 2, decodeMs: 8, tokensPerSecond: 500, spec: { drafter: "dflash", meanAcceptedLength: 2.5, draftTokens: 8, acceptedTokens: 3 } },
    }) as { choices: { finish_reason: string }[]; timings: Record<string, number>; spec: unknown }[];
    expect(last.choices[0].finish_reason).toBe("stop");
    expect(last.timings).toMatchObject({ cache_n: 4, prompt_n: 6, predicted_n: 5, predicted_ms: 8, predicted_per_second: 500, draft_n: 8, draft_n_accepted: 3 });
    expect(last.spec).toEqual({ drafter: "dflash", mean_accepted_length: 2.5 });
  });
});
