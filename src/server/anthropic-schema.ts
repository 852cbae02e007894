// The Anthropic Messages request body (as Claude Code and the SDK send it) and its mapping to the
// one internal GenRequest. Unknown top-level fields (metadata, service_tier, context_management...)
// are dropped: they change nothing a local single-model server does.
import { z } from "zod";
import { RequestError } from "./errors.js";
import { formatPath, mergeSampling, type RouteOptions } from "./route-options.js";
import type { ChatMessage, GenRequest, ToolCall, ToolChoice, ToolDef } from "./types.js";

const TextBlock = z.object({ type: z.literal("text"), text: z.string() });
// Accepted by the schema so the mapping can reject them with a message that says why.
const ImageBlock = z.object({ type: z.literal("image") });
const DocumentBlock = z.object({ type: z.literal("document") });

const ToolResultBlock = z.object({
  type: z.literal("tool_result"),
  tool_use_id: z.string().min(1),
  content: z
    .union([z.string(), z.array(z.discriminatedUnion("type", [TextBlock, ImageBlock, DocumentBlock]))])
    .optional(),
  is_error: z.boolean().optional(),
});

const ContentBlock = z.discriminatedUnion("type", [
  TextBlock,
  ImageBlock,
  DocumentBlock,
  z.object({
    type: z.literal("tool_use"),
    id: z.string().min(1),
    name: z.string().min(1),
    input: z.record(z.string(), z.unknown()),
  }),
  ToolResultBlock,
  z.object({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() }),
  z.object({ type: z.literal("redacted_thinking"), data: z.string().optional() }),
]);

const Message = z.object({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string(), z.array(ContentBlock)]),
});

const Tool = z.object({
  // absent or "custom" for client tools; server tools (web_search_..., bash_...) carry other types
  type: z.string().optional(),
  name: z.string().min(1),
  description: z.string().optional(),
  input_schema: z.record(z.string(), z.unknown()).optional(),
});

const ToolChoiceSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("auto") }),
  z.object({ type: z.literal("any") }),
  z.object({ type: z.literal("none") }),
  z.object({ type: z.literal("tool"), name: z.string().min(1) }),
]);

const Thinking = z.discriminatedUnion("type", [
  // the budget is accepted but not enforced: generation has no separate thinking budget
  z.object({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1) }),
  z.object({ type: z.literal("disabled") }),
  z.object({ type: z.literal("adaptive") }),
  z.object({ type: z.literal("between_tools") }),
]);

const common = {
  // any name is accepted (one model per server, like llama-server); responses echo service.modelId
  model: z.string(),
  messages: z.array(Message),
  system: z.union([z.string(), z.array(TextBlock)]).optional(),
  tools: z.array(Tool).optional(),
  tool_choice: ToolChoiceSchema.optional(),
  thinking: Thinking.optional(),
};

export const MessagesBody = z.object({
  ...common,
  max_tokens: z.number().int().min(1),
  stop_sequences: z.array(z.string().min(1)).optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  top_k: z.number().int().min(0).optional(),
  stream: z.boolean().optional(),
  output_config: z.object({ format: z.object({ type: z.string() }).nullish() }).nullish(),
});
export type MessagesBody = z.output<typeof MessagesBody>;

export const CountTokensBody = z.object(common);
export type CountTokensBody = z.output<typeof CountTokensBody>;

type Mapped = Pick<GenRequest, "messages" | "tools" | "toolChoice" | "enableThinking">;

/** The parts of a GenRequest that messages/count_tokens share. */
export function mapConversation(body: CountTokensBody): Mapped {
  const messages: ChatMessage[] = [];
  if (body.system !== undefined) {
    const system = typeof body.system === "string" ? body.system : joinText(body.system);
    if (system !== "") messages.push({ role: "system", content: system });
  }
  const toolNames = new Map<string, string>();
  body.messages.forEach((m, i) => {
    if (typeof m.content === "string") {
      messages.push({ role: m.role, content: m.content });
      return;
    }
    if (m.role === "assistant") messages.push(mapAssistant(m.content, i, toolNames));
    else messages.push(...mapUser(m.content, i, toolNames));
  });

  const mapped: Mapped = { messages };
  if (body.tools?.length) mapped.tools = body.tools.map(mapTool);
  if (body.tool_choice) {
    mapped.toolChoice = mapToolChoice(body.tool_choice);
    checkToolChoice(mapped.toolChoice, mapped.tools);
  }
  if (body.thinking?.type === "enabled" || body.thinking?.type === "between_tools") mapped.enableThinking = true;
  else if (body.thinking?.type === "disabled") mapped.enableThinking = false;
  // "adaptive" and no `thinking` leave the template's default: a local thinking model (Qwen3) is
  // meant to think, and Claude Code sends no `thinking` for many of its side requests.
  return mapped;
}

