// `flint pair TARGET DRAFT`: does a drafter or scorer fit a target? Read from the GGUF headers only.
import type { Command } from "commander";
import { checkPair, defaultPairKind, formatPairCheck, PAIR_KINDS, type PairKind } from "../models/pairing.js";
import { UserError } from "../native/errors.js";
import { inspectArg } from "./inspect.js";
import { choice } from "./options.js";

export function registerPair(program: Command): void {
  program
    .command("pair")
    .description("check that a drafter (dflash, draft model) or PFlash scorer fits a target: vocabulary, layers, hidden size")
    .argument("<target>", "target GGUF file or hf: spec")
    .argument("<draft>", "drafter or scorer GGUF file or hf: spec")
    .option("--kind <kind>", `${PAIR_KINDS.join(", ")} (default: dflash for a dflash file, else draft-model)`, choice(PAIR_KINDS))
    .option("--json", "print the check as one JSON object")
    .option("--offline", "resolve hf: models from the cache only")
    .action(async (targetSpec: string, draftSpec: string, o: { kind?: PairKind; json?: boolean; offline?: boolean }) => {
      const target = await inspectArg(targetSpec, { offline: o.offline, tokens: true });
      const draft = await inspectArg(draftSpec, { offline: o.offline, tokens: true });
      const r = checkPair(target, draft, o.kind ?? defaultPairKind(draft));
      process.stdout.write((o.json ? JSON.stringify(r) : formatPairCheck(r)) + "\n");
      if (!r.ok) throw new UserError(`not a compatible pair: ${r.errors[0]}`);
    });
}
