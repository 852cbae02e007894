import { describe, expect, it } from "vitest";
import {
  ChatTemplateError,
  chatTemplateProblem,
  renderChat,
  strftime,
  templateToolFormat,
  thinkingMode,
} from "../../src/server/chat-template.js";
import { RequestError } from "../../src/server/errors.js";
import type { ChatMessage, ToolDef } from "../../src/server/types.js";

// Real templates, as shipped in the models' tokenizer_config.json (and llama.cpp's models/templates).
const QWEN25 = String.raw`{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0]['role'] == 'system' %}
        {{- messages[0]['content'] }}
    {%- else %}
        {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
    {%- endif %}
    {{- "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0]['role'] == 'system' %}
        {{- '<|im_start|>system\n' + messages[0]['content'] + '<|im_end|>\n' }}
    {%- else %}
        {{- '<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) or (message.role == "assistant" and not message.tool_calls) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content %}
            {{- '\n' + message.content }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n{"name": "' }}
            {{- tool_call.name }}
            {{- '", "arguments": ' }}
            {{- tool_call.arguments | tojson }}
            {{- '}\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if (loop.index0 == 0) or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
`;

const QWEN3 = String.raw`{%- if tools %}
    {{- '<|im_start|>system\n' }}
    {%- if messages[0].role == 'system' %}
        {{- messages[0].content + '\n\n' }}
    {%- endif %}
    {{- "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>" }}
    {%- for tool in tools %}
        {{- "\n" }}
        {{- tool | tojson }}
    {%- endfor %}
    {{- "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n" }}
{%- else %}
    {%- if messages[0].role == 'system' %}
        {{- '<|im_start|>system\n' + messages[0].content + '<|im_end|>\n' }}
    {%- endif %}
{%- endif %}
{%- set ns = namespace(multi_step_tool=true, last_query_index=messages|length - 1) %}
{%- for message in messages[::-1] %}
    {%- set index = (messages|length - 1) - loop.index0 %}
    {%- if ns.multi_step_tool and message.role == "user" and not(message.content.startswith('<tool_response>') and message.content.endswith('</tool_response>')) %}
        {%- set ns.multi_step_tool = false %}
        {%- set ns.last_query_index = index %}
    {%- endif %}
{%- endfor %}
{%- for message in messages %}
    {%- if (message.role == "user") or (message.role == "system" and not loop.first) %}
        {{- '<|im_start|>' + message.role + '\n' + message.content + '<|im_end|>' + '\n' }}
    {%- elif message.role == "assistant" %}
        {%- set content = message.content %}
        {%- set reasoning_content = '' %}
        {%- if message.reasoning_content is defined and message.reasoning_content is not none %}
            {%- set reasoning_content = message.reasoning_content %}
        {%- else %}
            {%- if '</think>' in message.content %}
                {%- set content = message.content.split('</think>')[-1].lstrip('\n') %}
                {%- set reasoning_content = message.content.split('</think>')[0].rstrip('\n').split('<think>')[-1].lstrip('\n') %}
            {%- endif %}
        {%- endif %}
        {%- if loop.index0 > ns.last_query_index %}
            {%- if loop.last or (not loop.last and reasoning_content) %}
                {{- '<|im_start|>' + message.role + '\n<think>\n' + reasoning_content.strip('\n') + '\n</think>\n\n' + content.lstrip('\n') }}
            {%- else %}
                {{- '<|im_start|>' + message.role + '\n' + content }}
            {%- endif %}
        {%- else %}
            {{- '<|im_start|>' + message.role + '\n' + content }}
        {%- endif %}
        {%- if message.tool_calls %}
            {%- for tool_call in message.tool_calls %}
                {%- if (loop.first and content) or (not loop.first) %}
                    {{- '\n' }}
                {%- endif %}
                {%- if tool_call.function %}
                    {%- set tool_call = tool_call.function %}
                {%- endif %}
                {{- '<tool_call>\n{"name": "' }}
                {{- tool_call.name }}
                {{- '", "arguments": ' }}
                {%- if tool_call.arguments is string %}
                    {{- tool_call.arguments }}
                {%- else %}
                    {{- tool_call.arguments | tojson }}
                {%- endif %}
                {{- '}\n</tool_call>' }}
            {%- endfor %}
        {%- endif %}
        {{- '<|im_end|>\n' }}
    {%- elif message.role == "tool" %}
        {%- if loop.first or (messages[loop.index0 - 1].role != "tool") %}
            {{- '<|im_start|>user' }}
        {%- endif %}
        {{- '\n<tool_response>\n' }}
        {{- message.content }}
        {{- '\n</tool_response>' }}
        {%- if loop.last or (messages[loop.index0 + 1].role != "tool") %}
            {{- '<|im_end|>\n' }}
        {%- endif %}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
    {%- if enable_thinking is defined and enable_thinking is false %}
        {{- '<think>\n\n</think>\n\n' }}
    {%- endif %}
{%- endif %}`;

