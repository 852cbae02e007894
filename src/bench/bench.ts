// `flint bench`: runs a suite (decode, sweep, prefill, niah, or smoke = all of them small, on generated
// models), optionally llama.cpp's tools on the same files for ratios, and writes results.json,
// report.md and SVG charts.
import { existsSync, mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { targetFlags, type TargetFlags } from "../spec/runtime.js";
import { UserError } from "../native/errors.js";
import { makeModel } from "../models/make-model.js";
import { cacheRoot } from "../native/source-build.js";
import { loadPrefill, type PFlash } from "../prefill/pflash.js";
import { runNiah, type NiahRow } from "../prefill/niah.js";
import { VERSION } from "../version.js";
import { aggregateServer, findLlamaTools, runLlamaBench, runLlamaServer, type LlamaTools } from "./baseline.js";
import { encodePrompts, runDecodeSuite } from "./decode.js";
import { deviceInfo, gitCommit, llamaCppInfo, modelRef, primaryDeviceName } from "./env.js";
import { Harness } from "./harness.js";
import { contextLengths, runPrefill } from "./prefill.js";
import { benchProgress, type BenchProgress } from "./progress.js";
import { resolveTuning } from "./profile.js";
import { loadPrompts, renderChatML, type BenchPrompt } from "./prompts.js";
import { ratioOf, RESULTS_SCHEMA_ID, type BaselineSection, type BenchResults, type Row, type Suite } from "./results.js";
import { writeReport } from "./report.js";
import { round } from "./stats.js";
import { runSweep } from "./sweep.js";

export interface BenchOptions extends Partial<TargetFlags> {
  suite: Suite;
  model?: string;
  draft?: string;
  scorer?: string;
  /** built-in set name(s), "all", or a .jsonl file */
  prompts?: string;
  /** first N prompts of each set */
  limit?: number;
  /** tokens generated per prompt */
  tokens?: number;
  out: string;
  baseline?: "llama";
  sampling?: "auto" | "host" | "device";
  /** DDTree top-k (decode's ddtree mode and the sweep's trees) */
  treeK?: number;
  /** DDTree node budget for the decode suite's ddtree mode (default: tuned profile, GPU default, 16) */
  budget?: number;
  /** oracle mean accepted length (simulated) */
  oracleAl?: number;
  /** decode modes to run (default: every mode the pair supports) */
  modes?: string[];
  /** prefill context lengths (default powers of two from 512 to min(16384, training context)) */
  contexts?: number[];
  /** prefill: timed repetitions per length */
  reps?: number;
  /** PFlash keep ratio for prefill/niah */
  keepRatio?: number;
  niahContexts?: number[];
  niahTrials?: number;
  /** sweep: also sweep oracle chains at --oracle-al (simulated) */
  sweepOracle?: boolean;
  /** prefill, niah: the scorer's prefill attention window (0 = full) */
  scorerWindow?: number;
  /** sweep: chain depths and DDTree budgets to measure (default DEFAULT_CHAIN_BUDGETS / DEFAULT_TREE_BUDGETS) */
  chainBudgets?: number[];
  treeBudgets?: number[];
  /** smoke: where the generated models go (default the cache directory) */
  modelDir?: string;
  /** the command line, for the record */
  command?: string;
  quiet?: boolean;
  env?: NodeJS.ProcessEnv;
}

export interface BenchOutcome {
  results: BenchResults;
  files: string[];
}

/** Smoke models: a tiny qwen3 target and its matched dflash drafter, generated once. */
export async function smokeModels(dir = path.join(cacheRoot(), "models")): Promise<{ target: string; draft: string }> {
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, "bench-smoke-qwen3-tiny-seed1.gguf");
  const draft = path.join(dir, "bench-smoke-dflash-tiny-seed2.gguf");
  const make = async (file: string, opts: Parameters<typeof makeModel>[0]) => {
    if (existsSync(file)) return;
    const tmp = `${file}.${process.pid}.tmp`;
    await makeModel({ ...opts, out: tmp });
    renameSync(tmp, file);
  };
  await make(target, { arch: "qwen3", preset: "tiny", seed: 1, out: target });
  await make(draft, { arch: "dflash", target, seed: 2, out: draft });
  return { target, draft };
}

const SMOKE = { prompts: "coding,agentic", limit: 2, tokens: 24, contexts: [64, 128, 256], niahContexts: [256], chain: [1, 4, 15], tree: [4, 16] };

