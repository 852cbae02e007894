// DFlash block drafter (Chen, Liang, Liu 2026) over libllama's `dflash` architecture. The drafter
// context borrows the target's embeddings and output head (ctx_other). Its KV cache holds, at the
// target's positions, the target's layer inputs for every committed token ("features"): after each
// target decode the caller injects the rows it keeps. A draft decodes [last, MASK x (B-1)]
// non-causally and reads per-position top-K log-probs for the B-1 positions after `last`; the noise
// block's cells are dropped right away so only committed features stay in the drafter's cache.
import { EmbeddingBatch, Batch } from "../engine/batch.js";
import { Context } from "../engine/context.js";
import type { Model } from "../engine/model.js";
import { UserError } from "../native/errors.js";
import type { DraftProposal, Drafter } from "./drafter.js";
import { PositionMap } from "./position-map.js";
import { normalizeTopK, topKLogProbs } from "./topk.js";

export type DraftBlock = DraftProposal;

/** candidates the device ranks per drafted position (deviceTopK), at least */
const DEVICE_CANDIDATES = 8;

export interface DFlashOptions {
  /** candidates kept per drafted position (1 = chain) */
  topK?: number;
  threads?: number;
  /** chain drafts (topK 1) take the argmax on the device: no block of logits is copied to the host.
   *  The log-probs are then 0 (unknown). */
  deviceArgmax?: boolean;
  /** rank each position's candidates on the device: max(K, 8) ids and logits come back instead of
   *  n_vocab logits (on an H200, host ranking of 15 x 151,936 logits took 36-57 ms per step; on a
   *  CPU core 1.6 ms per position). Log-probs are then normalised over those candidates
   *  (normalizeTopK), so chains keep a usable probability too. Ignored with deviceArgmax. */
  deviceTopK?: boolean;
}

/** Checks a drafter against its target before any context is made. */
export function checkDFlashPair(target: Model, draft: Model): void {
  if (target.info.architecture === "dflash") throw new UserError(`the target ${target.info.path} is itself a dflash drafter; pass the model it drafts for`);
  if (draft.info.architecture !== "dflash") {
    throw new UserError(`${draft.info.path} is a ${draft.info.architecture} model, not a dflash drafter`);
  }
  if (draft.info.nVocab !== target.info.nVocab) {
    throw new UserError(`dflash drafter vocabulary (${draft.info.nVocab} tokens) does not match the target's (${target.info.nVocab}); it was made for another model`);
  }
  if (draft.info.nEmbd !== target.info.nEmbd) {
    throw new UserError(`dflash drafter hidden size ${draft.info.nEmbd} does not match the target's ${target.info.nEmbd}; it was made for another model`);
  }
  const ids = draft.native.targetLayerIds();
  if (ids.length === 0) throw new UserError(`dflash drafter ${draft.info.path} has no dflash.target_layers`);
  for (const id of ids) {
    if (id < 0 || id >= target.info.nLayer) {
      throw new UserError(`dflash drafter conditions on target layer ${id}, but the target has ${target.info.nLayer} layers; it was made for another model`);
    }
  }
}

/** Batch sizes a flush of pending features is cut into, largest first; a remainder below the last is
 *  injected as it is. A plain stretch leaves any number of rows pending, and on a GPU every new batch
 *  size costs its first-use kernel loading once per process (tens of ms on an H200): with these few
 *  sizes all of them are run once at load (warmInjections). */
export const FLUSH_CHUNKS = [64, 32, 16] as const;

export class DFlashDrafter implements Drafter {
  readonly name = "dflash" as const;
  readonly ctx: Context;
  readonly blockSize: number;
  readonly maskToken: number;
  readonly layerIds: Int32Array;
  readonly topK: number;
  private readonly target: Context;
  private readonly nEmbdTgt: number;
  private readonly inj: EmbeddingBatch;
  private readonly block: Batch;
  private readonly out: DraftBlock;
  /** committed features not yet injected: pendingCount rows at positions pendingPos0.. */
  private pending = new Float32Array(0);
  private pendingCount = 0;
  private readonly views: Float32Array[] = [];
  /** device candidates of one position (deviceTopK), before the best out.k are kept */
  private readonly candIds: Int32Array;
  private readonly candLogp: Float32Array;
  private following = true;
  private pendingPos0 = 0;
  /** the cache's positions: target positions less an offset that grows at each unfollowed gap */
  private readonly positions = new PositionMap();
  /** the drafter position of the last block's first row, where readBlock cuts it off */
  private blockAt = 0;
  /** whether a block launched by launchProposal is not read yet */
  private inFlight = false;

