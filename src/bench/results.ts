// The machine-readable output of `flint bench` (results.json), as a zod schema. Every number that is
// compared with llama.cpp is a row: flint's value, the baseline's value (null when no baseline ran)
// and their ratio, with its unit. The per-suite sections keep the detail behind the rows.
import { z } from "zod";
import type { ControllerSnapshot } from "../spec/controller.js";

export const RESULTS_SCHEMA_ID = "flint-bench/1";

const num = z.number();
const numOrNull = z.number().nullable();

export const SuiteSchema = z.enum(["decode", "sweep", "prefill", "niah", "smoke"]);
export type Suite = z.infer<typeof SuiteSchema>;

export const RowSchema = z.object({
  /** the suite the row comes from (smoke runs hold rows of every suite) */
  suite: z.enum(["decode", "sweep", "prefill", "niah"]),
  /** what is measured, e.g. tokens_per_second, ttft_ms, verify_ms_per_step, niah_accuracy */
  metric: z.string(),
  /** mode id (ar, ngram, dflash-chain, ddtree, oracle, full, pflash, ...) */
  mode: z.string(),
  /** human-readable label for tables and charts */
  label: z.string(),
  params: z.record(z.string(), z.union([z.number(), z.string(), z.boolean()])).optional(),
  unit: z.string(),
  flint: numOrNull,
  baseline: numOrNull,
  /** what produced the baseline value (llama-bench tg128, llama-server --spec-type draft-dflash, ...) */
  baselineSource: z.string().optional(),
  /** flint / baseline for rates, baseline / flint for times: > 1 means flint is faster */
  ratio: numOrNull,
  /** acceptance simulated by the oracle drafter: the speed is real, the acceptance is not */
  simulated: z.boolean().optional(),
  note: z.string().optional(),
});
export type Row = z.infer<typeof RowSchema>;

export const TimeSplitSchema = z.object({ draft: num, verify: num, bookkeeping: num, sampling: num, other: num });
export type TimeSplit = z.infer<typeof TimeSplitSchema>;

export const EqualitySchema = z.object({
  /** prompts compared with plain decoding */
  compared: z.number().int(),
  /** identical token for token */
  equal: z.number().int(),
  /** first divergence at a near tie of plain decoding's top-2 logits (counted, not failed) */
  nearTies: z.number().int(),
  /** real mismatches: these fail the run */
  mismatches: z.number().int(),
});
export type Equality = z.infer<typeof EqualitySchema>;

export const DecodeModeSchema = z.object({
  mode: z.string(),
  label: z.string(),
  simulated: z.boolean(),
  drafter: z.string(),
  shape: z.enum(["ar", "chain", "tree"]),
  budget: z.union([z.number(), z.literal("auto")]).nullable(),
  treeK: z.number().int(),
  flashAttn: z.string(),
  /** sum over prompts of (tokens - 1) / sum of decode time */
  tokensPerSecond: num,
  /** tokens emitted per verify step (1 for plain decoding) */
  meanAcceptedLength: num,
  /** per draft depth d: share of verify steps whose token at depth d was accepted */
  acceptanceByDepth: z.array(num),
  steps: z.number().int(),
  arSteps: z.number().int(),
  /** drafts scored against plain tokens instead of verified (shadow probes of --budget auto) */
  shadowProbes: z.number().int().optional(),
  relayouts: z.number().int(),
  tokens: z.number().int(),
  decodeMs: num,
  /** time split per step, ms */
  msPerStep: TimeSplitSchema,
  equality: EqualitySchema,
});
export type DecodeMode = z.infer<typeof DecodeModeSchema>;

export const MismatchSchema = z.object({
  prompt: z.string(),
  mode: z.string(),
  /** index of the first differing generated token */
  index: z.number().int(),
  flintToken: z.number().int(),
  arToken: z.number().int(),
  /** in plain decoding's logits at that token: its choice's logit minus the speculative run's token's */
  gap: z.number(),
  /** largest logit difference between single-token and batched evaluation of that position (eps) */
  rounding: z.number().optional(),
  nearTie: z.boolean(),
});