export async function runBench(o: BenchOptions): Promise<BenchOutcome> {
  const t0 = performance.now();
  const env = o.env ?? process.env;
  const smoke = o.suite === "smoke";
  const progress: BenchProgress = benchProgress(process.stderr, env, o.quiet);
  let modelPath = o.model;
  let draftPath = o.draft;
  let scorerPath = o.scorer;
  if (smoke) {
    if (!modelPath) {
      const m = await smokeModels(o.modelDir);
      modelPath = m.target;
      draftPath ??= m.draft;
    }
    scorerPath ??= modelPath; // the target can score its own prompts (same vocabulary)
  }
  if (!modelPath) throw new UserError("--model is required (only --suite smoke generates its own models)");
  const threads = o.threads ?? (smoke ? 1 : undefined);
  const gpuLayers = o.gpuLayers ?? (smoke ? 0 : -1);
  const flashAttn = o.flashAttn ?? "auto";
  const tokens = o.tokens ?? (smoke ? SMOKE.tokens : 128);
  const treeK = o.treeK ?? 4;
  const oracleAl = o.oracleAl ?? 6.5;
  const notes: string[] = [];
  const failures: string[] = [];
  const rows: Row[] = [];
  const device = primaryDeviceName(gpuLayers);
  const results: BenchResults = {
    schema: RESULTS_SCHEMA_ID,
    suite: o.suite,
    ok: true,
    failures,
    date: new Date().toISOString(),
    command: o.command ?? `flint bench --suite ${o.suite}`,
    gitCommit: gitCommit(env),
    flintVersion: VERSION,
    llamaCpp: llamaCppInfo(),
    device: deviceInfo(gpuLayers, threads),
    flags: {},
    models: { target: await modelRef(modelPath) },
    notes,
    rows,
    charts: [],
    durationS: 0,
  };
  if (draftPath) results.models.draft = await modelRef(draftPath);
  if (scorerPath && (o.suite === "prefill" || o.suite === "niah" || smoke)) results.models.scorer = await modelRef(scorerPath);
  if (results.models.target.randomWeights) notes.push("The target has random weights (flint make-model): speeds are real, generated text is noise.");
  if (results.models.draft?.randomWeights) notes.push("The drafter has random weights: its drafts are almost never accepted, so its speed-ups are not representative; acceptance-dependent numbers need a trained pair.");

  // the niah suite loads its own model (runNiah); the others share one harness
  const harness = o.suite === "niah" ? undefined : await Harness.open({ ...targetFlags(o), modelPath, draftPath, gpuLayers, threads, flashAttn, sampling: o.sampling ?? "auto" });
  let pflash: PFlash | undefined;
  try {
    const nCtx = harness?.context("main").nCtx ?? o.ctx ?? 0;
    let treeBudget = o.budget;
    if (treeBudget === undefined && draftPath && harness?.draftKind === "dflash") {
      const t = resolveTuning({ modelPath, draftPath, spec: "dflash", treeK, treeKExplicit: true, flashAttn, device, env });
      if (t.budget !== undefined) {
        treeBudget = t.budget;
        notes.push(`DDTree budget ${t.budget}: ${t.message?.replace(/^flint: /, "")}`);
      }
    }
    treeBudget ??= 16;
    results.flags = {
      suite: o.suite,
      prompts: o.prompts ?? (smoke ? SMOKE.prompts : "all"),
      limit: o.limit ?? (smoke ? SMOKE.limit : null),
      tokens,
      gpuLayers,
      threads: threads ?? null,
      ctx: harness ? nCtx : (o.ctx ?? null),
      flashAttn,
      cacheTypeK: o.cacheTypeK ?? "f16",
      cacheTypeV: o.cacheTypeV ?? "f16",
      sampling: o.sampling ?? "auto",
      treeK,
      treeBudget,
      oracleAl,
      baseline: o.baseline ?? null,
    };
    const needPrompts = ["decode", "sweep", "prefill", "smoke"].includes(o.suite);
    const prompts: BenchPrompt[] = needPrompts ? loadPrompts(o.prompts ?? (smoke ? SMOKE.prompts : "all"), o.limit ?? (smoke ? SMOKE.limit : undefined)) : [];
    const { encoded, skipped } = harness ? encodePrompts(harness, prompts, tokens + 16, nCtx) : { encoded: [], skipped: [] };
    if (skipped.length) notes.push(`Skipped prompts longer than the context of ${nCtx} tokens allows: ${skipped.join(", ")}.`);
    let arTokens: Map<string, number[]> | undefined;

    if (harness && (o.suite === "decode" || smoke)) {
      let modes = harness.availableModes({ treeK, treeBudget, oracleAl });
      if (o.modes?.length) {
        const unknown = o.modes.filter((m) => !modes.some((x) => x.mode === m));
        if (unknown.length) throw new UserError(`unknown or unavailable decode modes: ${unknown.join(", ")} (available: ${modes.map((m) => m.mode).join(", ")})`);
        modes = modes.filter((m) => m.mode === "ar" || o.modes!.includes(m.mode));
      }
      if (modes.some((m) => m.simulated)) notes.push(`Rows marked simulated use the oracle drafter: the target's own greedy continuation spoiled at a drawn depth so that ${oracleAl} drafted tokens per step are accepted on average (simulated acceptance); the speed is measured, the acceptance is not.`);
      const d = await runDecodeSuite(harness, { prompts: encoded, tokens, modes, progress });
      results.decode = d.section;
      rows.push(...d.rows);
      failures.push(...d.failures);
      arTokens = d.arTokens;
      const nt = d.section.divergences.filter((x) => x.nearTie).length;
      if (nt) notes.push(`${nt} speculative runs diverged from plain decoding at a near tie (${d.section.nearTieRule}).`);
    }
    if (harness && (o.suite === "sweep" || smoke)) {
      const s = await runSweep(harness, {
        prompts: smoke ? encoded.slice(0, 2) : encoded,
        tokens: smoke ? 16 : tokens,
        treeK,
        chainBudgets: smoke ? SMOKE.chain : o.chainBudgets,
        treeBudgets: smoke ? SMOKE.tree : o.treeBudgets,
        oracleAl: o.sweepOracle || smoke ? oracleAl : undefined,
        progress,
      });
      results.sweep = s.section;
      rows.push(...s.rows);
    }
    if (harness && (o.suite === "prefill" || smoke)) {
      const train = harness.target.info.nCtxTrain > 0 ? harness.target.info.nCtxTrain : 4096;
      const lengths = o.contexts ?? (smoke ? SMOKE.contexts : contextLengths(512, Math.min(16384, train - 64)));
      const bad = lengths.filter((l) => l + 8 > train);
      if (bad.length) throw new UserError(`prefill lengths ${bad.join(", ")} exceed the target's training context of ${train} tokens`);
      let note = "not run: no --scorer given";
      if (scorerPath) {
        pflash = await loadPrefill({ compression: "always", keepRatio: o.keepRatio, scorer: scorerPath, scorerDevice: gpuLayers === 0 ? "cpu" : "auto", threads, scorerWindow: o.scorerWindow }, modelPath);
        note = `scorer ${path.basename(scorerPath)}, keep ratio ${pflash?.keepRatio ?? "?"}, scorer prefill window ${pflash?.scorer.window || "none (full attention)"}, compression forced on at every length (lossy: see the NIAH suite for quality)`;
      }
      const p = await runPrefill(harness, { prompts: prompts.length ? prompts : loadPrompts("all"), lengths, reps: o.reps ?? (smoke ? 1 : 3), progress, pflash, pflashNote: note });
      results.prefill = p.section;
      rows.push(...p.rows);
    }
    if (o.suite === "niah" || smoke) {
      const contexts = o.niahContexts ?? (smoke ? SMOKE.niahContexts : [4096, 8192, 16384]);
      progress.start("niah", contexts.length * (o.niahTrials ?? 1));
      const niahRows: NiahRow[] = await runNiah({
        model: modelPath,
        scorer: scorerPath,
        contexts,
        trials: o.niahTrials ?? (smoke ? 1 : 3),
        keepRatio: o.keepRatio,
        scorerWindow: o.scorerWindow,
        threads,
        gpuLayers,
        flashAttn,
        maxTokens: smoke ? 4 : 16,
        ...(smoke ? { scorerChunk: 128 } : {}),
        onRow: (r) => progress.tick(`${r.context}`),
      });
      progress.stop();
      results.niah = { available: true, note: `runNiah from src/prefill/niah.ts: ${niahRows.length} haystacks${scorerPath ? "" : " (no --scorer: full prefill only)"}; random-weight targets never retrieve the value, so needleKept (the scorer kept the needle) is the signal there.`, result: niahRows.map(({ full, pflash: pf, ...rest }) => ({ ...rest, full: full && { ...full, text: undefined }, pflash: pf && { ...pf, text: undefined } })) };
      rows.push(...niahSummaryRows(niahRows));
    }

    if (o.baseline === "llama" && harness) {
      results.baseline = await runBaseline(o, { modelPath, draftPath, gpuLayers, threads, flashAttn, nCtx, tokens, harness, prompts: encoded.map((e) => prompts.find((p) => p.id === e.id)!), arTokens, rows, results, progress, env });
    }
  } finally {
    pflash?.free();
    harness?.free();
  }
  results.ok = failures.length === 0;
  results.durationS = round((performance.now() - t0) / 1000, 2);
  const files = writeReport(o.out, results);
  results.charts = files.filter((f) => f.endsWith(".svg")).map((f) => path.basename(f));
  return { results, files };
}