  constructor(target: Context, draft: Model, opts: DFlashOptions = {}) {
    checkDFlashPair(target.model, draft);
    this.target = target;
    this.layerIds = draft.native.targetLayerIds();
    this.blockSize = Number(draft.meta("dflash.block_size") ?? 16);
    const mask = draft.meta("tokenizer.ggml.mask_token_id");
    if (mask === undefined) throw new UserError(`dflash drafter ${draft.info.path} has no tokenizer.ggml.mask_token_id`);
    this.maskToken = Number(mask);
    this.topK = opts.topK ?? 8;
    if (opts.deviceArgmax && this.topK !== 1) throw new UserError("device argmax drafts need topK 1");
    // at least 8 candidates, so that a chain's top-1 log-probability is normalised over more than itself
    const deviceTopK = opts.deviceTopK && !opts.deviceArgmax ? Math.max(this.topK, DEVICE_CANDIDATES) : undefined;
    this.candIds = new Int32Array(deviceTopK ?? 0);
    this.candLogp = new Float32Array(deviceTopK ?? 0);
    this.nEmbdTgt = target.model.info.nEmbd;
    const ubatch = Math.min(512, target.nBatch);
    this.ctx = Context.create(draft, {
      deviceGreedy: opts.deviceArgmax ?? false,
      deviceTopK,
      // a block drafted at the target's last position reaches blockSize - 1 cells past it
      ctx: target.nCtx + this.blockSize,
      pastTrain: this.blockSize,
      batch: target.nBatch,
      ubatch,
      threads: opts.threads,
      other: target,
    });
    this.ctx.native.setNextnEmbeddings(true, true);
    this.ctx.native.setCausalAttention(draft.meta("dflash.attention.causal") === "true");
    for (const lid of this.layerIds) target.native.captureLayerInput(lid, true);
    // the drafter's attention is non-causal, so llama.cpp needs each injection in one ubatch
    this.inj = new EmbeddingBatch(ubatch, this.layerIds.length * this.nEmbdTgt);
    this.block = new Batch(this.blockSize);
    const depth = this.blockSize - 1;
    this.out = { depth, k: this.topK, ids: new Int32Array(depth * this.topK), logp: new Float32Array(depth * this.topK) };
  }

  /** Injects the features of rows of the target's last decode: row rows[i] (or rowStart + i) goes to
   *  target position pos0 + i. Call after every target decode, for the rows that stay committed. */
  inject(rowStart: number, count: number, pos0: number, nTargetRows: number, rows?: ArrayLike<number>): void {
    if (count <= 0) return;
    const views = this.layerViews(nTargetRows);
    const n = this.nEmbdTgt;
    const stride = views.length * n;
    const cap = this.inj.capacity;
    this.settle();
    for (let off = 0; off < count; off += cap) {
      const chunk = Math.min(cap, count - off);
      const embd = this.inj.embd;
      const at = pos0 + off - this.positions.place(pos0 + off, chunk);
      this.inj.clear();
      for (let i = 0; i < chunk; i++) {
        const row = rows ? rows[off + i] : rowStart + off + i;
        for (let l = 0; l < views.length; l++) embd.set(views[l].subarray(row * n, row * n + n), i * stride + l * n);
        this.inj.add(at + i, 0);
      }
      this.ctx.decode(this.inj);
    }
  }

  /** Drafts the block after `last` (at position `pos`, not yet in any cache); returns per-position
   *  top-K log-probs (a reused object, valid until the next call). */
  draft(last: number, pos: number): DraftBlock {
    this.launchBlock(last, pos);
    return this.readBlock();
  }

  /** Launches the block decode at target position `pos`; on a GPU llama_decode returns before the
   *  device is done. */
  private launchBlock(last: number, pos: number): void {
    this.settle();
    const at = pos - this.positions.place(pos, 0);
    this.blockAt = at;
    const b = this.block;
    b.clear();
    // every row is an output, as in llama.cpp: the dflash graph maps outputs to the block's first
    // rows, so asking only for the mask rows would read the wrong positions
    b.add(last, at, 0, true);
    for (let i = 1; i < this.blockSize; i++) b.add(this.maskToken, at + i, 0, true);
    this.ctx.decode(b);
  }

