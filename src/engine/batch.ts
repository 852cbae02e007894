// Builds llama_batch contents in place. One Batch is allocated per context and reused every step.
import { NativeBatch } from "../native/batch.js";

/** What token and embedding batches share: the native arrays, their size, clearing and freeing. */
abstract class BatchBase {
  protected readonly nb: NativeBatch;

  protected constructor(nb: NativeBatch) {
    this.nb = nb;
  }

  get capacity(): number {
    return this.nb.capacity;
  }
  get nTokens(): number {
    return this.nb.nTokens;
  }
  /** The native batch, for Context.decode. */
  get native(): NativeBatch {
    return this.nb;
  }

  clear(): this {
    this.nb.nTokens = 0;
    return this;
  }

  free(): void {
    this.nb.free();
  }
}

export class Batch extends BatchBase {
  constructor(capacity: number, nSeqMax = 1) {
    super(new NativeBatch(capacity, nSeqMax));
  }

  /** Appends one token; `seq` is one sequence id or several (the token's KV cell is shared by all of
   *  them; the first is the query's own sequence). Returns the token's index in the batch. */
  add(token: number, pos: number, seq: number | ArrayLike<number>, output: boolean): number {
    const nb = this.nb;
    const i = nb.nTokens;
    if (i >= nb.capacity) throw new RangeError(`batch is full (${nb.capacity} tokens)`);
    nb.token[i] = token;
    nb.pos[i] = pos;
    const ids = nb.seqIds[i];
    if (typeof seq === "number") {
      ids[0] = seq;
      nb.nSeqId[i] = 1;
    } else {
      if (seq.length < 1 || seq.length > nb.nSeqMax) throw new RangeError(`a token needs 1..${nb.nSeqMax} sequence ids, got ${seq.length}`);
      for (let k = 0; k < seq.length; k++) ids[k] = seq[k];
      nb.nSeqId[i] = seq.length;
    }
    nb.logits[i] = output ? 1 : 0;
    nb.nTokens = i + 1;
    return i;
  }

  /** Appends one token whose seq ids are ids[start .. start+count) (first = the query's own seq),
   *  copied straight into the native arrays. */
  addSeqRange(token: number, pos: number, ids: Int32Array, start: number, count: number, output: boolean): number {
    const nb = this.nb;
    const i = nb.nTokens;
    if (i >= nb.capacity) throw new RangeError(`batch is full (${nb.capacity} tokens)`);
    if (count < 1 || count > nb.nSeqMax) throw new RangeError(`a token needs 1..${nb.nSeqMax} sequence ids, got ${count}`);
    nb.token[i] = token;
    nb.pos[i] = pos;
    const dst = nb.seqIds[i];
    for (let k = 0; k < count; k++) dst[k] = ids[start + k];
    nb.nSeqId[i] = count;
    nb.logits[i] = output ? 1 : 0;
    nb.nTokens = i + 1;
    return i;
  }

  /** Appends a run of tokens of one sequence at consecutive positions, output only on the last if asked. */
  addSequence(tokens: ArrayLike<number>, startPos: number, seq: number, outputLast: boolean): void {
    for (let k = 0; k < tokens.length; k++) this.add(tokens[k], startPos + k, seq, outputLast && k === tokens.length - 1);
  }

}

/** A batch of input embeddings instead of token ids (DFlash feature injection into a drafter). */
export class EmbeddingBatch extends BatchBase {
  readonly nEmbd: number;

  constructor(capacity: number, nEmbd: number, nSeqMax = 1) {
    super(new NativeBatch(capacity, nSeqMax, nEmbd));
    this.nEmbd = nEmbd;
  }
  /** rows of input embeddings, [capacity x nEmbd]; fill row i before add() returns i */
  get embd(): Float32Array {
    return this.nb.embd;
  }

  /** Appends a row (its embedding must be written at embd[i*nEmbd ...]); returns its index. */
  add(pos: number, seq: number, output = false): number {
    const nb = this.nb;
    const i = nb.nTokens;
    if (i >= nb.capacity) throw new RangeError(`batch is full (${nb.capacity} rows)`);
    nb.pos[i] = pos;
    nb.seqIds[i][0] = seq;
    nb.nSeqId[i] = 1;
    nb.logits[i] = output ? 1 : 0;
    nb.nTokens = i + 1;
    return i;
  }
}
