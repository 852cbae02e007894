// PFlash, speculative prefill: for a long prompt, a small scorer model (our own ggml graph, see
// scorer.ts) rates every prompt token, selection keeps the best 32-token chunks plus head and tail
// (select.ts), and the target evaluates only the kept tokens at their original positions
// (GenerateOptions.keep). Decoding continues at the original prompt length. Lossy by nature: it is
// never applied silently (the caller reports PrefillReport) and in "auto" never below the threshold.
//
// Use: `const pf = await loadPrefill(options, targetPath)` once (loads the scorer), then per request
// `const plan = pf?.plan(targetModel, promptTokens)`; pass `plan?.keep` to generate() or
// generateSpeculative() as `keep`, and report `prefillReport(plan, result)`. `pf.free()` at the end.
import { performance } from "node:perf_hooks";
import type { GenerateResult } from "../engine/generate.js";
import type { Model } from "../engine/model.js";
import { Vocab } from "../engine/vocab.js";
import { NativeModel } from "../native/model.js";
import { UserError } from "../native/errors.js";
import { inspectModel } from "../models/inspect.js";
import { PieceTable, mapImportance } from "./retokenize.js";
import { Scorer, type ScorerOptions } from "./scorer.js";
import { selectChunks, DEFAULT_CHUNK, DEFAULT_HEAD_CHUNKS, DEFAULT_TAIL_CHUNKS } from "./select.js";

export const PREFILL_COMPRESSION = ["off", "auto", "always"] as const;
export type PrefillCompression = (typeof PREFILL_COMPRESSION)[number];

export const DEFAULT_PREFILL_THRESHOLD = 32000;
export const DEFAULT_KEEP_RATIO = 0.05;

export interface PrefillOptions {
  /** off: never; auto (default): prompts of >= threshold tokens when a scorer is given; always: every
   *  prompt (needs a scorer) */
  compression?: PrefillCompression;
  /** auto compresses prompts of at least this many target tokens (default 32000) */
  threshold?: number;
  /** fraction of 32-token chunks kept (default 0.05); head and tail chunks are always kept */
  keepRatio?: number;
  /** the scorer GGUF (qwen3 architecture) */
  scorer?: string;
  /** where the scorer runs: auto (default) = a GPU when there is one */
  scorerDevice?: ScorerOptions["device"];
  /** CPU threads for the scorer */
  threads?: number;
  /** tokens per scorer prefill graph (default 512) */
  scorerChunk?: number;
  /** the scorer's prefill attends to this many recent positions (default DEFAULT_SCORER_WINDOW; 0 = all;
   *  see ScorerOptions.window) */
  scorerWindow?: number;
}

/** The scorer's default prefill window. With it an H200 reached 11.5x TTFT at 128K and 7.7x at 64K
 *  over full prefill (full attention: 3.0x / 3.35x; bench/results/2026-11-23-h200-2/pflash-window.json);
 *  with the trained code29m model as scorer at 4K, windows of 512 to 2048 kept the same top chunks as
 *  full attention (bench/results/2026-11-23-cpu-scorer-window-trained.json). */
export const DEFAULT_SCORER_WINDOW = 4096;

export interface PrefillReport {
  promptTokens: number;
  keptTokens: number;
  /** keptTokens / promptTokens */
  keepRatio: number;
  /** the scorer's whole time: tokenization for it, its prefill and its scoring graph, ms */
  scorerMs: number;
  /** chunk selection (and mapping scores between vocabularies), ms */
  selectionMs: number;
  /** the target's prefill of the kept tokens, ms */
  targetPrefillMs: number;
  scorer: {
    path: string;
    backend: string;
    prefillMs: number;
    scoreMs: number;
    /** the scorer's vocabulary differs from the target's: the prompt was re-tokenized by text */
    retokenized: boolean;
    scorerTokens: number;
  };
}

export interface PrefillPlan {
  /** prompt indices for GenerateOptions.keep */
  keep: Int32Array;
  /** the report without the target's prefill time (prefillReport adds it) */
  report: Omit<PrefillReport, "targetPrefillMs">;
}

function checkOptions(o: PrefillOptions): Required<Pick<PrefillOptions, "compression" | "threshold" | "keepRatio">> {
  const compression = o.compression ?? "auto";
  if (!(PREFILL_COMPRESSION as readonly string[]).includes(compression)) {
    throw new UserError(`--prefill-compression must be one of ${PREFILL_COMPRESSION.join(", ")}, got ${String(compression)}`);
  }
  const threshold = o.threshold ?? DEFAULT_PREFILL_THRESHOLD;
  if (!Number.isInteger(threshold) || threshold < 1) throw new UserError(`--prefill-threshold must be a positive integer, got ${threshold}`);
  const keepRatio = o.keepRatio ?? DEFAULT_KEEP_RATIO;
  if (!(keepRatio >= 0 && keepRatio <= 1)) throw new UserError(`--keep-ratio must be in [0, 1], got ${keepRatio}`);
  if (compression === "always" && !o.scorer) throw new UserError("--prefill-compression always needs a scorer model (--scorer FILE)");
  return { compression, threshold, keepRatio };
}

export class PFlash {
  readonly compression: PrefillCompression;
  readonly threshold: number;
  readonly keepRatio: number;
  readonly scorer: Scorer;
  /** the scorer's tokenizer when its vocabulary differs from the target's (a vocab-only libllama model) */
  private readonly scorerVocab: { model: NativeModel; vocab: Vocab } | undefined;
  private scorerPieces: PieceTable | undefined;
  private readonly targetPieces = new WeakMap<Model, PieceTable>();
  private freed = false;

