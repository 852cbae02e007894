// The OpenAI Responses request body (as Codex and the openai SDK send it) and its mapping to the one
// internal GenRequest. Fields that change nothing here (store, include, prompt_cache_key, metadata,
// truncation, user...) are dropped; features that would silently change the answer are refused.
import { z } from "zod";
import { RequestError } from "./errors.js";
import { formatPath, mergeSampling, type RouteOptions } from "./route-options.js";
import type { ChatMessage, GenRequest, ToolChoice, ToolDef } from "./types.js";

const TextPart = z.object({ type: z.enum(["input_text", "output_text"]), text: z.string() });
const RefusalPart = z.object({ type: z.literal("refusal"), refusal: z.string() });
// Accepted by the schema so the mapping can reject them with a message that says why.
const MediaPart = z.object({ type: z.enum(["input_image", "input_file", "input_audio"]) });
const ContentPart = z.discriminatedUnion("type", [TextPart, RefusalPart, MediaPart]);

const MessageItem = z.object({
  type: z.literal("message"),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([z.string(), z.array(ContentPart)]),
});

const FunctionCallItem = z.object({
  type: z.literal("function_call"),
  call_id: z.string().min(1),
  name: z.string().min(1),
  arguments: z.string(),
});

const FunctionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  call_id: z.string().min(1),
  output: z.union([z.string(), z.array(ContentPart)]),
});

const ReasoningItem = z.object({
  type: z.literal("reasoning"),
  summary: z.array(z.object({ text: z.string() })).optional(),
  content: z.array(z.object({ text: z.string() })).nullish(),
});

// An "easy input message" ({role, content}) has no type; it is a message item.
const InputItem = z.preprocess(
  (v) => (typeof v === "object" && v !== null && !("type" in v) && "role" in v ? { ...v, type: "message" } : v),
  z.discriminatedUnion("type", [MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem]),
);

const Tool = z.object({
  type: z.string(),
  name: z.string().min(1).optional(),
  description: z.string().nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
});

const ToolChoiceSchema = z.union([
  z.enum(["auto", "none", "required"]),
  z.object({ type: z.literal("function"), name: z.string().min(1) }),
]);

export const EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh"] as const;

export const ResponsesBody = z.object({
  // any name is accepted (one model per server, like llama-server); responses echo service.modelId
  model: z.string(),
  input: z.union([z.string(), z.array(InputItem)]),
  instructions: z.string().nullish(),
  tools: z.array(Tool).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  max_output_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  stream: z.boolean().nullish(),
  // GenRequest has no switch for it: the parser reports every call the model makes
  parallel_tool_calls: z.boolean().nullish(),
  previous_response_id: z.string().nullish(),
  conversation: z.unknown().optional(),
  background: z.boolean().nullish(),
  reasoning: z.object({ effort: z.enum(EFFORTS).nullish() }).nullish(),
  text: z.object({ format: z.object({ type: z.string() }).optional() }).nullish(),
});
export type ResponsesBody = z.output<typeof ResponsesBody>;

export function toGenRequest(body: ResponsesBody, opts: RouteOptions, signal: AbortSignal): GenRequest {
  refuseUnsupported(body);
  const req: GenRequest = {
    messages: mapInput(body),
    sampling: mergeSampling(opts.defaults, { temperature: body.temperature, topP: body.top_p }),
    maxTokens: body.max_output_tokens ?? opts.defaultMaxTokens,
    stop: [],
    signal,
  };
  if (body.tools?.length) req.tools = body.tools.map(mapTool);
  if (body.tool_choice) {
    req.toolChoice = typeof body.tool_choice === "string" ? body.tool_choice : { name: body.tool_choice.name };
    checkToolChoice(req.toolChoice, req.tools);
  }
  const thinking = thinkingOf(body.reasoning?.effort);
  if (thinking !== undefined) req.enableThinking = thinking;
  return req;
}

/** reasoning.effort as the template's thinking switch: none/minimal off, any other on. */
export function thinkingOf(effort: (typeof EFFORTS)[number] | null | undefined): boolean | undefined {
  if (effort == null) return undefined; // the template's default
  return effort !== "none" && effort !== "minimal";
}

