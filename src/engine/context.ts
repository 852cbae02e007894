// An inference context over a Model: KV cache, one reusable batch, prefill and single-step decode.
import { availableParallelism } from "node:os";
import { NativeContext, type CacheType } from "../native/context.js";
import { UserError } from "../native/errors.js";
import { Batch, type EmbeddingBatch } from "./batch.js";
import type { Model } from "./model.js";

export interface ContextOptions {
  /** context length in tokens; default min(4096, training context) */
  ctx?: number;
  /** logical batch size for prefill; default min(2048, ctx) */
  batch?: number;
  ubatch?: number;
  /** sequences that may live in the KV cache at once (tree verify uses one per branch) */
  seqMax?: number;
  kvUnified?: boolean;
  flashAttn?: "auto" | "on" | "off";
  cacheTypeK?: CacheType;
  cacheTypeV?: CacheType;
  embeddings?: boolean;
  threads?: number;
  threadsBatch?: number;
  /** recurrent-state snapshots per sequence (rollback on hybrid models) */
  rsSeq?: number;
  /** a context whose embeddings and output head this one borrows (DFlash drafter on its target) */
  other?: Context;
  /** cells the context may have past the model's training context (a DFlash drafter drafts a block
   *  from the target's last position on: its cache needs the block's cells past the target's) */
  pastTrain?: number;
  /** pick greedy tokens on the device (llama.cpp backend sampling): no logits are copied to the host,
   *  so only greedy, penalty-free generation can use the context */
  deviceGreedy?: boolean;
  /** the device ranks each output row's top k tokens (read with sampledTopK); logits() is then empty.
   *  For drafters whose proposals need k candidates per position (DDTree) on a GPU. */
  deviceTopK?: number;
}

const NO_LOGITS = new Float32Array(0);

function positiveInt(name: string, v: number | undefined): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UserError(`${name} must be a positive integer, got ${v}`);
}

export class Context {
  readonly model: Model;
  readonly native: NativeContext;
  readonly batch: Batch;
  readonly nCtx: number;
  readonly nBatch: number;
  readonly nVocab: number;
  /** tokens are picked by the device (see ContextOptions.deviceGreedy); logits() is then empty */
  readonly deviceGreedy: boolean;
  /** the flash attention mode the context was made with */
  readonly flashAttn: "auto" | "on" | "off";
  /** one KV cache for every sequence (DDTree verify keeps a sequence per branch in it) */
  readonly kvUnified: boolean;
  private freed = false;

  private constructor(model: Model, native: NativeContext, seqMax: number, flashAttn: "auto" | "on" | "off", kvUnified: boolean) {
    this.model = model;
    this.flashAttn = flashAttn;
    this.kvUnified = kvUnified;
    this.native = native;
    this.deviceGreedy = native.hasDeviceGreedy;
    this.nCtx = native.nCtx;
    this.nBatch = native.nBatch;
    this.nVocab = native.nVocab;
    this.batch = new Batch(this.nBatch, seqMax);
  }

  static create(model: Model, o: ContextOptions = {}): Context {
    positiveInt("context size", o.ctx);
    positiveInt("batch size", o.batch);
    positiveInt("ubatch size", o.ubatch);
    positiveInt("seqMax", o.seqMax);
    positiveInt("threads", o.threads);
    positiveInt("deviceTopK", o.deviceTopK);
    if (o.deviceGreedy && o.deviceTopK) throw new UserError("a context samples greedily or ranks a top-k on the device, not both");
    const train = model.info.nCtxTrain;
    const nCtx = o.ctx ?? Math.min(4096, train > 0 ? train : 4096);
    if (train > 0 && nCtx > train + (o.pastTrain ?? 0)) {
      throw new UserError(`context size ${nCtx} exceeds the model's training context of ${train} tokens; pass --ctx ${train} or less`);
    }
    const nBatch = Math.min(o.batch ?? 2048, nCtx);
    const seqMax = o.seqMax ?? 1;
    const kvUnified = o.kvUnified ?? seqMax > 1;
    const cpuThreads = availableParallelism();
    const native = NativeContext.create(model.native, {
      nCtx,
      nBatch,
      nUbatch: Math.min(o.ubatch ?? 512, nBatch),
      nSeqMax: seqMax,
      nRsSeq: o.rsSeq,
      kvUnified,
      flashAttn: o.flashAttn ?? "auto",
      typeK: o.cacheTypeK,
      typeV: o.cacheTypeV,
      embeddings: o.embeddings,
      threads: o.threads ?? cpuThreads,
      threadsBatch: o.threadsBatch ?? o.threads ?? cpuThreads,
      other: o.other?.native,
      deviceGreedySeqs: o.deviceGreedy || o.deviceTopK ? seqMax : 0,
      deviceTopK: o.deviceTopK,
    });
    return new Context(model, native, seqMax, o.flashAttn ?? "auto", kvUnified);
  }

