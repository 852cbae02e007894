// Conformance with the official `openai` SDK as a real peer of a spawned `flint serve` (generated
// tiny models, CPU). Equality rule: at temperature 0 streamed, non-streamed, speculative and plain
// runs, and runs from a cached prefix, give the same text. Batched and single-token logits may round
// differently at a near tie; with the generated models no such case occurs at the time of writing
// (test/spec/prefix-reuse.test.ts checks the same models with the near-tie rule spelled out).
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testModelDir, tinyDrafterPath, tinyModelPath } from "../helpers/models.js";
import { spawnServe, type ServeProcess } from "./spawn.js";

type Extra = { timings?: Record<string, number>; spec?: { drafter: string; mean_accepted_length: number } };

const CODE_A = `def merge_sort(items):
    if len(items) <= 1:
        return items
    mid = len(items) // 2
    left = merge_sort(items[:mid])
    right = merge_sort(items[mid:])
    out = []
    i = j = 0
    while i < len(left) and j < len(right):
        if left[i] <= right[j]:
            out.append(left[i]); i += 1
        else:
            out.append(right[j]); j += 1
    return out + left[i:] + right[j:]
`;
const CODE_B = `class LRUCache:
    def __init__(self, capacity):
        self.capacity = capacity
        self.data = {}
        self.order = []
    def get(self, key):
        if key not in self.data:
            return -1
        self.order.remove(key)
        self.order.append(key)
        return self.data[key]
    def put(self, key, value):
        if key in self.data:
            self.order.remove(key)
        elif len(self.data) >= self.capacity:
            del self.data[self.order.pop(0)]
        self.data[key] = value
        self.order.append(key)
`;

function client(s: ServeProcess, apiKey = "none"): OpenAI {
  return new OpenAI({ baseURL: `${s.url}/v1`, apiKey, maxRetries: 0 });
}

async function chatText(c: OpenAI, body: Record<string, unknown>) {
  const r = await c.chat.completions.create({ model: "any", temperature: 0, ...body } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming);
  return r as OpenAI.ChatCompletion & Extra;
}

async function streamText(c: OpenAI, body: Record<string, unknown>) {
  const stream = await c.chat.completions.create({ model: "any", temperature: 0, stream: true, stream_options: { include_usage: true }, ...body } as unknown as OpenAI.ChatCompletionCreateParamsStreaming);
  let text = "";
  let finish: string | null = null;
  let usage: OpenAI.CompletionUsage | undefined;
  let first = true;
  for await (const chunk of stream) {
    if (first) {
      expect(chunk.choices[0].delta.role).toBe("assistant");
      first = false;
    }
    if (chunk.usage) usage = chunk.usage;
    const ch = chunk.choices[0];
    if (!ch) continue;
    text += ch.delta.content ?? "";
    if (ch.finish_reason) finish = ch.finish_reason;
  }
  return { text, finish, usage };
}

const user = (content: string) => [{ role: "user", content }];