  /** Reads the launched block's candidates (the first read waits for the device). */
  private readBlock(): DraftBlock {
    const out = this.out;
    if (this.ctx.deviceGreedy) {
      for (let d = 0; d < out.depth; d++) out.ids[d] = this.ctx.sampledToken(d + 1);
    } else if (this.ctx.deviceTopK > 0) {
      // the host reads the device's candidates per position instead of scanning n_vocab logits
      const K = this.candIds.length;
      for (let d = 0; d < out.depth; d++) {
        const n = this.ctx.sampledTopK(d + 1, this.candIds, this.candLogp, 0);
        normalizeTopK(this.candIds, this.candLogp, 0, n, K);
        for (let j = 0; j < out.k; j++) {
          out.ids[d * out.k + j] = this.candIds[j];
          out.logp[d * out.k + j] = this.candLogp[j];
        }
      }
    } else {
      const logits = this.ctx.logits();
      const nv = this.ctx.nVocab;
      for (let d = 0; d < out.depth; d++) topKLogProbs(logits.subarray((d + 1) * nv, (d + 2) * nv), out.k, out.ids, out.logp, d * out.k);
    }
    // the noise block is not history: only injected features of committed tokens stay cached
    this.ctx.truncate(0, this.blockAt);
    return out;
  }

  get maxDepth(): number {
    return this.blockSize - 1;
  }

  reset(): void {
    this.settle();
    this.ctx.truncate(0, 0);
    this.positions.reset();
    this.pendingCount = 0;
    this.follow(true);
  }

  rewind(keep: number): void {
    this.settle();
    // features kept on the host belong to committed positions: inject them before cutting
    if (keep > 0) this.flush();
    this.pendingCount = 0;
    this.cut(keep);
    this.follow(true);
  }

  /** Whether the loop hands this drafter the target's rows (SpecController.unfollow: not during
   *  plain stretches far from a probe). The target keeps capturing the layer inputs either way: each
   *  capture toggle makes libllama re-reserve the target's compute graph on its next decode (~50-60 ms
   *  on an H200 8B target), while a capture nobody reads costs the target nothing measurable
   *  (bench/results/2026-11-23-h200-3/plain-step); what unfollowing saves is the host copy per token.
   *  Rows still pending when following stops are dropped: a gap starts there either way, and
   *  injecting them would be a drafter forward on the plain stretch's critical path. */
  follow(on: boolean): void {
    if (on === this.following) return;
    if (!on) this.pendingCount = 0;
    this.following = on;
  }

  onPrefill(tokens: ArrayLike<number>, pos0: number): void {
    this.inject(0, tokens.length, pos0, tokens.length);
  }

  propose(last: number, pos: number, _depth: number): DraftProposal {
    this.flush();
    return this.draft(last, pos);
  }

  /** A shadow probe's draft: the pending features are injected and the block launched, and the
   *  loop goes on with plain steps while the device drafts (around one plain step the host spent
   *  0.48-0.71 ms on such a draft against 0.84-1.06 in line, on the H200's trained code29m pair:
   *  bench/results/2026-11-24-h200-3, draft-step-trained shadow-async / catch-up-step). */
  launchProposal(last: number, pos: number, _depth: number): void {
    this.flush();
    this.launchBlock(last, pos);
    this.inFlight = true;
  }

  takeProposal(): DraftProposal {
    if (!this.inFlight) throw new Error("takeProposal without launchProposal");
    this.inFlight = false;
    return this.readBlock();
  }

  /** Reads and drops a block still in flight, before anything else uses the drafter's context. */
  private settle(): void {
    if (this.inFlight) this.takeProposal();
  }

  /** Forgets target positions >= pos. */
  private cut(pos: number): void {
    this.settle();
    this.ctx.truncate(0, this.positions.toDrafter(pos));
    this.positions.cut(pos);
  }