  /** Runs the context's batch (or another); throws a clear error when it does not fit. */
  decode(batch: Batch | EmbeddingBatch = this.batch): void {
    this.native.decode(batch.native);
  }

  /** All output rows of the last decode, [rows x nVocab], a view into native memory (empty when the
   *  device picks tokens). */
  logits(): Float32Array {
    return this.deviceGreedy || this.native.deviceTopK > 0 ? NO_LOGITS : this.native.logits();
  }

  /** The device top-k of output row i of the last decode (deviceTopK contexts): candidate ids and raw
   *  logits written at `at`, unordered; returns how many. */
  sampledTopK(i: number, ids: Int32Array, logits: Float32Array, at: number): number {
    return this.native.sampledTopK(i, ids, logits, at);
  }

  get deviceTopK(): number {
    return this.native.deviceTopK;
  }

  /** The device's greedy pick for output row i of the last decode (deviceGreedy contexts). */
  sampledToken(i = -1): number {
    return this.native.sampledToken(i);
  }

  /** Evaluates tokens of `seq` starting at `startPos`, in chunks of the batch size. Returns the
   *  logits of the last token (a view valid until the next decode). */
  prefill(tokens: ArrayLike<number>, startPos = 0, seq = 0): Float32Array {
    if (tokens.length === 0) throw new UserError("cannot evaluate an empty prompt");
    if (startPos + tokens.length > this.nCtx) {
      throw new UserError(`prompt of ${tokens.length} tokens at position ${startPos} does not fit the context of ${this.nCtx} tokens`);
    }
    const b = this.batch;
    for (let off = 0; off < tokens.length; off += this.nBatch) {
      const end = Math.min(tokens.length, off + this.nBatch);
      b.clear();
      for (let k = off; k < end; k++) b.add(tokens[k], startPos + k, seq, k === tokens.length - 1);
      this.decode(b);
    }
    return this.logits();
  }

  /** Decodes one token of `seq` at `pos` and returns its logits (a reused view). */
  step(token: number, pos: number, seq = 0): Float32Array {
    this.launch(token, pos, seq);
    return this.logits();
  }

  /** Decodes one token without waiting for its logits: on a GPU llama_decode only launches the
   *  graph, so the caller can do other work before logits() or sampledToken() waits. */
  launch(token: number, pos: number, seq = 0): void {
    if (pos >= this.nCtx) throw new UserError(`the context of ${this.nCtx} tokens is full`);
    const b = this.batch;
    b.clear();
    b.add(token, pos, seq, true);
    this.native.decode(b.native);
  }

  /** Drops positions >= fromPos of seq (all sequences when seq < 0). */
  truncate(seq: number, fromPos: number): void {
    if (!this.native.seqRm(seq, fromPos, -1)) throw new UserError(`cannot remove positions from ${fromPos} of sequence ${seq} (recurrent memory needs rollback snapshots)`);
  }

  clear(): void {
    this.native.clearMemory(true);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.batch.free();
    this.native.free();
  }
}
