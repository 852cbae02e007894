// JSON pieces of tool-call parsing: recognising the head of a `{"name": ..., "arguments": ...}` call
// while it is still arriving, streaming its arguments object as compact JSON, and parsing a call held
// whole. Used by output-parser.ts; pure functions and one small state machine, no I/O.

export type HeaderMatch =
  | { status: "partial" }
  /** not a call head we can stream (the caller decides whether it is a call at all) */
  | { status: "fail" }
  /** the arguments key came before the name: only a whole parse can tell the call */
  | { status: "whole" }
  /** name known; `end` is the index of the first character of the arguments value */
  | { status: "match"; name: string; end: number };

const PARTIAL: HeaderMatch = { status: "partial" };
const FAIL: HeaderMatch = { status: "fail" };
const WHOLE: HeaderMatch = { status: "whole" };

function skipWs(s: string, i: number): number {
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Reads the JSON string starting at s[i] (a quote). */
function readString(s: string, i: number): { value: string; end: number } | "partial" | "fail" {
  let j = i + 1;
  while (j < s.length) {
    const c = s[j];
    if (c === "\\") j += 2;
    else if (c === '"') {
      try {
        return { value: JSON.parse(s.slice(i, j + 1)) as string, end: j + 1 };
      } catch {
        return "fail";
      }
    } else j++;
  }
  return "partial";
}

/**
 * Matches the start of a call object: `{`, then string-valued `name` / `type` / `id` keys in any order,
 * then `arguments` or `parameters`. Scans from the start each time, so callers cap the input length.
 */
export function matchCallHeader(s: string): HeaderMatch {
  let i = skipWs(s, 0);
  if (i >= s.length) return PARTIAL;
  if (s[i] !== "{") return FAIL;
  i++;
  let name: string | undefined;
  for (;;) {
    i = skipWs(s, i);
    if (i >= s.length) return PARTIAL;
    if (s[i] !== '"') return FAIL;
    const key = readString(s, i);
    if (key === "partial") return PARTIAL;
    if (key === "fail") return FAIL;
    i = skipWs(s, key.end);
    if (i >= s.length) return PARTIAL;
    if (s[i] !== ":") return FAIL;
    i = skipWs(s, i + 1);
    if (i >= s.length) return PARTIAL;
    if (key.value === "arguments" || key.value === "parameters") {
      return name !== undefined ? { status: "match", name, end: i } : WHOLE;
    }
    if (key.value !== "name" && key.value !== "type" && key.value !== "id") return FAIL;
    if (s[i] !== '"') return FAIL;
    const value = readString(s, i);
    if (value === "partial") return PARTIAL;
    if (value === "fail") return FAIL;
    if (key.value === "name") {
      if (value.value === "") return FAIL;
      name = value.value;
    }
    i = skipWs(s, value.end);
    if (i >= s.length) return PARTIAL;
    if (s[i] !== ",") return FAIL;
    i++;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Arguments as compact JSON object text, accepting the double-encoded string some models write. */
function argumentsText(args: unknown): string | undefined {
  if (args === undefined || args === null) return "{}";
  if (typeof args === "string") {
    try {
      const inner: unknown = JSON.parse(args);
      return isObject(inner) ? JSON.stringify(inner) : undefined;
    } catch {
      return undefined;
    }
  }
  return isObject(args) ? JSON.stringify(args) : undefined;
}

/** A call held whole: `{"name", "arguments"|"parameters"}` or OpenAI's `{"function": {...}}` shape. */
export function parseWholeCall(body: string): { name: string; arguments: string } | undefined {
  let v: unknown;
  try {
    v = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(v)) return undefined;
  const fn = isObject(v.function) ? v.function : v;
  if (typeof fn.name !== "string" || fn.name === "") return undefined;
  const args = argumentsText(fn.arguments !== undefined ? fn.arguments : fn.parameters);
  return args === undefined ? undefined : { name: fn.name, arguments: args };
}

const enum Mode {
  Init,
  /** a value is due (after `:`, or after `,` in an array) */
  Value,
  /** after `[`: a value or `]` */
  FirstItem,
  /** after `{`: a key or `}` */
  FirstKey,
  /** after `,` in an object */
  Key,
  Colon,
  After,
  Str,
  Esc,
  Lit,
  /** the whole arguments value is a JSON string (double-encoded arguments) */
  TopStr,
}

const LITERAL = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)$/;
const LIT_CHAR = /[0-9a-zA-Z.+-]/;
const SIMPLE_ESC = '"\\/bfnrt';

/**
 * Streams one arguments object as compact JSON (whitespace outside strings dropped, raw control
 * characters inside strings escaped). What it has emitted can always be closed into valid JSON by
 * heal(): commas, keys and number/literal tokens are held back until the value after them starts or
 * ends, so a cut never leaves a dangling `,`, `"key":` or `tru`.
 */
export class JsonArgsStreamer {
  private mode = Mode.Init;
  private stack: Array<"}" | "]"> = [];
  /** emitted later: a comma, a key with its colon, a literal token, an escape sequence */
  private pending = "";
  private litStart = 0;
  private strIsKey = false;
  private topStr = "";
  private escBuf = "";
  private emittedAny = false;
  state: "open" | "done" | "error" = "open";

  /** Consumes characters of s up to the end of the value (or an error). */
  feed(s: string): { consumed: number; out: string } {
    let out = "";
    let i = 0;
    for (; i < s.length && this.state === "open"; i++) {
      const c = s[i];
      const code = s.charCodeAt(i);
      switch (this.mode) {
        case Mode.Init:
          if (isWs(code)) break;
          if (c === "{") {
            out += "{";
            this.stack.push("}");
            this.mode = Mode.FirstKey;
          } else if (c === '"') {
            this.topStr = '"';
            this.mode = Mode.TopStr;
          } else this.state = "error";
          break;
        case Mode.TopStr:
          this.topStr += c;
          if (this.escBuf) this.escBuf = "";
          else if (c === "\\") this.escBuf = c;
          else if (c === '"') {
            const text = argumentsText(safeParse(this.topStr));
            if (text === undefined) this.state = "error";
            else {
              out += text;
              this.state = "done";
            }
          }
          break;
        case Mode.Value:
        case Mode.FirstItem:
          if (isWs(code)) break;
          if (c === "{" || c === "[") {
            out += this.pending + c;
            this.pending = "";
            this.stack.push(c === "{" ? "}" : "]");
            this.mode = c === "{" ? Mode.FirstKey : Mode.FirstItem;
          } else if (c === '"') {
            out += this.pending + '"';
            this.pending = "";
            this.strIsKey = false;
            this.mode = Mode.Str;
          } else if (c === "]" && this.mode === Mode.FirstItem) {
            out += "]";
            this.stack.pop();
            this.afterClose();
          } else if (LIT_CHAR.test(c)) {
            this.litStart = this.pending.length;
            this.pending += c;
            this.mode = Mode.Lit;
          } else this.state = "error";
          break;
        case Mode.FirstKey:
        case Mode.Key:
          if (isWs(code)) break;
          if (c === '"') {
            this.pending += '"';
            this.strIsKey = true;
            this.mode = Mode.Str;
          } else if (c === "}" && this.mode === Mode.FirstKey) {
            out += "}";
            this.stack.pop();
            this.afterClose();
          } else this.state = "error";
          break;
        case Mode.Str:
          if (c === '"') {
            if (this.strIsKey) {
              this.pending += '"';
              this.mode = Mode.Colon;
            } else {
              out += '"';
              this.mode = Mode.After;
            }
          } else if (c === "\\") {
            this.escBuf = "\\";
            this.mode = Mode.Esc;
          } else {
            const piece = code < 0x20 ? JSON.stringify(c).slice(1, -1) : c;
            if (this.strIsKey) this.pending += piece;
            else out += piece;
          }
          break;
        case Mode.Esc: {
          // an escape is emitted only once complete, so a cut never leaves half of one
          this.escBuf += c;
          const n = this.escBuf.length;
          const ok = n === 2 ? SIMPLE_ESC.includes(c) || c === "u" : /^[0-9a-fA-F]$/.test(c);
          if (!ok) {
            this.escBuf = "";
            this.state = "error";
          } else if ((n === 2 && c !== "u") || n === 6) {
            if (this.strIsKey) this.pending += this.escBuf;
            else out += this.escBuf;
            this.escBuf = "";
            this.mode = Mode.Str;
          }
          break;
        }
        case Mode.Colon:
          if (isWs(code)) break;
          if (c === ":") {
            this.pending += ":";
            this.mode = Mode.Value;
          } else this.state = "error";
          break;
        case Mode.Lit:
          if (LIT_CHAR.test(c) && this.pending.length - this.litStart < 64) {
            this.pending += c;
            break;
          }
          if (!LITERAL.test(this.pending.slice(this.litStart))) {
            this.state = "error";
            break;
          }
          out += this.pending;
          this.pending = "";
          this.mode = Mode.After;
          i--; // the delimiter is read again in After
          break;
        case Mode.After:
          if (isWs(code)) break;
          if (c === ",") {
            this.pending = ",";
            this.mode = this.stack[this.stack.length - 1] === "}" ? Mode.Key : Mode.Value;
          } else if (c === this.stack[this.stack.length - 1]) {
            out += c;
            this.stack.pop();
            this.afterClose();
          } else this.state = "error";
          break;
      }
    }
    if (out) this.emittedAny = true;
    return { consumed: i, out };
  }

  private afterClose(): void {
    if (this.stack.length === 0) this.state = "done";
    else this.mode = Mode.After;
  }

  /** Text that closes what was emitted into valid JSON (`{}` when nothing was). Ends the stream. */
  heal(): string {
    if (this.state === "done") return "";
    this.state = "done";
    if (!this.emittedAny) return "{}";
    let tail = "";
    if (this.mode === Mode.Str && !this.strIsKey) tail = '"';
    else if (this.mode === Mode.Esc && !this.strIsKey) tail = '"';
    else if (this.mode === Mode.Lit && LITERAL.test(this.pending.slice(this.litStart))) tail = this.pending;
    return tail + [...this.stack].reverse().join("");
  }
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