export function toGenRequest(body: MessagesBody, opts: RouteOptions, signal: AbortSignal): GenRequest {
  const format = body.output_config?.format;
  if (format) {
    // no constrained decoding: answering in free text would silently break the client's schema
    throw new RequestError(400, `output_config.format "${format.type}" is not supported: only plain text output`, "output_config.format");
  }
  return {
    ...mapConversation(body),
    sampling: mergeSampling(opts.defaults, { temperature: body.temperature, topP: body.top_p, topK: body.top_k }),
    maxTokens: body.max_tokens,
    stop: body.stop_sequences ?? [],
    signal,
  };
}

type Block = z.output<typeof ContentBlock>;

function mapAssistant(blocks: Block[], i: number, toolNames: Map<string, string>): ChatMessage {
  const text: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: ToolCall[] = [];
  blocks.forEach((b, j) => {
    switch (b.type) {
      case "text":
        text.push(b.text);
        break;
      case "thinking":
        reasoning.push(b.thinking);
        break;
      case "redacted_thinking":
        break; // encrypted by Anthropic: nothing a local model can read
      case "tool_use":
        toolNames.set(b.id, b.name);
        toolCalls.push({ id: b.id, name: b.name, arguments: JSON.stringify(b.input) });
        break;
      default:
        throw unsupportedBlock(b.type, i, j, "assistant");
    }
  });
  const msg: ChatMessage = { role: "assistant", content: text.join("\n") };
  if (reasoning.length) msg.reasoning = reasoning.join("\n");
  if (toolCalls.length) msg.toolCalls = toolCalls;
  return msg;
}

// A user turn may mix tool results and text; each tool_result becomes its own `tool` message (what
// chat templates expect), text blocks around them become user messages, in the order given.
function mapUser(blocks: Block[], i: number, toolNames: Map<string, string>): ChatMessage[] {
  const out: ChatMessage[] = [];
  let text: string[] = [];
  const flush = () => {
    if (text.length) out.push({ role: "user", content: text.join("\n") });
    text = [];
  };
  blocks.forEach((b, j) => {
    switch (b.type) {
      case "text":
        text.push(b.text);
        break;
      case "tool_result": {
        flush();
        let content = "";
        if (typeof b.content === "string") content = b.content;
        else if (b.content) {
          b.content.forEach((part, k) => {
            if (part.type !== "text") throw unsupportedBlock(part.type, i, j, "user", k);
          });
          content = joinText(b.content as { text: string }[]);
        }
        // chat templates have no error flag; saying it in the text is how the model learns it failed
        if (b.is_error) content = `Error: ${content}`;
        const msg: ChatMessage = { role: "tool", content, toolCallId: b.tool_use_id };
        const name = toolNames.get(b.tool_use_id);
        if (name !== undefined) msg.name = name;
        out.push(msg);
        break;
      }
      default:
        throw unsupportedBlock(b.type, i, j, "user");
    }
  });
  flush();
  if (out.length === 0) out.push({ role: "user", content: "" });
  return out;
}

function unsupportedBlock(type: string, i: number, j: number, role: string, k?: number): RequestError {
  const path: (string | number)[] = ["messages", i, "content", j];
  if (k !== undefined) path.push("content", k);
  const param = formatPath(path);
  if (type === "image" || type === "document") {
    return new RequestError(400, `${param}: ${type} content is not supported (this server has no vision or document input)`, param);
  }
  return new RequestError(400, `${param}: a ${type} block is not valid in a ${role} message`, param);
}

function mapTool(t: z.output<typeof Tool>, i: number): ToolDef {
  if (t.type !== undefined && t.type !== "custom") {
    throw new RequestError(400, `tools[${i}]: tool type "${t.type}" is not supported: only client tools with an input_schema`, `tools[${i}].type`);
  }
  if (!t.input_schema) throw new RequestError(400, `tools[${i}].input_schema: is required`, `tools[${i}].input_schema`);
  const def: ToolDef = { name: t.name, parameters: t.input_schema };
  if (t.description !== undefined) def.description = t.description;
  return def;
}

function mapToolChoice(tc: z.output<typeof ToolChoiceSchema>): ToolChoice {
  switch (tc.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { name: tc.name };
  }
}

function checkToolChoice(choice: ToolChoice, tools: ToolDef[] | undefined): void {
  if (choice === "auto" || choice === "none") return;
  if (!tools?.length) throw new RequestError(400, "tool_choice: requires tools", "tool_choice");
  if (typeof choice === "object" && !tools.some((t) => t.name === choice.name)) {
    throw new RequestError(400, `tool_choice.name: no tool named "${choice.name}" in tools`, "tool_choice.name");
  }
}

function joinText(blocks: { text: string }[]): string {
  return blocks.map((b) => b.text).join("\n");
}