// Llama 3.2 Instruct: picks branches with `'tool_calls' in message` and raises on parallel calls.
const LLAMA32 = String.raw`{{- bos_token }}
{%- if custom_tools is defined %}
    {%- set tools = custom_tools %}
{%- endif %}
{%- if not tools_in_user_message is defined %}
    {%- set tools_in_user_message = true %}
{%- endif %}
{%- if not date_string is defined %}
    {%- if strftime_now is defined %}
        {%- set date_string = strftime_now("%d %b %Y") %}
    {%- else %}
        {%- set date_string = "26 Jul 2024" %}
    {%- endif %}
{%- endif %}
{%- if not tools is defined %}
    {%- set tools = none %}
{%- endif %}

{#- This block extracts the system message, so we can slot it into the right place. #}
{%- if messages[0]['role'] == 'system' %}
    {%- set system_message = messages[0]['content']|trim %}
    {%- set messages = messages[1:] %}
{%- else %}
    {%- set system_message = "" %}
{%- endif %}

{#- System message #}
{{- "<|start_header_id|>system<|end_header_id|>\n\n" }}
{%- if tools is not none %}
    {{- "Environment: ipython\n" }}
{%- endif %}
{{- "Cutting Knowledge Date: December 2023\n" }}
{{- "Today Date: " + date_string + "\n\n" }}
{%- if tools is not none and not tools_in_user_message %}
    {{- "You have access to the following functions. To call a function, please respond with JSON for a function call." }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
{%- endif %}
{{- system_message }}
{{- "<|eot_id|>" }}

{#- Custom tools are passed in a user message with some extra guidance #}
{%- if tools_in_user_message and not tools is none %}
    {#- Extract the first user message so we can plug it in here #}
    {%- if messages | length != 0 %}
        {%- set first_user_message = messages[0]['content']|trim %}
        {%- set messages = messages[1:] %}
    {%- else %}
        {{- raise_exception("Cannot put tools in the first user message when there's no first user message!") }}
{%- endif %}
    {{- '<|start_header_id|>user<|end_header_id|>\n\n' -}}
    {{- "Given the following functions, please respond with a JSON for a function call " }}
    {{- "with its proper arguments that best answers the given prompt.\n\n" }}
    {{- 'Respond in the format {"name": function name, "parameters": dictionary of argument name and its value}.' }}
    {{- "Do not use variables.\n\n" }}
    {%- for t in tools %}
        {{- t | tojson(indent=4) }}
        {{- "\n\n" }}
    {%- endfor %}
    {{- first_user_message + "<|eot_id|>"}}
{%- endif %}

{%- for message in messages %}
    {%- if not (message.role == 'ipython' or message.role == 'tool' or 'tool_calls' in message) %}
        {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + '<|eot_id|>' }}
    {%- elif 'tool_calls' in message %}
        {%- if not message.tool_calls|length == 1 %}
            {{- raise_exception("This model only supports single tool-calls at once!") }}
        {%- endif %}
        {%- set tool_call = message.tool_calls[0].function %}
        {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' -}}
        {{- '{"name": "' + tool_call.name + '", ' }}
        {{- '"parameters": ' }}
        {{- tool_call.arguments | tojson }}
        {{- "}" }}
        {{- "<|eot_id|>" }}
    {%- elif message.role == "tool" or message.role == "ipython" %}
        {{- "<|start_header_id|>ipython<|end_header_id|>\n\n" }}
        {%- if message.content is mapping or message.content is iterable %}
            {{- message.content | tojson }}
        {%- else %}
            {{- message.content }}
        {%- endif %}
        {{- "<|eot_id|>" }}
    {%- endif %}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
`;

const WEATHER: ToolDef = {
  name: "get_weather",
  description: "Get the weather",
  parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};
const WEATHER_JSON =
  '{"type": "function", "function": {"name": "get_weather", "description": "Get the weather", ' +
  '"parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}';
