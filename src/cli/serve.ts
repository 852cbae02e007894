// `flint serve`: the HTTP server (OpenAI, Anthropic and Responses APIs) over one model, with
// speculative decoding on by default.
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Command } from "commander";
import { FlintService } from "../server/service.js";
import { chatTemplateProblem } from "../server/chat-template.js";
import { startServer, type RunningServer } from "../server/server.js";
import { UserError } from "../native/errors.js";
import { loadRuntime, planDrafter, targetFlags, type SpecMode } from "../spec/runtime.js";
import { demoModelPath } from "./demo-model.js";
import { budgetArg, CACHE_TYPES, choice, int, type CliCacheType as CacheType } from "./options.js";
import { addPrefillOptions, loadPrefillFlags, type PrefillFlags } from "./prefill-options.js";
import { resolveModelArg } from "./resolve.js";
import { planLoad } from "./load-plan.js";


export interface ServeOptions extends PrefillFlags {
  model?: string;
  draft?: string;
  spec: Exclude<SpecMode, "oracle">;
  budget?: number | "auto";
  treeK: number;
  host: string;
  port: number;
  ctx?: number | "auto";
  apiKey?: string;
  alias?: string;
  gpuLayers: number;
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  threads?: number;
  flashAttn: "auto" | "on" | "off";
  maxQueue: number;
  cacheSlots: number;
  cacheMem: number;
  chatTemplateFile?: string;
  /** false with --no-warmup */
  warmup: boolean;
}


export function registerServe(program: Command): void {
  const cmd = program
    .command("serve")
    .description("serve a model over HTTP: OpenAI (chat/completions, completions, responses) and Anthropic (messages) APIs")
    .option("-m, --model <file>", "GGUF model file, or hf:<user>/<repo>[:<quant>] (default: the generated demo model, random weights)")
    .option("--draft <file>", "drafter GGUF (or hf:...): a DFlash drafter made for --model, or a small model with its vocabulary")
    .option("--spec <mode>", "speculative decoding: auto (dflash with a dflash --draft, draft-model with another --draft, either verifying repeats from an n-gram lookup too, else ngram; adaptive budget), none, dflash, draft-model, ngram", choice(["none", "dflash", "draft-model", "ngram", "auto"] as const), "auto")
    .option("--budget <n|auto>", "drafted nodes verified per step; auto = adaptive controller (default: auto with --spec auto, else the drafter's depth)", budgetArg)
    .option("--tree-k <k>", "DDTree verify from the drafter's top-k per position (1 = chain; needs --flash-attn off)", int(1, 16), 1)
    .option("--host <addr>", "address to bind (loopback by default; anything else exposes the server to the network)", "127.0.0.1")
    .option("--port <n>", "port (0 = any free port)", int(0, 65535), 8080)
    .option("-c, --ctx <n|auto>", "context size in tokens, prompt and output together (default: min(4096, training context)); auto = the largest that fits the free device memory, up to the training context", (v: string) => (v === "auto" ? ("auto" as const) : int(1)(v)))
    .option("--api-key <key>", "require this key (Authorization: Bearer KEY or x-api-key: KEY) on every route but /health; or set FLINT_API_KEY")
    .option("--chat-template-file <file>", "a Jinja chat template to use instead of the model's (as llama-server's option)")
    .option("--alias <name>", "model name reported by /v1/models and in responses (default: the model file name)")
    .option("--gpu-layers <n>", "layers to offload to the GPU (-1 = all)", int(-1), -1)
    .option("--cache-type-k <t>", "K cache type", choice(CACHE_TYPES))
    .option("--cache-type-v <t>", "V cache type", choice(CACHE_TYPES))
    .option("--threads <n>", "CPU threads (default: all cores)", int(1, 1024))
    .option("--flash-attn <mode>", "flash attention: auto, on, off", choice(["auto", "on", "off"] as const), "auto")
    .option("--no-warmup", "skip the warm-up at load (on a GPU a short generation of each decode shape, so that the first request does not pay for kernel loading and graph capture, then the step prices --budget auto starts from)")
    .option("--max-queue <n>", "requests that may wait while one decodes; more get 429", int(0, 100_000), 8)
    .option("--cache-slots <n>", "conversations kept in host memory besides the live one (prefix cache; 0 = off)", int(0, 64), 2)
    .option("--cache-mem <MiB>", "host memory the cached conversations may use", int(0), 4096);
  addPrefillOptions(cmd, {
    compression: "when --scorer is given and at least --prefill-threshold prompt tokens are not in the prefix cache; reported as prefill in each compressed response",
    threshold: "compress when this many prompt tokens need a prefill",
  })
    .action(async (o: ServeOptions, cmd: Command) => {
      await serveCommand(o, cmd.getOptionValueSource("treeK") === "cli");
    });
}