/** NIAH rows: retrieval and needle-kept rates and mean TTFT, full vs PFlash (baseline = full). */
export function niahSummaryRows(rows: readonly NiahRow[]): Row[] {
  const out: Row[] = [];
  const byCtx = new Map<number, NiahRow[]>();
  for (const r of rows) byCtx.set(r.context, [...(byCtx.get(r.context) ?? []), r]);
  for (const [context, rs] of byCtx) {
    const full = rs.filter((r) => r.full);
    const pf = rs.filter((r) => r.pflash);
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const fullTtft = mean(full.map((r) => r.full!.ttftMs));
    const fullAcc = mean(full.map((r) => (r.full!.retrieved ? 1 : 0)));
    if (fullAcc !== null) out.push({ suite: "niah", metric: "retrieval_rate", mode: "full", label: `NIAH retrieval, full, ${context}`, params: { context }, unit: "share", flint: round(fullAcc, 4), baseline: null, ratio: null });
    if (pf.length) {
      const pTtft = mean(pf.map((r) => r.pflash!.ttftMs));
      out.push({ suite: "niah", metric: "retrieval_rate", mode: "pflash", label: `NIAH retrieval, PFlash, ${context}`, params: { context }, unit: "share", flint: round(mean(pf.map((r) => (r.pflash!.retrieved ? 1 : 0)))!, 4), baseline: fullAcc === null ? null : round(fullAcc, 4), baselineSource: "flint full prefill (same run)", ratio: null });
      out.push({ suite: "niah", metric: "needle_kept_rate", mode: "pflash", label: `NIAH needle kept, PFlash, ${context}`, params: { context }, unit: "share", flint: round(mean(pf.map((r) => (r.pflash!.needleKept ? 1 : 0)))!, 4), baseline: null, ratio: null });
      out.push({ suite: "niah", metric: "ttft_ms", mode: "pflash", label: `NIAH TTFT, PFlash, ${context}`, params: { context }, unit: "ms", flint: round(pTtft!, 3), baseline: fullTtft === null ? null : round(fullTtft, 3), baselineSource: "flint full prefill (same run)", ratio: ratioOf(pTtft, fullTtft, false) });
    } else if (fullTtft !== null) {
      out.push({ suite: "niah", metric: "ttft_ms", mode: "full", label: `NIAH TTFT, full, ${context}`, params: { context }, unit: "ms", flint: round(fullTtft, 3), baseline: null, ratio: null });
    }
  }
  return out;
}

