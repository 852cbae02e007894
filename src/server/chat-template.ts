// Chat prompt rendering: the GGUF's Jinja chat template (tokenizer.chat_template) through
// @huggingface/jinja, fed messages in the Hugging Face shape that real templates were written against.
// Without a usable template the prompt is ChatML, with tools described the way Qwen2.5 does.

import { Environment, Interpreter, Template } from "@huggingface/jinja";
import { RequestError } from "./errors.js";
import type { ChatMessage, ToolDef } from "./types.js";

export interface RenderChatOptions {
  tools?: ToolDef[];
  addGenerationPrompt: boolean;
  /** thinking models: passed as `enable_thinking`; left undefined the template picks its default */
  enableThinking?: boolean;
  /** Llama-style templates print bos_token themselves: tokenize their output without adding BOS */
  bosToken?: string;
  eosToken?: string;
  /** the clock `strftime_now` reads (tests) */
  now?: () => Date;
}

/** A template failed while rendering for a reason other than rejecting the messages (server's fault). */
export class ChatTemplateError extends Error {
  override readonly name = "ChatTemplateError";
}

/** Thrown through the template by raise_exception, so it is told apart from engine errors. */
class TemplateRaised extends Error {}

const CACHE_LIMIT = 16;
const cache = new Map<string, Template | Error>();