describe("openai SDK against flint serve (ngram drafter, adaptive budget: the defaults)", () => {
  let s: ServeProcess;
  let c: OpenAI;
  beforeAll(async () => {
    s = await spawnServe(["--model", await tinyModelPath(), "--ctx", "1024"]);
    c = client(s);
  });
  afterAll(async () => {
    const code = await s?.stop();
    expect(code).toBe(0);
  });

  it("binds 127.0.0.1 by default and lists the model", async () => {
    expect(s.host).toBe("127.0.0.1");
    const models = await c.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["tiny-qwen3.gguf"]);
    expect((await c.models.retrieve("tiny-qwen3.gguf")).id).toBe("tiny-qwen3.gguf");
    await expect(c.models.retrieve("gpt-4")).rejects.toMatchObject({ status: 404 });
  });

  it("answers chat non-stream and stream with the same text at temperature 0", async () => {
    const body = { messages: [{ role: "system", content: "You write Python." }, ...user("Write a function that reverses a list.")], max_tokens: 24 };
    const r = await chatText(c, body);
    expect(r.object).toBe("chat.completion");
    expect(r.model).toBe("tiny-qwen3.gguf");
    expect(r.choices[0].message.role).toBe("assistant");
    expect(r.choices[0].finish_reason).toMatch(/^(stop|length)$/);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.total_tokens).toBe(r.usage!.prompt_tokens + r.usage!.completion_tokens);
    expect(r.timings!.predicted_n).toBe(r.usage!.completion_tokens);
    expect(r.spec!.drafter).toBe("ngram");
    const st = await streamText(c, body);
    expect(st.text).toBe(r.choices[0].message.content);
    expect(st.finish).toBe(r.choices[0].finish_reason);
    expect(st.usage!.completion_tokens).toBe(r.usage!.completion_tokens);
    // the same prompt again: all but its last token come from the prefix cache
    expect(st.usage!.prompt_tokens_details!.cached_tokens).toBe(r.usage!.prompt_tokens - 1);
    const plain = await chatText(c, { ...body, speculative: false });
    expect(plain.choices[0].message.content).toBe(r.choices[0].message.content);
    expect(plain.spec).toBeUndefined();
  });

  it("renders tools and a tool-result history, and answers", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", description: "Weather in a city", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const messages = [
      ...user("What is the weather in Paris?"),
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: '{"temp_c": 21}' },
    ];
    const r = await chatText(c, { messages, tools, tool_choice: "auto", max_tokens: 12 });
    expect(r.choices[0].finish_reason).toMatch(/^(stop|length|tool_calls)$/);
    // the tools and the tool result are in the prompt: it is longer than the bare question's
    const bare = await chatText(c, { messages: user("What is the weather in Paris?"), max_tokens: 1 });
    expect(r.usage!.prompt_tokens).toBeGreaterThan(bare.usage!.prompt_tokens + 20);
    await expect(chatText(c, { messages, tools, tool_choice: { type: "function", function: { name: "nope" } }, max_tokens: 1 })).rejects.toMatchObject({ status: 400 });
  });

  it("answers completions for text and token prompts, stream and non-stream", async () => {
    const r = await c.completions.create({ model: "x", prompt: "def fibonacci(n):", max_tokens: 16, temperature: 0 });
    expect(r.object).toBe("text_completion");
    expect(r.choices[0].text.length).toBeGreaterThan(0);
    const stream = await c.completions.create({ model: "x", prompt: "def fibonacci(n):", max_tokens: 16, temperature: 0, stream: true });
    let text = "";
    for await (const ch of stream) text += ch.choices[0]?.text ?? "";
    expect(text).toBe(r.choices[0].text);
    const ids = (await (await fetch(`${s.url}/tokenize`, { method: "POST", body: JSON.stringify({ content: "def fibonacci(n):", add_special: true }) })).json()) as { tokens: number[] };
    const byIds = await c.completions.create({ model: "x", prompt: ids.tokens, max_tokens: 16, temperature: 0 });
    expect(byIds.choices[0].text).toBe(r.choices[0].text);
    const de = (await (await fetch(`${s.url}/detokenize`, { method: "POST", body: JSON.stringify({ tokens: ids.tokens }) })).json()) as { content: string };
    expect(de.content).toContain("def fibonacci(n):");
  });

  it("restores a conversation from a host slot when agents alternate (A, B, A)", async () => {
    const a = [{ role: "system", content: CODE_A }, ...user("Explain this code.")];
    const b = [{ role: "system", content: CODE_B }, ...user("Explain this code.")];
    const r1 = await chatText(c, { messages: a, max_tokens: 8 });
    const r2 = await chatText(c, { messages: b, max_tokens: 8 });
    expect(r2.usage!.prompt_tokens_details!.cached_tokens).toBeLessThan(10);
    const r3 = await chatText(c, { messages: a, max_tokens: 8 });
    expect(r1.usage!.prompt_tokens).toBeGreaterThan(100);
    expect(r3.usage!.prompt_tokens_details!.cached_tokens).toBe(r1.usage!.prompt_tokens - 1);
    expect(r3.choices[0].message.content).toBe(r1.choices[0].message.content);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    expect(metrics).toMatch(/flint_prefix_cache_slot_ops_total\{op="restore"\} [1-9]/);
    expect(metrics).toMatch(/^llamacpp:tokens_predicted_total [1-9]/m);
    expect(metrics).toMatch(/^llamacpp:requests_processing 0/m);
  });
});

