// Tokenizer calls on a model's llama_vocab. Piece lookups reuse one scratch buffer: they run once
// per generated token.
import { getNative } from "./index.js";
import type { NativeModel } from "./model.js";
import type { Ptr } from "./llama-api.js";

export class NativeVocab {
  private readonly vocab: Ptr;
  readonly nTokens: number;
  private pieceBuf = Buffer.alloc(256);

  constructor(model: NativeModel) {
    this.vocab = model.vocab;
    this.nTokens = getNative().llama.llama_vocab_n_tokens(this.vocab);
  }

  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array {
    const { llama } = getNative();
    const bytes = Buffer.from(text, "utf8");
    let out = new Int32Array(bytes.length + 8);
    let n = llama.llama_tokenize(this.vocab, bytes, bytes.length, out, out.length, addSpecial, parseSpecial);
    if (n < 0) {
      // a negative count is the size that would have been needed
      out = new Int32Array(-n);
      n = llama.llama_tokenize(this.vocab, bytes, bytes.length, out, out.length, addSpecial, parseSpecial);
    }
    if (n < 0) throw new Error(`tokenization failed for ${bytes.length} bytes of text`);
    return out.slice(0, n);
  }

  /** Writes the token's bytes into the scratch buffer and returns them (valid until the next call). */
  pieceBytes(token: number, special: boolean): Uint8Array {
    const { llama } = getNative();
    let n = llama.llama_token_to_piece(this.vocab, token, this.pieceBuf, this.pieceBuf.length, 0, special);
    if (n < 0) {
      this.pieceBuf = Buffer.alloc(-n * 2);
      n = llama.llama_token_to_piece(this.vocab, token, this.pieceBuf, this.pieceBuf.length, 0, special);
    }
    return this.pieceBuf.subarray(0, Math.max(0, n));
  }

  detokenize(tokens: Int32Array, removeSpecial: boolean, unparseSpecial: boolean): string {
    const { llama } = getNative();
    let buf = Buffer.alloc(tokens.length * 8 + 16);
    let n = llama.llama_detokenize(this.vocab, tokens, tokens.length, buf, buf.length, removeSpecial, unparseSpecial);
    if (n < 0) {
      buf = Buffer.alloc(-n);
      n = llama.llama_detokenize(this.vocab, tokens, tokens.length, buf, buf.length, removeSpecial, unparseSpecial);
    }
    return buf.toString("utf8", 0, Math.max(0, n));
  }

  text(token: number): string {
    return getNative().llama.llama_vocab_get_text(this.vocab, token);
  }
  attr(token: number): number {
    return getNative().llama.llama_vocab_get_attr(this.vocab, token);
  }
  isEog(token: number): boolean {
    return getNative().llama.llama_vocab_is_eog(this.vocab, token);
  }
  isControl(token: number): boolean {
    return getNative().llama.llama_vocab_is_control(this.vocab, token);
  }

  specials() {
    const { llama } = getNative();
    const v = this.vocab;
    return {
      bos: llama.llama_vocab_bos(v),
      eos: llama.llama_vocab_eos(v),
      eot: llama.llama_vocab_eot(v),
      nl: llama.llama_vocab_nl(v),
      pad: llama.llama_vocab_pad(v),
      mask: llama.llama_vocab_mask(v),
      addBos: llama.llama_vocab_get_add_bos(v),
      addEos: llama.llama_vocab_get_add_eos(v),
      type: llama.llama_vocab_type(v),
    };
  }
}
