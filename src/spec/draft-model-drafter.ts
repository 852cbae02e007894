// A small autoregressive model as drafter (speculative decoding in its classic form): it keeps its
// own context in step with the committed history and drafts a chain greedily, stopping early when
// its own confidence drops below a cut. Its vocabulary must be the target's (checked by the caller
// through models/pairing.ts, and here by size).
import { Context } from "../engine/context.js";
import type { Model } from "../engine/model.js";
import { UserError } from "../native/errors.js";
import type { DraftProposal, Drafter } from "./drafter.js";
import { topKLogProbs } from "./topk.js";

export interface DraftModelOptions {
  /** longest chain drafted per step (default 8) */
  maxDepth?: number;
  /** stop drafting when the drafter's top probability falls below this (default 0.3; 0 = never) */
  minProb?: number;
  threads?: number;
}

export class DraftModelDrafter implements Drafter {
  readonly name = "draft-model" as const;
  readonly maxDepth: number;
  readonly ctx: Context;
  private readonly minLogp: number;
  private readonly out: DraftProposal;
  private readonly one = { ids: new Int32Array(1), logp: new Float32Array(1) };
  /** positions [0, cached) of the committed history are in the drafter's cache */
  private cached = 0;
  /** the committed history by position (the drafter may lag behind it by one token) */
  private readonly history: number[] = [];
  private readonly feed: number[] = [];

  constructor(target: Context, draft: Model, opts: DraftModelOptions = {}) {
    if (draft.info.nVocab !== target.model.info.nVocab) {
      throw new UserError(`draft model vocabulary (${draft.info.nVocab} tokens) does not match the target's (${target.model.info.nVocab})`);
    }
    if (draft.info.isHybrid || draft.info.isRecurrent) {
      // drafting rolls its own cache back every step; recurrent state cannot follow that cheaply
      throw new UserError(`draft model ${draft.info.path} has recurrent layers (${draft.info.architecture}); use an attention-only draft model`);
    }
    this.maxDepth = opts.maxDepth ?? 8;
    const minProb = opts.minProb ?? 0.3;
    this.minLogp = minProb > 0 ? Math.log(minProb) : -Infinity;
    this.ctx = Context.create(draft, { ctx: target.nCtx, batch: target.nBatch, threads: opts.threads });
    this.out = { depth: 0, k: 1, ids: new Int32Array(this.maxDepth), logp: new Float32Array(this.maxDepth) };
  }

  reset(): void {
    this.ctx.truncate(0, 0);
    this.cached = 0;
    this.history.length = 0;
  }

  rewind(keep: number, history: ArrayLike<number>): void {
    this.history.length = keep;
    for (let i = 0; i < keep; i++) this.history[i] = history[i];
    this.cached = Math.min(this.cached, keep);
    this.ctx.truncate(0, this.cached);
  }

  onPrefill(tokens: ArrayLike<number>, pos0: number): void {
    for (let i = 0; i < tokens.length; i++) this.history[pos0 + i] = tokens[i];
    this.ctx.prefill(tokens, pos0);
    this.cached = pos0 + tokens.length;
  }

  propose(last: number, pos: number, depth: number): DraftProposal {
    // the root and every accepted draft token are in the cache already; decode from there
    const out = this.out;
    const d = Math.min(depth, this.maxDepth);
    // committed tokens the drafter has not seen (an accepted last draft token was never decoded by
    // it) go in one batch with the root
    const start = Math.min(this.cached, pos);
    this.ctx.truncate(0, start);
    this.feed.length = 0;
    for (let p = start; p < pos; p++) this.feed.push(this.history[p]);
    this.feed.push(last);
    let logits = this.ctx.prefill(this.feed, start);
    let n = 0;
    while (n < d) {
      topKLogProbs(logits, 1, this.one.ids, this.one.logp, 0);
      if (this.one.logp[0] < this.minLogp) break;
      out.ids[n] = this.one.ids[0];
      out.logp[n] = this.one.logp[0];
      n++;
      if (n < d) logits = this.ctx.step(out.ids[n - 1], pos + n);
    }
    out.depth = n;
    this.cached = pos + n;
    return out;
  }

  onCommit(tokens: ArrayLike<number>, pos0: number): void {
    for (let i = 0; i < tokens.length; i++) this.history[pos0 + i] = tokens[i];
    // the committed prefix of the draft is what the drafter decoded: keep exactly that part
    this.cached = Math.min(this.cached, pos0 + tokens.length);
    this.ctx.truncate(0, this.cached);
  }

  saveState(): Uint8Array {
    return this.ctx.native.seqStateGet(0);
  }

  restoreState(data: Uint8Array, nTokens: number): void {
    this.ctx.native.seqStateSet(data, 0);
    // the copy may end before nTokens (the drafter lags one token behind) or after it (drafts)
    this.cached = Math.min(nTokens, this.ctx.native.seqPosMax(0) + 1);
    this.ctx.truncate(0, this.cached);
  }

  free(): void {
    this.ctx.free();
  }
}