/** Reads and checks a --chat-template-file before listening: a template that does not parse is refused. */
function readChatTemplate(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new UserError(`cannot read the chat template ${file}: ${(err as Error).message}`);
  }
  const problem = chatTemplateProblem(text);
  if (problem) throw new UserError(`chat template ${file}: ${problem}`);
  return text;
}

function modelIdOf(spec: string): string {
  return spec.startsWith("hf:") ? spec.slice(3) : path.basename(spec);
}

async function serveCommand(o: ServeOptions, treeKExplicit = false): Promise<void> {
  const apiKey = o.apiKey ?? (process.env.FLINT_API_KEY || undefined);
  let modelSpec = o.model;
  if (modelSpec === undefined) {
    modelSpec = await demoModelPath();
    process.stderr.write(`flint: no --model given; serving the generated demo model ${modelSpec} (random weights: the text is noise)\n`);
  }
  const spec = modelSpec;
  // local files: refuse a bad flag combination or a mismatched drafter before listening (hf: specs
  // are resolved, perhaps downloaded, in the background and checked there)
  if (!spec.startsWith("hf:") && !existsSync(spec)) throw new UserError(`model file not found: ${spec}`);
  const chatTemplate = o.chatTemplateFile === undefined ? undefined : readChatTemplate(o.chatTemplateFile);
  if (o.prefillCompression === "always" && !o.scorer) throw new UserError("--prefill-compression always needs a scorer model (--scorer FILE)");
  if (o.scorer && !o.scorer.startsWith("hf:") && !existsSync(o.scorer)) throw new UserError(`scorer file not found: ${o.scorer}`);
  if (!spec.startsWith("hf:") && !o.draft?.startsWith("hf:")) {
    await planDrafter({ modelPath: spec, draftPath: o.draft, spec: o.spec, treeK: o.treeK, flashAttn: o.flashAttn });
  }
  const server: RunningServer = await startServer({
    host: o.host,
    port: o.port,
    apiKey,
    modelId: o.alias ?? modelIdOf(spec),
    load: async (metrics) => {
      const modelPath = o.model === undefined ? spec : await resolveModelArg(spec);
      // the scorer is checked and loaded first: a bad --scorer fails before the target is loaded
      const prefill = await loadPrefillFlags(o, modelPath);
      let rt;
      let budget = o.budget;
      try {
        const draftPath = o.draft === undefined ? undefined : await resolveModelArg(o.draft);
        // a tuned profile (flint tune) and the memory fit, as flint run does
        const plan = await planLoad({ modelPath, draftPath, spec: o.spec, treeK: o.treeK, treeKExplicit, budget, ctx: o.ctx, cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV, flashAttn: o.flashAttn, gpuLayers: o.gpuLayers });
        for (const line of plan.messages) process.stderr.write(`${line}\n`);
        budget = plan.budget;
        rt = await loadRuntime({
          modelPath,
          draftPath,
          spec: o.spec,
          treeK: plan.treeK,
          ...targetFlags(o),
          ctx: plan.ctx,
          // requests sample with their own parameters: the host sampler serves them all
          sampling: "host",
          greedyOnly: false,
          warmup: o.warmup,
        });
      } catch (err) {
        prefill?.free();
        throw err;
      }
      return new FlintService(rt, {
        modelId: o.alias ?? modelIdOf(spec),
        maxQueue: o.maxQueue,
        cacheSlots: o.cacheSlots,
        cacheBytes: o.cacheMem * 1024 * 1024,
        budget: budget ?? (o.spec === "auto" ? "auto" : undefined),
        ngramAssist: o.spec === "auto",
        metrics,
        prefill,
        chatTemplate,
      });
    },
  });
  process.stderr.write(`flint: listening on ${server.url}\n`);
  if (!isLoopback(server.host) && !apiKey) process.stderr.write(`flint: warning: ${server.host} is reachable from the network and no --api-key is set\n`);

  let stopping = false;
  server.ready.then(
    (s) => process.stderr.write(`flint: model loaded (context ${s.contextSize} tokens${s.drafterName ? `, drafter ${s.drafterName}` : ""}); serving "${s.modelId}"\n`),
    (err: unknown) => {
      if (stopping) return;
      process.stderr.write(`flint: loading the model failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );

  const stop = (signal: string) => {
    if (stopping) {
      process.stderr.write(`flint: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`flint: ${signal}: shutting down\n`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`flint: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

function isLoopback(host: string): boolean {
  return host === "::1" || host.startsWith("127.") || host === "localhost";
}
