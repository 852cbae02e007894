// What the benchmark suites share: one loaded target (and drafter model), the contexts each decoding
// mode needs, the drafters bound to them, one timed greedy generation, and the near-tie rule that
// decides whether a speculative output differs from plain decoding for a real reason.
//
// Contexts: "main" is what `flint run` makes (flash attention as asked, greedy picks on the device
// on a GPU); "tree" is the unified-KV, flash-attention-off context DDTree verify needs (see
// src/spec/generate-spec.ts), and it has its own plain-decoding reference because its kernels differ.
import { Context } from "../engine/context.js";
import { drain, generate, type GenerateResult } from "../engine/generate.js";
import { Model } from "../engine/model.js";
import type { TargetFlags } from "../spec/runtime.js";
import { UserError } from "../native/errors.js";
import { listDevices } from "../native/index.js";
import { inspectModel } from "../models/inspect.js";
import { checkPair } from "../models/pairing.js";
import { DFlashDrafter } from "../spec/dflash-drafter.js";
import { DraftModelDrafter } from "../spec/draft-model-drafter.js";
import type { Drafter } from "../spec/drafter.js";
import type { SpecController } from "../spec/controller.js";
import { candidateBudgets, createNgramAssist, createSpecController, generateSpeculative, type SpecStats } from "../spec/generate-spec.js";
import type { NgramAssist } from "../spec/ngram-assist.js";
import { NgramDrafter } from "../spec/ngram-drafter.js";
import { constantProfile } from "../spec/oracle.js";
import { greedyExtender, ORACLE_DEPTH, OracleSpecDrafter } from "../spec/oracle-drafter.js";
import { measurePrices, type StepPrices } from "../spec/prices.js";

/** DESIGN.md's rule: at the first divergence, plain decoding's top-2 logits are within this */
export const NEAR_TIE = 5e-3;
export const NEAR_TIE_RULE = `at the first differing token, the speculative run's token is within ${NEAR_TIE}, or within twice the measured rounding (eps: the largest logit difference between single-token and 4- or 16-row batched evaluation of that very position), of plain decoding's token in plain decoding's logits (batched verify and single-token decode round differently); such runs are counted, not failed`;

export type DrafterKind = "none" | "ngram" | "dflash" | "draft-model" | "oracle";
export type Shape = "ar" | "chain" | "tree";

export interface ModeDef {
  mode: string;
  label: string;
  drafter: DrafterKind;
  shape: Shape;
  /** drafted nodes per step; "auto" = the adaptive controller; undefined = the drafter's depth */
  budget?: number | "auto";
  treeK: number;
  /** oracle: simulated mean accepted length */
  oracleAl?: number;
  simulated: boolean;
  /** the context family (default: "tree" for tree shapes, else "main"); plain decoding on the tree
   *  context is the reference of the tree modes */
  family?: "main" | "tree";
  /** budget "auto": one controller for every run of this mode (until resetControllers), as `flint
   *  serve` keeps one across requests; otherwise a fresh one per run, as `flint run` */
  carried?: boolean;
  /** budget "auto" with a model drafter: the n-gram assist too, as `--spec auto` runs it */
  assist?: boolean;
}

export interface HarnessOptions extends TargetFlags {
  modelPath: string;
  draftPath?: string;
  /** where greedy tokens are picked in the main context (as `flint run --sampling`) */
  sampling: "auto" | "host" | "device";
}

export interface RunResult {
  tokens: number[];
  decodeMs: number;
  promptMs: number;
  split: GenerateResult["split"];
  spec?: SpecStats;
}

export class Harness {
  readonly target: Model;
  readonly draft?: Model;
  readonly draftKind?: "dflash" | "draft-model";
  readonly onGpu: boolean;
  readonly recurrent: boolean;
  private readonly o: HarnessOptions;
  private contexts = new Map<string, Context>();
  private drafters = new Map<string, Drafter>();
  /** the controllers of carried modes, by mode */
  private controllers = new Map<string, SpecController>();
  private assists = new Map<string, NgramAssist>();
  /** step prices for auto modes on a GPU, by context family and drafter (prices.ts) */
  private prices = new Map<string, StepPrices | undefined>();

