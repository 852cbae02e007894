// Model quantization through libllama (llama_model_quantize), by the names llama-quantize uses.
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { getNative } from "./index.js";
import { LlamaError, UserError } from "./errors.js";
import { checkGgufFile } from "./model.js";
import { clearRecentLog, recentProblems } from "./log.js";

export const FTYPES: Record<string, number> = {
  F32: 0, F16: 1, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K_S: 11, Q3_K_M: 12, Q3_K_L: 13,
  Q4_K_S: 14, Q4_K_M: 15, Q5_K_S: 16, Q5_K_M: 17, Q6_K: 18, IQ4_NL: 25, IQ4_XS: 30, BF16: 32,
};

export interface QuantizeOptions {
  threads?: number;
  /** quantize every tensor to the one type (no k-quant mixture) */
  pure?: boolean;
}

export function quantizeModel(input: string, output: string, type: string, opts: QuantizeOptions = {}): void {
  const ftype = FTYPES[type.toUpperCase()];
  if (ftype === undefined) throw new UserError(`unknown quantization type "${type}" (expected one of ${Object.keys(FTYPES).join(", ")})`);
  checkGgufFile(input);
  if (existsSync(output) && output === input) throw new UserError("output must differ from input");
  const { llama } = getNative();
  const p = llama.llama_model_quantize_default_params();
  p.ftype = ftype;
  p.nthread = opts.threads ?? availableParallelism();
  if (opts.pure) p.pure = true;
  clearRecentLog();
  const rc = llama.llama_model_quantize(input, output, p);
  if (rc !== 0) {
    const why = recentProblems(3);
    throw new LlamaError(`quantizing ${input} to ${type} failed${why.length ? `: ${why.join("; ")}` : ""}`);
  }
}
