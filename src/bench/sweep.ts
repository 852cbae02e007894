// The budget sweep: tokens/s and verify cost per step at fixed budgets (chain depths 1..maxDepth,
// DDTree node budgets 4..64) and with the adaptive controller, for each drafter the pair offers;
// the best fixed choice (plain decoding included) is what `flint tune` stores.
import type { EncodedPrompt } from "./decode.js";
import type { Harness, ModeDef } from "./harness.js";
import type { BenchProgress } from "./progress.js";
import type { Row, SweepBest, SweepPoint, SweepSection } from "./results.js";
import { ModeAccumulator, round } from "./stats.js";

/** chain depths swept by default: 7 is the auto controller's (8 verify rows: candidateBudgets) */
export const DEFAULT_CHAIN_BUDGETS = [1, 2, 3, 4, 6, 7, 8, 10, 12, 15] as const;
export const DEFAULT_TREE_BUDGETS = [4, 8, 12, 16, 22, 32, 40, 48, 64] as const;
export const NGRAM_BUDGETS = [2, 4, 8] as const;

export interface SweepOptions {
  prompts: EncodedPrompt[];
  tokens: number;
  treeK: number;
  chainBudgets?: readonly number[];
  treeBudgets?: readonly number[];
  /** sweep the n-gram drafter too (default true) */
  ngram?: boolean;
  /** also sweep oracle chains at this simulated mean accepted length (labelled simulated) */
  oracleAl?: number;
  /** include the adaptive controller points (default true) */
  auto?: boolean;
  /** with auto: also the chain points with one controller across the prompts (default true) */
  carried?: boolean;
  /** with auto and a model drafter: also its chain auto points with the n-gram assist, as --spec
   *  auto runs it (default true) */
  assist?: boolean;
  progress: BenchProgress;
}

/** The sweep's modes for this pair. */
export function sweepModes(h: Harness, o: Pick<SweepOptions, "treeK" | "chainBudgets" | "treeBudgets" | "ngram" | "oracleAl" | "auto" | "carried" | "assist">): ModeDef[] {
  const auto = o.auto ?? true;
  const carried = auto && (o.carried ?? true);
  const modes: ModeDef[] = [{ mode: "ar", label: "plain (AR)", drafter: "none", shape: "ar", budget: 0, treeK: 1, simulated: false }];
  const chain = (drafter: ModeDef["drafter"], depth: number, budgets: readonly number[], simulated = false, oracleAl?: number) => {
    for (const b of budgets.filter((x) => x >= 1 && x <= depth)) {
      modes.push({ mode: `${drafter}-chain-${b}`, label: `${drafter} chain ${b}${simulated ? " (simulated)" : ""}`, drafter, shape: "chain", budget: b, treeK: 1, simulated, oracleAl });
    }
    // the oracle's auto point shows whether the controller finds the budget the fixed points say is
    // best when drafts are good (simulated acceptance)
    if (auto) modes.push({ mode: `${drafter}-chain-auto`, label: `${drafter} chain auto${simulated ? " (simulated)" : ""}`, drafter, shape: "chain", budget: "auto", treeK: 1, simulated, oracleAl });
    // and with one controller across the prompts, as flint serve keeps it across requests: only the
    // first prompt pays for learning the costs and acceptance from nothing
    if (carried) {
      modes.push({ mode: `${drafter}-chain-auto-carried`, label: `${drafter} chain auto, one controller${simulated ? " (simulated)" : ""}`, drafter, shape: "chain", budget: "auto", treeK: 1, simulated, oracleAl, carried: true });
    }
    // a model drafter as --spec auto runs it: repeats verified from an n-gram lookup too
    if (auto && (o.assist ?? true) && (drafter === "dflash" || drafter === "draft-model")) {
      modes.push({ mode: `${drafter}-chain-auto-assist`, label: `${drafter} chain auto + ngram assist`, drafter, shape: "chain", budget: "auto", treeK: 1, simulated, assist: true });
      if (carried) modes.push({ mode: `${drafter}-chain-auto-assist-carried`, label: `${drafter} chain auto + ngram assist, one controller`, drafter, shape: "chain", budget: "auto", treeK: 1, simulated, assist: true, carried: true });
    }
  };
  if (h.draftKind === "dflash") {
    chain("dflash", h.dflashDepth(), o.chainBudgets ?? DEFAULT_CHAIN_BUDGETS);
    if (!h.recurrent && o.treeK > 1) {
      for (const b of o.treeBudgets ?? DEFAULT_TREE_BUDGETS) {
        modes.push({ mode: `dflash-tree-${b}`, label: `ddtree k${o.treeK} b${b}`, drafter: "dflash", shape: "tree", budget: b, treeK: o.treeK, simulated: false });
      }
      if (auto) modes.push({ mode: "dflash-tree-auto", label: `ddtree k${o.treeK} auto`, drafter: "dflash", shape: "tree", budget: "auto", treeK: o.treeK, simulated: false });
    }
  }
  if (h.draftKind === "draft-model") chain("draft-model", 8, o.chainBudgets ?? DEFAULT_CHAIN_BUDGETS);
  if (o.ngram ?? true) chain("ngram", 8, NGRAM_BUDGETS);
  if (o.oracleAl !== undefined) chain("oracle", 15, o.chainBudgets ?? DEFAULT_CHAIN_BUDGETS, true, o.oracleAl);
  return modes;
}

