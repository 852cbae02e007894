// PFlash behind flint serve (tiny generated target; the same tiny model as scorer): the report is in
// every compressed response (never silent), keep ratio 1 gives plain output, a compressed request
// leaves the server consistent for the next one (prefix cache, DFlash drafter), and "auto" leaves
// prompts below the threshold alone.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tinyDrafterPath, tinyModelPath } from "../helpers/models.js";
import { spawnServe, type ServeProcess } from "./spawn.js";

type Reply = { choices: { message: { content: string } }[]; usage: { prompt_tokens: number; prompt_tokens_details?: { cached_tokens: number } }; prefill?: { prompt_tokens: number; kept_tokens: number; keep_ratio: number; scorer_ms: number; target_prefill_ms: number } };

const LONG = Array.from({ length: 60 }, (_, i) => `line ${i}: the keeper walked the stairs and counted ${i * 7} steps.`).join("\n");

async function chat(s: ServeProcess, content: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  const r = await fetch(`${s.url}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [{ role: "user", content }], max_tokens: 12, temperature: 0, ...extra }),
  });
  expect(r.status).toBe(200);
  return (await r.json()) as Reply;
}

describe("PFlash in flint serve", () => {
  const servers: ServeProcess[] = [];
  let plain: ServeProcess;
  beforeAll(async () => {
    plain = await spawnServe(["--model", await tinyModelPath(), "--ctx", "2048", "--spec", "none"]);
    servers.push(plain);
  });
  afterAll(async () => {
    for (const s of servers) expect(await s.stop()).toBe(0);
  });

  it("keep ratio 1 reports the prefill and answers as plain prefill does", async () => {
    const m = await tinyModelPath();
    const s = await spawnServe(["--model", m, "--ctx", "2048", "--spec", "none", "--scorer", m, "--prefill-compression", "always", "--keep-ratio", "1"]);
    servers.push(s);
    const a = await chat(s, LONG);
    const b = await chat(plain, LONG);
    expect(a.prefill).toBeDefined();
    expect(a.prefill!.prompt_tokens).toBe(a.usage.prompt_tokens);
    expect(a.prefill!.kept_tokens).toBe(a.usage.prompt_tokens);
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
    expect(b.prefill).toBeUndefined();
  });

  it("compresses with the DFlash drafter and stays consistent for the next turn", async () => {
    const m = await tinyModelPath();
    const s = await spawnServe(["--model", m, "--draft", await tinyDrafterPath(), "--ctx", "2048", "--scorer", m, "--prefill-compression", "always", "--keep-ratio", "0.3"]);
    servers.push(s);
    const first = await chat(s, LONG);
    expect(first.prefill!.kept_tokens).toBeLessThan(first.prefill!.prompt_tokens);
    expect(first.prefill!.keep_ratio).toBeCloseTo(first.prefill!.kept_tokens / first.prefill!.prompt_tokens, 3);
    // the same prompt again: the KV before the first skipped chunk is reused, the rest compressed again
    const again = await chat(s, LONG);
    expect(again.usage.prompt_tokens).toBe(first.usage.prompt_tokens);
    expect(again.choices[0].message.content).toBe(first.choices[0].message.content);
    // speculation can be turned off per request and the result is the same target choice sequence
    const noSpec = await chat(s, LONG, { speculative: false });
    expect(noSpec.choices[0].message.content).toBe(first.choices[0].message.content);
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
  });

  it("auto leaves prompts below the threshold alone", async () => {
    const m = await tinyModelPath();
    const s = await spawnServe(["--model", m, "--ctx", "2048", "--spec", "none", "--scorer", m, "--prefill-threshold", "100000"]);
    servers.push(s);
    const a = await chat(s, LONG);
    const b = await chat(plain, LONG);
    expect(a.prefill).toBeUndefined();
    expect(a.choices[0].message.content).toBe(b.choices[0].message.content);
  });

  it("refuses always without a scorer before listening", async () => {
    await expect(spawnServe(["--model", await tinyModelPath(), "--prefill-compression", "always"])).rejects.toThrow(/needs a scorer/);
  });
});
