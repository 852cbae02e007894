// `flint inspect FILE|hf:...`: architecture, size, quantization, vocabulary, layer kinds and a memory
// estimate, read from the GGUF header; with --draft, whether a drafter fits it.
import type { Command } from "commander";
import { formatBytes, formatModelInfo, inspectModel, type ModelInfo } from "../models/inspect.js";
import { CACHE_TYPES, estimateMemory, memoryInputFor, type CacheType, type MemoryEstimate } from "../models/memory.js";
import { checkPair, defaultPairKind, formatPairCheck, PAIR_KINDS, type PairCheck, type PairKind } from "../models/pairing.js";
import { UserError } from "../native/errors.js";
import { asUserError } from "./make-model.js";
import { choice, int } from "./options.js";
import { resolveModelArg } from "./resolve.js";

interface InspectOptions {
  json?: boolean;
  template?: boolean;
  ctx?: number;
  cacheTypeK: CacheType;
  cacheTypeV: CacheType;
  ubatch: number;
  flashAttn: "on" | "off";
  draft?: string;
  kind?: PairKind;
  offline?: boolean;
}

export async function inspectArg(spec: string, o: { offline?: boolean; tokens?: boolean }): Promise<ModelInfo> {
  const path = await resolveModelArg(spec, o);
  try {
    return await inspectModel(path, { tokens: o.tokens });
  } catch (e) {
    throw asUserError(e);
  }
}

export function registerInspect(program: Command): void {
  program
    .command("inspect")
    .description("show a GGUF model's architecture, size, quantization, vocabulary, layer kinds and memory needs")
    .argument("<model>", "GGUF file or hf:<user>/<repo>[:<quant>]")
    .option("--json", "print one JSON object (the chat template itself is left out unless --template)")
    .option("--template", "include the chat template text")
    .option("-c, --ctx <n>", "context for the memory estimate (default: min(4096, training context))", int(1))
    .option("--cache-type-k <t>", "K cache type for the estimate", choice(CACHE_TYPES), "f16")
    .option("--cache-type-v <t>", "V cache type for the estimate", choice(CACHE_TYPES), "f16")
    .option("--ubatch <n>", "micro-batch size for the compute-buffer estimate", int(1), 512)
    .option("--flash-attn <mode>", "flash attention for the estimate: on, off", choice(["on", "off"] as const), "on")
    .option("--draft <model>", "also check that this drafter (or scorer, with --kind) fits the model")
    .option("--kind <kind>", `pairing kind for --draft: ${PAIR_KINDS.join(", ")} (default: dflash for a dflash file, else draft-model)`, choice(PAIR_KINDS))
    .option("--offline", "resolve hf: models from the cache only")
    .action(async (spec: string, o: InspectOptions) => {
      const info = await inspectArg(spec, { offline: o.offline, tokens: !!o.draft });
      const ctx = o.ctx ?? Math.min(4096, info.contextLength ?? 4096);
      const input = memoryInputFor(info, { ctx, cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV, ubatch: o.ubatch, flashAttn: o.flashAttn === "on" });
      const memory = "missing" in input ? undefined : estimateMemory(input);
      let pair: PairCheck | undefined;
      if (o.draft) {
        const draft = await inspectArg(o.draft, { offline: o.offline, tokens: true });
        pair = checkPair(info, draft, o.kind ?? defaultPairKind(draft));
      }
      delete info.tokens;
      if (!o.template) delete info.chatTemplate;
      const run = { ctx, cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV, ubatch: o.ubatch, flashAttn: o.flashAttn === "on" };
      if (o.json) {
        process.stdout.write(JSON.stringify({ ...info, memory: memory ? { ...run, ...memory } : { missing: "missing" in input ? input.missing : [] }, ...(pair ? { pair } : {}) }) + "\n");
      } else {
        const lines = [formatModelInfo(info)];
        lines.push(`${"memory:".padEnd(17)}${memory ? formatMemory(memory, run) : `no estimate (metadata lacks ${"missing" in input ? input.missing.join(", ") : "?"})`}`);
        if (o.template && info.chatTemplate) lines.push(`chat template:\n${info.chatTemplate}`);
        if (pair) lines.push(formatPairCheck(pair));
        process.stdout.write(lines.join("\n") + "\n");
      }
      if (pair && !pair.ok) throw new UserError(`${o.draft} does not fit ${spec} as ${pair.kind}: ${pair.errors[0]}`);
    });
}

export function formatMemory(m: MemoryEstimate, run: { ctx: number; cacheTypeK: string; cacheTypeV: string; ubatch: number; flashAttn: boolean }): string {
  const parts = [`weights ${formatBytes(m.weights)}`, `KV ${formatBytes(m.kv)}`];
  if (m.recurrent) parts.push(`recurrent state ${formatBytes(m.recurrent)}`);
  parts.push(`compute ~${formatBytes(m.compute)}`);
  return `~${formatBytes(m.total)} at ctx ${run.ctx}${m.ctxPadded !== run.ctx ? ` (KV sized for ${m.ctxPadded})` : ""}, K ${run.cacheTypeK} / V ${run.cacheTypeV}, ubatch ${run.ubatch}, flash attention ${run.flashAttn ? "on" : "off"}: ${parts.join(" + ")}`;
}
