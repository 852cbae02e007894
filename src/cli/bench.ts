// `flint bench`: benchmark suites with reports (results.json, report.md, SVG charts).
import path from "node:path";
import type { Command } from "commander";
import { runBench, type BenchOptions } from "../bench/bench.js";
import { targetFlags } from "../spec/runtime.js";
import type { Suite } from "../bench/results.js";
import type { CacheType } from "../native/context.js";
import { UserError } from "../native/errors.js";
import { CACHE_TYPES, choice, int, num } from "./options.js";
import { MAX_BUDGET } from "../spec/generate-spec.js";
import { resolveModelArg } from "./resolve.js";

const SUITES = ["decode", "prefill", "niah", "sweep", "smoke"] as const;

interface BenchCliOptions {
  suite: Suite;
  model?: string;
  draft?: string;
  scorer?: string;
  prompts?: string;
  limit?: number;
  maxTokens?: number;
  out?: string;
  baseline?: "llama";
  gpuLayers?: number;
  threads?: number;
  ctx?: number;
  flashAttn: "auto" | "on" | "off";
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  sampling: "auto" | "host" | "device";
  treeK: number;
  budget?: number;
  oracleAl: number;
  modes?: string;
  contexts?: string;
  reps?: number;
  keepRatio?: number;
  niahContexts?: string;
  niahTrials?: number;
  sweepOracle?: boolean;
  chainBudgets?: string;
  treeBudgets?: string;
  scorerWindow?: number;
  json?: boolean;
}

/** DDTree budgets: one sequence per path, so at most MAX_BUDGET (LLAMA_MAX_SEQ - 1) */
function budgetList(flag: string, v: string | undefined): number[] | undefined {
  const xs = intList(flag, v);
  if (xs?.some((x) => x > MAX_BUDGET)) throw new UserError(`${flag} takes budgets up to ${MAX_BUDGET} (one KV sequence per tree path), got "${v}"`);
  return xs;
}

function intList(flag: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 1)) throw new UserError(`${flag} expects comma-separated positive integers, got "${v}"`);
  return xs;
}

export function registerBench(program: Command): void {
  program
    .command("bench")
    .description("benchmark suites: decode (AR + speculative modes), sweep (budgets), prefill (TTFT), niah, smoke (all, small, on generated models); writes results.json, report.md and SVG charts")
    .requiredOption("--suite <name>", `one of ${SUITES.join(", ")}`, choice(SUITES))
    .option("-m, --model <file>", "target GGUF (or hf:...); smoke generates its own when omitted")
    .option("--draft <file>", "drafter GGUF: a DFlash drafter (chain, DDTree) or a draft model with the target's vocabulary")
    .option("--scorer <file>", "PFlash scorer GGUF (prefill, niah)")
    .option("--prompts <set|file>", "coding, math, chat, agentic, all (default), a comma list, or a .jsonl file")
    .option("--limit <n>", "first N prompts of each set", int(1))
    .option("-n, --max-tokens <n>", "tokens generated per prompt (default 128; smoke 24)", int(2))
    .option("--out <dir>", "output directory (default bench-out/<suite>-<date>)")
    .option("--baseline <which>", "also run llama.cpp's tools on the same files (needs LLAMA_BIN_DIR): llama", choice(["llama"] as const))
    .option("--gpu-layers <n>", "layers on the GPU (-1 = all; smoke: 0)", int(-1))
    .option("--threads <n>", "CPU threads (smoke: 1)", int(1, 1024))
    .option("-c, --ctx <n>", "context size of the decode contexts", int(16))
    .option("--flash-attn <mode>", "auto, on, off (tree modes always run with it off)", choice(["auto", "on", "off"] as const), "auto")
    .option("--cache-type-k <t>", "K cache type", choice(CACHE_TYPES))
    .option("--cache-type-v <t>", "V cache type", choice(CACHE_TYPES))
    .option("--sampling <where>", "greedy picks: auto (device on a GPU), host, device", choice(["auto", "host", "device"] as const), "auto")
    .option("--tree-k <k>", "DDTree top-k per position", int(2, 16), 4)
    .option("--budget <n>", "DDTree node budget of the decode suite's ddtree mode (default: tuned profile, GPU default, else 16)", int(1, 255))
    .option("--oracle-al <n>", "oracle drafter's simulated mean accepted length", num(0, 15), 6.5)
    .option("--modes <list>", "decode: only these modes (ar always runs): ngram, ngram-auto, dflash-chain, dflash-auto, ddtree, draft-model, oracle")
    .option("--contexts <list>", "prefill: prompt lengths, e.g. 512,2048,8192")
    .option("--reps <n>", "prefill: timed repetitions per length (median)", int(1))
    .option("--keep-ratio <r>", "PFlash keep ratio", num(0, 1))
    .option("--scorer-window <n>", "prefill, niah: the PFlash scorer's prefill attends to the last n positions (default 4096, as run and serve; 0 = all)", int(0))
    .option("--niah-contexts <list>", "niah: haystack sizes in tokens")
    .option("--niah-trials <n>", "niah: haystacks per size", int(1))
    .option("--sweep-oracle", "sweep: also sweep oracle chains (simulated acceptance)")
    .option("--chain-budgets <list>", "sweep: chain depths to measure (default 1,2,3,4,6,7,8,10,12,15)")
    .option("--tree-budgets <list>", "sweep: DDTree node budgets to measure (default 4,8,12,16,22,32,40,48,64; at most 255)")
    .option("--json", "print results.json to stdout when done")
    .action(async (o: BenchCliOptions) => {
      const date = new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19);
      const out = o.out ?? path.join("bench-out", `${o.suite}-${date}`);
      const opts: BenchOptions = {
        suite: o.suite,
        model: o.model === undefined ? undefined : await resolveModelArg(o.model),
        draft: o.draft === undefined ? undefined : await resolveModelArg(o.draft),
        scorer: o.scorer === undefined ? undefined : await resolveModelArg(o.scorer),
        prompts: o.prompts,
        limit: o.limit,
        tokens: o.maxTokens,
        out,
        baseline: o.baseline,
        ...targetFlags(o),
        sampling: o.sampling,
        treeK: o.treeK,
        budget: o.budget,
        oracleAl: o.oracleAl,
        modes: o.modes?.split(",").map((s) => s.trim()).filter(Boolean),
        contexts: intList("--contexts", o.contexts),
        reps: o.reps,
        keepRatio: o.keepRatio,
        niahContexts: intList("--niah-contexts", o.niahContexts),
        niahTrials: o.niahTrials,
        sweepOracle: o.sweepOracle,
        chainBudgets: intList("--chain-budgets", o.chainBudgets),
        treeBudgets: budgetList("--tree-budgets", o.treeBudgets),
        scorerWindow: o.scorerWindow,
        command: ["flint", ...process.argv.slice(2)].join(" "),
      };
      const { results } = await runBench(opts);
      if (o.json) process.stdout.write(JSON.stringify(results) + "\n");
      process.stderr.write(`flint bench: ${results.ok ? "ok" : "FAILED"}; results in ${out} (results.json, report.md${results.charts.length ? ", " + results.charts.join(", ") : ""})\n`);
      for (const f of results.failures) process.stderr.write(`flint bench: mismatch: ${f}\n`);
      if (!results.ok) process.exitCode = 1;
    });
}
