import type { Command } from "commander";
import { FTYPES, quantizeModel } from "../native/quantize.js";
import { int } from "./options.js";

export function registerQuantize(program: Command): void {
  program
    .command("quantize")
    .description("quantize a GGUF model through libllama (same types as llama-quantize)")
    .argument("<input>", "input GGUF (F32/F16/BF16)")
    .argument("<output>", "output GGUF")
    .argument("<type>", `target type: ${Object.keys(FTYPES).join(", ")}`)
    .option("--threads <n>", "threads (default: all cores)", int(1, 1024))
    .option("--pure", "one type for every tensor, no k-quant mixture")
    .action((input: string, output: string, type: string, o: { threads?: number; pure?: boolean }) => {
      const t0 = Date.now();
      quantizeModel(input, output, type, { threads: o.threads, pure: o.pure });
      process.stdout.write(`quantized ${input} -> ${output} (${type.toUpperCase()}) in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    });
}