  private constructor(o: HarnessOptions, target: Model, draft: Model | undefined, draftKind: "dflash" | "draft-model" | undefined) {
    this.o = o;
    this.target = target;
    this.draft = draft;
    this.draftKind = draftKind;
    this.onGpu = o.gpuLayers !== 0 && listDevices().some((d) => d.type === "gpu" || d.type === "igpu");
    this.recurrent = target.info.isHybrid || target.info.isRecurrent;
  }

  get options(): Readonly<HarnessOptions> {
    return this.o;
  }

  /** Checks the pair from GGUF metadata, then loads both models. */
  static async open(o: HarnessOptions): Promise<Harness> {
    let draftKind: "dflash" | "draft-model" | undefined;
    if (o.draftPath !== undefined) {
      const [ti, di] = await Promise.all([inspectModel(o.modelPath, { tokens: true }), inspectModel(o.draftPath, { tokens: true })]);
      draftKind = di.architecture === "dflash" ? "dflash" : "draft-model";
      const check = checkPair(ti, di, draftKind);
      if (!check.ok) throw new UserError(`${o.draftPath} cannot draft for ${o.modelPath}: ${check.errors.join("; ")}`);
    }
    const target = Model.load(o.modelPath, { gpuLayers: o.gpuLayers });
    let draft: Model | undefined;
    try {
      if (o.draftPath !== undefined) draft = Model.load(o.draftPath, { gpuLayers: o.gpuLayers });
    } catch (err) {
      target.free();
      throw err;
    }
    return new Harness(o, target, draft, draftKind);
  }

  /** The modes this pair supports (the decode suite runs all of them unless told otherwise). */
  availableModes(opts: { treeK: number; treeBudget: number; oracleAl: number }): ModeDef[] {
    const m: ModeDef[] = [
      { mode: "ar", label: "plain (AR)", drafter: "none", shape: "ar", treeK: 1, simulated: false },
      { mode: "ngram", label: "ngram chain 8", drafter: "ngram", shape: "chain", budget: 8, treeK: 1, simulated: false },
      { mode: "ngram-auto", label: "ngram auto", drafter: "ngram", shape: "chain", budget: "auto", treeK: 1, simulated: false },
    ];
    if (this.draftKind === "dflash") {
      const depth = this.dflashDepth();
      m.push({ mode: "dflash-chain", label: `dflash chain ${depth}`, drafter: "dflash", shape: "chain", budget: depth, treeK: 1, simulated: false });
      m.push({ mode: "dflash-auto", label: "dflash auto", drafter: "dflash", shape: "chain", budget: "auto", treeK: 1, simulated: false });
      m.push({ mode: "spec-auto", label: "dflash auto + ngram assist (--spec auto)", drafter: "dflash", shape: "chain", budget: "auto", treeK: 1, simulated: false, assist: true });
      if (!this.recurrent) {
        m.push({ mode: "ddtree", label: `ddtree k${opts.treeK} b${opts.treeBudget}`, drafter: "dflash", shape: "tree", budget: opts.treeBudget, treeK: opts.treeK, simulated: false });
      }
    }
    if (this.draftKind === "draft-model") {
      m.push({ mode: "draft-model", label: "draft model chain 8", drafter: "draft-model", shape: "chain", budget: 8, treeK: 1, simulated: false });
    }
    m.push({ mode: "oracle", label: `oracle AL ${opts.oracleAl}`, drafter: "oracle", shape: "chain", budget: 15, treeK: 1, oracleAl: opts.oracleAl, simulated: true });
    return m;
  }

  /** DFlash drafter depth: block size - 1 (read from a drafter instance). */
  dflashDepth(): number {
    if (this.draftKind !== "dflash") return 0;
    return this.drafterFor({ mode: "", label: "", drafter: "dflash", shape: "chain", treeK: 1, simulated: false }, []).maxDepth;
  }

  /** "main" or "tree": the context family a mode runs in (and its plain reference). */
  family(m: Pick<ModeDef, "shape" | "family">): "main" | "tree" {
    return m.family ?? (m.shape === "tree" ? "tree" : "main");
  }

