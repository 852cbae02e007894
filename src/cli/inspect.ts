// `flint inspect FILE`: architecture, size, quantization and shape of a GGUF, read from its header.
import type { Command } from "commander";
import { formatModelInfo, inspectModel } from "../models/inspect.js";
import { asUserError } from "./make-model.js";

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show a GGUF model's architecture, parameter count, quantization and shape")
    .argument("<file>", "GGUF file")
    .option("--json", "print one JSON object (the chat template itself is left out unless --template)")
    .option("--template", "include the chat template text")
    .action(async (file: string, o: { json?: boolean; template?: boolean }) => {
      let info;
      try {
        info = await inspectModel(file);
      } catch (e) {
        throw asUserError(e);
      }
      if (!o.template) delete info.chatTemplate;
      if (o.json) process.stdout.write(JSON.stringify(info) + "\n");
      else process.stdout.write(formatModelInfo(info) + (o.template && info.chatTemplate ? `\nchat template:\n${info.chatTemplate}` : "") + "\n");
    });
}
