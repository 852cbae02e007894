// `flint run`: load a model, generate from a prompt, stream the text (or print one JSON object).
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { generate, generateText, type GenerateEvent, type GenerateResult } from "../engine/generate.js";
import type { Drafter } from "../spec/drafter.js";
import { constantProfile } from "../spec/oracle.js";
import { greedyExtender, ORACLE_DEPTH, OracleSpecDrafter, SIMULATED_ACCEPTANCE } from "../spec/oracle-drafter.js";
import { Context } from "../engine/context.js";
import { generateSpeculative, type SpecStats } from "../spec/generate-spec.js";
import { loadRuntime, targetFlags } from "../spec/runtime.js";
import { planLoad } from "./load-plan.js";
import { formatPrefillReport, prefillReport, type PFlash, type PrefillPlan } from "../prefill/pflash.js";
import { addPrefillOptions, loadPrefillFlags, type PrefillFlags } from "./prefill-options.js";
import { UserError } from "../native/errors.js";
import { getNative, listDevices } from "../native/index.js";
import { demoModelPath } from "./demo-model.js";
import { budgetArg, CACHE_TYPES, choice, collect, int, num } from "./options.js";
import { resolveModelArg } from "./resolve.js";

interface RunOptions extends PrefillFlags {
  model?: string;
  prompt?: string;
  file?: string;
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  seed?: number;
  gpuLayers: number;
  ctx?: number | "auto";
  threads?: number;
  flashAttn: "auto" | "on" | "off";
  cacheTypeK?: "f16" | "q8_0" | "q4_0" | "f32" | "bf16";
  cacheTypeV?: "f16" | "q8_0" | "q4_0" | "f32" | "bf16";
  stop: string[];
  ignoreEos?: boolean;
  json?: boolean;
  sampling: "auto" | "host" | "device";
  spec: "none" | "dflash" | "draft-model" | "ngram" | "oracle" | "auto";
  oracleAl: number;
  draft?: string;
  budget?: number | "auto";
  treeK: number;
  /** false with --no-warmup */
  warmup: boolean;
}


export function registerRun(program: Command): void {
  const cmd = program
    .command("run")
    .description("generate text from a prompt (without --model: a small generated demo model, random weights)")
    .option("-m, --model <file>", "GGUF model file, or hf:<user>/<repo>[:<quant>] (pulled into the Hugging Face cache if missing)")
    .option("-p, --prompt <text>", "prompt text (special tokens such as <|im_start|> are parsed)")
    .option("-f, --file <path>", "read the prompt from a file ('-' = stdin)")
    .option("-n, --max-tokens <n>", "tokens to generate at most", int(0), 256)
    .option("--temperature <t>", "sampling temperature; 0 = greedy", num(0, 100), 0.8)
    .option("--top-k <k>", "top-k (0 = off)", int(0), 40)
    .option("--top-p <p>", "top-p (1 = off)", num(Number.MIN_VALUE, 1), 0.95)
    .option("--min-p <p>", "min-p (0 = off)", num(0, 1), 0.05)
    .option("--repeat-penalty <r>", "repetition penalty (1 = off)", num(0), 1)
    .option("--seed <s>", "sampling seed (default: random)", int(0, 2 ** 32 - 1))
    .option("--gpu-layers <n>", "layers to offload to the GPU (-1 = all)", int(-1), -1)
    .option("-c, --ctx <n|auto>", "context size (default: min(4096, training context)); auto = the largest that fits the free device memory, up to the training context", (v: string) => (v === "auto" ? ("auto" as const) : int(1)(v)))
    .option("--threads <n>", "CPU threads (default: all cores)", int(1, 1024))
    .option("--flash-attn <mode>", "flash attention: auto, on, off", choice(["auto", "on", "off"] as const), "auto")
    .option("--cache-type-k <t>", "K cache type", choice(CACHE_TYPES))
    .option("--cache-type-v <t>", "V cache type", choice(CACHE_TYPES))
    .option("--stop <s>", "stop string (repeatable)", collect, [])
    .option("--ignore-eos", "keep generating past end-of-generation tokens")
    .option("--sampling <where>", "auto: greedy picks (and DFlash chain drafts) run on the GPU, no logits copied back; host: the TS sampler", choice(["auto", "host", "device"] as const), "auto")
    .option("--spec <mode>", "speculative decoding: none, dflash (needs --draft), draft-model (a small model with the same vocabulary as --draft), ngram (no model: repeats from the prompt and output), oracle (measurement only: SIMULATED acceptance, greedy), auto (dflash or draft-model with --draft, verifying repeats from an n-gram lookup too, else ngram; --budget auto)", choice(["none", "dflash", "draft-model", "ngram", "oracle", "auto"] as const), "none")
    .option("--oracle-al <n>", "oracle: mean accepted drafted tokens per step to simulate (of 15)", num(0, 15), 4)
    .option("--draft <file>", "drafter GGUF (or hf:...): a DFlash drafter made for --model, or a small model with its vocabulary")
    .option("--budget <n|auto>", "drafted nodes verified per step: chain depth, or DDTree nodes with --tree-k; auto = adaptive controller, which also falls back to plain decoding (default: the drafter's depth; auto with --spec auto)", budgetArg)
    .option("--tree-k <k>", "DDTree verify from the drafter's top-k per position (1 = chain; attention-only targets; needs --flash-attn off)", int(1, 16), 1)
    .option("--no-warmup", "skip the warm-up at load (on a GPU a short generation of each decode shape, so that the first request does not pay for kernel loading and graph capture, then the step prices --budget auto starts from)")
    .option("--json", "print one JSON object with text and timings instead of streaming");
  addPrefillOptions(cmd, { compression: "prompts of at least --prefill-threshold tokens when --scorer is given", threshold: "compress prompts of at least this many tokens" })
    .action(async (o: RunOptions, cmd: Command) => {
      await runCommand(o, cmd.getOptionValueSource("treeK") === "cli");
    });
}