interface BaselineContext {
  modelPath: string;
  draftPath?: string;
  gpuLayers: number;
  threads?: number;
  flashAttn: "auto" | "on" | "off";
  nCtx: number;
  tokens: number;
  harness: Harness;
  prompts: BenchPrompt[];
  arTokens?: Map<string, number[]>;
  rows: Row[];
  results: BenchResults;
  progress: BenchProgress;
  env: NodeJS.ProcessEnv;
}

/** Runs llama-bench / llama-server on the same files and fills the baseline columns of the rows. */
async function runBaseline(o: BenchOptions, c: BaselineContext): Promise<BaselineSection> {
  const found = findLlamaTools(c.env);
  if ("missing" in found) {
    c.results.notes.push(`llama.cpp baseline not run: ${found.missing}.`);
    return { ran: false, skipped: found.missing };
  }
  const tools: LlamaTools = found;
  const errors: string[] = [];
  const section: BaselineSection = { ran: true, binDir: tools.dir, errors };
  const common = { model: c.modelPath, gpuLayers: c.gpuLayers, threads: c.threads, flashAttn: c.flashAttn, cacheTypeK: o.cacheTypeK, cacheTypeV: o.cacheTypeV };
  const hasDecode = !!c.results.decode || !!c.results.sweep;
  const ppLengths = c.results.prefill?.points.filter((p) => p.method === "full").map((p) => p.contextTokens) ?? [];
  c.progress.log("flint bench: llama.cpp baseline (llama-bench, llama-server)");
  if (tools.bench && (hasDecode || ppLengths.length)) {
    try {
      section.llamaBench = [];
      if (hasDecode) section.llamaBench.push(...runLlamaBench(tools, { ...common, nGen: c.tokens, reps: 3 }));
      if (ppLengths.length) section.llamaBench.push(...runLlamaBench(tools, { ...common, nPrompt: ppLengths, reps: 3 }));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  const tg = section.llamaBench?.find((x) => x.nPrompt === 0 && x.nGen === c.tokens);
  if (tg) {
    const src = `llama-bench tg${tg.nGen} (depth 0)`;
    for (const r of c.rows) {
      if (r.metric === "tokens_per_second" && r.mode === "ar" && (r.suite === "decode" || r.suite === "sweep")) setBaseline(r, tg.tokensPerSecond, src);
    }
  }
  for (const pp of section.llamaBench?.filter((x) => x.nGen === 0) ?? []) {
    const r = c.rows.find((x) => x.suite === "prefill" && x.metric === "prefill_tokens_per_second" && x.params?.contextTokens === pp.nPrompt);
    if (r) setBaseline(r, pp.tokensPerSecond, `llama-bench pp${pp.nPrompt}`);
  }
  if (tools.server && c.results.decode && c.prompts.length) {
    section.llamaServer = [];
    const texts = c.prompts.map((p) => renderChatML(p.messages));
    const serverModes: { mode: string; dflash?: { draft: string; nMax: number } }[] = [{ mode: "plain" }];
    if (c.harness.draftKind === "dflash" && c.draftPath) serverModes.push({ mode: "draft-dflash", dflash: { draft: c.draftPath, nMax: c.harness.dflashDepth() } });
    for (const m of serverModes) {
      try {
        const run = await runLlamaServer(tools, { ...common, ctx: c.nCtx, prompts: texts, nPredict: c.tokens, dflash: m.dflash });
        const agg = aggregateServer(run.results);
        let same: number | undefined;
        if (m.mode === "plain" && c.arTokens) {
          same = 0;
          run.results.forEach((r, i) => {
            const mine = c.arTokens!.get(c.prompts[i].id);
            if (mine && r.tokens && r.tokens.length === mine.length && r.tokens.every((t, k) => t === mine[k])) same!++;
          });
        }
        section.llamaServer.push({ mode: m.mode, tokensPerSecond: round(agg.tokensPerSecond, 2), prompts: run.results.length, ...(agg.draftN !== undefined ? { draftN: agg.draftN, draftAccepted: agg.draftAccepted } : {}), ...(same !== undefined ? { sameTokensAsFlint: same } : {}) });
        const flintMode = m.mode === "plain" ? "ar" : "dflash-chain";
        const row = c.rows.find((r) => r.suite === "decode" && r.metric === "tokens_per_second" && r.mode === flintMode);
        if (row) {
          const r: Row = { suite: row.suite, metric: row.metric, mode: row.mode, label: `${row.label} vs llama-server ${m.mode}`, unit: row.unit, flint: row.flint, baseline: null, ratio: null };
          setBaseline(r, agg.tokensPerSecond, `llama-server ${m.mode} (same prompts, /completion timings)`);
          c.rows.push(r);
        }
        if (m.dflash && agg.draftN) {
          const dm = c.results.decode.modes.find((x) => x.mode === "dflash-chain");
          if (dm) {
            const drafted = dm.steps - dm.arSteps;
            const accepted = dm.acceptanceByDepth.reduce((s, x) => s + x, 0) * drafted;
            const budget = typeof dm.budget === "number" ? dm.budget : 0;
            const rate = drafted > 0 && budget > 0 ? accepted / (drafted * budget) : null;
            const r: Row = { suite: "decode", metric: "draft_acceptance_rate", mode: "dflash-chain", label: "dflash chain: accepted / drafted tokens", unit: "share", flint: rate === null ? null : round(rate, 4), baseline: null, ratio: null };
            setBaseline(r, round((agg.draftAccepted ?? 0) / agg.draftN, 4), "llama-server draft-dflash (draft_n_accepted / draft_n)");
            c.rows.push(r);
          }
        }
      } catch (e) {
        errors.push(`llama-server ${m.mode}: ${(e as Error).message}`);
      }
    }
  }
  if (!errors.length) delete section.errors;
  return section;
}

function setBaseline(r: Row, value: number, source: string): void {
  r.baseline = round(value, 4);
  r.baselineSource = source;
  const higherIsBetter = !/_ms$/.test(r.metric);
  r.ratio = r.metric === "draft_acceptance_rate" ? null : ratioOf(r.flint, r.baseline, higherIsBetter);
  if (r.ratio !== null) r.ratio = round(r.ratio, 4);
}

