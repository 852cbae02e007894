// The Qwen-style vocabulary of generated models: the learned byte-level BPE from
// data/bpe-vocab.json, then the special tokens, then [PAD<id>] tokens up to the model's vocab
// size (as convert_hf_to_gguf.py pads real Qwen vocabularies), and the GGUF tokenizer keys that
// llama.cpp's BPE loader (src/llama-vocab.cpp) reads.

import { readFileSync, readdirSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BpeTokenizer, learnBpe, type BpeVocab } from "./bpe.js";
import { kv, GGUFValueType, type GgufKV } from "./gguf-writer.js";

/** Appended after the BPE tokens in this order (ids 1020..1023 with the default vocabulary). */
export const SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|mask|>"] as const;
export type SpecialToken = (typeof SPECIAL_TOKENS)[number];

/** llama_token_type values */
export const TokenType = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;

/** Learned BPE size (256 bytes + merges); with the 4 specials the default vocab is 1024. */
export const DEFAULT_BPE_SIZE = 1020;

/** Plain ChatML, the template family of Qwen chat models (without tools or thinking). */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Pre-tokenizer name llama.cpp knows; selects Qwen2's regex (LLAMA_VOCAB_PRE_TYPE_QWEN2). */
export const TOKENIZER_PRE = "qwen2";

const DATA_DIR = fileURLToPath(new URL("../../data/", import.meta.url));
export const BPE_CORPUS_DIR = join(DATA_DIR, "bpe-corpus");
export const BPE_VOCAB_FILE = join(DATA_DIR, "bpe-vocab.json");

export interface BpeVocabFile extends BpeVocab {
  vocabSize: number;
  /** sha256 of the corpus text the merges were learned from */
  corpusSha256: string;
  corpusFiles: string[];
}

/** The corpus as learnBpe sees it: files in name order, joined with newlines. */
export function readBpeCorpus(dir = BPE_CORPUS_DIR): { text: string; files: string[] } {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".txt"))
    .sort();
  if (files.length === 0) throw new Error(`no .txt files in BPE corpus directory ${dir}`);
  const text = files.map((f) => readFileSync(join(dir, f), "utf8")).join("\n");
  return { text, files };
}

/** Learn the vocabulary from the shipped corpus (what data/bpe-vocab.json was made with). */
export function learnDefaultBpe(vocabSize = DEFAULT_BPE_SIZE, dir = BPE_CORPUS_DIR): BpeVocabFile {
  const { text, files } = readBpeCorpus(dir);
  const learned = learnBpe(text, { vocabSize });
  const corpusSha256 = createHash("sha256").update(text).digest("hex");
  return { vocabSize, corpusSha256, corpusFiles: files, ...learned };
}

/** JSON with one token / merge per line, so vocabulary changes read well in a diff. */
export function formatBpeVocabFile(v: BpeVocabFile): string {
  const list = (xs: string[]) => `[\n${xs.map((x) => "    " + JSON.stringify(x)).join(",\n")}\n  ]`;
  return (
    "{\n" +
    `  "vocabSize": ${v.vocabSize},\n` +
    `  "corpusSha256": ${JSON.stringify(v.corpusSha256)},\n` +
    `  "corpusFiles": ${JSON.stringify(v.corpusFiles)},\n` +
    `  "tokens": ${list(v.tokens)},\n` +
    `  "merges": ${list(v.merges)}\n` +
    "}\n"
  );
}

let cached: BpeVocabFile | undefined;
export function loadBpeVocab(file = BPE_VOCAB_FILE): BpeVocabFile {
  if (file === BPE_VOCAB_FILE && cached) return cached;
  let parsed: BpeVocabFile;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8")) as BpeVocabFile;
  } catch (e) {
    throw new Error(`cannot read BPE vocabulary ${file}: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed.tokens) || !Array.isArray(parsed.merges) || parsed.tokens.length < 256) {
    throw new Error(`BPE vocabulary ${file} is malformed (needs tokens[>=256] and merges[])`);
  }
  if (file === BPE_VOCAB_FILE) cached = parsed;
  return parsed;
}

export interface ModelVocab {
  tokens: string[];
  tokenTypes: number[];
  merges: string[];
  /** id of each special token */
  special: Record<SpecialToken, number>;
  bosId: number;
  eosId: number;
  padId: number;
  /** tokens that come from the BPE (the rest are specials and padding) */
  nBpe: number;
}

/**
 * Vocabulary of `nVocab` tokens (default: BPE + specials rounded up to a multiple of 64).
 * Like Qwen3's GGUF: eos = <|im_end|>, bos = padding = <|endoftext|>, no BOS added.
 */
export function buildModelVocab(nVocab?: number, bpe: BpeVocab = loadBpeVocab()): ModelVocab {
  const nBpe = bpe.tokens.length;
  const minSize = nBpe + SPECIAL_TOKENS.length;
  const size = nVocab ?? Math.ceil(minSize / 64) * 64;
  if (!Number.isInteger(size) || size < minSize) {
    throw new Error(`vocab size must be an integer >= ${minSize} (${nBpe} BPE tokens + ${SPECIAL_TOKENS.length} special tokens), got ${nVocab}`);
  }
  const tokens = bpe.tokens.slice();
  const tokenTypes: number[] = new Array(nBpe).fill(TokenType.NORMAL);
  const special = {} as Record<SpecialToken, number>;
  for (const s of SPECIAL_TOKENS) {
    special[s] = tokens.length;
    tokens.push(s);
    tokenTypes.push(TokenType.CONTROL);
  }
  while (tokens.length < size) {
    tokens.push(`[PAD${tokens.length}]`);
    tokenTypes.push(TokenType.UNUSED);
  }
  return {
    tokens,
    tokenTypes,
    merges: bpe.merges.slice(),
    special,
    bosId: special["<|endoftext|>"],
    eosId: special["<|im_end|>"],
    padId: special["<|endoftext|>"],
    nBpe,
  };
}

/** GGUF tokenizer.* keys for a ModelVocab. */
export function tokenizerMetadata(v: ModelVocab): [string, GgufKV][] {
  return [
    ["tokenizer.ggml.model", kv.str("gpt2")],
    ["tokenizer.ggml.pre", kv.str(TOKENIZER_PRE)],
    ["tokenizer.ggml.tokens", kv.arr(GGUFValueType.STRING, v.tokens)],
    ["tokenizer.ggml.token_type", kv.arr(GGUFValueType.INT32, v.tokenTypes)],
    ["tokenizer.ggml.merges", kv.arr(GGUFValueType.STRING, v.merges)],
    ["tokenizer.ggml.bos_token_id", kv.u32(v.bosId)],
    ["tokenizer.ggml.eos_token_id", kv.u32(v.eosId)],
    ["tokenizer.ggml.padding_token_id", kv.u32(v.padId)],
    ["tokenizer.ggml.add_bos_token", kv.bool(false)],
    ["tokenizer.chat_template", kv.str(CHATML_TEMPLATE)],
  ];
}

/** Reference tokenizer for the default vocabulary, with special-token parsing. */
export function defaultTokenizer(v: ModelVocab = buildModelVocab()): BpeTokenizer {
  return new BpeTokenizer(v.tokens.slice(0, v.nBpe), v.merges, { specials: v.special });
}