const TOOLS_BLOCK =
  "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
  "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
  WEATHER_JSON +
  "\n</tools>\n\nFor each function call, return a json object with function name and arguments within " +
  '<tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n' +
  "</tool_call><|im_end|>\n";

const CALL = { id: "call_1", name: "get_weather", arguments: '{"city": "Paris", "days": 2}' };
const TOOL_CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You are a weather bot." },
  { role: "user", content: "Weather in Paris?" },
  { role: "assistant", content: "", toolCalls: [CALL] },
  { role: "tool", content: '{"temp": 21}', toolCallId: "call_1", name: "get_weather" },
  { role: "assistant", content: "It is 21 degrees." },
  { role: "user", content: "Thanks" },
];
const TOOL_CONVERSATION_CHATML =
  "<|im_start|>system\nYou are a weather bot.\n\n" +
  TOOLS_BLOCK +
  "<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
  '<|im_start|>assistant\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call><|im_end|>\n' +
  '<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>\n' +
  "<|im_start|>assistant\nIt is 21 degrees.<|im_end|>\n" +
  "<|im_start|>user\nThanks<|im_end|>\n" +
  "<|im_start|>assistant\n";

const FIXED_NOW = () => new Date(2025, 2, 5, 14, 7, 9);

describe("ChatML fallback", () => {
  it("renders a plain chat as ChatML when the model has no template", () => {
    const out = renderChat(
      undefined,
      [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "user", content: "Bye" },
      ],
      { addGenerationPrompt: true },
    );
    expect(out).toBe(
      "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n" +
        "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("leaves the generation prompt off when asked", () => {
    expect(renderChat(undefined, [{ role: "user", content: "Hi" }], { addGenerationPrompt: false })).toBe(
      "<|im_start|>user\nHi<|im_end|>\n",
    );
  });

  it("describes tools, calls and results the way Qwen2.5 does", () => {
    const out = renderChat(undefined, TOOL_CONVERSATION, { tools: [WEATHER], addGenerationPrompt: true });
    expect(out).toBe(TOOL_CONVERSATION_CHATML);
  });

  it("opens a system block for tools when the chat has no system message", () => {
    const out = renderChat(undefined, [{ role: "user", content: "Hi" }], { tools: [WEATHER], addGenerationPrompt: true });
    expect(out).toBe("<|im_start|>system\n" + TOOLS_BLOCK + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  });

  it("falls back when the template does not parse", () => {
    const broken = "{% for message in messages %}{{ message.content }";
    expect(chatTemplateProblem(broken)).toMatch(/does not parse/);
    expect(renderChat(broken, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true })).toBe(
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("reports a missing template as a problem and a good one as none", () => {
    expect(chatTemplateProblem(undefined)).toMatch(/no chat template/);
    expect(chatTemplateProblem(QWEN25)).toBeUndefined();
  });
});

describe("Qwen2.5 template", () => {
  it("renders system, user, tool call, tool result and answer exactly like the ChatML fallback", () => {
    // Qwen2.5 with a system message is the format the fallback copies, so the two must agree
    const out = renderChat(QWEN25, TOOL_CONVERSATION, { tools: [WEATHER], addGenerationPrompt: true });
    expect(out).toBe(TOOL_CONVERSATION_CHATML);
  });

  it("adds its default system prompt without tools", () => {
    const out = renderChat(QWEN25, [{ role: "user", content: "Hi" }], { addGenerationPrompt: true });
    expect(out).toBe(
      "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n" +
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("groups consecutive tool results into one user turn and lists parallel calls", () => {
    const second = { id: "call_2", name: "get_weather", arguments: '{"city":"Rome"}' };
    const out = renderChat(
      QWEN25,
      [
        { role: "user", content: "Paris and Rome?" },
        { role: "assistant", content: "Checking.", toolCalls: [CALL, second] },
        { role: "tool", content: "21", toolCallId: "call_1" },
        { role: "tool", content: "25", toolCallId: "call_2" },
      ],
      { tools: [WEATHER], addGenerationPrompt: true },
    );
    expect(out).toContain(
      '<|im_start|>assistant\nChecking.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call>' +
        '\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Rome"}}\n</tool_call><|im_end|>\n' +
        "<|im_start|>user\n<tool_response>\n21\n</tool_response>\n<tool_response>\n25\n</tool_response><|im_end|>\n" +
        "<|im_start|>assistant\n",
    );
  });
});

describe("Qwen3 template", () => {
  const chat: ChatMessage[] = [
    { role: "system", content: "You are a weather bot." },
    { role: "user", content: "Weather in Paris?" },
    { role: "assistant", content: "", reasoning: "Need the weather.", toolCalls: [CALL] },
    { role: "tool", content: '{"temp": 21}', toolCallId: "call_1", name: "get_weather" },
  ];
  const expected =
    "<|im_start|>system\nYou are a weather bot.\n\n" +
    TOOLS_BLOCK +
    "<|im_start|>user\nWeather in Paris?<|im_end|>\n" +
    "<|im_start|>assistant\n<think>\nNeed the weather.\n</think>\n\n" +
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}\n</tool_call><|im_end|>\n' +
    '<|im_start|>user\n<tool_response>\n{"temp": 21}\n</tool_response><|im_end|>\n' +
    "<|im_start|>assistant\n";

  it("keeps the reasoning of the current turn's tool call and opens the answer", () => {
    expect(renderChat(QWEN3, chat, { tools: [WEATHER], addGenerationPrompt: true })).toBe(expected);
  });

  it("closes an empty think block when thinking is turned off", () => {
    const out = renderChat(QWEN3, chat, { tools: [WEATHER], addGenerationPrompt: true, enableThinking: false });
    expect(out).toBe(expected + "<think>\n\n</think>\n\n");
    expect(thinkingMode(QWEN3, out)).toBe("auto");
  });

  it("drops the reasoning of turns before the last user query", () => {
    const out = renderChat(
      QWEN3,
      [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!", reasoning: "Greet back." },
        { role: "user", content: "Bye" },
      ],
      { addGenerationPrompt: true },
    );
    expect(out).toBe(
      "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n" +
        "<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n",
    );
  });

  it("passes arguments that are not JSON through as text", () => {
    const out = renderChat(
      QWEN3,
      [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "", toolCalls: [{ id: "c", name: "f", arguments: "not json" }] },
      ],
      { addGenerationPrompt: false },
    );
    expect(out).toContain('{"name": "f", "arguments": not json}');
  });
});

describe("Llama 3.2 template", () => {
  it("keeps ordinary messages out of the tool-call branch and stamps the date", () => {
    const out = renderChat(
      LLAMA32,
      [
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello" },
        { role: "user", content: "Bye" },
      ],
      { addGenerationPrompt: true, bosToken: "<|begin_of_text|>", now: FIXED_NOW },
    );
    expect(out).toBe(
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\n" +
        "Today Date: 05 Mar 2025\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>" +
        "<|start_header_id|>assistant<|end_header_id|>\n\nHello<|eot_id|>" +
        "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
    );
  });

  it("writes a tool call as JSON with parameters and the result as ipython", () => {
    const out = renderChat(
      LLAMA32,
      [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: "", toolCalls: [CALL] },
        { role: "tool", content: "21 degrees", toolCallId: "call_1" },
      ],
      { tools: [WEATHER], addGenerationPrompt: true, now: FIXED_NOW },
    );
    expect(out).toContain("Environment: ipython\n");
    expect(out).toContain('    "type": "function",\n    "function": {\n        "name": "get_weather",');
    expect(out).toContain(
      '<|start_header_id|>assistant<|end_header_id|>\n\n{"name": "get_weather", "parameters": {"city": "Paris", "days": 2}}<|eot_id|>' +
        "<|start_header_id|>ipython<|end_header_id|>\n\n",
    );
  });

  it("turns raise_exception into a 400 that quotes the template", () => {
    const two = { ...CALL, id: "call_2" };
    const render = () =>
      renderChat(
        LLAMA32,
        [
          { role: "user", content: "Paris?" },
          { role: "assistant", content: "", toolCalls: [CALL, two] },
        ],
        { tools: [WEATHER], addGenerationPrompt: true, now: FIXED_NOW },
      );
    expect(render).toThrow(RequestError);
    expect(render).toThrow(/only supports single tool-calls/);
    try {
      render();
    } catch (e) {
      expect((e as RequestError).status).toBe(400);
    }
  });
});

describe("Qwen3-Coder template (assistant tool-call part)", () => {
  // verbatim from the Qwen3-Coder template: each argument printed with `value | string`
  const CODER_CALLS = String.raw`{%- for message in messages %}
    {%- if message.role == "assistant" and message.tool_calls is defined and message.tool_calls is iterable and message.tool_calls | length > 0 %}
        {{- '<|im_start|>' + message.role }}
        {%- if message.content is defined and message.content is string and message.content | trim | length > 0 %}
            {{- '\n' + message.content | trim + '\n' }}
        {%- endif %}
        {%- for tool_call in message.tool_calls %}
            {%- if tool_call.function is defined %}
                {%- set tool_call = tool_call.function %}
            {%- endif %}
            {{- '\n<tool_call>\n<function=' + tool_call.name + '>\n' }}
            {%- if tool_call.arguments is defined %}
                {%- for args_name, args_value in tool_call.arguments|items %}
                    {{- '<parameter=' + args_name + '>\n' }}
                    {%- set args_value = args_value if args_value is string else args_value | string %}
                    {{- args_value }}
                    {{- '\n</parameter>\n' }}
                {%- endfor %}
            {%- endif %}
            {{- '</function>\n</tool_call>' }}
        {%- endfor %}
        {{- '<|im_end|>\n' }}
    {%- endif %}
{%- endfor %}`;

  it("writes every argument as a parameter, objects as JSON text", () => {
    const out = renderChat(
      CODER_CALLS,
      [{ role: "assistant", content: "", toolCalls: [{ id: "c", name: "edit", arguments: '{"path":"a.ts","line":3,"opts":{"dry":true,"tags":["x"]}}' }] }],
      { addGenerationPrompt: false },
    );
    expect(out).toBe(
      "<|im_start|>assistant\n<tool_call>\n<function=edit>\n<parameter=path>\na.ts\n</parameter>\n" +
        "<parameter=line>\n3\n</parameter>\n<parameter=opts>\n{\"dry\": true, \"tags\": [\"x\"]}\n</parameter>\n" +
        "</function>\n</tool_call><|im_end|>\n",
    );
  });
});

describe("template errors and helpers", () => {
  it("reports an engine failure at render time as a ChatTemplateError", () => {
    // calling a string is a runtime error in the engine, not a raise_exception
    const render = () => renderChat("{{ messages[0].content() }}", [{ role: "user", content: "x" }], { addGenerationPrompt: true });
    expect(render).toThrow(ChatTemplateError);
    expect(render).toThrow(/failed to render/);
  });

  it("surfaces raise_exception from a custom template as a RequestError", () => {
    const tpl = "{% if messages[0].role != 'system' %}{{ raise_exception('system first') }}{% endif %}ok";
    expect(() => renderChat(tpl, [{ role: "user", content: "x" }], { addGenerationPrompt: true })).toThrow(
      /rejected the messages: system first/,
    );
    expect(renderChat(tpl, [{ role: "system", content: "x" }], { addGenerationPrompt: true })).toBe("ok");
  });

  it("gives tool-call-only assistant turns null content where the template tests content against none", () => {
    const tpl = "{% for m in messages %}{% if m.content is none %}[calls:{{ m.tool_calls|length }}]{% else %}{{ m.content }}{% endif %}{% endfor %}";
    const out = renderChat(
      tpl,
      [
        { role: "user", content: "x" },
        { role: "assistant", content: "", toolCalls: [CALL] },
      ],
      { addGenerationPrompt: false },
    );
    expect(out).toBe("x[calls:1]");
  });

  it("formats strftime_now in English whatever the locale", () => {
    const d = FIXED_NOW();
    expect(strftime(d, "%d %b %Y")).toBe("05 Mar 2025");
    expect(strftime(d, "%A, %B %-d, %Y %H:%M:%S %p %j %%")).toBe("Wednesday, March 5, 2025 14:07:09 PM 064 %");
  });

  it("tells tool-call formats and thinking modes apart", () => {
    expect(templateToolFormat(QWEN25)).toBe("hermes-json");
    expect(templateToolFormat("<tool_call>\n<function={{ name }}>")).toBe("qwen3-coder-xml");
    expect(templateToolFormat(LLAMA32)).toBe("json");
    expect(templateToolFormat("{{ messages }}")).toBe("none");
    expect(thinkingMode(QWEN25, "<|im_start|>assistant\n")).toBe(false);
    expect(thinkingMode(QWEN3, "<|im_start|>assistant\n<think>\n")).toBe(true);
  });

  it("caches the parsed template and renders it again the same", () => {
    const a = renderChat(QWEN3, TOOL_CONVERSATION, { tools: [WEATHER], addGenerationPrompt: true });
    const b = renderChat(QWEN3, TOOL_CONVERSATION, { tools: [WEATHER], addGenerationPrompt: true });
    expect(b).toBe(a);
    expect(a.endsWith("<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n")).toBe(true);
  });
});
