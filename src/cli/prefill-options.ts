// The PFlash flags `flint run` and `flint serve` share, and loading the scorer they name.
import type { Command } from "commander";
import { DEFAULT_KEEP_RATIO, DEFAULT_PREFILL_THRESHOLD, DEFAULT_SCORER_WINDOW, loadPrefill, PREFILL_COMPRESSION, type PFlash, type PrefillCompression } from "../prefill/pflash.js";
import { choice, int, num } from "./options.js";
import { resolveModelArg } from "./resolve.js";

export interface PrefillFlags {
  prefillCompression: PrefillCompression;
  prefillThreshold: number;
  keepRatio: number;
  scorer?: string;
  scorerWindow: number;
}

/** `autoMeans` completes the help of --prefill-compression and --prefill-threshold: what "auto" counts. */
export function addPrefillOptions(cmd: Command, autoMeans: { compression: string; threshold: string }): Command {
  return cmd
    .option("--prefill-compression <mode>", `PFlash speculative prefill (lossy): off; auto = ${autoMeans.compression}; always`, choice(PREFILL_COMPRESSION), "auto")
    .option("--prefill-threshold <n>", `PFlash auto: ${autoMeans.threshold}`, int(1), DEFAULT_PREFILL_THRESHOLD)
    .option("--keep-ratio <r>", "PFlash: fraction of 32-token prompt chunks the target evaluates (head and tail chunks always)", num(0, 1), DEFAULT_KEEP_RATIO)
    .option("--scorer <file>", "PFlash scorer GGUF (or hf:...): a small qwen3-architecture model, e.g. Qwen3-0.6B")
    .option("--scorer-window <n>", "PFlash: the scorer's prefill attends to the last n positions only (0 = all: exact scores, O(n^2); the window is O(n x window) and keeps nearly the same chunks)", int(0), DEFAULT_SCORER_WINDOW);
}

/** The PFlash the flags ask for (undefined: none). Load it before the target: a bad --scorer fails first. */
export async function loadPrefillFlags(o: PrefillFlags & { gpuLayers: number; threads?: number }, modelPath: string): Promise<PFlash | undefined> {
  return loadPrefill(
    {
      compression: o.prefillCompression,
      threshold: o.prefillThreshold,
      keepRatio: o.keepRatio,
      scorer: o.scorer === undefined ? undefined : await resolveModelArg(o.scorer),
      scorerDevice: o.gpuLayers === 0 ? "cpu" : "auto",
      threads: o.threads,
      scorerWindow: o.scorerWindow,
    },
    modelPath,
  );
}
