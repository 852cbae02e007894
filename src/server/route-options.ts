// What the protocol routes (Anthropic messages, OpenAI responses) share besides the service: the
// server's sampling defaults, body parsing, and turning a zod failure into one readable 400.
import type { Context } from "hono";
import type { z } from "zod";
import { RequestError } from "./errors.js";
import type { SamplingParams } from "./types.js";

export interface RouteOptions {
  /** sampling used for every parameter the request leaves out */
  defaults: SamplingParams;
  /** max generated tokens when the protocol lets the client leave it out (Responses) */
  defaultMaxTokens: number;
}

/** The request body as JSON, whatever the Content-Type says (curl users often send none). */
export async function readJsonBody(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") throw new RequestError(400, "request body is empty: expected a JSON object");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new RequestError(400, `request body is not valid JSON: ${(err as Error).message}`);
  }
}

export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new RequestError(400, "request body must be a JSON object");
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const { path, message } = describeIssue(r.error.issues[0] as Issue, []);
  const param = formatPath(path);
  throw new RequestError(400, param ? `${param}: ${message}` : message, param || undefined);
}

/** `messages[0].content[1].type` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const p of path) out += typeof p === "number" ? `[${p}]` : out ? `.${String(p)}` : String(p);
  return out;
}

interface Issue {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  errors?: Issue[][];
}

// zod reports a failed union as "Invalid input" with one error list per branch. The branch that got
// past its type check (its errors sit deeper than the union itself) says what is actually wrong, e.g.
// `content[1].text: expected string` instead of `content: Invalid input`.
function describeIssue(issue: Issue, base: PropertyKey[]): { path: PropertyKey[]; message: string } {
  const path = [...base, ...issue.path];
  if (issue.code === "invalid_union" && issue.errors?.length) {
    let best: Issue | undefined;
    let bestDepth = 0;
    for (const branch of issue.errors) {
      for (const e of branch) {
        const depth = e.path.length + (e.code === "invalid_union" ? 0.5 : 0);
        if (depth > bestDepth) [best, bestDepth] = [e, depth];
      }
    }
    if (best) return describeIssue(best, path);
    if (issue.errors.flat().every((e) => e.message.endsWith("received undefined"))) return { path, message: "is required" };
    const expected = [...new Set(issue.errors.flat().map((e) => e.expected).filter(Boolean))];
    if (expected.length) return { path, message: `expected ${expected.join(" or ")}` };
  }
  if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
    return { path, message: "is required" };
  }
  return { path, message: issue.message.replace(/^Invalid input: /, "") };
}

/** The request's sampling over the server defaults. */
export function mergeSampling(
  defaults: SamplingParams,
  over: { temperature?: number | null; topP?: number | null; topK?: number | null },
): SamplingParams {
  return {
    ...defaults,
    temperature: over.temperature ?? defaults.temperature,
    topP: over.topP ?? defaults.topP,
    topK: over.topK ?? defaults.topK,
  };
}
