// The Anthropic SDK (Claude Code's client) and the OpenAI Responses API (Codex's) as real peers of a
// spawned `flint serve` on the tiny generated model, with its default speculation (n-gram drafter,
// adaptive budget). The route-level tests (anthropic.test.ts, responses.test.ts) check the mapping on a
// scripted service; these check that the real engine behind them gives the same answers streamed and
// whole, at temperature 0, and that usage adds up.
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinyModelPath } from "../helpers/models.js";
import { spawnServe, type ServeProcess } from "./spawn.js";

describe("Anthropic SDK and OpenAI Responses against flint serve", () => {
  let s: ServeProcess;
  let anthropic: Anthropic;
  let openai: OpenAI;
  beforeAll(async () => {
    s = await spawnServe(["--model", await tinyModelPath(), "--ctx", "1024", "--api-key", "k1"]);
    anthropic = new Anthropic({ baseURL: s.url, apiKey: "k1", maxRetries: 0 });
    openai = new OpenAI({ baseURL: `${s.url}/v1`, apiKey: "k1", maxRetries: 0 });
  });
  afterAll(async () => {
    expect(await s?.stop()).toBe(0);
  });

  const messages = [{ role: "user" as const, content: "Write a function that reverses a list." }];

  it("answers messages whole and streamed with the same text, and counts tokens", async () => {
    const whole = await anthropic.messages.create({ model: "any", max_tokens: 24, temperature: 0, system: "You write Python.", messages });
    expect(whole.type).toBe("message");
    expect(whole.role).toBe("assistant");
    expect(["end_turn", "max_tokens"]).toContain(whole.stop_reason);
    const text = whole.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    expect(whole.usage.output_tokens).toBeGreaterThan(0);

    const stream = anthropic.messages.stream({ model: "any", max_tokens: 24, temperature: 0, system: "You write Python.", messages });
    let streamed = "";
    stream.on("text", (t) => (streamed += t));
    const final = await stream.finalMessage();
    expect(streamed).toBe(text);
    expect(final.usage.output_tokens).toBe(whole.usage.output_tokens);
    expect(final.stop_reason).toBe(whole.stop_reason);

    const counted = await anthropic.messages.countTokens({ model: "any", system: "You write Python.", messages });
    expect(counted.input_tokens).toBe(whole.usage.input_tokens + (whole.usage.cache_read_input_tokens ?? 0));
  });

  it("refuses a wrong key with Anthropic's error shape", async () => {
    const bad = new Anthropic({ baseURL: s.url, apiKey: "nope", maxRetries: 0 });
    await expect(bad.messages.create({ model: "any", max_tokens: 4, messages })).rejects.toMatchObject({ status: 401 });
  });

  it("answers responses whole and streamed with the same text", async () => {
    const whole = await openai.responses.create({ model: "any", input: "Write a function that reverses a list.", max_output_tokens: 24, temperature: 0 });
    expect(whole.status === "completed" || whole.status === "incomplete").toBe(true);
    const stream = await openai.responses.create({ model: "any", input: "Write a function that reverses a list.", max_output_tokens: 24, temperature: 0, stream: true });
    let streamed = "";
    let completed: OpenAI.Responses.Response | undefined;
    for await (const ev of stream) {
      if (ev.type === "response.output_text.delta") streamed += ev.delta;
      if (ev.type === "response.completed" || ev.type === "response.incomplete") completed = ev.response;
    }
    expect(streamed).toBe(whole.output_text);
    expect(completed?.usage?.output_tokens).toBe(whole.usage?.output_tokens);
  });
});
