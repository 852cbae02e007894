import { describe, expect, it } from "vitest";
import { createOutputParser, mergeDeltas, newToolCallId, type OutputParserOptions } from "../../src/server/output-parser.js";
import type { GenEvent, ToolDef } from "../../src/server/types.js";

type Opts = Omit<OutputParserOptions, "newId">;

/** Deterministic PRNG so a failing random split can be replayed from its seed. */
function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pieces(text: string, split: "whole" | "char" | number): string[] {
  if (split === "whole") return [text];
  if (split === "char") return [...text];
  const rnd = mulberry32(split);
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const n = 1 + Math.floor(rnd() * 12);
    out.push(text.slice(i, i + n));
    i += n;
  }
  return out;
}

function parse(text: string, opts: Opts, split: "whole" | "char" | number = "whole"): GenEvent[] {
  let n = 0;
  const p = createOutputParser({ ...opts, newId: () => `call_${n++}` });
  const events: GenEvent[] = [];
  for (const piece of pieces(text, split)) events.push(...p.push(piece));
  events.push(...p.finish());
  return mergeDeltas(events);
}

/** Parses whole, per character and in 25 seeded random splits; all must agree. */
function parseEverySplit(text: string, opts: Opts): GenEvent[] {
  const whole = parse(text, opts);
  expect(parse(text, opts, "char")).toEqual(whole);
  for (let seed = 1; seed <= 25; seed++) expect(parse(text, opts, seed)).toEqual(whole);
  return whole;
}

const TOOLS: Opts = { tools: true, thinking: false };
const call = (index: number, name: string): GenEvent => ({ type: "tool_call", index, id: `call_${index}`, name });
const args = (index: number, delta: string): GenEvent => ({ type: "tool_args", index, delta });
const text = (t: string): GenEvent => ({ type: "text", text: t });
const reasoning = (t: string): GenEvent => ({ type: "reasoning", text: t });

describe("reasoning", () => {
  it("splits a leading think block from the answer", () => {
    const out = parseEverySplit("<think>\nThe user greets.\nReply politely.\n</think>\n\nHello <b>there</b>!", {
      tools: false,
      thinking: "auto",
    });
    expect(out).toEqual([reasoning("The user greets.\nReply politely."), text("Hello <b>there</b>!")]);
  });

  it("starts inside reasoning when the prompt opened <think>", () => {
    const out = parseEverySplit("Plan: be brief.\n</think>\n\nHi.", { tools: false, thinking: true });
    expect(out).toEqual([reasoning("Plan: be brief."), text("Hi.")]);
    // a model that opens the block again anyway does not leak the tag
    expect(parse("<think>\nx\n</think>\ny", { tools: false, thinking: true })).toEqual([reasoning("x"), text("y")]);
  });

  it("keeps an unclosed think block as reasoning at finish", () => {
    const out = parseEverySplit("<think>\nStill thinking about <tool_call> and\n\n", { tools: true, thinking: "auto" });
    expect(out).toEqual([reasoning("Still thinking about <tool_call> and")]);
  });

  it("leaves <think> as text when thinking parsing is off, or when it is not at the start", () => {
    expect(parseEverySplit("<think>x</think>y", { tools: false, thinking: false })).toEqual([text("<think>x</think>y")]);
    expect(parseEverySplit("a <think>x</think>", { tools: false, thinking: "auto" })).toEqual([text("a <think>x</think>")]);
  });
});

