// Streaming parser from generated text to text / reasoning / tool-call events.
//
// Generation arrives in arbitrary pieces (a token can end in the middle of `<tool_call>`), so the
// parser keeps a small unconsumed buffer and never emits a tail that could still turn into a tag;
// like a stop-string matcher it releases that tail as soon as it no longer can. Every format is
// recognised at once, so the parser need not know the template:
//   - reasoning: `<think>...</think>` at the start of the output (or from the first character when
//     the prompt already opened `<think>`)
//   - Qwen2.5 / Hermes: `<tool_call>\n{"name": ..., "arguments": {...}}\n</tool_call>`
//   - Qwen3-Coder: `<tool_call>\n<function=f>\n<parameter=p>\nvalue\n</parameter>\n</function>\n</tool_call>`
//     (also without the `<tool_call>` wrapper, which these models sometimes drop)
//   - Llama 3.x style plain JSON: the output body is `{"name": ..., "parameters"|"arguments": ...}`
// Arguments stream as compact JSON object text; a call cut short (max tokens, stop string) is closed
// so that the arguments text is still valid JSON.
//
// Malformed calls. Until the function name is known nothing is emitted for a block, and if it never
// becomes a call (no parsable name, broken JSON, a stray `<tool_call>` in prose) the whole block is
// released as text exactly as generated, so nothing is lost. Once the name is known the call has been
// streamed and cannot be taken back: if its arguments then break, they are closed where they broke
// (valid JSON, possibly missing the tail) and the rest of that `<tool_call>` block is dropped as
// call syntax rather than shown as answer text.

import type { GenEvent, OutputParser, ToolDef } from "./types.js";
import { EventSink, newToolCallId } from "./output-events.js";
import { JsonArgsStreamer, matchCallHeader, parseWholeCall } from "./tool-call-json.js";

export { mergeDeltas, newToolCallId } from "./output-events.js";

export interface OutputParserOptions {
  /** tools were offered: look for tool calls (otherwise all tags stay text) */
  tools: boolean;
  /** true: the prompt opened `<think>`, generation starts inside reasoning; "auto": a `<think>` at
   *  the very start of the output opens reasoning; false: no reasoning parsing */
  thinking: boolean | "auto";
  /** the offered tools: their parameter schemas tell XML-style string parameters from JSON ones,
   *  and a plain-JSON call must name one of them */
  toolDefs?: readonly ToolDef[];
  /** call id generator (tests); default `call_` + 24 random alphanumerics */
  newId?: () => string;
}

export function createOutputParser(opts: OutputParserOptions): OutputParser {
  return new StreamingOutputParser(opts);
}

