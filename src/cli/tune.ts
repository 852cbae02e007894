// `flint tune`: measure the best speculative budget for a target/drafter pair on this machine and
// store it as a profile that `flint run` picks up.
import type { Command } from "commander";
import { runTune } from "../bench/tune.js";
import { targetFlags } from "../spec/runtime.js";
import type { CacheType } from "../native/context.js";
import { UserError } from "../native/errors.js";
import { CACHE_TYPES, choice, int, num } from "./options.js";
import { resolveModelArg } from "./resolve.js";


interface TuneCliOptions {
  model: string;
  draft: string;
  outProfile?: string;
  prompts?: string;
  limit: number;
  maxTokens: number;
  treeK: number;
  chainBudgets?: string;
  treeBudgets?: string;
  gpuLayers: number;
  threads?: number;
  ctx?: number;
  flashAttn: "auto" | "on" | "off";
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  tolerance: number;
  json?: boolean;
}

function list(flag: string, v: string | undefined): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.some((x) => !Number.isInteger(x) || x < 1 || x > 255)) throw new UserError(`${flag} expects comma-separated integers in [1, 255], got "${v}"`);
  return xs;
}

export function registerTune(program: Command): void {
  program
    .command("tune")
    .description("sweep speculative budgets for a target/drafter pair on this machine and store the best as a profile (used by flint run when --budget is not given)")
    .requiredOption("-m, --model <file>", "target GGUF (or hf:...)")
    .requiredOption("--draft <file>", "drafter GGUF (DFlash drafter or draft model)")
    .option("--out-profile <file>", "write the profile here (default: <config dir>/profiles/, FLINT_CONFIG_DIR moves it)")
    .option("--prompts <set|file>", "prompt sets: coding, math, chat, agentic, all (default), or a .jsonl file")
    .option("--limit <n>", "first N prompts of each set", int(1), 2)
    .option("-n, --max-tokens <n>", "tokens generated per prompt", int(2), 128)
    .option("--tree-k <k>", "DDTree top-k per position (1 = chains only)", int(1, 16), 4)
    .option("--chain-budgets <list>", "chain depths to try (default 1,2,3,4,6,7,8,10,12,15)")
    .option("--tree-budgets <list>", "DDTree node budgets to try (default 4,8,12,16,22,32,40,48,64)")
    .option("--gpu-layers <n>", "layers on the GPU (-1 = all)", int(-1), -1)
    .option("--threads <n>", "CPU threads", int(1, 1024))
    .option("-c, --ctx <n>", "context size", int(16))
    .option("--flash-attn <mode>", "auto, on, off (trees always run with it off)", choice(["auto", "on", "off"] as const), "auto")
    .option("--cache-type-k <t>", "K cache type", choice(CACHE_TYPES))
    .option("--cache-type-v <t>", "V cache type", choice(CACHE_TYPES))
    .option("--tolerance <r>", "choices within this relative distance of the fastest count as ties; the cheapest wins", num(0, 1), 0.02)
    .option("--json", "print {file, profile} as JSON instead of the path")
    .action(async (o: TuneCliOptions) => {
      const { profile, file } = await runTune({
        modelPath: await resolveModelArg(o.model),
        draftPath: await resolveModelArg(o.draft),
        prompts: o.prompts,
        limit: o.limit,
        tokens: o.maxTokens,
        treeK: o.treeK,
        chainBudgets: list("--chain-budgets", o.chainBudgets),
        treeBudgets: list("--tree-budgets", o.treeBudgets),
        ...targetFlags(o),
        outProfile: o.outProfile,
        tolerance: o.tolerance,
        command: ["flint", ...process.argv.slice(2)].join(" "),
      });
      const b = profile.best;
      process.stderr.write(
        `flint tune: best on ${profile.device}: ${b.shape === "ar" ? "plain decoding (speculation does not pay with this pair here)" : `${b.drafter} ${b.shape}${b.shape === "tree" ? ` top-${b.treeK}` : ""} budget ${b.budget}`} at ${b.tokensPerSecond.toFixed(1)} tok/s (${b.speedup.toFixed(2)}x plain)` +
          `; chain length ${profile.chainLength ?? "-"}, tree budget ${profile.tree ? `${profile.tree.budget} (top-${profile.tree.treeK})` : "-"}\n`,
      );
      process.stdout.write(o.json ? JSON.stringify({ file, profile }) + "\n" : `${file}\n`);
    });
}
