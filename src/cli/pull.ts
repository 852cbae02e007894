// `flint pull hf:<user>/<repo>[:<quant>]`: download a model into the Hugging Face cache (resumable,
// verified) and print its path; notes, progress and drafter suggestions go to stderr.
import type { Command } from "commander";
import { pullModel, type PullResult } from "../models/hub.js";
import { formatBytes, formatCount, inspectModel } from "../models/inspect.js";
import { formatSuggestion, suggestDrafters } from "../models/pairing.js";
import { byteProgress } from "./progress.js";

interface PullOptions {
  offline?: boolean;
  json?: boolean;
}

export function registerPull(program: Command): void {
  program
    .command("pull")
    .description("download a GGUF model from Hugging Face into the shared cache (~/.cache/huggingface/hub)")
    .argument("<model>", "hf:<user>/<repo>[@<revision>][:<quant>] (default quant Q4_K_M) or hf:<user>/<repo>/<file.gguf>")
    .option("--offline", "only check the cache (also HF_HUB_OFFLINE=1)")
    .option("--json", "print one JSON object instead of the path")
    .addHelpText(
      "after",
      "\nEnvironment: HF_TOKEN (gated or private repos), HF_ENDPOINT (a mirror), HF_HOME / HF_HUB_CACHE (cache location).\n" +
        "An interrupted download resumes where it stopped when the same pull is run again.",
    )
    .action(async (spec: string, o: PullOptions) => {
      const progress = byteProgress();
      const log = (line: string) => process.stderr.write(`flint: ${line}\n`);
      let r: PullResult;
      try {
        r = await pullModel(spec, {
          offline: o.offline,
          log: (l) => {
            progress.stop();
            log(l);
          },
          onProgress: (p) => progress.update(p.done, p.total, p.file),
        });
      } finally {
        progress.stop();
      }
      const info = await inspectModel(r.path).catch((e: Error) => e);
      const suggestions = suggestDrafters(r.repo);
      if (o.json) {
        const model = info instanceof Error ? { error: info.message } : { architecture: info.architecture, parameters: info.parameterCount, quantization: info.quantization };
        process.stdout.write(JSON.stringify({ ...r, model, drafters: suggestions }) + "\n");
        return;
      }
      const got = r.files.some((f) => f.downloaded) ? "downloaded" : "already in the cache";
      const parts = r.files.length > 1 ? `, ${r.files.length} parts` : "";
      log(`${r.spec} ${r.quant ?? ""} ${got} (${formatBytes(r.totalBytes)}${parts}, commit ${r.commit.slice(0, 12)})`.replace(/  +/g, " "));
      if (info instanceof Error) log(`note: the file could not be read as a model: ${info.message}`);
      else log(`${info.architecture}, ${formatCount(info.parameterCount)} parameters, ${info.quantization}, context ${info.contextLength ?? "?"}`);
      if (suggestions.length) {
        log(`known drafters for ${r.repo} (check a pair with \`flint pair\`):`);
        for (const s of suggestions) process.stderr.write(`  ${formatSuggestion(s)}\n`);
      }
      process.stdout.write(r.path + "\n");
    });
}
