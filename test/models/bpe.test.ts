// Byte-level BPE: byte mapping, Qwen2 pre-tokenization, deterministic merge learning (and that
// data/bpe-vocab.json is exactly what the shipped corpus learns), the model vocabulary layout,
// and encode/decode round trips through the reference tokenizer.
// UPDATE_BPE_VOCAB=1 rewrites data/bpe-vocab.json from data/bpe-corpus/.
import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BYTE_ORDER, BYTE_TO_CHAR, BpeTokenizer, bytesToUnicode, learnBpe, pretokenize, unicodeToBytes } from "../../src/models/bpe.js";
import {
  BPE_VOCAB_FILE, CHATML_TEMPLATE, DEFAULT_BPE_SIZE, SPECIAL_TOKENS, TokenType, buildModelVocab, defaultTokenizer,
  formatBpeVocabFile, learnDefaultBpe, loadBpeVocab, readBpeCorpus,
} from "../../src/models/vocab.js";

describe("byte mapping", () => {
  it("maps 256 bytes to 256 distinct printable characters, GPT-2 style", () => {
    expect(new Set(BYTE_TO_CHAR).size).toBe(256);
    expect([...BYTE_ORDER].sort((a, b) => a - b)).toEqual(Array.from({ length: 256 }, (_, i) => i));
    expect(BYTE_TO_CHAR[0x20]).toBe("Ġ");
    expect(BYTE_TO_CHAR[0x0a]).toBe("Ċ");
    expect(BYTE_TO_CHAR[0x41]).toBe("A");
    expect(BYTE_ORDER[0]).toBe(0x21); // "!" is token 0, as in GPT-2 and Qwen
    for (const ch of BYTE_TO_CHAR) expect(/\s/.test(ch)).toBe(false);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(Array.from(unicodeToBytes(bytesToUnicode(all)))).toEqual(Array.from(all));
  });
});

describe("pre-tokenizer (qwen2)", () => {
  const cases: [string, string[]][] = [
    ["Hello world", ["Hello", " world"]],
    ["I'm here, don't go!", ["I", "'m", " here", ",", " don", "'t", " go", "!"]],
    ["12345 apples", ["1", "2", "3", "4", "5", " apples"]],
    ["a\n\nb", ["a", "\n\n", "b"]],
    ["x  = 1;\n", ["x", " ", " =", " ", "1", ";\n"]],
    ["    return x", ["   ", " return", " x"]],
    ["café naïve", ["café", " naïve"]],
    ["日本語です", ["日本語です"]],
    ["(foo)", ["(foo", ")"]],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => expect(pretokenize(text)).toEqual(want));
  it("covers the whole input", () => {
    const s = "mixed\tTABS\r\n and   spaces 😀!! 42\n";
    expect(pretokenize(s).join("")).toBe(s);
  });
});

describe("merge learning", () => {
  it("merges the most frequent pair first and is deterministic", () => {
    const text = "ab ab ab aab";
    const v = learnBpe(text, { vocabSize: 259 });
    expect(v.merges).toEqual(["a b", "Ġ ab", "a ab"]);
    expect(v.tokens.slice(256)).toEqual(["ab", "Ġab", "aab"]);
    expect(learnBpe(text, { vocabSize: 259 })).toEqual(v);
  });

  it("breaks count ties by the smaller (left id, right id)", () => {
    // "a a" and "a b" both occur 5 times; "a" < "b" in id order
    expect(learnBpe("aaab aaab aab ab ab", { vocabSize: 257 }).merges).toEqual(["a a"]);
  });

  it("stops when the corpus has nothing left to merge", () => {
    const v = learnBpe("ab ab", { vocabSize: 1000 });
    expect(v.tokens.length).toBeLessThan(1000);
    expect(v.merges).toEqual(["a b", "Ġ ab"]);
  });

  it("rejects impossible sizes", () => {
    expect(() => learnBpe("x", { vocabSize: 100 })).toThrow(/vocab size must be an integer in \[256, 65536\]/);
  });

  it("reproduces data/bpe-vocab.json from data/bpe-corpus, in well under 2 s", () => {
    const t0 = performance.now();
    const learned = learnDefaultBpe();
    const ms = performance.now() - t0;
    if (process.env.UPDATE_BPE_VOCAB) writeFileSync(BPE_VOCAB_FILE, formatBpeVocabFile(learned));
    const shipped = loadBpeVocab();
    expect(shipped.corpusSha256).toBe(learned.corpusSha256);
    expect(shipped.corpusFiles).toEqual(learned.corpusFiles);
    expect(shipped.tokens).toEqual(learned.tokens);
    expect(shipped.merges).toEqual(learned.merges);
    expect(learned.tokens.length).toBe(DEFAULT_BPE_SIZE);
    expect(ms).toBeLessThan(2000);
    expect(readBpeCorpus().text.length).toBeGreaterThan(200_000);
  });
});