function refuseUnsupported(body: ResponsesBody): void {
  if (body.previous_response_id) {
    throw new RequestError(
      400,
      "previous_response_id is not supported: this server stores no responses; send the whole conversation in `input`",
      "previous_response_id",
    );
  }
  if (body.conversation != null) {
    throw new RequestError(400, "conversation is not supported: this server stores no conversations", "conversation");
  }
  if (body.background) {
    throw new RequestError(400, "background responses are not supported: use stream or wait for the response", "background");
  }
  const format = body.text?.format?.type;
  if (format !== undefined && format !== "text") {
    throw new RequestError(400, `text.format "${format}" is not supported: only plain text output`, "text.format");
  }
}

type Item = z.output<typeof MessageItem | typeof FunctionCallItem | typeof FunctionCallOutputItem | typeof ReasoningItem>;

function mapInput(body: ResponsesBody): ChatMessage[] {
  const out: ChatMessage[] = [];
  if (body.instructions) out.push({ role: "system", content: body.instructions });
  if (typeof body.input === "string") {
    out.push({ role: "user", content: body.input });
    return out;
  }
  const toolNames = new Map<string, string>();
  // A reasoning item belongs to the assistant turn that follows it (message or function calls).
  let pendingReasoning: string | undefined;
  // function_call items right after an assistant turn are that turn's tool calls
  let openAssistant: ChatMessage | undefined;
  const assistant = (): ChatMessage => {
    if (!openAssistant) {
      openAssistant = { role: "assistant", content: "" };
      out.push(openAssistant);
    }
    if (pendingReasoning !== undefined) {
      openAssistant.reasoning = openAssistant.reasoning ? `${openAssistant.reasoning}\n${pendingReasoning}` : pendingReasoning;
      pendingReasoning = undefined;
    }
    return openAssistant;
  };

  (body.input as Item[]).forEach((item, i) => {
    switch (item.type) {
      case "message": {
        const content = partsText(item.content, ["input", i, "content"]);
        openAssistant = undefined;
        if (item.role === "assistant") assistant().content = content;
        else {
          pendingReasoning = undefined; // reasoning not followed by its answer: nothing to attach to
          out.push({ role: item.role === "developer" ? "system" : item.role, content });
        }
        break;
      }
      case "function_call": {
        const msg = assistant();
        (msg.toolCalls ??= []).push({ id: item.call_id, name: item.name, arguments: item.arguments });
        toolNames.set(item.call_id, item.name);
        break;
      }
      case "function_call_output": {
        openAssistant = undefined;
        pendingReasoning = undefined;
        const msg: ChatMessage = {
          role: "tool",
          content: partsText(item.output, ["input", i, "output"]),
          toolCallId: item.call_id,
        };
        const name = toolNames.get(item.call_id);
        if (name !== undefined) msg.name = name;
        out.push(msg);
        break;
      }
      case "reasoning": {
        openAssistant = undefined;
        // our own reasoning items carry the text in `content`; OpenAI's only a summary
        const parts = item.content?.length ? item.content : (item.summary ?? []);
        const text = parts.map((p) => p.text).join("\n");
        if (text !== "") pendingReasoning = pendingReasoning ? `${pendingReasoning}\n${text}` : text;
        break;
      }
    }
  });
  return out;
}

function partsText(content: string | z.output<typeof ContentPart>[], path: (string | number)[]): string {
  if (typeof content === "string") return content;
  return content
    .map((p, k) => {
      if (p.type === "input_text" || p.type === "output_text") return p.text;
      if (p.type === "refusal") return p.refusal;
      const param = formatPath([...path, k]);
      throw new RequestError(400, `${param}: ${p.type} is not supported (this server has no vision, file or audio input)`, param);
    })
    .join("\n");
}

function mapTool(t: z.output<typeof Tool>, i: number): ToolDef {
  if (t.type !== "function") {
    throw new RequestError(400, `tools[${i}]: tool type "${t.type}" is not supported: only function tools`, `tools[${i}].type`);
  }
  if (!t.name) throw new RequestError(400, `tools[${i}].name: is required`, `tools[${i}].name`);
  const def: ToolDef = { name: t.name, parameters: t.parameters ?? { type: "object", properties: {} } };
  if (t.description != null) def.description = t.description;
  return def;
}

function checkToolChoice(choice: ToolChoice, tools: ToolDef[] | undefined): void {
  if (choice === "auto" || choice === "none") return;
  if (!tools?.length) throw new RequestError(400, "tool_choice: requires tools", "tool_choice");
  if (typeof choice === "object" && !tools.some((t) => t.name === choice.name)) {
    throw new RequestError(400, `tool_choice.name: no function named "${choice.name}" in tools`, "tool_choice.name");
  }
}
