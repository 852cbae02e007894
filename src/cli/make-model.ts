// `flint make-model`: write a random-weight test model (qwen3 target or matching dflash drafter).
import { InvalidArgumentError, type Command } from "commander";
import type { ShapeOverrides } from "../models/arch-qwen3.js";
import { makeModel, MODEL_ARCHS, type MakeModelResult } from "../models/make-model.js";
import { QWEN3_PRESETS } from "../models/arch-qwen3.js";
import { formatBytes, formatCount } from "../models/inspect.js";
import { UserError } from "../native/errors.js";
import { choice, int } from "./options.js";

interface MakeModelCliOptions extends ShapeOverrides {
  arch: string;
  out: string;
  preset?: string;
  target?: string;
  seed?: number;
  type?: string;
  tied?: boolean;
  blockSize?: number;
  targetLayers?: number[];
  maskTokenId?: number;
  name?: string;
  fullRandom?: boolean;
  json?: boolean;
}

function intList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError(`expected comma-separated layer ids like 2,4,6, got "${value}"`);
  return parts.map(Number);
}

/** Plain Errors from makeModel describe bad input; anything else (TypeError...) is a bug and keeps its stack. */
export function asUserError(e: unknown): unknown {
  return e instanceof Error && e.constructor === Error ? new UserError(e.message) : e;
}

export function summarizeMakeModel(r: MakeModelResult): string {
  const what = r.arch !== "dflash" ? `${r.arch} ${r.preset ?? ""}`.trim() : `dflash drafter (${r.layers} layers, block ${r.dflash?.blockSize}, target layers [${r.dflash?.targetLayers.join(",")}])`;
  return `${what}: ${formatCount(r.params)} params, ${formatBytes(r.bytes)} ${r.type.toUpperCase()} -> ${r.path} (${r.seconds.toFixed(1)} s)`;
}

export function registerMakeModel(program: Command): void {
  program
    .command("make-model")
    .description("write a random-weight GGUF test model: a qwen3 or qwen35 (hybrid Gated DeltaNet) target, or a dflash drafter matched to one")
    .requiredOption("--arch <arch>", `architecture: ${MODEL_ARCHS.join(" | ")}`, choice(MODEL_ARCHS))
    .requiredOption("-o, --out <file>", "output .gguf path")
    .option("--preset <name>", `qwen3 shape: ${QWEN3_PRESETS.join(" | ")}; qwen35: tiny (default tiny)`, choice(QWEN3_PRESETS))
    .option("--target <file>", "dflash: the target GGUF to match (hidden size, vocabulary, layers)")
    .option("--layers <n>", "number of blocks", int(1))
    .option("--embd <n>", "hidden size", int(1))
    .option("--ff <n>", "feed-forward size", int(1))
    .option("--heads <n>", "attention heads", int(1))
    .option("--kv-heads <n>", "KV heads (must divide --heads)", int(1))
    .option("--head-dim <n>", "head dimension", int(1))
    .option("--vocab <n>", "vocabulary size; beyond the built-in BPE it is padded with unused tokens", int(1))
    .option("--ctx <n>", "training context length (metadata)", int(1))
    .option("--seed <n>", "weight seed (default 1)", int(0, 0xffffffff))
    .option("--type <type>", "matrix type: f16 | f32 (default f16; norms are always f32)", choice(["f16", "f32"] as const))
    .option("--tied", "qwen3: tie the output head to token_embd (preset default: only 0.6b)")
    .option("--no-tied", "qwen3: separate output head")
    .option("--block-size <n>", "dflash: draft block size (default 16)", int(2))
    .option("--target-layers <ids>", "dflash: target layer ids whose inputs feed the drafter, e.g. 2,18,34", intList)
    .option("--mask-token-id <id>", "dflash: mask token (default the target's <|mask|>)", int(0))
    .option("--name <name>", "general.name")
    .option("--full-random", "fully random weights in every tensor (slower for real-size models)")
    .option("--json", "print the result as one JSON object")
    .action(async (o: MakeModelCliOptions) => {
      const progress = !o.json && process.stderr.isTTY;
      let result: MakeModelResult;
      try {
        result = await makeModel({
          ...o,
          tiedEmbeddings: o.tied,
          onProgress: progress
            ? (done, total) => process.stderr.write(`\rwriting ${formatBytes(done)} / ${formatBytes(total)}   ${done === total ? "\n" : ""}`)
            : undefined,
        });
      } catch (e) {
        throw asUserError(e);
      }
      process.stdout.write(o.json ? JSON.stringify(result) + "\n" : summarizeMakeModel(result) + "\n");
    });
}
