// Runs one request through a FlintService (no HTTP): greedy by default, text and the final event.
import type { FlintService } from "../../src/server/service.js";
import type { GenEvent, GenRequest } from "../../src/server/types.js";

export const GREEDY = { temperature: 0, topK: 40, topP: 1, minP: 0, repeatPenalty: 1, frequencyPenalty: 0, presencePenalty: 0 };

export async function streamRequest(s: FlintService, prompt: string | number[], extra: Partial<GenRequest> = {}) {
  const req: GenRequest = { prompt, sampling: GREEDY, maxTokens: 48, stop: [], signal: new AbortController().signal, ...extra };
  let text = "";
  let done: Extract<GenEvent, { type: "done" }> | undefined;
  for await (const e of s.stream(req)) {
    if (e.type === "text") text += e.text;
    if (e.type === "done") done = e;
  }
  return { text, done: done! };
}