  context(family: "main" | "tree" | "main-host" | "oracle"): Context {
    let c = this.contexts.get(family);
    if (c) return c;
    if (family === "main-host" && !this.context("main").deviceGreedy) return this.context("main");
    const o = this.o;
    c = Context.create(this.target, {
      ctx: o.ctx,
      threads: o.threads,
      cacheTypeK: o.cacheTypeK,
      cacheTypeV: o.cacheTypeV,
      rsSeq: this.recurrent && family !== "tree" ? 16 : undefined,
      ...(family === "tree"
        ? { kvUnified: true, flashAttn: "off" as const }
        : { flashAttn: o.flashAttn, deviceGreedy: family === "main" && (o.sampling === "device" || (o.sampling === "auto" && this.onGpu)) }),
    });
    this.contexts.set(family, c);
    return c;
  }

  /** The drafter of a mode (cached per kind and context), or a fresh oracle for this reference. */
  drafterFor(m: ModeDef, reference: ArrayLike<number>): Drafter {
    if (m.drafter === "oracle") {
      const ctx = this.context("main");
      // its own context re-derives the script when a near-tie flip takes the run off it
      return new OracleSpecDrafter(reference, constantProfile(m.oracleAl ?? 4, ORACLE_DEPTH), ctx.nVocab, { maxDepth: ORACLE_DEPTH, extend: greedyExtender(this.context("oracle")) });
    }
    const key = `${m.drafter}:${m.shape === "tree" ? m.treeK : 1}`;
    let d = this.drafters.get(key);
    if (d) return d;
    const ctx = this.context(this.family(m));
    const threads = this.o.threads;
    if (m.drafter === "ngram") d = new NgramDrafter();
    else if (m.drafter === "dflash") {
      if (this.draftKind !== "dflash" || !this.draft) throw new UserError("this mode needs a dflash drafter (--draft)");
      d = new DFlashDrafter(ctx, this.draft, { topK: m.shape === "tree" ? m.treeK : 1, threads, deviceArgmax: ctx.deviceGreedy, deviceTopK: this.onGpu });
    } else if (m.drafter === "draft-model") {
      if (this.draftKind !== "draft-model" || !this.draft) throw new UserError("this mode needs a draft model (--draft)");
      d = new DraftModelDrafter(ctx, this.draft, { threads });
    } else throw new Error(`no drafter for mode ${m.mode}`);
    this.drafters.set(key, d);
    return d;
  }

  /** One greedy generation of exactly `maxTokens` tokens (end-of-generation ignored). */
  async run(m: ModeDef, prompt: Int32Array, maxTokens: number, reference: ArrayLike<number> = []): Promise<RunResult> {
    const ctx = this.context(this.family(m));
    const base = { maxTokens, temperature: 0, ignoreEog: true };
    if (m.drafter === "none") {
      const r = await drain(generate(ctx, prompt, base));
      return { tokens: r.tokens, decodeMs: r.decodeMs, promptMs: r.promptMs, split: r.split };
    }
    const drafter = this.drafterFor(m, reference);
    try {
      const shape = m.shape === "tree" ? "tree" : "chain";
      const prices = m.budget === "auto" ? this.pricesFor(m, drafter, shape) : undefined;
      const controller = this.controllerFor(m, drafter, shape, prices);
      const ngramAssist = m.assist ? (m.carried ? this.assistFor(m, drafter, prices) : true) : undefined;
      const r = await drain(generateSpeculative(ctx, drafter, prompt, { ...base, budget: m.budget, shape, controller, prices, ngramAssist }));
      return { tokens: r.tokens, decodeMs: r.decodeMs, promptMs: r.promptMs, split: r.split, spec: r.spec };
    } finally {
      if (m.drafter === "oracle") drafter.free();
    }
  }

  /** A carried mode's controller (made on first use); undefined: generateSpeculative makes its own. */
  private controllerFor(m: ModeDef, drafter: Drafter, shape: "chain" | "tree", prices: StepPrices | undefined): SpecController | undefined {
    if (!m.carried || m.budget !== "auto") return undefined;
    let c = this.controllers.get(m.mode);
    if (!c) this.controllers.set(m.mode, (c = createSpecController(drafter, shape, prices ? { prices } : {})));
    return c;
  }