export const DecodeSectionSchema = z.object({
  prompts: z.array(z.string()),
  tokensPerPrompt: z.number().int(),
  nearTieRule: z.string(),
  modes: z.array(DecodeModeSchema),
  divergences: z.array(MismatchSchema),
});
export type DecodeSection = z.infer<typeof DecodeSectionSchema>;

/** SpecStats.controller (ControllerSnapshot in src/spec/controller-options.ts) */
const ControllerSnapshotSchema = z.object({ arMs: num, draftMs: num, catchUpDraftMs: num, verifyMsByRows: z.record(z.string(), num), acceptance: z.array(num), proposalReach: z.array(num), switchMs: num });
// the schema and the controller's type must describe the same object: either drifting fails to compile
const snapshotMatches: [z.infer<typeof ControllerSnapshotSchema>, ControllerSnapshot] extends [ControllerSnapshot, z.infer<typeof ControllerSnapshotSchema>] ? true : never = true;
void snapshotMatches;

export const SweepPointSchema = z.object({
  drafter: z.string(),
  shape: z.enum(["ar", "chain", "tree"]),
  /** drafted nodes per step (chain depth or DDTree nodes); 0 = plain decoding */
  budget: z.union([z.number(), z.literal("auto")]),
  treeK: z.number().int(),
  tokensPerSecond: num,
  meanAcceptedLength: num,
  steps: z.number().int(),
  arSteps: z.number().int(),
  /** drafts scored against plain tokens instead of verified (auto points' shadow probes) */
  shadowProbes: z.number().int().optional(),
  /** verify steps by drafted nodes verified (auto points: where the controller spent its steps) */
  verifiedByNodes: z.record(z.string(), z.number().int()).optional(),
  /** target forwards whose row count differed from the one before (each costs a CUDA graph capture) */
  shapeChanges: z.number().int().optional(),
  /** mean verify forward per speculative step, ms */
  verifyMsPerStep: numOrNull,
  /** rows per verify forward (budget + 1 for fixed budgets) */
  verifyRows: numOrNull,
  draftMsPerStep: numOrNull,
  simulated: z.boolean().optional(),
  /** auto points: one controller for all the prompts (as flint serve keeps one across requests) */
  controllerCarried: z.boolean().optional(),
  /** auto points: the controller's estimates when the last prompt ended (SpecStats.controller) */
  controller: ControllerSnapshotSchema.optional(),
  /** plain steps the drafter did not follow (auto points: SpecStats.unfollowedSteps) */
  unfollowedSteps: z.number().int().optional(),
  /** auto points with the n-gram assist (--spec auto): its verify steps (in steps too), the tokens
   *  they emitted, and the lookups it scored against plain tokens instead */
  ngramAssist: z.object({ steps: z.number().int(), tokens: z.number().int(), shadowProbes: z.number().int() }).optional(),
  /** auto points: ms per shadow probe, launching (or drafting in line) and taking a draft in flight */
  shadowMsPerProbe: z.object({ launch: num, take: num }).optional(),
  /** where a token's time went, ms per generated token (the split of SpecStats.timeMs; plain
   *  decoding: its decode calls as verify, the device wait as sampling, the rest as other) */
  msPerToken: z.object({ draft: num, verify: num, bookkeeping: num, sampling: num, other: num }).optional(),
});
export type SweepPoint = z.infer<typeof SweepPointSchema>;

export const SweepBestSchema = z.object({
  drafter: z.string(),
  shape: z.enum(["ar", "chain", "tree"]),
  budget: z.number(),
  treeK: z.number().int(),
  tokensPerSecond: num,
  /** best tokens/s over plain decoding */
  speedup: num,
});
export type SweepBest = z.infer<typeof SweepBestSchema>;

export const SweepSectionSchema = z.object({
  prompts: z.array(z.string()),
  tokensPerPrompt: z.number().int(),
  /** one plain decode step, ms */
  arStepMs: num,
  arTokensPerSecond: num,
  points: z.array(SweepPointSchema),
  best: SweepBestSchema,
  /** chain verify ms by rows in the forward (fixed budgets only), with the plain step as 1 row */
  verifyMsByRows: z.record(z.string(), num),
  /** DDTree verify ms by rows (flash attention off, unified KV cache) */
  treeVerifyMsByRows: z.record(z.string(), num),
  draftMs: numOrNull,
});
export type SweepSection = z.infer<typeof SweepSectionSchema>;

