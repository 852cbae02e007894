// GGML tensor types and llama.cpp file types, as numbered in the pinned llama.cpp
// (ggml/include/ggml.h, include/llama.h). Block sizes come from ggml-common.h; we need them to
// compute tensor byte sizes without linking ggml, both when writing and when checking a file.

export const GGMLType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
  NVFP4: 40,
  Q1_0: 41,
  Q2_0: 42,
} as const;
export type GGMLType = (typeof GGMLType)[keyof typeof GGMLType];

interface TypeTraits {
  name: string;
  blockSize: number;
  typeSize: number;
}

const QK_K = 256;
const TRAITS: Record<number, TypeTraits> = {
  0: { name: "F32", blockSize: 1, typeSize: 4 },
  1: { name: "F16", blockSize: 1, typeSize: 2 },
  2: { name: "Q4_0", blockSize: 32, typeSize: 18 },
  3: { name: "Q4_1", blockSize: 32, typeSize: 20 },
  6: { name: "Q5_0", blockSize: 32, typeSize: 22 },
  7: { name: "Q5_1", blockSize: 32, typeSize: 24 },
  8: { name: "Q8_0", blockSize: 32, typeSize: 34 },
  9: { name: "Q8_1", blockSize: 32, typeSize: 36 },
  10: { name: "Q2_K", blockSize: QK_K, typeSize: 84 },
  11: { name: "Q3_K", blockSize: QK_K, typeSize: 110 },
  12: { name: "Q4_K", blockSize: QK_K, typeSize: 144 },
  13: { name: "Q5_K", blockSize: QK_K, typeSize: 176 },
  14: { name: "Q6_K", blockSize: QK_K, typeSize: 210 },
  15: { name: "Q8_K", blockSize: QK_K, typeSize: 292 },
  16: { name: "IQ2_XXS", blockSize: QK_K, typeSize: 66 },
  17: { name: "IQ2_XS", blockSize: QK_K, typeSize: 74 },
  18: { name: "IQ3_XXS", blockSize: QK_K, typeSize: 98 },
  19: { name: "IQ1_S", blockSize: QK_K, typeSize: 50 },
  20: { name: "IQ4_NL", blockSize: 32, typeSize: 18 },
  21: { name: "IQ3_S", blockSize: QK_K, typeSize: 110 },
  22: { name: "IQ2_S", blockSize: QK_K, typeSize: 82 },
  23: { name: "IQ4_XS", blockSize: QK_K, typeSize: 136 },
  24: { name: "I8", blockSize: 1, typeSize: 1 },
  25: { name: "I16", blockSize: 1, typeSize: 2 },
  26: { name: "I32", blockSize: 1, typeSize: 4 },
  27: { name: "I64", blockSize: 1, typeSize: 8 },
  28: { name: "F64", blockSize: 1, typeSize: 8 },
  29: { name: "IQ1_M", blockSize: QK_K, typeSize: 56 },
  30: { name: "BF16", blockSize: 1, typeSize: 2 },
  34: { name: "TQ1_0", blockSize: QK_K, typeSize: 54 },
  35: { name: "TQ2_0", blockSize: QK_K, typeSize: 66 },
  39: { name: "MXFP4", blockSize: 32, typeSize: 17 },
  40: { name: "NVFP4", blockSize: 64, typeSize: 36 },
  41: { name: "Q1_0", blockSize: 128, typeSize: 18 },
  42: { name: "Q2_0", blockSize: 64, typeSize: 18 },
};

export function ggmlTypeTraits(type: number): TypeTraits {
  const t = TRAITS[type];
  if (!t) throw new Error(`unknown or removed GGML tensor type ${type}`);
  return t;
}

export function ggmlTypeName(type: number): string {
  return TRAITS[type]?.name ?? `TYPE_${type}`;
}

/** Bytes of a tensor with ggml dims `shape` (ne0 first). ne0 must be a whole number of blocks. */
export function ggmlTensorBytes(type: number, shape: readonly (number | bigint)[]): number {
  const { blockSize, typeSize, name } = ggmlTypeTraits(type);
  const ne0 = Number(shape[0] ?? 1);
  if (ne0 % blockSize !== 0) {
    throw new Error(`${name} tensor row length ${ne0} is not a multiple of its block size ${blockSize}`);
  }
  let rows = 1;
  for (let i = 1; i < shape.length; i++) rows *= Number(shape[i]);
  return (ne0 / blockSize) * typeSize * rows;
}

// llama_ftype values (general.file_type); names as llama.cpp's llama_model_ftype_name prints them.
const FILE_TYPES: Record<number, string> = {
  0: "all F32",
  1: "F16",
  2: "Q4_0",
  3: "Q4_1",
  7: "Q8_0",
  8: "Q5_0",
  9: "Q5_1",
  10: "Q2_K - Medium",
  11: "Q3_K - Small",
  12: "Q3_K - Medium",
  13: "Q3_K - Large",
  14: "Q4_K - Small",
  15: "Q4_K - Medium",
  16: "Q5_K - Small",
  17: "Q5_K - Medium",
  18: "Q6_K",
  19: "IQ2_XXS - 2.0625 bpw",
  20: "IQ2_XS - 2.3125 bpw",
  21: "Q2_K - Small",
  22: "IQ3_XS - 3.3 bpw",
  23: "IQ3_XXS - 3.0625 bpw",
  24: "IQ1_S - 1.5625 bpw",
  25: "IQ4_NL - 4.5 bpw",
  26: "IQ3_S - 3.4375 bpw",
  27: "IQ3_S mix - 3.66 bpw",
  28: "IQ2_S - 2.5 bpw",
  29: "IQ2_M - 2.7 bpw",
  30: "IQ4_XS - 4.25 bpw",
  31: "IQ1_M - 1.75 bpw",
  32: "BF16",
  36: "TQ1_0 - 1.69 bpw ternary",
  37: "TQ2_0 - 2.06 bpw ternary",
  38: "MXFP4 MoE",
  39: "NVFP4",
  40: "Q1_0",
  41: "Q2_0",
};

export const LlamaFileType = { ALL_F32: 0, MOSTLY_F16: 1 } as const;

export function llamaFileTypeName(ftype: number): string {
  return FILE_TYPES[ftype] ?? `unknown file type ${ftype}`;
}