describe("model vocabulary", () => {
  it("appends the special tokens as CONTROL tokens, Qwen3 style", () => {
    const v = buildModelVocab();
    expect(v.tokens.length).toBe(1024);
    expect(v.nBpe).toBe(DEFAULT_BPE_SIZE);
    SPECIAL_TOKENS.forEach((s, i) => {
      expect(v.special[s]).toBe(DEFAULT_BPE_SIZE + i);
      expect(v.tokens[v.special[s]]).toBe(s);
      expect(v.tokenTypes[v.special[s]]).toBe(TokenType.CONTROL);
    });
    expect(v.eosId).toBe(v.special["<|im_end|>"]);
    expect(v.bosId).toBe(v.special["<|endoftext|>"]);
    expect(v.padId).toBe(v.special["<|endoftext|>"]);
    expect(v.tokenTypes.slice(0, v.nBpe).every((t) => t === TokenType.NORMAL)).toBe(true);
    expect(new Set(v.tokens).size).toBe(v.tokens.length);
    expect(CHATML_TEMPLATE).toContain("<|im_start|>");
  });

  it("pads larger vocabularies with unused [PAD<id>] tokens", () => {
    const v = buildModelVocab(151936);
    expect(v.tokens.length).toBe(151936);
    expect(v.tokens[1024]).toBe("[PAD1024]");
    expect(v.tokens[151935]).toBe("[PAD151935]");
    expect(v.tokenTypes[151935]).toBe(TokenType.UNUSED);
    expect(v.special["<|mask|>"]).toBe(1023);
  });

  it("refuses a vocabulary smaller than BPE + specials", () => {
    expect(() => buildModelVocab(1000)).toThrow(/vocab size must be an integer >= 1024/);
  });

  it("every merge yields a token and every learned token comes from a merge", () => {
    const v = loadBpeVocab();
    const tokens = new Set(v.tokens);
    for (const m of v.merges) {
      const [a, b] = m.split(" ");
      expect(tokens.has(a) && tokens.has(b) && tokens.has(a + b), m).toBe(true);
    }
    const merged = new Set(v.merges.map((m) => m.replace(" ", "")));
    expect(v.tokens.slice(256).every((t) => merged.has(t))).toBe(true);
  });
});

describe("reference tokenizer", () => {
  const tok = defaultTokenizer();
  const samples = [
    "Hello world",
    "The quick brown fox jumps over the lazy dog.",
    "  leading spaces and trailing   ",
    "def f(x):\n\treturn x ** 2  # square\n\n",
    "const x: number[] = [1, 2, 3];\r\n",
    "Café naïve façade — Zürich, São Paulo, Dvořák",
    "日本語のテキストと中文文本和한국어",
    "Привет, мир! Γειά σου κόσμε! مرحبا بالعالم",
    "emoji 😀👍🏽👨‍👩‍👧‍👦🇵🇹 and symbols ∑ √ ∞ € ™",
    "",
    "\n",
    "a",
    "\u0000\u0001\u007f odd bytes \ufeff",
  ];
  for (const s of samples) {
    it(`round-trips ${JSON.stringify(s.slice(0, 30))}`, () => {
      const ids = tok.encode(s);
      expect(tok.decode(ids)).toBe(s);
      for (const id of ids) expect(id).toBeLessThan(DEFAULT_BPE_SIZE);
    });
  }

  it("round-trips random unicode text", () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const ranges = [[0x20, 0x7e], [0xa0, 0x24f], [0x400, 0x4ff], [0x4e00, 0x9fff], [0x1f300, 0x1f6ff], [0x09, 0x0d]];
    for (let n = 0; n < 50; n++) {
      let s = "";
      const len = 1 + Math.floor(rand() * 60);
      for (let i = 0; i < len; i++) {
        const [lo, hi] = ranges[Math.floor(rand() * ranges.length)];
        s += String.fromCodePoint(lo + Math.floor(rand() * (hi - lo + 1)));
      }
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it("compresses English prose", () => {
    const text = "When people ask why I still keep a vegetable garden, they usually expect an answer about saving money.";
    expect(tok.encode(text).length).toBeLessThan(text.length / 2.2);
  });

  it("matches special tokens only with parseSpecial", () => {
    const v = buildModelVocab();
    const s = "<|im_start|>user\nhi<|im_end|>\n";
    const ids = tok.encode(s, { parseSpecial: true });
    expect(ids[0]).toBe(v.special["<|im_start|>"]);
    expect(ids).toContain(v.special["<|im_end|>"]);
    expect(tok.decode(ids)).toBe(s);
    const plain = tok.encode(s);
    expect(plain.some((id) => id >= DEFAULT_BPE_SIZE)).toBe(false);
    expect(tok.decode(plain)).toBe(s);
  });

  it("encodes with merges applied by rank (GPT-2 bpe())", () => {
    const t = new BpeTokenizer(["a", "b", "c", "ab", "bc", "abc"], ["b c", "a b", "a bc"]);
    // "b c" outranks "a b", so "abc" merges as a + bc -> abc
    expect(t.encode("abc")).toEqual([5]);
    const t2 = new BpeTokenizer(["a", "b", "c", "ab", "bc", "abc"], ["a b", "b c"]);
    expect(t2.encode("abc")).toEqual([3, 2]);
  });
});
