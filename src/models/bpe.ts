// Byte-level BPE as GPT-2 / Qwen define it: bytes map to printable unicode characters, text is
// pre-tokenized with Qwen2's regex (what llama.cpp applies for tokenizer.ggml.pre = "qwen2"),
// and merges are learned deterministically from a corpus. This module is also the reference
// encoder that tests compare libllama's tokenizer against.

/** GPT-2's bytes_to_unicode(): printable latin-1 bytes map to themselves, the rest to U+0100.. */
function buildByteMaps(): { order: number[]; byteToChar: string[]; charToByte: Map<string, number> } {
  const order: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) order.push(b);
  for (let b = 0xa1; b <= 0xac; b++) order.push(b);
  for (let b = 0xae; b <= 0xff; b++) order.push(b);
  const byteToChar: string[] = new Array(256);
  for (const b of order) byteToChar[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (byteToChar[b] === undefined) {
      order.push(b);
      byteToChar[b] = String.fromCodePoint(256 + n++);
    }
  }
  const charToByte = new Map<string, number>();
  for (let b = 0; b < 256; b++) charToByte.set(byteToChar[b], b);
  return { order, byteToChar, charToByte };
}

const BYTE_MAPS = buildByteMaps();

/** Byte values in GPT-2 vocabulary order: token id i (i < 256) is the byte BYTE_ORDER[i]. */
export const BYTE_ORDER: readonly number[] = BYTE_MAPS.order;
export const BYTE_TO_CHAR: readonly string[] = BYTE_MAPS.byteToChar;

const utf8 = new TextEncoder();

export function bytesToUnicode(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += BYTE_TO_CHAR[bytes[i]];
  return s;
}

export function unicodeToBytes(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const b = BYTE_MAPS.charToByte.get(ch);
    if (b === undefined) throw new Error(`character ${JSON.stringify(ch)} is not a byte-level BPE symbol`);
    out.push(b);
  }
  return Uint8Array.from(out);
}

/** Qwen2's pre-tokenizer regex, as listed for LLAMA_VOCAB_PRE_TYPE_QWEN2 in llama-vocab.cpp. */
export const QWEN2_PRETOKENIZE =
  /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export function pretokenize(text: string): string[] {
  return text.match(QWEN2_PRETOKENIZE) ?? [];
}

export interface BpeVocab {
  /** token strings in byte-unicode form; ids 0..255 are the single bytes in BYTE_ORDER */
  tokens: string[];
  /** "left right" pairs, highest priority first */
  merges: string[];
}

export interface LearnBpeOptions {
  /** total tokens including the 256 byte tokens */
  vocabSize: number;
}

/**
 * Learn merges: count pre-token words, then repeatedly merge the most frequent adjacent pair.
 * Ties go to the pair with the smallest (left id, right id), so the result depends only on the
 * text. Pair counts are updated incrementally for the words a merge touches, which keeps a few
 * hundred KB of text well under a second.
 */
export function learnBpe(text: string, opts: LearnBpeOptions): BpeVocab {
  const { vocabSize } = opts;
  if (!Number.isInteger(vocabSize) || vocabSize < 256 || vocabSize > 65536) {
    throw new Error(`BPE vocab size must be an integer in [256, 65536], got ${vocabSize}`);
  }
  const tokens = BYTE_ORDER.map((b) => BYTE_TO_CHAR[b]);
  const idOf = new Map<string, number>(tokens.map((t, i) => [t, i]));
  const byteId = new Int32Array(256);
  BYTE_ORDER.forEach((b, i) => (byteId[b] = i));

  const wordFreq = new Map<string, number>();
  for (const w of pretokenize(text)) wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, f] of wordFreq) {
    const bytes = utf8.encode(w);
    if (bytes.length < 2) continue;
    words.push(Array.from(bytes, (b) => byteId[b]));
    freqs.push(f);
  }

  const KEY = 65536;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const account = (wi: number, sign: 1 | -1) => {
    const w = words[wi];
    const f = freqs[wi] * sign;
    for (let j = 0; j + 1 < w.length; j++) {
      const key = w[j] * KEY + w[j + 1];
      const c = (pairCount.get(key) ?? 0) + f;
      if (c === 0) pairCount.delete(key);
      else pairCount.set(key, c);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) account(wi, 1);

  const merges: string[] = [];
  while (tokens.length < vocabSize) {
    let best = -1;
    let bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c > bestCount || (c === bestCount && key < best)) {
        best = key;
        bestCount = c;
      }
    }
    if (best < 0) break; // corpus exhausted: every word is a single token
    const a = Math.floor(best / KEY);
    const b = best % KEY;
    const merged = tokens[a] + tokens[b];
    let id = idOf.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      idOf.set(merged, id);
    }
    merges.push(`${tokens[a]} ${tokens[b]}`);
    for (const wi of pairWords.get(best) ?? []) {
      const w = words[wi];
      let has = false;
      for (let j = 0; j + 1 < w.length; j++) if (w[j] === a && w[j + 1] === b) { has = true; break; }
      if (!has) continue;
      account(wi, -1);
      const out: number[] = [];
      for (let j = 0; j < w.length; j++) {
        if (j + 1 < w.length && w[j] === a && w[j + 1] === b) {
          out.push(id);
          j++;
        } else out.push(w[j]);
      }
      words[wi] = out;
      account(wi, 1);
    }
    pairWords.delete(best);
    pairCount.delete(best);
  }
  return { tokens, merges };
}

