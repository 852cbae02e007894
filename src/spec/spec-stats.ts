// What a speculative generation reports (SpecStats, `flint run --json`'s `spec`) and what is derived
// from it.
import type { ControllerSnapshot } from "./controller-options.js";
import type { Drafter } from "./drafter.js";
import type { NgramAssistStats } from "./ngram-assist.js";

export interface SpecStats {
  drafter: Drafter["name"];
  mode: "chain" | "tree";
  budget: number;
  steps: number;
  /** tokens emitted per verify step, bonus token included */
  meanAcceptedLength: number;
  /** acceptedPerDepth[d]: steps whose draft token at depth d+1 was accepted */
  acceptedPerDepth: number[];
  /** tree steps whose accepted path left the greedy chain and was decoded again in cache order */
  relayouts: number;
  /** "auto" or the fixed budget */
  budgetMode: "auto" | "fixed";
  /** steps the controller ran as plain decoding (no draft) */
  arSteps: number;
  /** plain steps the drafter did not follow (DFlash: no feature copy), far from any probe */
  unfollowedSteps: number;
  /** drafts scored against the plain tokens that followed them instead of verified (shadow.ts) */
  shadowProbes: number;
  /** the shadow probes' share of timeMs.draft: drafting in line or launching a draft in flight, and
   *  taking the drafts in flight (the wait for the device and the read) */
  shadowMs: { launch: number; take: number };
  /** verify steps by drafted nodes verified ("4": steps that verified 4 nodes) */
  verifiedByNodes: Record<string, number>;
  /** target forwards after the prompt whose row count differed from the forward before (on ggml-cuda
   *  each runs without the captured CUDA graph, and the next one captures it again) */
  shapeChanges: number;
  /** budget "auto": the controller's estimates when the request ended */
  controller?: ControllerSnapshot;
  /** the n-gram assist's share (SpecOptions.ngramAssist): its verify steps are in steps too */
  ngramAssist?: NgramAssistStats & { controller: ControllerSnapshot };
  /** time a measurement-only drafter spent simulating (the oracle re-deriving the target's
   *  continuation), taken out of decodeMs and the draft time */
  simulatedMs?: number;
  timeMs: { draft: number; verify: number; bookkeeping: number; sampling: number; other: number };
}

/** Drafted tokens sent to verify (llama-server's draft_n): the nodes of every verify step. Shadow
 *  probes' drafts are never verified and do not count. */
export function draftedTokens(spec: Pick<SpecStats, "verifiedByNodes">): number {
  let n = 0;
  for (const [nodes, steps] of Object.entries(spec.verifiedByNodes)) n += Number(nodes) * steps;
  return n;
}

/** the non-zero counts of `counts`, keyed by index */
export function sparseCounts(counts: Int32Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) if (counts[i] > 0) out[i] = counts[i];
  return out;
}