describe("prefix cache against a cold run (no host slots)", () => {
  let s: ServeProcess;
  let c: OpenAI;
  beforeAll(async () => {
    s = await spawnServe(["--model", await tinyModelPath(), "--ctx", "1024", "--spec", "ngram", "--budget", "4", "--cache-slots", "0"]);
    c = client(s);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("a request sharing a long prefix reports cached tokens and gives the cold output", async () => {
    const y = CODE_A + "\n# test it\nprint(merge_sort([3, 1, 2]))\n";
    const x = CODE_A + "\n# another use\nprint(merge_sort(list(range(9, 0, -1))))\n";
    const cold = await c.completions.create({ model: "m", prompt: y, max_tokens: 24, temperature: 0 });
    expect(cold.usage!.prompt_tokens_details?.cached_tokens ?? 0).toBe(0);
    // an unrelated prompt (another first token) empties the live sequence; then x shares CODE_A with y
    await c.completions.create({ model: "m", prompt: "<|im_start|>user\nhello", max_tokens: 4, temperature: 0 });
    await c.completions.create({ model: "m", prompt: x, max_tokens: 4, temperature: 0 });
    const warm = await c.completions.create({ model: "m", prompt: y, max_tokens: 24, temperature: 0 });
    const cached = warm.usage!.prompt_tokens_details!.cached_tokens!;
    expect(cached).toBeGreaterThan(100);
    expect(cached).toBeLessThan(warm.usage!.prompt_tokens);
    expect(warm.choices[0].text).toBe(cold.choices[0].text);
    // the n-gram drafter ran with a fixed budget: speculation was on in both
    expect((warm as unknown as Extra).spec?.drafter).toBe("ngram");
  });

  // every step runs the speculative loop (fixed budget); a random model seldom repeats itself, so the
  // n-gram drafter finds little to propose: real drafts are covered by the DFlash server below
  it("streams what it answers whole, through the speculative loop or not", async () => {
    const body = { messages: user("def quicksort(xs):\n    if len(xs) <= 1:\n        return xs\n"), max_tokens: 32 };
    const r = await chatText(c, body);
    expect(r.spec!.drafter).toBe("ngram");
    expect((await streamText(c, body)).text).toBe(r.choices[0].message.content);
    expect((await chatText(c, { ...body, speculative: false })).choices[0].message.content).toBe(r.choices[0].message.content);
  });
});

describe("DFlash drafter through the server", () => {
  let s: ServeProcess;
  let c: OpenAI;
  beforeAll(async () => {
    s = await spawnServe(["--model", await tinyModelPath(), "--draft", await tinyDrafterPath(), "--budget", "4", "--ctx", "1024"]);
    c = client(s);
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("streams what it answers whole, with and without speculation, and keeps the drafter with host slots", async () => {
    const body = { messages: user("Sort a list of numbers in Python."), max_tokens: 24 };
    const r = await chatText(c, body);
    expect(r.spec!.drafter).toBe("dflash");
    expect(r.timings!.draft_n).toBeGreaterThan(0);
    expect(r.timings!.draft_n_accepted).toBeLessThanOrEqual(r.timings!.draft_n);
    const st = await streamText(c, body);
    expect(st.text).toBe(r.choices[0].message.content);
    const plain = await chatText(c, { ...body, speculative: false });
    expect(plain.choices[0].message.content).toBe(r.choices[0].message.content);
    // A, B, A: the target's and the drafter's state come back from host memory
    const a = [{ role: "system", content: CODE_A }, ...user("Explain.")];
    const b = [{ role: "system", content: CODE_B }, ...user("Explain.")];
    const a1 = await chatText(c, { messages: a, max_tokens: 16 });
    await chatText(c, { messages: b, max_tokens: 16 });
    const a2 = await chatText(c, { messages: a, max_tokens: 16 });
    expect(a2.usage!.prompt_tokens_details!.cached_tokens).toBe(a1.usage!.prompt_tokens - 1);
    expect(a2.choices[0].message.content).toBe(a1.choices[0].message.content);
    expect(a2.spec!.drafter).toBe("dflash");
  });
});

describe("flint serve command line", () => {
  it("takes the API key from FLINT_API_KEY", async () => {
    const s = await spawnServe(["--model", await tinyModelPath(), "--ctx", "512"], { FLINT_API_KEY: "from-env" });
    try {
      await expect(client(s).models.list()).rejects.toMatchObject({ status: 401 });
      expect((await client(s, "from-env").models.list()).data).toHaveLength(1);
    } finally {
      await s.stop();
    }
  });

  const cli = path.resolve(__dirname, "../../dist/cli.js");
  it("refuses bad flags before listening, and exits when the model fails to load", async () => {
    const bad = spawnSync(process.execPath, [cli, "serve", "--model", await tinyModelPath(), "--spec", "dflash", "--port", "0"], { encoding: "utf8" });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--spec dflash needs --draft FILE/);
    expect(bad.stderr).not.toMatch(/listening/);
    const junk = path.join(testModelDir, "junk.gguf");
    writeFileSync(junk, "GGUF but not really");
    const fail = spawnSync(process.execPath, [cli, "serve", "--model", junk, "--port", "0", "--threads", "1"], { encoding: "utf8", timeout: 30_000 });
    expect(fail.status).toBe(1);
    expect(fail.stderr).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+/);
    expect(fail.stderr).toMatch(/loading the model failed/);
  });
});
