// PFlash chunk selection: from one importance value per prompt token to the prompt indices the target
// evaluates. Pure and model-free.
//
// The prompt is cut into chunks of `chunk` tokens (default 32; the last one may be shorter). The first
// `headChunks` (default 2) and the last `tailChunks` (default 2) chunks are always kept: the head holds
// the system prompt and attention sinks, the tail the question and the last token, whose logits start
// decoding. Of the other chunks, the ones with the highest mean importance are added until
// ceil(nChunks x keepRatio) chunks are kept in all (never fewer than the head and tail; ties go to the
// earlier chunk). Kept token indices come back ascending.

export interface SelectOptions {
  /** fraction of chunks to keep, in [0, 1] */
  keepRatio: number;
  /** tokens per chunk (default 32) */
  chunk?: number;
  /** leading chunks always kept (default 2) */
  headChunks?: number;
  /** trailing chunks always kept (default 2; the last prompt token is in the last chunk) */
  tailChunks?: number;
}

export interface Selection {
  /** kept prompt token indices, ascending; always includes the last index */
  keep: Int32Array;
  /** kept chunk indices, ascending */
  chunks: Int32Array;
  nChunks: number;
}

export const DEFAULT_CHUNK = 32;
export const DEFAULT_HEAD_CHUNKS = 2;
export const DEFAULT_TAIL_CHUNKS = 2;

function nonNegInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

export function selectChunks(importance: ArrayLike<number>, o: SelectOptions): Selection {
  const n = importance.length;
  const chunk = o.chunk ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`chunk must be a positive integer, got ${chunk}`);
  if (!(o.keepRatio >= 0 && o.keepRatio <= 1)) throw new RangeError(`keep ratio must be in [0, 1], got ${o.keepRatio}`);
  const head = nonNegInt("head chunks", o.headChunks ?? DEFAULT_HEAD_CHUNKS);
  const tail = nonNegInt("tail chunks", o.tailChunks ?? DEFAULT_TAIL_CHUNKS);
  if (n === 0) return { keep: new Int32Array(0), chunks: new Int32Array(0), nChunks: 0 };
  const nChunks = Math.ceil(n / chunk);
  const kept = new Uint8Array(nChunks);
  let count = 0;
  const force = (c: number) => {
    if (!kept[c]) {
      kept[c] = 1;
      count++;
    }
  };
  for (let c = 0; c < Math.min(head, nChunks); c++) force(c);
  // the last chunk holds the last token: kept even with tailChunks = 0
  for (let c = Math.max(0, nChunks - Math.max(1, tail)); c < nChunks; c++) force(c);
  // a tiny epsilon keeps ceil() from rounding 0.05 x 40 = 2.0000000000000004 up to 3
  const target = Math.min(nChunks, Math.ceil(nChunks * o.keepRatio - 1e-9));
  if (count < target) {
    const free: number[] = [];
    const mean = new Float64Array(nChunks);
    for (let c = 0; c < nChunks; c++) {
      if (kept[c]) continue;
      const end = Math.min(n, (c + 1) * chunk);
      let s = 0;
      for (let i = c * chunk; i < end; i++) s += importance[i];
      const m = s / (end - c * chunk);
      mean[c] = Number.isNaN(m) ? -Infinity : m;
      free.push(c);
    }
    free.sort((a, b) => (mean[b] > mean[a] ? 1 : mean[b] < mean[a] ? -1 : a - b));
    for (let k = 0; k < free.length && count < target; k++) force(free[k]);
  }
  const chunks = new Int32Array(count);
  let nKeep = 0;
  for (let c = 0, k = 0; c < nChunks; c++) {
    if (!kept[c]) continue;
    chunks[k++] = c;
    nKeep += Math.min(n, (c + 1) * chunk) - c * chunk;
  }
  const keep = new Int32Array(nKeep);
  let at = 0;
  for (const c of chunks) for (let i = c * chunk, end = Math.min(n, (c + 1) * chunk); i < end; i++) keep[at++] = i;
  return { keep, chunks, nChunks };
}