/** The fastest measured fixed choice (plain decoding included; simulated and auto points excluded). */
export function pickBest(points: readonly SweepPoint[]): SweepBest {
  const ar = points.find((p) => p.shape === "ar");
  const arTps = ar?.tokensPerSecond ?? 0;
  let best: SweepPoint | undefined = ar;
  for (const p of points) {
    if (p.simulated || p.budget === "auto") continue;
    if (!best || p.tokensPerSecond > best.tokensPerSecond) best = p;
  }
  if (!best) return { drafter: "none", shape: "ar", budget: 0, treeK: 1, tokensPerSecond: 0, speedup: 1 };
  return {
    drafter: best.drafter,
    shape: best.shape,
    budget: best.budget === "auto" ? 0 : best.budget,
    treeK: best.treeK,
    tokensPerSecond: best.tokensPerSecond,
    speedup: arTps > 0 ? round(best.tokensPerSecond / arTps, 4) : 1,
  };
}

/** verify ms by rows per forward from fixed-budget points of one shape (rows = budget + 1). Chains run
 *  in the main context, where plain decoding is the 1-row point; trees run without flash attention in
 *  their own context, so their costs are kept apart. */
export function verifyCostByRows(points: readonly SweepPoint[], arStepMs: number, shape: "chain" | "tree" = "chain"): Record<string, number> {
  const sums = new Map<number, { s: number; n: number }>(shape === "chain" ? [[1, { s: arStepMs, n: 1 }]] : []);
  for (const p of points) {
    if (p.shape !== shape || p.budget === "auto" || p.verifyRows === null || p.verifyMsPerStep === null) continue;
    const e = sums.get(p.verifyRows) ?? { s: 0, n: 0 };
    e.s += p.verifyMsPerStep;
    e.n++;
    sums.set(p.verifyRows, e);
  }
  return Object.fromEntries([...sums.entries()].sort((a, b) => a[0] - b[0]).map(([rows, e]) => [String(rows), round(e.s / e.n, 4)]));
}

/** a point's time split per generated token (the sum is the point's ms per token) */
function splitPerToken(a: ModeAccumulator): NonNullable<SweepPoint["msPerToken"]> {
  const t = a.time;
  const per = (ms: number) => round(ms / a.intervals, 5);
  return { draft: per(t.draft), verify: per(t.verify), bookkeeping: per(t.bookkeeping), sampling: per(t.sampling), other: per(t.other) };
}

