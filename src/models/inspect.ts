// Read a GGUF's header (no tensor data) into a typed summary, and check that the file is long
// enough for every tensor it declares, so a truncated download fails here with a clear message
// instead of inside llama.cpp.

import { gguf, type GGUFParseOutput, type GGUFTypedMetadata } from "@huggingface/gguf";
import { stat } from "node:fs/promises";
import { ggmlTensorBytes, ggmlTypeName, llamaFileTypeName } from "./ggml-types.js";

export interface ModelInfo {
  path: string;
  fileBytes: number;
  ggufVersion: number;
  architecture: string;
  name?: string;
  /** sum of tensor element counts */
  parameterCount: number;
  tensorCount: number;
  /** general.file_type, if present */
  fileType?: { id: number; name: string };
  /** tensor type name -> number of tensors */
  tensorTypes: Record<string, number>;
  /** tensor type name -> bytes */
  tensorTypeBytes: Record<string, number>;
  /** one-line label: file type name, else the dominant tensor type */
  quantization: string;
  bitsPerWeight: number;
  contextLength?: number;
  layers?: number;
  embd?: number;
  ff?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  ropeFreqBase?: number;
  vocabSize?: number;
  tokenizerModel?: string;
  tokenizerPre?: string;
  bosTokenId?: number;
  eosTokenId?: number;
  hasChatTemplate: boolean;
  chatTemplate?: string;
  /** token_embd used as the output head (no output.weight) */
  tiedEmbeddings?: boolean;
  dflash?: { blockSize?: number; targetLayers: number[]; maskTokenId?: number };
  /** present for models written by `flint make-model` */
  generated?: { generator: string; seed?: number; preset?: string };
  tensorDataOffset: number;
  dataBytes: number;
}

type Entry = { value: unknown; type: number; subType?: number };

export async function inspectModel(path: string): Promise<ModelInfo> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new Error(`model file not found: ${path}`);
  if (!st.isFile()) throw new Error(`not a file: ${path}`);
  if (st.size < 24) throw new Error(`not a GGUF file (or truncated): ${path} is only ${st.size} bytes`);

  let parsed: GGUFParseOutput & { typedMetadata: GGUFTypedMetadata };
  try {
    parsed = await gguf(path, { allowLocalFile: true, typedMetadata: true });
  } catch (e) {
    const msg = (e as Error).message;
    if (/magic/i.test(msg)) throw new Error(`not a GGUF file: ${path}`);
    throw new Error(`corrupt or truncated GGUF file: ${path} (header could not be read: ${msg})`);
  }
  // the parser reads in 2 MB chunks and sees zeros past EOF, so a cut header can still "parse"
  const headerEnd = Math.max(parsed.tensorInfoByteRange[1], Number(parsed.tensorDataOffset));
  if (headerEnd > st.size) {
    throw new Error(`truncated GGUF file: ${path} is ${st.size} bytes, shorter than its own header (${headerEnd} bytes)`);
  }
  const md = parsed.typedMetadata as unknown as Record<string, Entry | undefined>;
  const str = (k: string) => (typeof md[k]?.value === "string" ? (md[k]!.value as string) : undefined);
  const num = (k: string) => {
    const v = md[k]?.value;
    return typeof v === "number" || typeof v === "bigint" ? Number(v) : undefined;
  };
  const arch = str("general.architecture");
  if (!arch) throw new Error(`corrupt GGUF file: ${path} has no general.architecture`);

  let params = 0;
  let dataEnd = 0;
  const tensorTypes: Record<string, number> = {};
  const tensorTypeBytes: Record<string, number> = {};
  const names = new Set<string>();
  for (const t of parsed.tensorInfos) {
    names.add(t.name);
    const elems = t.shape.reduce((a, b) => a * Number(b), 1);
    params += elems;
    const tn = ggmlTypeName(t.dtype);
    let bytes: number;
    try {
      bytes = ggmlTensorBytes(t.dtype, t.shape);
    } catch (e) {
      throw new Error(`corrupt GGUF file: ${path}: tensor ${t.name}: ${(e as Error).message}`);
    }
    tensorTypes[tn] = (tensorTypes[tn] ?? 0) + 1;
    tensorTypeBytes[tn] = (tensorTypeBytes[tn] ?? 0) + bytes;
    dataEnd = Math.max(dataEnd, Number(t.offset) + bytes);
  }
  const dataOffset = Number(parsed.tensorDataOffset);
  if (dataOffset + dataEnd > st.size) {
    throw new Error(
      `truncated GGUF file: ${path} is ${st.size} bytes but its tensors need ${dataOffset + dataEnd} ` +
        `(missing ${dataOffset + dataEnd - st.size} bytes; re-download or regenerate it)`,
    );
  }

  const ftypeId = num("general.file_type");
  const fileType = ftypeId === undefined ? undefined : { id: ftypeId, name: llamaFileTypeName(ftypeId) };
  const dominant = Object.entries(tensorTypeBytes).sort((a, b) => b[1] - a[1])[0]?.[0] ?? "none";
  const tokens = md["tokenizer.ggml.tokens"]?.value;
  const template = str("tokenizer.chat_template");
  const headCount = num(`${arch}.attention.head_count`);
  const embd = num(`${arch}.embedding_length`);
  const headDim = num(`${arch}.attention.key_length`) ?? (embd && headCount ? Math.floor(embd / headCount) : undefined);
  const dataBytes = Object.values(tensorTypeBytes).reduce((a, b) => a + b, 0);

  const info: ModelInfo = {
    path,
    fileBytes: st.size,
    ggufVersion: Number(parsed.metadata.version),
    architecture: arch,
    name: str("general.name"),
    parameterCount: params,
    tensorCount: parsed.tensorInfos.length,
    fileType,
    tensorTypes,
    tensorTypeBytes,
    quantization: fileType?.name ?? dominant,
    bitsPerWeight: params ? (dataBytes * 8) / params : 0,
    contextLength: num(`${arch}.context_length`),
    layers: num(`${arch}.block_count`),
    embd,
    ff: num(`${arch}.feed_forward_length`),
    heads: headCount,
    kvHeads: num(`${arch}.attention.head_count_kv`) ?? headCount,
    headDim,
    ropeFreqBase: num(`${arch}.rope.freq_base`),
    vocabSize: Array.isArray(tokens) ? tokens.length : num(`${arch}.vocab_size`),
    tokenizerModel: str("tokenizer.ggml.model"),
    tokenizerPre: str("tokenizer.ggml.pre"),
    bosTokenId: num("tokenizer.ggml.bos_token_id"),
    eosTokenId: num("tokenizer.ggml.eos_token_id"),
    hasChatTemplate: !!template,
    chatTemplate: template,
    tiedEmbeddings: names.has("token_embd.weight") ? !names.has("output.weight") : undefined,
    tensorDataOffset: dataOffset,
    dataBytes,
  };
  const targetLayers = md[`${arch}.target_layers`]?.value;
  if (arch === "dflash" || Array.isArray(targetLayers)) {
    info.dflash = {
      blockSize: num(`${arch}.block_size`),
      targetLayers: Array.isArray(targetLayers) ? targetLayers.map(Number) : [],
      maskTokenId: num("tokenizer.ggml.mask_token_id"),
    };
  }
  const generator = str("flint.generator");
  if (generator) info.generated = { generator, seed: num("flint.seed"), preset: str("flint.preset") };
  return info;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