export interface BpeTokenizerOptions {
  /** extra tokens matched verbatim when encoding with parseSpecial, e.g. "<|im_end|>" -> id */
  specials?: ReadonlyMap<string, number> | Record<string, number>;
}

/** Reference byte-level BPE encoder/decoder over a token list and merge list. */
export class BpeTokenizer {
  readonly tokens: readonly string[];
  private idOf = new Map<string, number>();
  private rank = new Map<string, number>();
  private specials: [string, number][];
  private specialStarts: Set<string>;
  private cache = new Map<string, number[]>();
  private byteTokenId = new Int32Array(256).fill(-1);

  constructor(tokens: readonly string[], merges: readonly string[], opts: BpeTokenizerOptions = {}) {
    this.tokens = tokens;
    tokens.forEach((t, i) => {
      if (!this.idOf.has(t)) this.idOf.set(t, i);
    });
    merges.forEach((m, i) => this.rank.set(m, i));
    for (let b = 0; b < 256; b++) this.byteTokenId[b] = this.idOf.get(BYTE_TO_CHAR[b]) ?? -1;
    const sp = opts.specials instanceof Map ? [...opts.specials] : Object.entries(opts.specials ?? {});
    // longest first, so a special that is a prefix of another cannot shadow it
    this.specials = sp.filter(([s]) => s.length > 0).sort((x, y) => y[0].length - x[0].length);
    this.specialStarts = new Set(this.specials.map(([s]) => s[0]));
  }

  encode(text: string, opts: { parseSpecial?: boolean } = {}): number[] {
    const out: number[] = [];
    if (!opts.parseSpecial || this.specials.length === 0) {
      this.encodeOrdinary(text, out);
      return out;
    }
    let start = 0;
    for (let i = 0; i < text.length; ) {
      const hit = this.specialStarts.has(text[i]) ? this.specials.find(([s]) => text.startsWith(s, i)) : undefined;
      if (hit) {
        this.encodeOrdinary(text.slice(start, i), out);
        out.push(hit[1]);
        i += hit[0].length;
        start = i;
      } else i++;
    }
    this.encodeOrdinary(text.slice(start), out);
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    for (const word of pretokenize(text)) {
      let ids = this.cache.get(word);
      if (!ids) {
        ids = this.encodeWord(word);
        if (this.cache.size < 100_000) this.cache.set(word, ids);
      }
      for (const id of ids) out.push(id);
    }
  }

  /** GPT-2's bpe(): merge the lowest-ranked adjacent pair everywhere, until none is ranked. */
  private encodeWord(word: string): number[] {
    let syms = Array.from(utf8.encode(word), (b) => BYTE_TO_CHAR[b]);
    while (syms.length > 1) {
      let bestRank = Infinity;
      let bestPair = "";
      for (let j = 0; j + 1 < syms.length; j++) {
        const r = this.rank.get(`${syms[j]} ${syms[j + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          bestPair = `${syms[j]} ${syms[j + 1]}`;
        }
      }
      if (bestRank === Infinity) break;
      const [a, b] = bestPair.split(" ");
      const next: string[] = [];
      for (let j = 0; j < syms.length; j++) {
        if (j + 1 < syms.length && syms[j] === a && syms[j + 1] === b) {
          next.push(a + b);
          j++;
        } else next.push(syms[j]);
      }
      syms = next;
    }
    const ids: number[] = [];
    for (const s of syms) {
      const id = this.idOf.get(s);
      if (id !== undefined) ids.push(id);
      else for (const byte of unicodeToBytes(s)) ids.push(this.byteTokenId[byte]);
    }
    return ids;
  }

  /** Token ids back to text; special tokens render as their text. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    const special = new Map(this.specials.map(([s, id]) => [id, s]));
    const flushTo = (parts: string[]) => {
      if (bytes.length) parts.push(new TextDecoder().decode(Uint8Array.from(bytes)));
      bytes.length = 0;
    };
    const parts: string[] = [];
    for (const id of ids) {
      const sp = special.get(id);
      if (sp !== undefined) {
        flushTo(parts);
        parts.push(sp);
        continue;
      }
      const tok = this.tokens[id];
      if (tok === undefined) throw new Error(`token id ${id} is outside the vocabulary (${this.tokens.length})`);
      for (const b of unicodeToBytes(tok)) bytes.push(b);
    }
    flushTo(parts);
    return parts.join("");
  }
}