function readPrompt(o: RunOptions): string {
  if (o.prompt !== undefined && o.file !== undefined) throw new UserError("give either --prompt or --file, not both");
  if (o.file !== undefined) {
    try {
      return readFileSync(o.file === "-" ? 0 : o.file, "utf8");
    } catch {
      throw new UserError(`cannot read prompt file ${o.file}`);
    }
  }
  if (o.prompt === undefined) throw new UserError("no prompt: pass --prompt TEXT or --file PATH");
  return o.prompt;
}

async function runCommand(o: RunOptions, treeKExplicit = false): Promise<void> {
  const promptText = readPrompt(o);
  let modelPath = o.model === undefined ? undefined : await resolveModelArg(o.model);
  if (modelPath === undefined) {
    modelPath = await demoModelPath();
    if (!o.json) process.stderr.write(`flint: no --model given; using the generated demo model ${modelPath} (random weights: the text is noise)\n`);
  }
  const greedy = o.temperature <= 0 && o.repeatPenalty === 1;
  if (o.spec === "oracle" && o.temperature > 0) throw new UserError("--spec oracle simulates acceptance of the greedy continuation: use --temperature 0");
  // the scorer is checked and loaded first: a bad --scorer fails before the target is loaded
  const pflash: PFlash | undefined = await loadPrefillFlags(o, modelPath);
  const draftPath = o.draft === undefined ? undefined : await resolveModelArg(o.draft);
  let rt: Awaited<ReturnType<typeof loadRuntime>>;
  try {
    const plan = await planLoad({ modelPath, draftPath, spec: o.spec, treeK: o.treeK, treeKExplicit, budget: o.budget, ctx: o.ctx, cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV, flashAttn: o.flashAttn, gpuLayers: o.gpuLayers });
    o.budget = plan.budget;
    o.treeK = plan.treeK;
    for (const line of plan.messages) process.stderr.write(`${line}\n`);
    rt = await loadRuntime({
      modelPath,
      draftPath,
      spec: o.spec,
      treeK: o.treeK,
      ...targetFlags(o),
      ctx: plan.ctx,
      sampling: o.sampling,
      greedyOnly: greedy,
      warmup: o.warmup,
    });
  } catch (err) {
    pflash?.free();
    throw err;
  }
  const { model, ctx, tree } = rt;
  let drafter: Drafter | undefined = rt.drafter;
  // the oracle re-derives its script on a context of its own when the run leaves it (near-tie flips)
  let oracleCtx: Context | undefined;
  try {
    if (rt.drafterKind === "oracle") {
      // the oracle needs the target's own greedy continuation: decode it plainly first
      const promptTokens = model.vocab.tokenize(promptText);
      const ref = await generateText(ctx, promptTokens, { temperature: 0, maxTokens: o.maxTokens + 16, ignoreEog: true });
      oracleCtx = Context.create(model, { ctx: ctx.nCtx, threads: o.threads, flashAttn: ctx.flashAttn });
      drafter = new OracleSpecDrafter([...promptTokens, ...ref.tokens], constantProfile(o.oracleAl, ORACLE_DEPTH), ctx.nVocab, { maxDepth: ORACLE_DEPTH, topK: tree ? o.treeK : 1, extend: greedyExtender(oracleCtx) });
    }
  } catch (err) {
    oracleCtx?.free();
    rt.free();
    pflash?.free();
    throw err;
  }
  const loadMs = rt.loadMs;
  try {
    const prompt = model.vocab.tokenize(promptText);
    const plan: PrefillPlan | undefined = pflash?.plan(model, prompt);
    const abort = new AbortController();
    const onSigint = () => abort.abort();
    process.once("SIGINT", onSigint);
    const genOpts = {
      maxTokens: o.maxTokens,
      temperature: o.temperature,
      topK: o.topK,
      topP: o.topP,
      minP: o.minP,
      repeatPenalty: o.repeatPenalty,
      seed: o.seed,
      stop: o.stop,
      ignoreEog: o.ignoreEos,
      signal: abort.signal,
      budget: o.budget ?? (o.spec === "auto" ? ("auto" as const) : undefined),
      shape: tree ? ("tree" as const) : ("chain" as const),
      keep: plan?.keep,
      prices: rt.prices,
      // --spec auto with a model drafter: repeated spans are verified from an n-gram lookup too
      ngramAssist: o.spec === "auto" && (o.budget ?? "auto") === "auto" && drafter !== undefined && drafter.name !== "ngram",
    };
    const it: AsyncGenerator<GenerateEvent, GenerateResult & { spec?: SpecStats }> = drafter
      ? generateSpeculative(ctx, drafter, prompt, genOpts)
      : generate(ctx, prompt, genOpts);
    let result: GenerateResult & { spec?: SpecStats };
    for (;;) {
      const r = await it.next();
      if (r.done) {
        result = r.value;
        break;
      }
      if (!o.json && r.value.text) process.stdout.write(r.value.text);
    }
    process.off("SIGINT", onSigint);
    const prefill = plan ? prefillReport(plan, result) : undefined;
    // PFlash is lossy: say so whenever it ran, in --json too
    if (prefill) process.stderr.write(formatPrefillReport(prefill) + "\n");
    if (o.json) {
      const out = {
        text: result.text,
        tokens: result.tokens.length,
        promptTokens: result.promptTokens,
        tokensPerSecond: round(result.tokensPerSecond),
        promptMs: round(result.promptMs),
        decodeMs: round(result.decodeMs),
        loadMs: round(loadMs),
        warmupMs: round(rt.warmupMs),
        ...(rt.prices ? { prices: rt.prices } : {}),
        split: { decodeCallsMs: round(result.split.decodeCallsMs), samplingMs: round(result.split.samplingMs) },
        stopReason: result.stopReason,
        sampling: ctx.deviceGreedy ? "device" : "host",
        ...(prefill ? { prefill } : {}),
        ...(result.spec ? { spec: result.spec.drafter === "oracle" ? { ...result.spec, note: SIMULATED_ACCEPTANCE } : result.spec } : {}),
        tokenIds: result.tokens,
        model: { path: modelPath, architecture: model.info.architecture, ftype: model.info.ftype, params: model.info.nParams },
        backend: { library: getNative().source, devices: listDevices().map((d) => `${d.name} (${d.description})`) },
      };
      process.stdout.write(JSON.stringify(out) + "\n");
    } else {
      process.stdout.write("\n");
      process.stderr.write(
        `flint: ${result.promptTokens} prompt tokens in ${result.promptMs.toFixed(0)} ms, ${result.tokens.length} tokens at ${result.tokensPerSecond.toFixed(1)} tok/s (${result.stopReason})` +
          (result.spec ? `, ${result.spec.drafter} mean accepted length ${result.spec.meanAcceptedLength.toFixed(2)} over ${result.spec.steps} steps${result.spec.drafter === "oracle" ? ` (${SIMULATED_ACCEPTANCE})` : ""}` : "") +
          "\n",
      );
    }
  } finally {
    if (drafter !== rt.drafter) drafter?.free();
    oracleCtx?.free();
    rt.free();
    pflash?.free();
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
