// A llama_batch allocated once by libllama and exposed as typed-array views over its native arrays,
// so filling a batch costs no FFI calls and no allocation. Freed explicitly with free().
import koffi from "koffi";
import { getNative } from "./index.js";
import type { BatchStruct } from "./llama-api.js";

export class NativeBatch {
  readonly capacity: number;
  readonly nSeqMax: number;
  readonly nEmbd: number;
  /** token ids (empty when this is an embedding batch) */
  readonly token: Int32Array;
  /** input embeddings, capacity x nEmbd (empty for token batches) */
  readonly embd: Float32Array;
  readonly pos: Int32Array;
  readonly nSeqId: Int32Array;
  /** per token: its seq id slots (length nSeqMax) */
  readonly seqIds: Int32Array[];
  readonly logits: Int8Array;
  /** the struct passed by value to llama_decode; n_tokens is the only field that changes */
  readonly struct: BatchStruct;
  private freed = false;

  constructor(capacity: number, nSeqMax = 1, nEmbd = 0) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`batch capacity must be a positive integer, got ${capacity}`);
    if (!Number.isInteger(nSeqMax) || nSeqMax < 1) throw new RangeError(`batch nSeqMax must be a positive integer, got ${nSeqMax}`);
    const { llama } = getNative();
    this.capacity = capacity;
    this.nSeqMax = nSeqMax;
    this.nEmbd = nEmbd;
    this.struct = llama.llama_batch_init(capacity, nEmbd, nSeqMax);
    const s = this.struct;
    this.token = nEmbd > 0 ? new Int32Array(0) : new Int32Array(koffi.view(s.token, capacity * 4));
    this.embd = nEmbd > 0 ? new Float32Array(koffi.view(s.embd, capacity * nEmbd * 4)) : new Float32Array(0);
    this.pos = new Int32Array(koffi.view(s.pos, capacity * 4));
    this.nSeqId = new Int32Array(koffi.view(s.n_seq_id, capacity * 4));
    this.logits = new Int8Array(koffi.view(s.logits, capacity));
    const seqPtrs = koffi.decode(s.seq_id, "void *", capacity) as unknown[];
    this.seqIds = seqPtrs.map((p) => new Int32Array(koffi.view(p, nSeqMax * 4)));
    s.n_tokens = 0;
  }

  get nTokens(): number {
    return this.struct.n_tokens;
  }

  set nTokens(n: number) {
    this.struct.n_tokens = n;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    getNative().llama.llama_batch_free(this.struct);
  }
}