const THINK_OPEN = "<think>";
const THINK_CLOSE = "</think>";
const CALL_OPEN = "<tool_call>";
const CALL_CLOSE = "</tool_call>";
const FN_OPEN = "<function=";
const FN_CLOSE = "</function>";
const PARAM_OPEN = "<parameter=";
const PARAM_CLOSE = "</parameter>";
/** a call head longer than this is not streamed; the block is parsed whole at its end */
const HEADER_CAP = 512;
const NAME_CAP = 256;
const JSON_START = /[{["\-0-9tfn]/;

type State =
  | "start"
  | "reasoning"
  | "bodyStart"
  | "text"
  | "callOpen"
  | "jsonHeader"
  | "jsonArgs"
  | "jsonTail"
  | "whole"
  | "raw"
  | "xmlName"
  | "xmlBody"
  | "xmlParamName"
  | "xmlParamValue"
  | "skipToCallClose"
  | "optionalCallClose";

class StreamingOutputParser implements OutputParser {
  private buf = "";
  private readonly out: EventSink;
  private state: State;
  private finished = false;

  /** the current block: tagged (`<tool_call>`) or not, and its raw text while no call is committed */
  private tagged = false;
  private raw: string[] | undefined;
  private args: JsonArgsStreamer | undefined;
  /** plain JSON call: depth scan for the closing brace of the outer object */
  private tailDepth = 1;
  private tailInStr = false;
  private tailEsc = false;
  private nameParts = "";
  private fnName = "";
  private paramCount = 0;
  private paramName = "";
  private paramStart = true;
  private paramStream = false;
  private paramParts: string[] = [];

  constructor(private readonly opts: OutputParserOptions) {
    this.out = new EventSink(opts.newId ?? newToolCallId);
    this.state = opts.thinking === false ? "bodyStart" : "start";
  }

  get toolCallCount(): number {
    return this.out.calls;
  }

  push(text: string): GenEvent[] {
    if (this.finished) throw new Error("output parser: push after finish");
    this.buf += text;
    this.pump(false);
    return this.out.drain();
  }

  finish(): GenEvent[] {
    if (this.finished) return [];
    this.pump(true);
    this.finished = true;
    this.out.finish();
    return this.out.drain();
  }

  private pump(final: boolean): void {
    while (this.step(final));
  }

  /** One state's work on the buffer; false when it needs more input (or, when final, is done). */
  private step(final: boolean): boolean {
    switch (this.state) {
      case "start":
        return this.stepStart(final);
      case "reasoning": {
        const r = this.takeUntil([THINK_CLOSE], final);
        this.out.reasoning(r.text);
        if (!r.marker) return false;
        this.out.endReasoning();
        this.state = "bodyStart";
        return true;
      }
      case "bodyStart":
        return this.stepBodyStart(final);
      case "text":
        return this.stepText(final);
      case "callOpen":
        return this.stepCallOpen(final);
      case "jsonHeader":
        return this.stepJsonHeader(final);
      case "jsonArgs":
        return this.stepJsonArgs(final);
      case "jsonTail":
        return this.tagged ? this.skipTo(CALL_CLOSE, final, "text") : this.stepPlainTail(final);
      case "whole":
        return this.stepWhole(final);
      case "raw": {
        const r = this.takeUntil([CALL_CLOSE], final);
        if (!r.marker && !final) return false;
        this.releaseRaw();
        return true;
      }
      case "xmlName":
        return this.stepXmlName(final);
      case "xmlBody":
        return this.stepXmlBody(final);
      case "xmlParamName":
        return this.stepXmlParamName(final);
      case "xmlParamValue":
        return this.stepXmlParamValue(final);
      case "skipToCallClose":
        return this.skipTo(CALL_CLOSE, final, "text");
      case "optionalCallClose": {
        const rest = this.buf.trimStart();
        if (!final && rest.length < CALL_CLOSE.length && CALL_CLOSE.startsWith(rest)) return false;
        if (rest.startsWith(CALL_CLOSE)) this.buf = rest.slice(CALL_CLOSE.length);
        this.state = "text";
        return true;
      }
    }
  }

  private stepStart(final: boolean): boolean {
    const rest = this.buf.trimStart();
    if (!final && rest.length < THINK_OPEN.length && THINK_OPEN.startsWith(rest)) return false;
    if (rest.startsWith(THINK_OPEN)) {
      this.buf = rest.slice(THINK_OPEN.length);
      this.state = "reasoning";
    } else {
      // thinking: true opened <think> in the prompt; a repeated one from the model is swallowed above
      this.state = this.opts.thinking === true ? "reasoning" : "bodyStart";
    }
    return true;
  }

  private stepBodyStart(final: boolean): boolean {
    if (!this.opts.tools) {
      this.state = "text";
      return true;
    }
    const i = firstNonWs(this.buf);
    if (i < 0 && !final) return false;
    if (i >= 0 && this.buf[i] === "{") {
      this.out.text(this.buf.slice(0, i));
      this.buf = this.buf.slice(i);
      this.openBlock(false, "");
      this.state = "jsonHeader";
    } else this.state = "text";
    return true;
  }

  private stepText(final: boolean): boolean {
    if (!this.opts.tools) {
      this.out.text(this.buf);
      this.buf = "";
      return false;
    }
    const r = this.takeUntil([CALL_OPEN, FN_OPEN], final);
    this.out.text(r.text);
    if (r.marker === CALL_OPEN) {
      this.openBlock(true, CALL_OPEN);
      this.state = "callOpen";
    } else if (r.marker === FN_OPEN) {
      this.openBlock(false, FN_OPEN);
      this.state = "xmlName";
    } else return false;
    return true;
  }

  private stepCallOpen(final: boolean): boolean {
    const i = firstNonWs(this.buf);
    if (i < 0) {
      if (!final) return false;
      this.state = "raw";
      return true;
    }
    const rest = this.buf.slice(i);
    if (rest[0] === "{") {
      this.consume(i);
      this.state = "jsonHeader";
    } else if (rest.startsWith(FN_OPEN)) {
      this.consume(i + FN_OPEN.length);
      this.state = "xmlName";
    } else if (!final && rest.length < FN_OPEN.length && FN_OPEN.startsWith(rest)) {
      return false;
    } else this.state = "raw";
    return true;
  }

  private stepJsonHeader(final: boolean): boolean {
    // the head stays in the buffer until decided, so a failed match can go on as whole/raw/text
    let m = matchCallHeader(this.buf);
    if (m.status === "partial") {
      if (!final && this.buf.length <= HEADER_CAP) return false;
      m = { status: this.tagged ? "whole" : "fail" };
    }
    if (m.status === "match" && !this.tagged && !this.knownTool(m.name)) m = { status: "fail" };
    if (m.status === "match") {
      this.consume(m.end);
      this.commit(m.name);
      this.args = new JsonArgsStreamer();
      this.state = "jsonArgs";
    } else if (m.status === "whole" || this.tagged) {
      this.state = "whole";
    } else {
      // plain output that merely starts with `{`: it is the answer, not a call
      this.raw = undefined;
      this.state = "text";
    }
    return true;
  }

  private stepJsonArgs(final: boolean): boolean {
    const args = this.args!;
    const { consumed, out } = args.feed(this.buf);
    this.consume(consumed);
    if (out) this.out.args(out);
    if (args.state === "done") {
      this.tailDepth = 1;
      this.tailInStr = this.tailEsc = false;
      this.state = "jsonTail";
      return true;
    }
    if (args.state === "open" && !final) return false;
    // a cut-off or broken arguments value: close it as far as it parsed, drop the rest of a tagged
    // block (it is call syntax, not answer text); after a plain call the rest reads as text
    this.out.args(args.heal());
    this.state = this.tagged ? "skipToCallClose" : "text";
    return true;
  }

  private stepPlainTail(final: boolean): boolean {
    let i = 0;
    for (; i < this.buf.length && this.tailDepth > 0; i++) {
      const c = this.buf[i];
      if (this.tailInStr) {
        if (this.tailEsc) this.tailEsc = false;
        else if (c === "\\") this.tailEsc = true;
        else if (c === '"') this.tailInStr = false;
      } else if (c === '"') this.tailInStr = true;
      else if (c === "{" || c === "[") this.tailDepth++;
      else if (c === "}" || c === "]") this.tailDepth--;
    }
    this.buf = this.buf.slice(i);
    if (this.tailDepth > 0 && !final) return false;
    this.out.dropTextLeadingWs = true;
    this.state = "bodyStart";
    return this.buf.length > 0;
  }

  private stepWhole(final: boolean): boolean {
    const r = this.tagged ? this.takeUntil([CALL_CLOSE], final) : this.takeUntil([], final);
    if (!r.marker && !final) return false;
    const raw = this.raw!.join("");
    const body = this.tagged ? raw.slice(CALL_OPEN.length, raw.length - (r.marker ? CALL_CLOSE.length : 0)) : raw;
    const call = parseWholeCall(body.trim());
    if (call && (this.tagged || this.knownTool(call.name))) {
      this.commit(call.name);
      this.out.args(call.arguments);
      this.out.dropTextLeadingWs = true;
      this.state = "text";
    } else this.releaseRaw();
    return true;
  }

  private stepXmlName(final: boolean): boolean {
    const r = this.takeUntil([">"], final);
    this.nameParts += r.text;
    const name = this.nameParts.trim();
    const bad = /\s/.test(name) || this.nameParts.length > NAME_CAP;
    if (!r.marker && !final && !bad) return false;
    this.nameParts = "";
    if (!r.marker || bad || name === "") {
      // not a function tag after all: the text stays text
      if (this.tagged) this.state = "raw";
      else this.releaseRaw();
      return true;
    }
    this.commit(name);
    this.fnName = name;
    this.paramCount = 0;
    this.state = "xmlBody";
    return true;
  }

  private stepXmlBody(final: boolean): boolean {
    // anything between parameters that is not a parameter is dropped: it is inside call syntax
    const r = this.takeUntil([PARAM_OPEN, FN_CLOSE], final);
    if (r.marker === PARAM_OPEN) {
      this.state = "xmlParamName";
      return true;
    }
    if (!r.marker && !final) return false;
    this.out.args(this.paramCount === 0 ? "{}" : "}");
    this.state = r.marker && this.tagged ? "skipToCallClose" : r.marker ? "optionalCallClose" : "text";
    if (r.marker) this.out.dropTextLeadingWs = true;
    return true;
  }

  private stepXmlParamName(final: boolean): boolean {
    const r = this.takeUntil([">"], final);
    this.nameParts += r.text;
    if (!r.marker && !final && this.nameParts.length <= NAME_CAP) return false;
    const name = this.nameParts.trim();
    this.nameParts = "";
    if (!r.marker || name === "" || name.length > NAME_CAP) {
      this.state = "xmlBody";
      return true;
    }
    this.paramName = name;
    this.paramStart = true;
    this.paramParts = [];
    this.state = "xmlParamValue";
    return true;
  }

  private stepXmlParamValue(final: boolean): boolean {
    if (this.paramStart) {
      // the template writes `<parameter=p>\nvalue\n</parameter>`: one newline each side is syntax
      if (this.buf.length === 0 && !final) return false;
      if (this.buf[0] === "\n") this.buf = this.buf.slice(1);
      if (this.buf.length === 0 && !final) return false;
      this.paramStart = false;
      const asString = this.stringParam(this.fnName, this.paramName);
      this.paramStream = asString ?? (this.buf.length > 0 && !JSON_START.test(this.buf[0]));
      if (this.paramStream) this.out.args(this.paramPrefix() + '"');
    }
    const r = this.takeUntil([PARAM_CLOSE], final, true);
    let piece = r.text;
    const end = r.marker !== undefined || final;
    if (end && piece.endsWith("\n")) piece = piece.slice(0, -1);
    if (this.paramStream) {
      const escaped = JSON.stringify(piece).slice(1, -1);
      if (escaped || end) this.out.args(end ? escaped + '"' : escaped);
    } else this.paramParts.push(piece);
    if (!end) return false;
    if (!this.paramStream) {
      const value = this.paramParts.join("");
      let json: string;
      try {
        json = JSON.stringify(JSON.parse(value));
      } catch {
        json = JSON.stringify(value);
      }
      this.out.args(this.paramPrefix() + json);
    }
    this.paramCount++;
    this.state = "xmlBody";
    return true;
  }

  private paramPrefix(): string {
    return (this.paramCount === 0 ? "{" : ",") + JSON.stringify(this.paramName) + ":";
  }

  /** true/false when the tool's schema says whether the parameter is a string; undefined if unknown */
  private stringParam(fn: string, param: string): boolean | undefined {
    const def = this.opts.toolDefs?.find((t) => t.name === fn);
    const props = def?.parameters?.properties as Record<string, { type?: unknown }> | undefined;
    const type = props?.[param]?.type;
    if (typeof type === "string") return type === "string";
    if (Array.isArray(type)) return type.every((t) => t === "string" || t === "null");
    return undefined;
  }

  private knownTool(name: string): boolean {
    return !this.opts.toolDefs || this.opts.toolDefs.some((t) => t.name === name);
  }

  private skipTo(marker: string, final: boolean, next: State): boolean {
    const r = this.takeUntil([marker], final);
    if (!r.marker && !final) return false;
    this.out.dropTextLeadingWs = true;
    this.state = next;
    return true;
  }

  // ---- buffer ----

  /** Removes n characters from the buffer, remembering them while a block may still be plain text. */
  private consume(n: number): string {
    const s = this.buf.slice(0, n);
    this.buf = this.buf.slice(n);
    this.raw?.push(s);
    return s;
  }

  /**
   * Consumes up to and including the earliest marker, returning the text before it. Without a
   * marker, consumes all but a tail that could still begin one (all of it when final);
   * holdNewline also keeps one newline before that tail, which belongs to the marker's syntax.
   */
  private takeUntil(markers: readonly string[], final: boolean, holdNewline = false): { text: string; marker?: string } {
    let at = -1;
    let found: string | undefined;
    for (const m of markers) {
      const j = this.buf.indexOf(m);
      if (j >= 0 && (at < 0 || j < at)) {
        at = j;
        found = m;
      }
    }
    if (found !== undefined) {
      const text = this.consume(at);
      this.consume(found.length);
      return { text, marker: found };
    }
    let keep = final ? 0 : heldTail(this.buf, markers);
    if (!final && holdNewline && this.buf[this.buf.length - keep - 1] === "\n") keep++;
    return { text: this.consume(this.buf.length - keep) };
  }

  // ---- blocks and events ----

  private openBlock(tagged: boolean, opener: string): void {
    this.tagged = tagged;
    this.raw = [opener];
  }

  /** The block was not a tool call: its text goes out as it was written, nothing lost. */
  private releaseRaw(): void {
    const text = this.raw ? this.raw.join("") : "";
    this.raw = undefined;
    this.out.text(text);
    this.state = "text";
  }

  private commit(name: string): void {
    this.raw = undefined;
    this.out.toolCall(name);
  }
}

function firstNonWs(s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
  }
  return -1;
}

/** Length of the longest proper suffix of s that is a prefix of one of the markers. */
function heldTail(s: string, markers: readonly string[]): number {
  let max = 0;
  for (const m of markers) max = Math.max(max, m.length - 1);
  for (let k = Math.min(max, s.length); k > 0; k--) {
    const tail = s.slice(s.length - k);
    if (markers.some((m) => m.startsWith(tail))) return k;
  }
  return 0;
}
