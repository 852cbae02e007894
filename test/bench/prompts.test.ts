// The built-in prompt sets load, validate and have the counts issue 5 asks for; the loader names the
// file and line of a bad entry; prompts render as ChatML with the assistant turn opened.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BUILTIN_COUNTS, BUILTIN_SETS, loadBuiltinSet, loadPrompts, parsePromptSet, renderChatML } from "../../src/bench/prompts.js";

describe("built-in prompt sets", () => {
  it.each(BUILTIN_SETS)("%s has its count of valid prompts with unique ids", (name) => {
    const set = loadBuiltinSet(name);
    expect(set).toHaveLength(BUILTIN_COUNTS[name]);
    expect(new Set(set.map((p) => p.id)).size).toBe(set.length);
    for (const p of set) {
      expect(p.id.startsWith(`${name}-`)).toBe(true);
      expect(p.messages.some((m) => m.role === "user" && m.content.length > 10)).toBe(true);
    }
  });

  it("agentic turns carry tools, a user task, an assistant tool call and its result, ending before the next turn", () => {
    for (const p of loadBuiltinSet("agentic")) {
      expect(p.messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "tool"]);
      const call = p.messages[2].tool_calls![0];
      expect(p.messages[3].tool_call_id).toBe(call.id);
      expect(p.tools?.length).toBeGreaterThan(0);
      expect(() => JSON.parse(call.function.arguments)).not.toThrow();
      expect(p.messages[0].content).toContain(call.function.name);
    }
  });

  it("all, comma lists and limits pick prompts per set", () => {
    expect(loadPrompts("all")).toHaveLength(100);
    const two = loadPrompts("math,chat", 3);
    expect(two.map((p) => p.set)).toEqual(["math", "math", "math", "chat", "chat", "chat"]);
    expect(loadPrompts("all", 2)).toHaveLength(8);
  });
});

describe("prompt file validation", () => {
  it("names the line and field of a bad entry", () => {
    expect(() => parsePromptSet('{"id":"a","messages":[{"role":"user","content":"x"}]}\n{"id":"b","messages":[]}', "t", "t.jsonl")).toThrow(/t\.jsonl:2: messages/);
    expect(() => parsePromptSet('{"id":"a","messages":[{"role":"robot","content":"x"}]}', "t", "t.jsonl")).toThrow(/t\.jsonl:1: messages\.0\.role/);
    expect(() => parsePromptSet("{nope", "t", "t.jsonl")).toThrow(/t\.jsonl:1: not valid JSON/);
    expect(() => parsePromptSet('{"id":"a","messages":[{"role":"tool","content":"r"}]}', "t", "t.jsonl")).toThrow(/tool_call_id/);
    const dup = '{"id":"a","messages":[{"role":"user","content":"x"}]}\n';
    expect(() => parsePromptSet(dup + dup, "t", "t.jsonl")).toThrow(/duplicate id "a"/);
    expect(() => parsePromptSet("\n\n", "t", "t.jsonl")).toThrow(/no prompts/);
  });

  it("loads a user's .jsonl file, skipping blank lines", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "flint-prompts-"));
    const file = path.join(dir, "mine.jsonl");
    writeFileSync(file, '\n{"id":"q1","messages":[{"role":"user","content":"hello there"}]}\n\n');
    const ps = loadPrompts(file);
    expect(ps).toHaveLength(1);
    expect(ps[0]).toMatchObject({ id: "q1", set: "mine" });
  });
});

describe("renderChatML", () => {
  it("renders roles, tool calls and tool results, and opens the assistant turn", () => {
    const text = renderChatML([
      { role: "system", content: "S" },
      { role: "user", content: "U" },
      { role: "assistant", content: "", tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: '{"x":1}' } }] },
      { role: "tool", tool_call_id: "c1", content: "R" },
    ]);
    expect(text).toBe(
      "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n" +
        '<|im_start|>assistant\n<tool_call>\n{"name":"f","arguments":{"x":1}}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\n<tool_response>\nR\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
    );
  });
});
