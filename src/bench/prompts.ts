// Benchmark prompt sets: JSONL files, one conversation per line ({id, messages, tools?}), checked with
// zod when loaded. The built-in sets live in bench/prompts/ (coding, math, chat, agentic) and were
// written for this project. Prompts are rendered as ChatML text here (a small renderer of our own,
// close to Qwen3's template for tool calls); the server's full template renderer is not used so the
// benchmark does not depend on it.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { UserError } from "../native/errors.js";

export const ToolCallSchema = z.object({
  id: z.string().optional(),
  type: z.literal("function").optional(),
  function: z.object({ name: z.string().min(1), arguments: z.string() }),
});

export const MessageSchema = z
  .object({
    role: z.enum(["system", "user", "assistant", "tool"]),
    content: z.string(),
    tool_calls: z.array(ToolCallSchema).optional(),
    tool_call_id: z.string().optional(),
    name: z.string().optional(),
  })
  .refine((m) => m.role !== "tool" || m.tool_call_id !== undefined, { message: "a tool message needs tool_call_id" })
  .refine((m) => m.tool_calls === undefined || m.role === "assistant", { message: "only assistant messages carry tool_calls" });

export const PromptLineSchema = z.object({
  id: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  /** tool definitions (OpenAI function format), for renderers that place them themselves */
  tools: z.array(z.unknown()).optional(),
});

export type BenchMessage = z.infer<typeof MessageSchema>;
export type BenchPrompt = z.infer<typeof PromptLineSchema> & { set: string };

export const BUILTIN_SETS = ["coding", "math", "chat", "agentic"] as const;
export type BuiltinSet = (typeof BUILTIN_SETS)[number];
/** prompts each built-in set must hold */
export const BUILTIN_COUNTS: Record<BuiltinSet, number> = { coding: 30, math: 30, chat: 30, agentic: 10 };

/** bench/prompts in the repository (also from dist/bench, one level deeper than src: same relative path) */
export function builtinPromptDir(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/prompts");
}

/** Parses JSONL text; errors name the file, line and field. Ids must be unique. */
export function parsePromptSet(text: string, set: string, source = set): BenchPrompt[] {
  const out: BenchPrompt[] = [];
  const seen = new Set<string>();
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (e) {
      throw new UserError(`${source}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    const r = PromptLineSchema.safeParse(json);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new UserError(`${source}:${i + 1}: ${issue.path.length ? issue.path.join(".") + ": " : ""}${issue.message}`);
    }
    if (seen.has(r.data.id)) throw new UserError(`${source}:${i + 1}: duplicate id "${r.data.id}"`);
    seen.add(r.data.id);
    out.push({ ...r.data, set });
  }
  if (out.length === 0) throw new UserError(`${source}: no prompts`);
  return out;
}

export function loadPromptFile(file: string, set = path.basename(file).replace(/\.jsonl$/i, "")): BenchPrompt[] {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new UserError(`cannot read prompt file ${file}`);
  }
  return parsePromptSet(text, set, file);
}

export function loadBuiltinSet(name: BuiltinSet): BenchPrompt[] {
  return loadPromptFile(path.join(builtinPromptDir(), `${name}.jsonl`), name);
}

/**
 * `spec` is a built-in set name, "all", a comma list of set names, or a .jsonl path. `limit` keeps the
 * first N prompts of each set (so "all" with limit 5 gives 20 prompts).
 */
export function loadPrompts(spec: string, limit?: number): BenchPrompt[] {
  const parts = spec === "all" ? [...BUILTIN_SETS] : spec.split(",").map((s) => s.trim()).filter(Boolean);
  const out: BenchPrompt[] = [];
  for (const p of parts) {
    const set = (BUILTIN_SETS as readonly string[]).includes(p) ? loadBuiltinSet(p as BuiltinSet) : loadPromptFile(p);
    out.push(...(limit === undefined ? set : set.slice(0, limit)));
  }
  return out;
}

/** Renders messages as ChatML text with the assistant turn opened (generation continues from it). */
export function renderChatML(messages: readonly BenchMessage[]): string {
  let s = "";
  for (const m of messages) {
    if (m.role === "tool") {
      // Qwen3's convention: tool results go back as a user turn wrapped in <tool_response>
      s += `<|im_start|>user\n<tool_response>\n${m.content}\n</tool_response><|im_end|>\n`;
      continue;
    }
    let content = m.content;
    if (m.role === "assistant" && m.tool_calls?.length) {
      const calls = m.tool_calls.map((c) => {
        let args: unknown = c.function.arguments;
        try {
          args = JSON.parse(c.function.arguments);
        } catch {
          // keep the raw string
        }
        return `<tool_call>\n${JSON.stringify({ name: c.function.name, arguments: args })}\n</tool_call>`;
      });
      content = [content, ...calls].filter((x) => x !== "").join("\n");
    }
    s += `<|im_start|>${m.role}\n${content}<|im_end|>\n`;
  }
  return s + "<|im_start|>assistant\n";
}
