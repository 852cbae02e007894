// Tokenizer access and incremental detokenization. Pieces are bytes: a multi-byte character can be
// split across tokens, so text is decoded with a streaming UTF-8 decoder.
import type { NativeModel } from "../native/model.js";
import { NativeVocab } from "../native/vocab.js";

export interface TokenizeOptions {
  /** add BOS/EOS as the model's metadata asks (default true) */
  addSpecial?: boolean;
  /** parse special-token text such as <|im_start|> into their ids (default true) */
  parseSpecial?: boolean;
}

export class Vocab {
  private readonly nv: NativeVocab;
  readonly size: number;
  readonly bos: number;
  readonly eos: number;
  readonly eot: number;
  readonly addBos: boolean;

  constructor(model: NativeModel) {
    this.nv = new NativeVocab(model);
    this.size = this.nv.nTokens;
    const s = this.nv.specials();
    this.bos = s.bos;
    this.eos = s.eos;
    this.eot = s.eot;
    this.addBos = s.addBos;
  }

  tokenize(text: string, opts: TokenizeOptions = {}): Int32Array {
    return this.nv.tokenize(text, opts.addSpecial ?? true, opts.parseSpecial ?? true);
  }

  /** Text of tokens; special tokens are rendered as their text unless removeSpecial. */
  detokenize(tokens: ArrayLike<number>, opts: { removeSpecial?: boolean; renderSpecial?: boolean } = {}): string {
    const arr = tokens instanceof Int32Array ? tokens : Int32Array.from(tokens);
    return this.nv.detokenize(arr, opts.removeSpecial ?? false, opts.renderSpecial ?? true);
  }

  /** Raw bytes of one token (valid until the next call). */
  pieceBytes(token: number, renderSpecial = false): Uint8Array {
    return this.nv.pieceBytes(token, renderSpecial);
  }

  text(token: number): string {
    return this.nv.text(token);
  }
  isEog(token: number): boolean {
    return this.nv.isEog(token);
  }
  isControl(token: number): boolean {
    return this.nv.isControl(token);
  }
}

/** Turns a stream of tokens into text, holding back bytes of an unfinished UTF-8 character. */
export class TokenTextDecoder {
  private readonly decoder = new TextDecoder("utf-8", { fatal: false });
  constructor(private readonly vocab: Vocab, private readonly renderSpecial = false) {}

  push(token: number): string {
    return this.decoder.decode(this.vocab.pieceBytes(token, this.renderSpecial), { stream: true });
  }

  flush(): string {
    return this.decoder.decode();
  }
}
