// Pieces the streaming protocol encoders share: starting a generation so that input errors still get
// a proper HTTP status, tying generation to the client connection, and cutting the flat GenEvent
// stream into the content blocks / output items that Anthropic and Responses both describe.
import { randomBytes } from "node:crypto";
import type { Context } from "hono";
import type { GenerationService, GenEvent, GenRequest } from "./types.js";

/** `msg_` + 24 random hex digits */
export function randomId(prefix: string): string {
  return `${prefix}${randomBytes(12).toString("hex")}`;
}

/** An AbortController that fires when the client goes away (request body or response cut). */
export function clientAbortController(c: Context): AbortController {
  const ac = new AbortController();
  const sig = c.req.raw.signal;
  if (sig.aborted) ac.abort(sig.reason);
  else sig.addEventListener("abort", () => ac.abort(sig.reason), { once: true });
  return ac;
}

/**
 * Starts the generation and waits for its first event. The service throws input errors (prompt too
 * long, queue full) before its first event, so awaiting it here lets the route answer with a JSON
 * error and a real status instead of a 200 SSE stream that fails at once.
 */
export async function startGeneration(
  service: GenerationService,
  req: GenRequest,
): Promise<AsyncGenerator<GenEvent, void, undefined>> {
  const gen = service.stream(req);
  const first = await gen.next();
  return (async function* () {
    try {
      if (first.done) return;
      yield first.value;
      yield* gen;
    } finally {
      // a consumer that stops early (client gone) must still let the service clean up its slot
      await gen.return(undefined);
    }
  })();
}

export type Segment =
  | { kind: "text"; text: string }
  | { kind: "reasoning"; text: string }
  | { kind: "tool"; id: string; name: string; text: string };

export type SegmentOp =
  | { op: "start"; index: number; segment: Segment }
  | { op: "delta"; index: number; text: string }
  | { op: "stop"; index: number };

/**
 * Groups deltas into segments: a run of text, a run of reasoning, or one tool call with its
 * arguments. A segment ends when a different kind begins, so segments are strictly sequential, as
 * Anthropic's content blocks must be.
 *
 * types.ts promises a call's `tool_args` follow its `tool_call`; were one to arrive after another
 * segment began, its text is still kept (segments[i].text, used by non-stream and `done` events) but
 * no delta is emitted for a segment already stopped.
 */
export class Segmenter {
  readonly segments: Segment[] = [];
  private open = -1;
  private readonly toolSegment = new Map<number, number>();

  push(ev: GenEvent): SegmentOp[] {
    const ops: SegmentOp[] = [];
    switch (ev.type) {
      case "text":
      case "reasoning": {
        if (ev.text === "") break;
        if (this.open < 0 || this.segments[this.open].kind !== ev.type) {
          ops.push(...this.finish(), this.start({ kind: ev.type, text: "" }));
        }
        this.segments[this.open].text += ev.text;
        ops.push({ op: "delta", index: this.open, text: ev.text });
        break;
      }
      case "tool_call": {
        ops.push(...this.finish(), this.start({ kind: "tool", id: ev.id, name: ev.name, text: "" }));
        this.toolSegment.set(ev.index, this.open);
        break;
      }
      case "tool_args": {
        const seg = this.toolSegment.get(ev.index);
        if (seg === undefined || ev.delta === "") break;
        this.segments[seg].text += ev.delta;
        if (seg === this.open) ops.push({ op: "delta", index: seg, text: ev.delta });
        break;
      }
      case "done":
        break;
    }
    return ops;
  }

  /** Stops the open segment, if any. */
  finish(): SegmentOp[] {
    if (this.open < 0) return [];
    const index = this.open;
    this.open = -1;
    return [{ op: "stop", index }];
  }

  private start(segment: Segment): SegmentOp {
    this.segments.push(segment);
    this.open = this.segments.length - 1;
    return { op: "start", index: this.open, segment };
  }
}