describe("Qwen/Hermes JSON tool calls", () => {
  it("parses text followed by a call, arguments as compact JSON", () => {
    const out = parseEverySplit(
      'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2.5e3, true, null], "q": "a\\"b\\u00e9 \\\\"}}\n</tool_call>',
      TOOLS,
    );
    expect(out).toEqual([
      text("Let me check."),
      call(0, "get_weather"),
      args(0, '{"city":"Paris","days":[1,2.5e3,true,null],"q":"a\\"b\\u00e9 \\\\"}'),
    ]);
    expect(JSON.parse((out[2] as { delta: string }).delta)).toEqual({ city: "Paris", days: [1, 2500, true, null], q: 'a"bé \\' });
  });

  it("streams the arguments before the call is closed", () => {
    const p = createOutputParser(TOOLS);
    const early = [
      ...p.push('<tool_call>\n{"name": "write", "arguments": {"text": "'),
      ...p.push("hello wor"),
    ];
    expect(mergeDeltas(early)).toEqual([
      { type: "tool_call", index: 0, id: expect.stringMatching(/^call_/), name: "write" },
      { type: "tool_args", index: 0, delta: '{"text":"hello wor' },
    ]);
    const rest = [...p.push('ld"}}\n</tool_call>'), ...p.finish()];
    expect(rest).toEqual([{ type: "tool_args", index: 0, delta: 'ld"}' }]);
    expect(p.toolCallCount).toBe(1);
  });

  it("numbers several calls and drops the whitespace between them", () => {
    const out = parseEverySplit(
      '<tool_call>\n{"name": "a", "arguments": {"x": 1}}\n</tool_call>\n<tool_call>\n{"name": "b", "arguments": {}}\n</tool_call>\nDone.',
      TOOLS,
    );
    expect(out).toEqual([call(0, "a"), args(0, '{"x":1}'), call(1, "b"), args(1, "{}"), text("Done.")]);
  });

  it("parses a call after reasoning (Qwen3 with tools)", () => {
    const out = parseEverySplit(
      '<think>\nI need the weather.\n</think>\n\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>',
      { tools: true, thinking: "auto" },
    );
    expect(out).toEqual([reasoning("I need the weather."), call(0, "get_weather"), args(0, '{"city":"Oslo"}')]);
  });

  it("accepts a name after the arguments, and double-encoded arguments", () => {
    expect(parseEverySplit('<tool_call>{"arguments": {"k": [1]}, "name": "f"}</tool_call>', TOOLS)).toEqual([
      call(0, "f"),
      args(0, '{"k":[1]}'),
    ]);
    expect(parseEverySplit('<tool_call>{"name": "f", "arguments": "{\\"k\\": 2}"}</tool_call>', TOOLS)).toEqual([
      call(0, "f"),
      args(0, '{"k":2}'),
    ]);
  });

  it("escapes raw control characters the model put inside strings", () => {
    const out = parseEverySplit('<tool_call>{"name": "f", "arguments": {"code": "a\n\tb"}}</tool_call>', TOOLS);
    expect(out).toEqual([call(0, "f"), args(0, '{"code":"a\\n\\tb"}')]);
  });
});

describe("Qwen3-Coder XML tool calls", () => {
  const xml =
    "I'll write it.\n<tool_call>\n<function=write_file>\n<parameter=path>\n/tmp/a.txt\n</parameter>\n" +
    "<parameter=content>\nline 1\n  line <2>\n\n</parameter>\n<parameter=mode>\n420\n</parameter>\n" +
    '<parameter=opts>\n{"force": true, "tags": ["x"]}\n</parameter>\n</function>\n</tool_call>';

  it("parses parameters: JSON where it parses, strings otherwise, one newline each side trimmed", () => {
    const out = parseEverySplit(xml, TOOLS);
    expect(out).toEqual([
      text("I'll write it."),
      call(0, "write_file"),
      args(0, '{"path":"/tmp/a.txt","content":"line 1\\n  line <2>\\n","mode":420,"opts":{"force":true,"tags":["x"]}}'),
    ]);
  });

  it("keeps string-typed parameters as strings when the schema says so", () => {
    const defs: ToolDef[] = [
      { name: "write_file", parameters: { type: "object", properties: { mode: { type: "string" }, opts: { type: "object" } } } },
    ];
    const out = parseEverySplit(xml, { ...TOOLS, toolDefs: defs });
    const json = JSON.parse((out[2] as { delta: string }).delta);
    expect(json.mode).toBe("420");
    expect(json.opts).toEqual({ force: true, tags: ["x"] });
  });

  it("handles several calls, a call with no parameters, and a missing <tool_call> wrapper", () => {
    const out = parseEverySplit(
      "<tool_call>\n<function=list>\n</function>\n</tool_call>\n<function=read>\n<parameter=path>\nb.txt\n</parameter>\n</function>\n</tool_call>\nok",
      TOOLS,
    );
    expect(out).toEqual([call(0, "list"), args(0, "{}"), call(1, "read"), args(1, '{"path":"b.txt"}'), text("ok")]);
  });

  it("closes a call cut off inside a parameter into valid JSON", () => {
    const out = parseEverySplit("<tool_call>\n<function=write>\n<parameter=text>\nhalf a sent", TOOLS);
    expect(out).toEqual([call(0, "write"), args(0, '{"text":"half a sent"}')]);
  });
});