export function formatBytes(n: number): string {
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(2)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Human-readable multi-line summary for `flint inspect`. */
export function formatModelInfo(i: ModelInfo): string {
  const types = Object.entries(i.tensorTypes)
    .sort((a, b) => b[1] - a[1])
    .map(([t, n]) => `${t} x${n}`)
    .join(", ");
  const row = (k: string, v: string | number | undefined) => (v === undefined ? [] : [`${(k + ":").padEnd(17)}${v}`]);
  const heads =
    i.heads === undefined ? undefined : `${i.heads} (kv ${i.kvHeads ?? i.heads}${i.headDim ? `, head dim ${i.headDim}` : ""})`;
  const lines = [
    ...row("file", i.path),
    ...row("architecture", i.architecture + (i.name ? ` (${i.name})` : "")),
    ...row("parameters", `${formatCount(i.parameterCount)} (${i.parameterCount.toLocaleString("en-US")})`),
    ...row("size", `${formatBytes(i.fileBytes)}, ${i.bitsPerWeight.toFixed(2)} bits/weight`),
    ...row("quantization", `${i.quantization} (tensors: ${types})`),
    ...row("context", i.contextLength),
    ...row("layers", i.layers),
    ...row("embedding", i.embd),
    ...row("feed-forward", i.ff),
    ...row("heads", heads),
    ...row("vocab", i.vocabSize === undefined ? undefined : `${i.vocabSize}${i.tokenizerModel ? ` (${i.tokenizerModel}${i.tokenizerPre ? `/${i.tokenizerPre}` : ""})` : ""}`),
    ...row("chat template", i.hasChatTemplate ? "yes" : "no"),
  ];
  if (i.tiedEmbeddings !== undefined) lines.push(...row("tied embeddings", i.tiedEmbeddings ? "yes" : "no"));
  if (i.dflash) {
    const d = i.dflash;
    lines.push(...row("dflash", `block size ${d.blockSize ?? "?"}, target layers [${d.targetLayers.join(", ")}], mask token ${d.maskTokenId ?? "?"}`));
  }
  if (i.generated) {
    lines.push(...row("generated", `${i.generated.generator}${i.generated.preset ? `, preset ${i.generated.preset}` : ""}${i.generated.seed !== undefined ? `, seed ${i.generated.seed}` : ""}`));
  }
  return lines.join("\n");
}