function compiled(template: string): Template | Error {
  let t = cache.get(template);
  if (t === undefined) {
    try {
      t = new Template(template);
    } catch (e) {
      t = e instanceof Error ? e : new Error(String(e));
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(template, t);
  }
  return t;
}

/** Why the template cannot be used (renderChat then falls back to ChatML); undefined when it can. */
export function chatTemplateProblem(template: string | undefined): string | undefined {
  if (template === undefined || template.trim() === "") return "the model has no chat template";
  const t = compiled(template);
  return t instanceof Error ? `the chat template does not parse: ${t.message}` : undefined;
}

/**
 * Renders a chat into prompt text. A template that calls raise_exception rejects the conversation
 * (RequestError 400, with the template's words); any other render failure is a ChatTemplateError.
 */
export function renderChat(template: string | undefined, messages: ChatMessage[], opts: RenderChatOptions): string {
  const t = template === undefined || template.trim() === "" ? undefined : compiled(template);
  if (t === undefined || t instanceof Error) return renderChatML(messages, opts);
  const now = opts.now ?? (() => new Date());
  const shape = messageShape(template!);
  // Template.render declares its own raise_exception, which throws a plain Error that cannot be told
  // from an engine failure, and its globals cannot be redeclared: so the environment is built here.
  const env = new Environment();
  const globals: Record<string, unknown> = {
    true: true,
    false: false,
    none: null,
    True: true,
    False: false,
    None: null,
    range: pyRange,
    raise_exception: (message: unknown) => {
      throw new TemplateRaised(String(message));
    },
    strftime_now: (format: unknown) => strftime(now(), String(format)),
    messages: messages.map((m) => toTemplateMessage(m, shape)),
    add_generation_prompt: opts.addGenerationPrompt,
    bos_token: opts.bosToken ?? "",
    eos_token: opts.eosToken ?? "",
  };
  // absent rather than empty: templates test `tools is defined` / `tools is not none`
  if (opts.tools && opts.tools.length > 0) globals.tools = opts.tools.map(toTemplateTool);
  if (opts.enableThinking !== undefined) globals.enable_thinking = opts.enableThinking;
  for (const [k, v] of Object.entries(globals)) env.set(k, v);
  try {
    return String(new Interpreter(env).run(t.parsed).value);
  } catch (e) {
    if (e instanceof TemplateRaised) {
      throw new RequestError(400, `the model's chat template rejected the messages: ${e.message}`, "messages");
    }
    throw new ChatTemplateError(`the model's chat template failed to render: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function pyRange(start: number, stop?: number, step = 1): number[] {
  if (stop === undefined) [start, stop] = [0, start];
  if (step === 0) throw new Error("range() step must not be zero");
  const out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

/**
 * The template family's tool-call syntax, for logs and for choosing how to describe tools. The
 * output parser recognises every format anyway, so this is informational.
 */
export function templateToolFormat(template: string | undefined): "qwen3-coder-xml" | "hermes-json" | "json" | "none" {
  if (!template) return "hermes-json"; // the ChatML fallback describes tools Qwen2.5's way
  if (template.includes("<function=")) return "qwen3-coder-xml";
  if (template.includes("<tool_call>")) return "hermes-json";
  if (/\btools\b/.test(template)) return "json";
  return "none";
}

/**
 * The start of the assistant's answer that makes a tool call happen (tool_choice "required" or a
 * named function), written into the prompt after the generation prompt: `<tool_call>` for the
 * templates whose calls use it, plus the named function's head. Undefined where the template's
 * syntax is not one of those, or where generation starts inside reasoning: then the choice is not
 * enforced.
 */
export function forcedToolCallPrefix(template: string | undefined, choice: "required" | { name: string }, thinking: boolean | "auto"): string | undefined {
  if (thinking === true) return undefined;
  const fmt = templateToolFormat(template);
  if (fmt !== "hermes-json" && fmt !== "qwen3-coder-xml") return undefined;
  if (choice === "required") return "<tool_call>\n";
  return fmt === "hermes-json" ? `<tool_call>\n{"name": ${JSON.stringify(choice.name)}, "arguments": ` : `<tool_call>\n<function=${choice.name}>\n`;
}

/**
 * How the output parser should treat `<think>`: true when the rendered prompt ends inside an open
 * `<think>` (QwQ, DeepSeek-R1 distills, Qwen3 thinking-2507 put it in the generation prompt), so
 * generation starts in reasoning; "auto" when the template knows `<think>`; else false.
 */
export function thinkingMode(template: string | undefined, prompt: string): boolean | "auto" {
  const open = prompt.lastIndexOf("<think>");
  if (open >= 0 && prompt.indexOf("</think>", open) < 0 && prompt.slice(open + 7).trim() === "") return true;
  return template?.includes("<think>") ? "auto" : false;
}

// ---- message shape ----

/** Arguments as an object where the JSON parses: Qwen templates do `arguments | tojson`, Qwen3-Coder
 *  iterates `arguments | items`; text that does not parse is passed through as a string. */
function parseArguments(text: string): unknown {
  try {
    const v: unknown = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch {
    // fall through
  }
  return text;
}

interface MessageShape {
  /** DeepSeek-style templates choose the tool-call branch with `content is none`; Qwen-style ones do
   *  string tests on the content and break on null, so null goes only to templates that test for it */
  nullToolCallContent: boolean;
  /** Qwen3-Coder writes each argument with `value | string`, which @huggingface/jinja cannot do for
   *  objects: such templates get non-string argument values as JSON text (what the model emits) */
  stringArgValues: boolean;
}

function messageShape(template: string): MessageShape {
  return {
    nullToolCallContent: /(?<!\w)content['"]?\]?\s+is\s+(?:not\s+)?none/.test(template),
    stringArgValues: /arguments\s*\|\s*items/.test(template),
  };
}

function toTemplateArguments(text: string, shape: MessageShape): unknown {
  const args = parseArguments(text);
  if (!shape.stringArgValues || typeof args !== "object" || args === null) return args;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) out[k] = typeof v === "object" && v !== null ? pyJson(v) : v;
  return out;
}

function toTemplateMessage(m: ChatMessage, shape: MessageShape): Record<string, unknown> {
  // keys are left out rather than set to undefined: templates test `'tool_calls' in message`
  const out: Record<string, unknown> = { role: m.role, content: m.content };
  if (m.role === "assistant") {
    if (m.reasoning !== undefined && m.reasoning !== "") out.reasoning_content = m.reasoning;
    if (m.toolCalls && m.toolCalls.length > 0) {
      out.tool_calls = m.toolCalls.map((c) => ({
        id: c.id,
        type: "function",
        function: { name: c.name, arguments: toTemplateArguments(c.arguments, shape) },
      }));
      if (shape.nullToolCallContent && m.content === "") out.content = null;
    }
  }
  if (m.role === "tool") {
    if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
    if (m.name !== undefined) out.name = m.name;
  }
  return out;
}

function toTemplateTool(t: ToolDef): Record<string, unknown> {
  const fn: Record<string, unknown> = { name: t.name };
  if (t.description !== undefined) fn.description = t.description;
  fn.parameters = t.parameters;
  return { type: "function", function: fn };
}

// ---- ChatML fallback ----

/** JSON the way Jinja's tojson (Python json.dumps) writes it: `", "` and `": "` separators. */
export function pyJson(v: unknown): string {
  if (Array.isArray(v)) return "[" + v.map(pyJson).join(", ") + "]";
  if (typeof v === "object" && v !== null) {
    const parts = Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => JSON.stringify(k) + ": " + pyJson(x));
    return "{" + parts.join(", ") + "}";
  }
  return JSON.stringify(v) ?? "null";
}

function renderChatML(messages: ChatMessage[], opts: RenderChatOptions): string {
  let out = "";
  let i = 0;
  const tools = opts.tools ?? [];
  if (tools.length > 0) {
    out += "<|im_start|>system\n";
    if (messages[0]?.role === "system") out += messages[i++].content + "\n\n";
    out +=
      "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
      "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    for (const t of tools) out += "\n" + pyJson(toTemplateTool(t));
    out +=
      "\n</tools>\n\nFor each function call, return a json object with function name and arguments " +
      'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": ' +
      "<args-json-object>}\n</tool_call><|im_end|>\n";
  }
  for (; i < messages.length; i++) {
    const m = messages[i];
    if (m.role === "tool") {
      // consecutive results share one user turn, as Qwen's templates do
      if (messages[i - 1]?.role !== "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (messages[i + 1]?.role !== "tool") out += "<|im_end|>\n";
    } else if (m.role === "assistant" && m.toolCalls && m.toolCalls.length > 0) {
      out += "<|im_start|>assistant";
      if (m.content) out += "\n" + m.content;
      for (const c of m.toolCalls) {
        const args = parseArguments(c.arguments);
        const argsText = typeof args === "string" ? args : pyJson(args);
        out += '\n<tool_call>\n{"name": ' + JSON.stringify(c.name) + ', "arguments": ' + argsText + "}\n</tool_call>";
      }
      out += "<|im_end|>\n";
    } else {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    }
  }
  if (opts.addGenerationPrompt) out += "<|im_start|>assistant\n";
  return out;
}

// ---- strftime_now ----

const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

/** Python's strftime for the directives chat templates use, in English whatever the locale. */
export function strftime(d: Date, format: string): string {
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return format.replace(/%(-?)([a-zA-Z%])/g, (whole, noPad: string, c: string) => {
    const p = noPad ? (n: number) => String(n) : (n: number) => pad(n);
    switch (c) {
      case "Y": return String(d.getFullYear());
      case "y": return pad(d.getFullYear() % 100);
      case "m": return p(d.getMonth() + 1);
      case "d": return p(d.getDate());
      case "e": return String(d.getDate()).padStart(2, " ");
      case "B": return MONTHS[d.getMonth()];
      case "b": return MONTHS[d.getMonth()].slice(0, 3);
      case "A": return DAYS[d.getDay()];
      case "a": return DAYS[d.getDay()].slice(0, 3);
      case "H": return p(d.getHours());
      case "I": return p(d.getHours() % 12 || 12);
      case "p": return d.getHours() < 12 ? "AM" : "PM";
      case "M": return p(d.getMinutes());
      case "S": return p(d.getSeconds());
      case "j": {
        const day = Math.floor((Date.UTC(d.getFullYear(), d.getMonth(), d.getDate()) - Date.UTC(d.getFullYear(), 0, 1)) / 86400000) + 1;
        return noPad ? String(day) : pad(day, 3);
      }
      case "%": return "%";
      default: return whole;
    }
  });
}
