// llama.cpp baselines on the same GGUF files in the same run: llama-bench (tg / pp, `-o json`) and
// llama-server (/completion with the same rendered prompts, plain and with its own DFlash). Only
// when LLAMA_BIN_DIR names a directory with those tools. Parsing is separate from running so it is
// tested on recorded outputs.
import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { z } from "zod";

const LlamaBenchRow = z.object({
  build_commit: z.string().optional(),
  n_prompt: z.number(),
  n_gen: z.number(),
  n_depth: z.number().optional(),
  avg_ts: z.number(),
  stddev_ts: z.number(),
  model_filename: z.string().optional(),
  backends: z.string().optional(),
  gpu_info: z.string().optional(),
});

export interface LlamaBenchResult {
  test: string;
  nPrompt: number;
  nGen: number;
  tokensPerSecond: number;
  stddev: number;
  buildCommit?: string;
}

/** Parses `llama-bench -o json` output (an array of test objects) into tg/pp rows. */
export function parseLlamaBenchJson(text: string): LlamaBenchResult[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // llama-bench may print log lines before the JSON: take the outermost array
    const a = text.indexOf("[");
    const b = text.lastIndexOf("]");
    if (a < 0 || b < a) throw new Error("llama-bench printed no JSON");
    json = JSON.parse(text.slice(a, b + 1));
  }
  const rows = z.array(LlamaBenchRow).parse(json);
  return rows.map((r) => ({
    test: r.n_prompt > 0 && r.n_gen > 0 ? `pp${r.n_prompt}+tg${r.n_gen}` : r.n_prompt > 0 ? `pp${r.n_prompt}` : `tg${r.n_gen}`,
    nPrompt: r.n_prompt,
    nGen: r.n_gen,
    tokensPerSecond: r.avg_ts,
    stddev: r.stddev_ts,
    buildCommit: r.build_commit,
  }));
}

const ServerTimings = z.object({
  prompt_n: z.number().optional(),
  prompt_ms: z.number().optional(),
  predicted_n: z.number(),
  predicted_ms: z.number(),
  predicted_per_second: z.number().optional(),
  draft_n: z.number().optional(),
  draft_n_accepted: z.number().optional(),
});
const ServerCompletion = z.object({ tokens: z.array(z.number()).optional(), timings: ServerTimings });

export interface ServerCompletionResult {
  tokens?: number[];
  predictedN: number;
  predictedMs: number;
  promptN?: number;
  promptMs?: number;
  draftN?: number;
  draftAccepted?: number;
}

/** Parses one llama-server /completion response (non-streaming, with timings). */
export function parseServerCompletion(json: unknown): ServerCompletionResult {
  const r = ServerCompletion.parse(json);
  const t = r.timings;
  return { tokens: r.tokens, predictedN: t.predicted_n, predictedMs: t.predicted_ms, promptN: t.prompt_n, promptMs: t.prompt_ms, draftN: t.draft_n, draftAccepted: t.draft_n_accepted };
}

/** Aggregate generation speed over completions: sum of tokens / sum of generation time. */
export function aggregateServer(results: readonly ServerCompletionResult[]): { tokensPerSecond: number; draftN?: number; draftAccepted?: number } {
  const n = results.reduce((s, r) => s + r.predictedN, 0);
  const ms = results.reduce((s, r) => s + r.predictedMs, 0);
  const withDraft = results.filter((r) => r.draftN !== undefined);
  return {
    tokensPerSecond: ms > 0 ? (n * 1000) / ms : 0,
    ...(withDraft.length
      ? { draftN: withDraft.reduce((s, r) => s + (r.draftN ?? 0), 0), draftAccepted: withDraft.reduce((s, r) => s + (r.draftAccepted ?? 0), 0) }
      : {}),
  };
}

export interface LlamaTools {
  dir: string;
  bench?: string;
  server?: string;
}

/** The tools in LLAMA_BIN_DIR, or why there are none. */
export function findLlamaTools(env: NodeJS.ProcessEnv = process.env): LlamaTools | { missing: string } {
  const dir = env.LLAMA_BIN_DIR;
  if (!dir) return { missing: "LLAMA_BIN_DIR is not set" };
  const exe = process.platform === "win32" ? ".exe" : "";
  const bench = path.join(dir, `llama-bench${exe}`);
  const server = path.join(dir, `llama-server${exe}`);
  const tools: LlamaTools = { dir, ...(existsSync(bench) ? { bench } : {}), ...(existsSync(server) ? { server } : {}) };
  if (!tools.bench && !tools.server) return { missing: `no llama-bench or llama-server in LLAMA_BIN_DIR=${dir}` };
  return tools;
}

