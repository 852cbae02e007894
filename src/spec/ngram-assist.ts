// The n-gram assist of a model drafter (`--spec auto` with a DFlash or draft model): before each step
// the speculative loop looks the history's longest repeated suffix up (no model: a few hash probes)
// and, where one matched, a controller of its own decides whether to verify the chain that followed
// it. Its acceptance is learned from these chains only and its drafts cost next to nothing, so it
// verifies exactly where the text repeats (code edits, loops, quoted prompt spans), while the model
// drafter's controller keeps deciding every other step with its own evidence: one controller over
// both kinds of draft would average a repeat's near-certain chain with the model's guesses.
// A lookup the controller does not verify is scored for free against the tokens the target then
// emits (a shadow: shadow.ts), so the evidence keeps up without costing a forward.
import type { DraftProposal } from "./drafter.js";
import { AR, SpecController } from "./controller.js";
import { DDTreeBuilder, type DDTree } from "./ddtree.js";
import { NgramDrafter as NgramIndex } from "./ngram.js";
import type { StepPrices } from "./prices.js";
import { ShadowProbe, type ObserveAcceptance } from "./shadow.js";

/** Longest chain the assist proposes: 8 verify rows, the most ggml-cuda's vector kernel takes in one
 *  matrix product (see TREE_BUDGETS in generate-spec.ts) and the prices' largest cheap shape. */
export const ASSIST_DEPTH = 7;
/** Lookups scored whole in a row after which the next is verified whatever the controller says. A
 *  controller verifies no more once it rates a verify dear, and then nothing re-measures it (the
 *  shadows cost no forward): without prices (a CPU) the first verify at a shape is a one-off (on a
 *  2-core CPU the trained pair's first 8-row verify step took 8-9 ms, later ones 3-4.5), after which
 *  the assist had scored 35 more lookups per request, most of them whole, and verified none. A chain
 *  scored whole twice in a row is about to be accepted again: verifying it costs little if the price
 *  was right and corrects it if not. */
const WHOLE_TO_VERIFY = 2;

export interface NgramAssistStats {
  /** verify steps whose chain came from the lookup */
  steps: number;
  /** tokens those steps emitted (accepted drafts and the bonus token) */
  tokens: number;
  /** lookups scored against the plain tokens instead of verified */
  shadowProbes: number;
  /** time spent looking up, ms */
  lookupMs: number;
}

export class NgramAssist {
  readonly controller: SpecController;
  readonly maxDepth: number;
  private readonly index = new NgramIndex();
  private readonly shadow: ShadowProbe;
  private readonly builder: DDTreeBuilder;
  /** the last lookup (its chain is `tree`'s source) */
  readonly proposal: DraftProposal;
  private readonly observe: ObserveAcceptance;
  /** the chain the last decide() asked to verify */
  tree: DDTree | undefined;
  /** the last lookup's time, ms */
  lookupMs = 0;
  stats: NgramAssistStats = { steps: 0, tokens: 0, shadowProbes: 0, lookupMs: 0 };
  /** shadows accepted whole in a row */
  private whole = 0;

  /** `budgets`: the chain lengths its controller chooses from (createNgramAssist: the candidate
   *  budgets up to ASSIST_DEPTH and the drafter's depth); `prices` as for the model drafter's
   *  controller (the assist's own drafts are priced at zero: a lookup's measured times replace that). */
  constructor(budgets: readonly number[], prices?: StepPrices) {
    this.maxDepth = budgets[budgets.length - 1];
    this.controller = new SpecController({
      shape: "chain",
      maxDepth: this.maxDepth,
      budgets,
      ...(prices ? { prices: { arMs: prices.arMs, verifyMsByRows: prices.verifyMsByRows, draftMs: 0, catchUpDraftMs: 0 } } : {}),
    });
    this.shadow = new ShadowProbe(this.maxDepth);
    this.builder = new DDTreeBuilder(this.maxDepth);
    this.proposal = { depth: 0, k: 1, ids: new Int32Array(this.maxDepth), logp: new Float32Array(this.maxDepth) };
    this.observe = (tree, accepted, path) => {
      this.whole = accepted === tree.size ? this.whole + 1 : 0;
      this.controller.observeAcceptance(tree, accepted, path);
    };
  }

  /** A request starts: the history is the prompt (the caller pushes each token from the first
   *  generated one on). What the controller learned carries over as SpecController.startRequest says. */
  start(prompt: ArrayLike<number>): void {
    this.shadow.cancel();
    this.index.reset();
    this.index.pushAll(prompt);
    this.tree = undefined;
    this.whole = 0;
    this.stats = { steps: 0, tokens: 0, shadowProbes: 0, lookupMs: 0 };
    this.controller.startRequest();
    this.controller.shapeChanged();
  }

  /** The target's next token, in order (plain or verified): scores a shadow, then joins the history. */
  push(token: number): void {
    this.shadow.feed(token, this.observe);
    this.index.push(token);
  }

  /**
   * Before a step whose last token is the history's last: the nodes of a looked-up chain to verify
   * (this.tree), or 0 for the model drafter's controller to decide. `room`: positions left in the
   * target's context.
   */
  decide(room: number): number {
    this.tree = undefined;
    // one lookup at a time is scored: the next is made when the walk ends
    if (this.shadow.active || room < 1) return 0;
    const t0 = performance.now();
    const p = this.proposal;
    p.depth = this.index.draft(p.ids, p.logp, Math.min(this.maxDepth, room), 1);
    let n = 0;
    if (p.depth > 0) {
      const c = this.controller;
      let b = c.choose();
      const plain = b === AR || c.shadowProbe;
      if (plain && this.whole >= WHOLE_TO_VERIFY) b = p.depth;
      else if (plain) {
        const tree = this.builder.buildFrom(p, p.depth);
        c.observeProposal(tree);
        this.shadow.start(tree);
        this.stats.shadowProbes++;
        b = AR;
      }
      if (b !== AR) {
        this.whole = 0;
        this.tree = this.builder.buildFrom(p, Math.min(b, p.depth));
        c.observeProposalLength(Math.min(b, room), this.tree.size);
        n = this.tree.size;
      }
    }
    this.lookupMs = performance.now() - t0;
    this.stats.lookupMs += this.lookupMs;
    return n;
  }

  /** The request ended: a shadow still being scored is dropped. */
  finish(): void {
    this.shadow.cancel();
  }
}