export const PrefillPointSchema = z.object({
  method: z.string(),
  contextTokens: z.number().int(),
  /** time to first token: prompt processing plus picking the first token, ms */
  ttftMs: num,
  prefillTokensPerSecond: num,
  /** PFlash: share of prompt tokens the target prefilled */
  keepRatio: z.number().optional(),
});
export const PrefillSectionSchema = z.object({
  points: z.array(PrefillPointSchema),
  pflash: z.object({ available: z.boolean(), note: z.string() }),
});
export type PrefillSection = z.infer<typeof PrefillSectionSchema>;

export const NiahSectionSchema = z.object({
  available: z.boolean(),
  note: z.string(),
  /** whatever runNiah reports, kept as is */
  result: z.unknown().optional(),
});

export const BaselineSectionSchema = z.object({
  ran: z.boolean(),
  /** why it did not run (LLAMA_BIN_DIR unset, tools missing) */
  skipped: z.string().optional(),
  binDir: z.string().optional(),
  llamaBench: z.array(z.object({ test: z.string(), nPrompt: z.number(), nGen: z.number(), tokensPerSecond: num, stddev: num, buildCommit: z.string().optional() })).optional(),
  llamaServer: z
    .array(
      z.object({
        mode: z.string(),
        tokensPerSecond: num,
        prompts: z.number().int(),
        draftN: z.number().optional(),
        draftAccepted: z.number().optional(),
        /** requests whose token ids equal flint's plain decoding */
        sameTokensAsFlint: z.number().int().optional(),
      }),
    )
    .optional(),
  errors: z.array(z.string()).optional(),
});
export type BaselineSection = z.infer<typeof BaselineSectionSchema>;

export const ModelRefSchema = z.object({
  path: z.string(),
  architecture: z.string(),
  sizeBytes: z.number(),
  params: z.number().optional(),
  quantization: z.string().optional(),
  /** written by flint make-model (random weights) */
  randomWeights: z.boolean().optional(),
});
export type ModelRef = z.infer<typeof ModelRefSchema>;

export const ResultsSchema = z.object({
  schema: z.literal(RESULTS_SCHEMA_ID),
  suite: SuiteSchema,
  /** false when a correctness check failed (an output mismatch with plain decoding) */
  ok: z.boolean(),
  failures: z.array(z.string()),
  date: z.string(),
  command: z.string(),
  gitCommit: z.string(),
  flintVersion: z.string(),
  llamaCpp: z.object({ commit: z.string(), release: z.string(), library: z.string(), origin: z.string() }),
  device: z.object({
    /** the device the models ran on (first GPU, else the CPU) */
    name: z.string(),
    devices: z.array(z.object({ name: z.string(), description: z.string(), type: z.string(), totalBytes: z.number() })),
    cpu: z.string(),
    threads: z.number().int().optional(),
  }),
  flags: z.record(z.string(), z.unknown()),
  models: z.object({ target: ModelRefSchema, draft: ModelRefSchema.optional(), scorer: ModelRefSchema.optional() }),
  notes: z.array(z.string()),
  rows: z.array(RowSchema),
  decode: DecodeSectionSchema.optional(),
  sweep: SweepSectionSchema.optional(),
  prefill: PrefillSectionSchema.optional(),
  niah: NiahSectionSchema.optional(),
  baseline: BaselineSectionSchema.optional(),
  /** chart files written next to results.json */
  charts: z.array(z.string()),
  durationS: num,
});
export type BenchResults = z.infer<typeof ResultsSchema>;

/** JSON Schema of results.json (bench/results.schema.json is this, committed). */
export function resultsJsonSchema(): unknown {
  return z.toJSONSchema(ResultsSchema, { target: "draft-2020-12" });
}

/** flint/baseline for rates ("higher is better"), baseline/flint for times; null when either is missing. */
export function ratioOf(flint: number | null, baseline: number | null, higherIsBetter: boolean): number | null {
  if (flint === null || baseline === null || !(flint > 0) || !(baseline > 0)) return null;
  return higherIsBetter ? flint / baseline : baseline / flint;
}
