// The event side of output parsing: text and reasoning deltas with their whitespace rules, tool-call
// numbering and ids, and merging of adjacent deltas. output-parser.ts decides what the text is.

import { randomBytes } from "node:crypto";
import type { GenEvent } from "./types.js";

const ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `call_` + 24 random alphanumerics (~143 bits: unique without bookkeeping). */
export function newToolCallId(): string {
  let id = "call_";
  for (const b of randomBytes(24)) id += ALNUM[b % ALNUM.length];
  return id;
}

/** Merges adjacent text, reasoning, and same-call tool_args deltas. */
export function mergeDeltas(events: readonly GenEvent[]): GenEvent[] {
  const out: GenEvent[] = [];
  for (const e of events) {
    const last = out[out.length - 1];
    if ((e.type === "text" || e.type === "reasoning") && last?.type === e.type) {
      out[out.length - 1] = { type: e.type, text: last.text + e.text };
    } else if (e.type === "tool_args" && last?.type === "tool_args" && last.index === e.index) {
      out[out.length - 1] = { type: "tool_args", index: e.index, delta: last.delta + e.delta };
    } else out.push(e);
  }
  return out;
}

/**
 * Collects one push's events. Whitespace at the edges of the answer and of the reasoning is layout
 * (`</think>\n\n`, the newline before `<tool_call>`), so trailing whitespace is held until more
 * content follows and leading whitespace is dropped where a block begins.
 */
export class EventSink {
  private events: GenEvent[] = [];
  private textWs = "";
  private reasoningWs = "";
  private reasoningStarted = false;
  /** set where the answer text (re)starts after reasoning or a call */
  dropTextLeadingWs = false;
  calls = 0;
  private index = -1;

  constructor(private readonly newId: () => string) {}

  text(s: string): void {
    if (this.dropTextLeadingWs) {
      s = s.trimStart();
      if (!s) return;
      this.dropTextLeadingWs = false;
    }
    const core = s.trimEnd();
    if (core) {
      this.events.push({ type: "text", text: this.textWs + core });
      this.textWs = "";
    }
    this.textWs += s.slice(core.length);
  }

  reasoning(s: string): void {
    if (!this.reasoningStarted) {
      s = s.trimStart();
      if (!s) return;
      this.reasoningStarted = true;
    }
    const core = s.trimEnd();
    if (core) {
      this.events.push({ type: "reasoning", text: this.reasoningWs + core });
      this.reasoningWs = "";
    }
    this.reasoningWs += s.slice(core.length);
  }

  endReasoning(): void {
    this.reasoningWs = "";
    this.dropTextLeadingWs = true;
  }

  /** A tool call begins; whitespace between the text and the call is dropped with it. */
  toolCall(name: string): void {
    this.textWs = "";
    this.index = this.calls++;
    this.events.push({ type: "tool_call", index: this.index, id: this.newId(), name });
  }

  /** A piece of the current call's arguments. */
  args(delta: string): void {
    if (delta) this.events.push({ type: "tool_args", index: this.index, delta });
  }

  /** End of output: the answer keeps its trailing whitespace, unclosed reasoning does not. */
  finish(): void {
    if (this.textWs) this.events.push({ type: "text", text: this.textWs });
    this.textWs = "";
  }

  drain(): GenEvent[] {
    const out = mergeDeltas(this.events);
    this.events = [];
    return out;
  }
}