  /** @internal use loadPrefill() */
  constructor(o: ReturnType<typeof checkOptions>, scorer: Scorer, scorerVocab: PFlash["scorerVocab"]) {
    this.compression = o.compression;
    this.threshold = o.threshold;
    this.keepRatio = o.keepRatio;
    this.scorer = scorer;
    this.scorerVocab = scorerVocab;
  }

  /** Would a prompt of n target tokens be compressed? */
  applies(n: number): boolean {
    return this.compression === "always" || (this.compression === "auto" && n >= this.threshold);
  }

  /** Scores the prompt and selects what the target evaluates; undefined when it is not compressed. */
  plan(target: Model, prompt: Int32Array): PrefillPlan | undefined {
    if (this.freed) throw new Error("PFlash is freed");
    const n = prompt.length;
    if (n === 0 || !this.applies(n)) return undefined;
    const t0 = performance.now();
    let scorerTokens: Int32Array = prompt;
    let targetEnds: Int32Array | undefined;
    let scorerEnds: Int32Array | undefined;
    if (this.scorerVocab) {
      // different vocabularies: the scorer reads the prompt's text in its own tokens
      let tp = this.targetPieces.get(target);
      if (!tp) {
        tp = PieceTable.build(target.vocab);
        this.targetPieces.set(target, tp);
      }
      this.scorerPieces ??= PieceTable.build(this.scorerVocab.vocab);
      targetEnds = tp.ends(prompt);
      const text = new TextDecoder().decode(tp.text(prompt));
      scorerTokens = this.scorerVocab.vocab.tokenize(text, { addSpecial: false, parseSpecial: true });
      if (scorerTokens.length === 0) return undefined;
      scorerEnds = this.scorerPieces.ends(scorerTokens);
    }
    const r = this.scorer.score(scorerTokens);
    const t1 = performance.now();
    const importance = targetEnds && scorerEnds ? mapImportance(targetEnds, scorerEnds, r.importance) : r.importance;
    const sel = selectChunks(importance, { keepRatio: this.keepRatio, chunk: DEFAULT_CHUNK, headChunks: DEFAULT_HEAD_CHUNKS, tailChunks: DEFAULT_TAIL_CHUNKS });
    const t2 = performance.now();
    return {
      keep: sel.keep,
      report: {
        promptTokens: n,
        keptTokens: sel.keep.length,
        keepRatio: sel.keep.length / n,
        scorerMs: t1 - t0,
        selectionMs: t2 - t1,
        scorer: {
          path: this.scorer.info.path,
          backend: this.scorer.info.backend,
          prefillMs: r.prefillMs,
          scoreMs: r.scoreMs,
          retokenized: this.scorerVocab !== undefined,
          scorerTokens: scorerTokens.length,
        },
      },
    };
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.scorer.free();
    this.scorerVocab?.model.free();
  }
}

/**
 * Checks the options and loads the scorer (what `flint run` and `flint serve` both call). Returns
 * undefined when nothing can be compressed (off, or auto without a scorer). A scorer whose
 * vocabulary differs from the target's (token-list hash) gets its own tokenizer and the prompt is
 * re-tokenized by text for it.
 */
export async function loadPrefill(o: PrefillOptions, targetPath: string): Promise<PFlash | undefined> {
  const checked = checkOptions(o);
  if (checked.compression === "off" || !o.scorer) return undefined;
  const scorerPath = o.scorer;
  let sameVocab: boolean;
  try {
    const [t, s] = await Promise.all([inspectModel(targetPath), inspectModel(scorerPath)]);
    sameVocab = t.vocabHash !== undefined && t.vocabHash === s.vocabHash;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`cannot use ${scorerPath} as a PFlash scorer: ${(err as Error).message}`);
  }
  const scorer = Scorer.load(scorerPath, { device: o.scorerDevice, threads: o.threads, chunk: o.scorerChunk, window: o.scorerWindow ?? DEFAULT_SCORER_WINDOW });
  let vocabModel: NativeModel | undefined;
  try {
    if (!sameVocab) vocabModel = NativeModel.load(scorerPath, { vocabOnly: true });
    return new PFlash(checked, scorer, vocabModel ? { model: vocabModel, vocab: new Vocab(vocabModel) } : undefined);
  } catch (err) {
    vocabModel?.free();
    scorer.free();
    throw err;
  }
}

/** The full report once the target's prefill ran (its promptMs). */
export function prefillReport(plan: PrefillPlan, result: Pick<GenerateResult, "promptMs">): PrefillReport {
  return { ...plan.report, targetPrefillMs: result.promptMs };
}

/** One line for stderr: PFlash is lossy and never silent. */
export function formatPrefillReport(r: PrefillReport): string {
  return (
    `flint: PFlash kept ${r.keptTokens} of ${r.promptTokens} prompt tokens (${(r.keepRatio * 100).toFixed(1)}%); ` +
    `scorer ${r.scorerMs.toFixed(0)} ms on ${r.scorer.backend}${r.scorer.retokenized ? " (re-tokenized by text)" : ""}, ` +
    `selection ${r.selectionMs.toFixed(1)} ms, target prefill ${r.targetPrefillMs.toFixed(0)} ms`
  );
}