export interface LlamaRunOptions {
  model: string;
  gpuLayers: number;
  threads?: number;
  flashAttn: "auto" | "on" | "off";
  cacheTypeK?: string;
  cacheTypeV?: string;
}

function commonArgs(o: LlamaRunOptions): string[] {
  const a = ["-ngl", String(o.gpuLayers < 0 ? 999 : o.gpuLayers), "-fa", o.flashAttn];
  if (o.threads) a.push("-t", String(o.threads));
  if (o.cacheTypeK) a.push("-ctk", o.cacheTypeK);
  if (o.cacheTypeV) a.push("-ctv", o.cacheTypeV);
  return a;
}

/** llama-bench: tg `nGen` at depth 0 and/or pp at each prompt length; `reps` repetitions each. */
export function runLlamaBench(tools: LlamaTools, o: LlamaRunOptions & { nGen?: number; nPrompt?: number[]; reps: number }): LlamaBenchResult[] {
  if (!tools.bench) throw new Error(`llama-bench not found in ${tools.dir}`);
  const args = ["-m", o.model, ...commonArgs(o), "-r", String(o.reps), "-o", "json"];
  args.push("-p", o.nPrompt?.length ? o.nPrompt.join(",") : "0", "-n", String(o.nGen ?? 0));
  const r = spawnSync(tools.bench, args, { encoding: "utf8", maxBuffer: 64 << 20, timeout: 30 * 60_000 });
  if (r.status !== 0) throw new Error(`llama-bench ${args.join(" ")} failed (exit ${r.status}): ${(r.stderr ?? "").trim().split("\n").slice(-3).join(" | ")}`);
  return parseLlamaBenchJson(r.stdout);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      const port = typeof a === "object" && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface ServerRun {
  results: ServerCompletionResult[];
  log: string;
}

/**
 * Starts llama-server (plain, or with a DFlash drafter: `-md D --spec-type draft-dflash
 * --spec-draft-n-max N`), sends each prompt to /completion at temperature 0 with a fixed token count,
 * and stops it.
 */
export async function runLlamaServer(
  tools: LlamaTools,
  o: LlamaRunOptions & { ctx: number; prompts: string[]; nPredict: number; dflash?: { draft: string; nMax: number } },
): Promise<ServerRun> {
  if (!tools.server) throw new Error(`llama-server not found in ${tools.dir}`);
  const port = await freePort();
  const args = ["-m", o.model, ...commonArgs(o), "-c", String(o.ctx), "-np", "1", "--host", "127.0.0.1", "--port", String(port)];
  if (o.dflash) args.push("-md", o.dflash.draft, "--spec-type", "draft-dflash", "--spec-draft-n-max", String(o.dflash.nMax), "-ngld", String(o.gpuLayers < 0 ? 999 : o.gpuLayers));
  const child = spawn(tools.server, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  const keep = (b: Buffer) => {
    log = (log + b.toString()).slice(-20_000);
  };
  child.stdout.on("data", keep);
  child.stderr.on("data", keep);
  let exited = false;
  child.on("exit", () => (exited = true));
  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      if (exited) throw new Error(`llama-server exited while loading: ${log.trim().split("\n").slice(-3).join(" | ")}`);
      if (Date.now() > deadline) throw new Error("llama-server did not become healthy within 10 minutes");
      const ok = await fetch(`${base}/health`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const results: ServerCompletionResult[] = [];
    // one warm-up request, not measured
    for (const [i, prompt] of [o.prompts[0], ...o.prompts].entries()) {
      const res = await fetch(`${base}/completion`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ prompt, n_predict: i === 0 ? 8 : o.nPredict, temperature: 0, ignore_eos: true, return_tokens: true, cache_prompt: false }),
      });
      if (!res.ok) throw new Error(`llama-server /completion: HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
      const parsed = parseServerCompletion(await res.json());
      if (i > 0) results.push(parsed);
    }
    return { results, log };
  } finally {
    child.kill("SIGTERM");
    await new Promise<void>((resolve) => {
      if (exited) return resolve();
      const t = setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, 5000);
      child.on("exit", () => {
        clearTimeout(t);
        resolve();
      });
    });
  }
}