  /** Keeps the committed rows' features on the host until the next proposal: steps that do not draft
   *  (the controller chose plain decoding) then cost a copy, not a drafter forward. */
  onCommit(tokens: ArrayLike<number>, pos0: number, rows: ArrayLike<number>, nRows: number): void {
    // pending rows are consecutive positions: a gap (rows not handed over) closes the run first
    if (this.pendingCount > 0 && pos0 !== this.pendingPos0 + this.pendingCount) this.flush();
    const views = this.layerViews(nRows);
    const n = this.nEmbdTgt;
    const stride = views.length * n;
    const need = (this.pendingCount + tokens.length) * stride;
    if (need > this.pending.length) {
      const grown = new Float32Array(Math.max(need, this.pending.length * 2));
      grown.set(this.pending.subarray(0, this.pendingCount * stride));
      this.pending = grown;
    }
    for (let i = 0; i < tokens.length; i++) {
      const at = (this.pendingCount + i) * stride;
      for (let l = 0; l < views.length; l++) this.pending.set(views[l].subarray(rows[i] * n, rows[i] * n + n), at + l * n);
    }
    if (this.pendingCount === 0) this.pendingPos0 = pos0;
    this.pendingCount += tokens.length;
  }

  /** The target's captured layer inputs of its last decode, one per target layer (a reused array). */
  private layerViews(nRows: number): Float32Array[] {
    for (let l = 0; l < this.layerIds.length; l++) this.views[l] = this.target.native.layerInput(this.layerIds[l], nRows);
    return this.views;
  }

  /** Injects the features kept by onCommit (consecutive positions from pendingPos0), in batches of
   *  the sizes warmInjections() covers. */
  private flush(): void {
    const stride = this.layerIds.length * this.nEmbdTgt;
    if (this.pendingCount > 0) this.settle();
    for (let off = 0, chunk = 0; off < this.pendingCount; off += chunk) {
      chunk = this.flushChunk(this.pendingCount - off);
      // after positions the drafter did not follow, these continue its own (see PositionMap)
      const at = this.pendingPos0 + off - this.positions.place(this.pendingPos0 + off, chunk);
      this.inj.clear();
      this.inj.embd.set(this.pending.subarray(off * stride, (off + chunk) * stride));
      for (let i = 0; i < chunk; i++) this.inj.add(at + i, 0);
      this.ctx.decode(this.inj);
    }
    this.pendingCount = 0;
  }

  /** The size of the next injection batch when `left` rows are pending: FLUSH_CHUNKS, then the
   *  remainder (below the smallest chunk: a verify step's commit size). */
  private flushChunk(left: number): number {
    for (const c of FLUSH_CHUNKS) if (left >= c) return Math.min(c, this.inj.capacity);
    return Math.min(left, this.inj.capacity);
  }

  /** Runs every injection size a flush can use once (1..15 and FLUSH_CHUNKS, as far as
   *  `nTargetRows` allows) from the rows of the target's last decode, then forgets them. */
  warmInjections(nTargetRows: number): void {
    const sizes: number[] = [];
    for (let k = 1; k < FLUSH_CHUNKS[FLUSH_CHUNKS.length - 1]; k++) sizes.push(k);
    sizes.push(...FLUSH_CHUNKS);
    for (const k of sizes) {
      if (k > nTargetRows || k > this.inj.capacity) continue;
      this.reset();
      this.inject(0, k, 0, nTargetRows);
    }
    this.reset();
  }

  /** The cache's sequence with its position map in front (Int32: the map's length, then the map). */
  saveState(): Uint8Array {
    // features still on the host belong to committed positions: put them in the cache first
    this.settle();
    this.flush();
    const map = this.positions.save();
    const seq = this.ctx.native.seqStateGet(0);
    const out = new Uint8Array(4 * (1 + map.length) + seq.length);
    const head = new Int32Array(out.buffer, 0, 1 + map.length);
    head[0] = map.length;
    head.set(map, 1);
    out.set(seq, head.byteLength);
    return out;
  }

  restoreState(data: Uint8Array, nTokens: number): void {
    this.settle();
    this.pendingCount = 0;
    const n = data.length >= 4 ? new Int32Array(data.slice(0, 4).buffer)[0] : 0;
    const mapBytes = 4 * (1 + n);
    if (n < 3 || mapBytes > data.length) throw new Error("not a saved DFlash drafter state");
    this.positions.load(new Int32Array(data.slice(4, mapBytes).buffer));
    this.ctx.native.seqStateSet(data.subarray(mapBytes), 0);
    this.cut(nTokens);
  }

  free(): void {
    this.settle();
    for (const lid of this.layerIds) this.target.native.captureLayerInput(lid, false);
    this.inj.free();
    this.block.free();
    this.ctx.free();
  }
}
