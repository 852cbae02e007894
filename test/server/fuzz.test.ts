// Robustness: thousands of malformed bodies (seeded) to every POST route. Each body is malformed by
// construction (not JSON, truncated, not an object, or one field made invalid), so each must get a
// 4xx in its protocol's JSON error shape: never a 5xx, never a hang. The server must still answer
// /health and generate afterwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startTiny, type TinyServer } from "./in-process.js";

/** mulberry32: a small seeded generator, so a failure reproduces */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { next, int: (n: number) => Math.floor(next() * n), pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] };
}

const deep = (n: number): unknown => {
  let v: unknown = "x";
  for (let i = 0; i < n; i++) v = [v];
  return v;
};
const deepText = (n: number) => "[".repeat(n) + "]".repeat(n);

type Route = { path: string; base: Record<string, unknown>; bad: Record<string, unknown[]> };

const user = [{ role: "user", content: "hi" }];
const NOT_STRING = [5, null, true, {}, [], 1e308];
const NOT_BOOL = ["yes", 1, {}, []];
const BAD_COUNT = [-1, 1.5, "10", true, -1e300, {}, []];

const ROUTES: Route[] = [
  {
    path: "/v1/chat/completions",
    base: { model: "m", messages: user, max_tokens: 1 },
    bad: {
      messages: [null, 5, "hi", {}, [], [{}], [{ role: "robot", content: "x" }], [{ role: "user", content: 5 }], [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }], [{ role: "user", content: [{ type: "text" }] }], [{ role: "user", content: [{ type: "text", text: 7 }] }], [{ role: "assistant", content: "x", tool_calls: [{ function: {} }] }], deep(200), [deep(3000)], [{ role: "user", content: "x".repeat(200_000) }]],
      max_tokens: BAD_COUNT,
      max_completion_tokens: BAD_COUNT,
      temperature: [-1, 101, "hot", 1e308, "0.5"],
      top_p: [-0.1, 2, "x"],
      top_k: [-1, 0.5, "x"],
      min_p: [2, -1],
      n: [0, 2, 1.5],
      seed: [1.5, "x", 1e300],
      stop: [5, [1], {}, Array(100).fill("x")],
      stream: NOT_BOOL,
      stream_options: [5, "x", { include_usage: "yes" }],
      tools: ["x", 5, [{}], [{ type: "function" }], [{ type: "function", function: { name: "" } }], [{ type: "function", function: { name: "f", parameters: 5 } }]],
      tool_choice: ["sometimes", 5, { type: "function" }, { type: "function", function: { name: "absent" } }],
      response_format: [{ type: "json_object" }, { type: "yaml" }, 5],
      speculative: NOT_BOOL,
      frequency_penalty: [3, -3, "x"],
      presence_penalty: [3, -3],
      repeat_penalty: [-1, 1e9],
      logprobs: [true, "x"],
    },
  },
  {
    path: "/v1/completions",
    base: { model: "m", prompt: "hi", max_tokens: 1 },
    bad: {
      prompt: [null, 5, {}, [], [-1], [1e9], [1.5], ["a", "b"], [[1], [2]], [[]], deep(50), "word ".repeat(5000)],
      max_tokens: BAD_COUNT,
      temperature: [-1, "x"],
      echo: [true, "x"],
      suffix: ["tail", 5],
      n: [2],
      best_of: [3],
      logprobs: [5, "x"],
      stop: [5, [null]],
      stream: NOT_BOOL,
    },
  },
  {
    path: "/v1/messages",
    base: { model: "m", max_tokens: 1, messages: user },
    bad: {
      model: NOT_STRING,
      max_tokens: [0, -1, 1.5, "x", null],
      messages: [null, 5, "x", [{ role: "system", content: "x" }], [{ role: "user", content: 5 }], [{ role: "user", content: [{ type: "image", source: {} }] }], [{ role: "user", content: [{ type: "nope" }] }], deep(100)],
      system: [5, [{ type: "text" }]],
      temperature: [-1, 3, "x"],
      stop_sequences: ["x", [""], [5]],
      tools: [5, [{}], [{ name: "" }]],
      tool_choice: ["auto", { type: "tool" }, { type: "nope" }],
      thinking: [{ type: "enabled" }, { type: "maybe" }, 5],
      stream: NOT_BOOL,
    },
  },
  {
    path: "/v1/messages/count_tokens",
    base: { model: "m", messages: user },
    bad: { model: NOT_STRING, messages: [null, 5, [{ role: "user" }]], tools: [5], system: [5] },
  },
  {
    path: "/v1/responses",
    base: { model: "m", input: "hi", max_output_tokens: 1 },
    bad: {
      model: NOT_STRING,
      input: [null, 5, {}, [{ type: "nope" }], [{ role: "user", content: 5 }], [{ type: "function_call" }], deep(100)],
      max_output_tokens: [0, -1, 1.5, "x"],
      temperature: [-1, 3],
      tools: [5, [5]],
      tool_choice: ["sometimes", { type: "function" }],
      stream: NOT_BOOL,
      reasoning: [{ effort: "extreme" }, 5],
    },
  },
  { path: "/tokenize", base: { content: "hi" }, bad: { content: NOT_STRING, add_special: NOT_BOOL, with_pieces: NOT_BOOL } },
  { path: "/detokenize", base: { tokens: [1, 2] }, bad: { tokens: [null, "x", {}, [1.5], [-1], [1e12], ["a"], deep(30)] } },
];

