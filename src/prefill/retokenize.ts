// When the scorer's vocabulary differs from the target's, PFlash re-tokenizes the prompt's text with
// the scorer's tokenizer and carries the scorer's per-token importance back to the target's tokens by
// byte offsets: a target token gets the largest importance of the scorer tokens overlapping its bytes.
// Piece bytes come from a table built once per vocabulary, so mapping a prompt costs two FFI calls
// (one tokenize) and no per-token calls.
import type { Vocab } from "../engine/vocab.js";

/** Every token's bytes (special tokens rendered as their text), concatenated, with offsets. */
export class PieceTable {
  private constructor(readonly bytes: Uint8Array, readonly offsets: Int32Array) {}

  static build(vocab: Vocab): PieceTable {
    const offsets = new Int32Array(vocab.size + 1);
    const parts: Uint8Array[] = [];
    let total = 0;
    for (let t = 0; t < vocab.size; t++) {
      const p = vocab.pieceBytes(t, true).slice();
      parts.push(p);
      total += p.length;
      offsets[t + 1] = total;
    }
    const bytes = new Uint8Array(total);
    for (let t = 0; t < parts.length; t++) bytes.set(parts[t], offsets[t]);
    return new PieceTable(bytes, offsets);
  }

  /** Cumulative byte end of each token of `tokens`. */
  ends(tokens: ArrayLike<number>): Int32Array {
    const out = new Int32Array(tokens.length);
    let at = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      at += this.offsets[t + 1] - this.offsets[t];
      out[i] = at;
    }
    return out;
  }

  /** The bytes of `tokens`, concatenated. */
  text(tokens: ArrayLike<number>): Uint8Array {
    const ends = this.ends(tokens);
    const out = new Uint8Array(ends.length ? ends[ends.length - 1] : 0);
    let at = 0;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i];
      out.set(this.bytes.subarray(this.offsets[t], this.offsets[t + 1]), at);
      at = ends[i];
    }
    return out;
  }
}

/**
 * Importance per target token from importance per scorer token, both given as cumulative byte ends
 * over the same text. A target token takes the max over the scorer tokens overlapping its bytes; an
 * empty target token (no bytes) takes the scorer token at its offset. When the two byte totals differ
 * (text that does not round-trip), scorer offsets are scaled to the target's total.
 */
export function mapImportance(targetEnds: Int32Array, scorerEnds: Int32Array, scorerImportance: Float32Array): Float32Array {
  const n = targetEnds.length;
  const m = scorerEnds.length;
  const out = new Float32Array(n);
  if (m === 0) return out;
  const tTotal = n ? targetEnds[n - 1] : 0;
  const sTotal = scorerEnds[m - 1];
  const scale = sTotal > 0 && tTotal !== sTotal ? tTotal / sTotal : 1;
  const end = (j: number) => scorerEnds[j] * scale;
  let j = 0; // first scorer token whose end is past the current target token's start
  let start = 0;
  for (let i = 0; i < n; i++) {
    const stop = targetEnds[i];
    while (j < m - 1 && end(j) <= start) j++;
    let best = scorerImportance[j];
    for (let k = j + 1; k < m && (k === 0 ? 0 : end(k - 1)) < stop; k++) best = Math.max(best, scorerImportance[k]);
    out[i] = best;
    start = stop;
  }
  return out;
}