export async function runSweep(h: Harness, o: SweepOptions): Promise<{ section: SweepSection; rows: Row[] }> {
  const modes = sweepModes(h, o);
  const acc = new Map(modes.map((m) => [m.mode, new ModeAccumulator()]));
  const needsRef = modes.some((m) => m.drafter === "oracle");
  if (o.prompts.length > 0) {
    // warm-up, as in the decode suite
    const p = o.prompts[0];
    const ref = (await h.run(modes[0], p.tokens, 8 + 16)).tokens;
    for (const m of modes) await h.run(m, p.tokens, Math.min(8, o.tokens), [...p.tokens, ...ref]);
    // the carried controllers start the measured prompts knowing nothing, as a server's first request
    h.resetControllers();
  }
  o.progress.start("sweep", o.prompts.length * modes.length);
  for (const p of o.prompts) {
    let reference: number[] = [];
    for (const m of modes) {
      if (m.shape === "ar" && needsRef) {
        // the oracle proposes this continuation; measured over o.tokens like every other point
        const r = await h.run(m, p.tokens, o.tokens + 16);
        reference = r.tokens;
        const f = Math.max(0, o.tokens - 1) / Math.max(1, r.tokens.length - 1);
        acc.get(m.mode)!.add({ ...r, tokens: r.tokens.slice(0, o.tokens), decodeMs: r.decodeMs * f, split: { decodeCallsMs: r.split.decodeCallsMs * f, samplingMs: r.split.samplingMs * f } });
      } else {
        acc.get(m.mode)!.add(await h.run(m, p.tokens, o.tokens, [...p.tokens, ...reference]));
      }
      o.progress.tick(`${p.id} ${m.mode}`);
    }
  }
  o.progress.stop();
  // where the device picks the tokens, llama_decode only launches the graph and the wait for its
  // result is timed as sampling: that wait is part of the forward's cost
  const onDevice = (m: ModeDef) => h.family(m) === "main" && h.context("main").deviceGreedy;
  const verifyMs = (m: ModeDef, a: ModeAccumulator) => a.time.verify + (onDevice(m) ? a.time.sampling : 0);
  const arAcc = acc.get("ar")!;
  const arStepMs = arAcc.steps > 0 ? verifyMs(modes[0], arAcc) / arAcc.steps : 0;
  const points: SweepPoint[] = modes.map((m) => {
    const a = acc.get(m.mode)!;
    const spec = a.specSteps;
    const fixed = typeof m.budget === "number";
    return {
      drafter: m.drafter,
      shape: m.shape,
      budget: m.budget ?? 0,
      treeK: m.treeK,
      tokensPerSecond: round(a.tokensPerSecond, 2),
      meanAcceptedLength: round(a.meanAcceptedLength, 3),
      steps: a.steps,
      arSteps: a.arSteps,
      shadowProbes: a.shadowProbes,
      ...(m.budget === "auto" ? { verifiedByNodes: a.verifiedByNodes, shapeChanges: a.shapeChanges } : {}),
      ...(m.carried ? { controllerCarried: true } : {}),
      ...(m.budget === "auto" && a.controller ? { controller: a.controller } : {}),
      // auto points mix plain steps in; their verify time per drafting step is not separable from the
      // stats, so it is left out
      verifyMsPerStep: m.shape === "ar" ? round(arStepMs, 4) : fixed && spec > 0 ? round(verifyMs(m, a) / spec, 4) : null,
      // n-gram drafts are often shorter than the budget: their rows per verify are unknown
      verifyRows: m.shape === "ar" ? 1 : fixed && m.drafter !== "ngram" ? (m.budget as number) + 1 : null,
      // per draft made: an auto point's shadow probes draft without a verify step
      draftMsPerStep: m.shape !== "ar" && a.drafts > 0 ? round(a.time.draft / a.drafts, 4) : null,
      ...(m.budget === "auto" ? { unfollowedSteps: a.unfollowedSteps } : {}),
      ...(a.assist ? { ngramAssist: a.assist } : {}),
      ...(m.budget === "auto" && a.shadowProbes > 0 ? { shadowMsPerProbe: { launch: round(a.shadowMs.launch / a.shadowProbes, 4), take: round(a.shadowMs.take / a.shadowProbes, 4) } } : {}),
      ...(a.intervals > 0 ? { msPerToken: splitPerToken(a) } : {}),
      ...(m.simulated ? { simulated: true } : {}),
    };
  });
  const best = pickBest(points);
  const drafting = points.filter((p) => p.shape !== "ar" && p.drafter !== "ngram" && p.drafter !== "oracle" && p.draftMsPerStep !== null);
  const section: SweepSection = {
    prompts: o.prompts.map((p) => p.id),
    tokensPerPrompt: o.tokens,
    arStepMs: round(arStepMs, 4),
    arTokensPerSecond: round(arAcc.tokensPerSecond, 2),
    points,
    best,
    verifyMsByRows: verifyCostByRows(points, arStepMs, "chain"),
    treeVerifyMsByRows: verifyCostByRows(points, arStepMs, "tree"),
    draftMs: drafting.length ? round(drafting.reduce((s, p) => s + p.draftMsPerStep!, 0) / drafting.length, 4) : null,
  };
  const rows: Row[] = points.map((p, i) => ({
    suite: "sweep" as const,
    metric: "tokens_per_second",
    mode: modes[i].mode,
    label: modes[i].label,
    params: { drafter: p.drafter, shape: p.shape, budget: p.budget, treeK: p.treeK },
    unit: "tok/s",
    flint: p.tokensPerSecond,
    baseline: null,
    ratio: null,
    ...(p.simulated ? { simulated: true } : {}),
  }));
  return { section, rows };
}