describe("plain JSON tool calls (Llama 3.x style)", () => {
  it("reads a whole-output call object with parameters or arguments", () => {
    expect(parseEverySplit('{"name": "get_weather", "parameters": {"city": "Paris"}}', TOOLS)).toEqual([
      call(0, "get_weather"),
      args(0, '{"city":"Paris"}'),
    ]);
    expect(parseEverySplit('\n{"type": "function", "name": "f", "arguments": {"a": 1}}\n', TOOLS)).toEqual([
      call(0, "f"),
      args(0, '{"a":1}'),
    ]);
  });

  it("leaves JSON that is not a call as text", () => {
    expect(parseEverySplit('{"answer": 42, "name": "x"}', TOOLS)).toEqual([text('{"answer": 42, "name": "x"}')]);
    expect(parseEverySplit('{"name": "Bob"}', TOOLS)).toEqual([text('{"name": "Bob"}')]);
    const defs: ToolDef[] = [{ name: "get_weather", parameters: {} }];
    expect(parseEverySplit('{"name": "other", "parameters": {}}', { ...TOOLS, toolDefs: defs })).toEqual([
      text('{"name": "other", "parameters": {}}'),
    ]);
  });

  it("treats a leading JSON object as text when no tools were given", () => {
    expect(parseEverySplit('{"name": "f", "arguments": {}}', { tools: false, thinking: false })).toEqual([
      text('{"name": "f", "arguments": {}}'),
    ]);
  });
});

describe("malformed and absent tool calls", () => {
  it("returns a block that is not a call to the text, exactly as written", () => {
    const raw = 'Before\n<tool_call>\nI cannot {call} this\n</tool_call>\nafter';
    expect(parseEverySplit(raw, TOOLS)).toEqual([text(raw)]);
    const unclosed = 'x <tool_call>\n{"nam": 1, "arguments"';
    expect(parseEverySplit(unclosed, TOOLS)).toEqual([text(unclosed)]);
  });

  it("keeps a call whose arguments break, closed where they broke", () => {
    const out = parseEverySplit('<tool_call>\n{"name": "f", "arguments": {"a": 1 2}}\n</tool_call>\nafter', TOOLS);
    expect(out).toEqual([call(0, "f"), args(0, '{"a":1}'), text("after")]);
  });

  it("closes arguments cut off anywhere into valid JSON", () => {
    const full = '<tool_call>\n{"name": "f", "arguments": {"s": "x\\u00e9y", "n": -12.5, "l": [true, {"k": null}], "t": "end"}}';
    // from the first character of the arguments value on, the name is known and the call is emitted
    for (let cut = full.indexOf('{"s"') + 1; cut <= full.length; cut++) {
      const out = parse(full.slice(0, cut), TOOLS);
      expect(out[0]).toEqual(call(0, "f"));
      const delta = out.filter((e) => e.type === "tool_args").map((e) => (e as { delta: string }).delta).join("");
      expect(() => JSON.parse(delta), `cut at ${cut}: ${delta}`).not.toThrow();
      expect(typeof JSON.parse(delta)).toBe("object");
    }
  });

  it("leaves tool-call tags as text when no tools were given", () => {
    const raw = 'Use <tool_call>\n{"name": "f", "arguments": {}}\n</tool_call> like this.';
    expect(parseEverySplit(raw, { tools: false, thinking: "auto" })).toEqual([text(raw)]);
  });

  it("releases a held tail that turns out not to be a tag", () => {
    expect(parseEverySplit("a < b, <tool and <tool_cal", TOOLS)).toEqual([text("a < b, <tool and <tool_cal")]);
    const p = createOutputParser(TOOLS);
    expect(p.push("x <tool_")).toEqual([text("x")]);
    expect(p.push("box>")).toEqual([text(" <tool_box>")]);
  });
});

describe("ids and scale", () => {
  it("gives each call a unique call_ id of random alphanumerics", () => {
    const ids = new Set(Array.from({ length: 1000 }, newToolCallId));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    const p = createOutputParser(TOOLS);
    const ev = p.push('<tool_call>{"name": "f", "arguments": {}}</tool_call>');
    expect((ev[0] as { id: string }).id).toMatch(/^call_[A-Za-z0-9]{24}$/);
  });

  it("parses long outputs fed one character at a time in linear time", () => {
    const body = "word ".repeat(40_000);
    const t0 = performance.now();
    const out = parse(`<think>${body}</think>${body}<tool_call>\n<function=w>\n<parameter=c>\n${body}\n</parameter>\n</function>`, {
      tools: true,
      thinking: "auto",
    }, "char");
    const ms = performance.now() - t0;
    expect(out.map((e) => e.type)).toEqual(["reasoning", "text", "tool_call", "tool_args"]);
    expect(JSON.parse((out[3] as { delta: string }).delta).c).toBe(body);
    // 600k pushes: quadratic rebuilding would take minutes, linear work well under this bound
    expect(ms).toBeLessThan(20_000);
  });

  it("refuses input after finish", () => {
    const p = createOutputParser(TOOLS);
    p.finish();
    expect(() => p.push("x")).toThrow(/after finish/);
  });
});