  /** A carried assisted mode's n-gram assist (made on first use), kept as its controller is. */
  private assistFor(m: ModeDef, drafter: Drafter, prices: StepPrices | undefined): NgramAssist {
    let a = this.assists.get(m.mode);
    if (!a) this.assists.set(m.mode, (a = createNgramAssist(drafter, prices)));
    return a;
  }

  /** On a GPU, as `flint run` and `flint serve` do after their warm-up: the step prices an auto mode's
   *  controllers start from, measured once per context family and drafter (the oracle's drafts,
   *  made fresh per reference, unpriced). */
  private pricesFor(m: ModeDef, drafter: Drafter, shape: "chain" | "tree"): StepPrices | undefined {
    if (!this.onGpu) return undefined;
    const oracle = m.drafter === "oracle";
    const key = `${this.family(m)}:${oracle ? "oracle" : `${m.drafter}:${m.treeK}`}`;
    if (!this.prices.has(key)) {
      this.prices.set(key, measurePrices(this.context(this.family(m)), oracle ? undefined : drafter, candidateBudgets(drafter.maxDepth, shape)));
    }
    return this.prices.get(key);
  }

  /** The controller a carried mode has used so far (undefined before its first run, or not carried). */
  controllerOf(mode: string): SpecController | undefined {
    return this.controllers.get(mode);
  }

  /** Forgets what the carried modes' controllers learned (after a warm-up). */
  resetControllers(): void {
    this.controllers.clear();
    this.assists.clear();
  }

  /**
   * How far batched evaluation moves the logits that decided generated token `index`: the
   * single-token replay of the reference (as plain decoding computed it) against the same row inside
   * batches like a verify's (the row first, in the middle and last of 4- and 16-row batches).
   * Returns plain's choice a, the other token b's gap below it in the single-token logits, and eps =
   * the largest |logit difference| over the vocabulary between the two evaluations. A speculative run
   * that chose b is explained by rounding when gap <= 2 * eps.
   */
  roundingAt(family: "main" | "tree", prompt: Int32Array, tokens: ArrayLike<number>, index: number, other: number): { gap: number; eps: number } {
    const ctx = this.context(family === "main" ? "main-host" : "tree");
    const seqAll = Int32Array.from([...prompt, ...Array.from(tokens)]);
    const at = prompt.length + index - 1; // the position whose logits chose token `index`
    ctx.truncate(0, 0);
    let logits = ctx.prefill(prompt);
    for (let j = 0; j < index; j++) logits = ctx.step(tokens[j], prompt.length + j);
    const single = Float32Array.from(logits);
    const a = tokens[index];
    const gap = single[a] - single[other];
    let eps = 0;
    for (const rows of [4, 16]) {
      for (const offset of [0, rows >> 1, rows - 1]) {
        const start = at - offset;
        if (start < 1 || start + rows > seqAll.length || start + rows > ctx.nCtx) continue;
        ctx.truncate(0, start);
        const b = ctx.batch;
        b.clear();
        for (let r = 0; r < rows; r++) b.add(seqAll[start + r], start + r, 0, true);
        ctx.decode();
        const row = ctx.logits().subarray(offset * ctx.nVocab, (offset + 1) * ctx.nVocab);
        for (let v = 0; v < row.length; v++) {
          const d = Math.abs(row[v] - single[v]);
          if (d > eps) eps = d;
        }
        // put the single-token history back for the next configuration
        ctx.truncate(0, start);
        for (let p = start; p <= at; p++) ctx.step(seqAll[p], p);
      }
    }
    return { gap, eps };
  }

  free(): void {
    for (const d of this.drafters.values()) d.free();
    this.drafters.clear();
    for (const c of this.contexts.values()) c.free();
    this.contexts.clear();
    this.draft?.free();
    this.target.free();
  }
}

/** The first index where two token lists differ (-1 when equal; a shorter list differs at its end). */
export function firstDivergence(a: ArrayLike<number>, b: ArrayLike<number>, n = Math.max(a.length, b.length)): number {
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return -1;
}