function randomBytes(r: ReturnType<typeof rng>, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r.int(256);
  // starting with a byte that no JSON value starts with keeps it from parsing as JSON
  out[0] = 0x7e; // "~"
  return out;
}

/** One malformed body for a route, by kind. */
function malformed(r: ReturnType<typeof rng>, route: Route): { body: string | Uint8Array; kind: string } {
  const valid = JSON.stringify(route.base);
  switch (r.int(8)) {
    case 0:
      return { body: randomBytes(r, 1 + r.int(300)), kind: "random bytes" };
    case 1:
      return { body: valid.slice(0, r.int(valid.length)), kind: "truncated" };
    case 2:
      return { body: r.pick(["", " ", "null", "5", '"x"', "[]", "[1,2]", "true", deepText(50_000), "{", "}", "{,}", '{"a":}']), kind: "not an object" };
    default: {
      const field = r.pick(Object.keys(route.bad));
      const value = r.pick(route.bad[field]);
      const body: Record<string, unknown> = { ...route.base, [field]: value };
      // unknown extra fields change nothing: the one bad field still makes it a 4xx
      if (r.int(3) === 0) body[`x_${r.int(1000)}`] = r.pick([1, "a", null, { y: [1] }]);
      return { body: JSON.stringify(body), kind: `${field} = ${JSON.stringify(value).slice(0, 60)}` };
    }
  }
}

describe("fuzz: malformed bodies", () => {
  let s: TinyServer;
  beforeAll(async () => {
    s = await startTiny({ ctx: 1024 });
  });
  afterAll(() => s?.close());

  it("answers every one with a 4xx and stays healthy", async () => {
    const r = rng(20261123);
    const N = 2800;
    const failures: string[] = [];
    const messages = new Set<string>();
    let next = 0;
    // a few clients at a time, as agents would
    const worker = async () => {
      while (next < N) {
        const i = next++;
        const route = ROUTES[i % ROUTES.length];
        const { body, kind } = malformed(r, route);
        const res = await post(`${s.url}${route.path}`, body);
        const text = await res.text();
        let shaped = false;
        try {
          const j = JSON.parse(text) as { error?: { message?: unknown }; type?: string };
          shaped = typeof j.error?.message === "string" && j.error.message.length > 0;
          if (shaped) messages.add(`${res.status} ${String(j.error!.message).replace(/\d+/g, "N").slice(0, 80)}`);
        } catch {
          shaped = false;
        }
        if (res.status < 400 || res.status >= 500 || !shaped) failures.push(`${route.path} [${kind}] -> ${res.status} ${text.slice(0, 200)}`);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    expect(failures.slice(0, 10)).toEqual([]);
    // the bodies reached many different checks, not one parse error over and over
    expect(messages.size).toBeGreaterThan(60);
    if (process.env.FUZZ_VERBOSE) console.log([...messages].sort().join("\n"));
    expect((await fetch(`${s.url}/health`)).status).toBe(200);
    expect(s.service.state).toMatchObject({ active: false, waiting: 0 });
    const ok = await post(`${s.url}/v1/chat/completions`, { messages: [{ role: "user", content: "hi" }], max_tokens: 2 });
    expect(ok.status).toBe(200);
  });
});
