// Read a GGUF's header (no tensor data) into a typed summary, and check that the file is long
// enough for every tensor it declares, so a truncated download fails here with a clear message
// instead of inside llama.cpp. Split models (-00001-of-00003.gguf) are summed over all their parts.

import { gguf, type GGUFParseOutput, type GGUFTypedMetadata } from "@huggingface/gguf";
import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import { ggmlTensorBytes, ggmlTypeName, llamaFileTypeName } from "./ggml-types.js";
import { layerKinds, ssmStateElems, type LayerKinds } from "./layer-kinds.js";

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
  /** K head size (attention.key_length, else embd / heads) */
  headDim?: number;
  /** V head size when it differs from K's (attention.value_length) */
  headDimV?: number;
  ropeFreqBase?: number;
  vocabSize?: number;
  /** sha256 (first 16 hex digits) of the token strings in order: equal hashes = same vocabulary */
  vocabHash?: string;
  tokenizerModel?: string;
  tokenizerPre?: string;
  bosTokenId?: number;
  eosTokenId?: number;
  addBos?: boolean;
  addEos?: boolean;
  /** attention vs recurrent layers (hybrids such as qwen35 mix them) */
  layerKinds?: LayerKinds;
  /** recurrent layers: state per layer and sequence, f32 elements, when the metadata gives it */
  recurrentStateElems?: number;
  /** split models: every part, first first; sizes and counts above are totals */
  splitFiles?: string[];
  /** only with inspectModel(path, { tokens: true }): the token strings */
  tokens?: string[];
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

export interface InspectOptions {
  /** keep the token strings in the result (for vocabulary comparisons) */
  tokens?: boolean;
}

type Parsed = GGUFParseOutput & { typedMetadata: GGUFTypedMetadata };

async function readHeader(path: string): Promise<{ parsed: Parsed; size: number }> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new Error(`model file not found: ${path}`);
  if (!st.isFile()) throw new Error(`not a file: ${path}`);
  if (st.size < 24) throw new Error(`not a GGUF file (or truncated): ${path} is only ${st.size} bytes`);

  let parsed: Parsed;
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
  return { parsed, size: st.size };
}

interface TensorTotals {
  params: number;
  tensorCount: number;
  tensorTypes: Record<string, number>;
  tensorTypeBytes: Record<string, number>;
  names: Set<string>;
}

function addTensors(path: string, parsed: Parsed, size: number, t: TensorTotals): void {
  let dataEnd = 0;
  for (const ti of parsed.tensorInfos) {
    t.names.add(ti.name);
    t.params += ti.shape.reduce((a, b) => a * Number(b), 1);
    const tn = ggmlTypeName(ti.dtype);
    let bytes: number;
    try {
      bytes = ggmlTensorBytes(ti.dtype, ti.shape);
    } catch (e) {
      throw new Error(`corrupt GGUF file: ${path}: tensor ${ti.name}: ${(e as Error).message}`);
    }
    t.tensorTypes[tn] = (t.tensorTypes[tn] ?? 0) + 1;
    t.tensorTypeBytes[tn] = (t.tensorTypeBytes[tn] ?? 0) + bytes;
    dataEnd = Math.max(dataEnd, Number(ti.offset) + bytes);
  }
  t.tensorCount += parsed.tensorInfos.length;
  const dataOffset = Number(parsed.tensorDataOffset);
  if (dataOffset + dataEnd > size) {
    throw new Error(
      `truncated GGUF file: ${path} is ${size} bytes but its tensors need ${dataOffset + dataEnd} ` +
        `(missing ${dataOffset + dataEnd - size} bytes; re-download or regenerate it)`,
    );
  }
}

const SPLIT_RE = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/i;

export async function inspectModel(path: string, opts: InspectOptions = {}): Promise<ModelInfo> {
  const { parsed, size } = await readHeader(path);
  const md = parsed.typedMetadata as unknown as Record<string, Entry | undefined>;
  const str = (k: string) => (typeof md[k]?.value === "string" ? (md[k]!.value as string) : undefined);
  const num = (k: string) => {
    const v = md[k]?.value;
    return typeof v === "number" || typeof v === "bigint" ? Number(v) : undefined;
  };
  const bool = (k: string) => (typeof md[k]?.value === "boolean" ? (md[k]!.value as boolean) : undefined);
  const splitCount = num("split.count") ?? 1;
  const m = SPLIT_RE.exec(path);
  if (splitCount > 1 && (!m || Number(m[2]) !== 1 || (num("split.no") ?? 0) !== 0)) {
    throw new Error(`${path} is part ${(num("split.no") ?? 0) + 1} of a ${splitCount}-part split model; inspect or load its first part (-00001-of-...)`);
  }
  const arch = str("general.architecture");
  if (!arch) throw new Error(`corrupt GGUF file: ${path} has no general.architecture`);

  const totals: TensorTotals = { params: 0, tensorCount: 0, tensorTypes: {}, tensorTypeBytes: {}, names: new Set() };
  addTensors(path, parsed, size, totals);
  let fileBytes = size;
  let splitFiles: string[] | undefined;
  if (splitCount > 1 && m) {
    splitFiles = [path];
    for (let i = 2; i <= splitCount; i++) {
      const part = `${m[1]}-${String(i).padStart(5, "0")}-of-${m[3]}.gguf`;
      const h = await readHeader(part).catch((e: Error) => {
        throw new Error(`split model ${path}: part ${i} of ${splitCount} is unreadable: ${e.message}`);
      });
      addTensors(part, h.parsed, h.size, totals);
      fileBytes += h.size;
      splitFiles.push(part);
    }
  }
  const { params, tensorTypes, tensorTypeBytes, names } = totals;
  const ftypeId = num("general.file_type");
  const fileType = ftypeId === undefined ? undefined : { id: ftypeId, name: llamaFileTypeName(ftypeId) };
  const dominant = Object.entries(tensorTypeBytes).sort((a, b) => b[1] - a[1])[0]?.[0] ?? "none";
  const tokens = md["tokenizer.ggml.tokens"]?.value;
  const template = str("tokenizer.chat_template");
  const headCount = num(`${arch}.attention.head_count`);
  const embd = num(`${arch}.embedding_length`);
  const headDim = num(`${arch}.attention.key_length`) ?? (embd && headCount ? Math.floor(embd / headCount) : undefined);
  const headDimV = num(`${arch}.attention.value_length`);
  const dataBytes = Object.values(tensorTypeBytes).reduce((a, b) => a + b, 0);
  const layers = num(`${arch}.block_count`);

  const info: ModelInfo = {
    path,
    fileBytes,
    ggufVersion: Number(parsed.metadata.version),
    architecture: arch,
    name: str("general.name"),
    parameterCount: params,
    tensorCount: totals.tensorCount,
    fileType,
    tensorTypes,
    tensorTypeBytes,
    quantization: fileType?.name ?? dominant,
    bitsPerWeight: params ? (dataBytes * 8) / params : 0,
    contextLength: num(`${arch}.context_length`),
    layers,
    embd,
    ff: num(`${arch}.feed_forward_length`),
    heads: headCount,
    kvHeads: num(`${arch}.attention.head_count_kv`) ?? headCount,
    headDim,
    ...(headDimV !== undefined && headDimV !== headDim ? { headDimV } : {}),
    ropeFreqBase: num(`${arch}.rope.freq_base`),
    vocabSize: Array.isArray(tokens) ? tokens.length : num(`${arch}.vocab_size`),
    vocabHash: Array.isArray(tokens) ? hashTokens(tokens as string[]) : undefined,
    tokenizerModel: str("tokenizer.ggml.model"),
    tokenizerPre: str("tokenizer.ggml.pre"),
    bosTokenId: num("tokenizer.ggml.bos_token_id"),
    eosTokenId: num("tokenizer.ggml.eos_token_id"),
    addBos: bool("tokenizer.ggml.add_bos_token"),
    addEos: bool("tokenizer.ggml.add_eos_token"),
    hasChatTemplate: !!template,
    chatTemplate: template,
    tiedEmbeddings: names.has("token_embd.weight") ? !names.has("output.weight") : undefined,
    tensorDataOffset: Number(parsed.tensorDataOffset),
    dataBytes,
  };
  if (layers !== undefined) {
    info.layerKinds = layerKinds({
      arch,
      layers,
      nextn: num(`${arch}.nextn_predict_layers`),
      recurrentFlags: md[`${arch}.attention.recurrent_layers`]?.value as unknown[] | undefined,
      fullAttentionInterval: num(`${arch}.full_attention_interval`),
    });
    if (info.layerKinds.recurrent > 0) {
      info.recurrentStateElems = ssmStateElems({
        convKernel: num(`${arch}.ssm.conv_kernel`),
        innerSize: num(`${arch}.ssm.inner_size`),
        stateSize: num(`${arch}.ssm.state_size`),
        groupCount: num(`${arch}.ssm.group_count`),
      });
    }
  }
  if (splitFiles) info.splitFiles = splitFiles;
  if (opts.tokens && Array.isArray(tokens)) info.tokens = tokens as string[];
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

/** Length-prefixed, so ["ab", "c"] and ["a", "bc"] differ. */
export function hashTokens(tokens: readonly string[]): string {
  const h = createHash("sha256");
  const len = Buffer.alloc(4);
  for (const t of tokens) {
    const b = Buffer.from(t, "utf8");
    len.writeUInt32LE(b.length);
    h.update(len).update(b);
  }
  return h.digest("hex").slice(0, 16);
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
    i.heads === undefined
      ? undefined
      : `${i.heads} (kv ${i.kvHeads ?? i.heads}${i.headDim ? `, head dim ${i.headDim}${i.headDimV ? `, v ${i.headDimV}` : ""}` : ""})`;
  const tok = i.tokenizerModel ? ` ${i.tokenizerModel}${i.tokenizerPre ? `/${i.tokenizerPre}` : ""}` : "";
  const special = [i.bosTokenId !== undefined ? `bos ${i.bosTokenId}${i.addBos ? " (added)" : ""}` : "", i.eosTokenId !== undefined ? `eos ${i.eosTokenId}` : ""].filter(Boolean).join(", ");
  const lk = i.layerKinds;
  const kinds = !lk
    ? undefined
    : lk.recurrent === 0
      ? `${lk.attention} attention${lk.known ? "" : ` (${lk.rule})`}`
      : lk.attention === 0
        ? `${lk.recurrent} recurrent`
        : `${lk.attention} attention, ${lk.recurrent} recurrent: ${lk.rule}`;
  const lines = [
    ...row("file", i.path + (i.splitFiles ? ` (+${i.splitFiles.length - 1} more parts)` : "")),
    ...row("architecture", i.architecture + (i.name ? ` (${i.name})` : "")),
    ...row("parameters", `${formatCount(i.parameterCount)} (${i.parameterCount.toLocaleString("en-US")})`),
    ...row("size", `${formatBytes(i.fileBytes)}, ${i.bitsPerWeight.toFixed(2)} bits/weight`),
    ...row("quantization", `${i.quantization} (tensors: ${types})`),
    ...row("context", i.contextLength),
    ...row("layers", i.layers === undefined ? undefined : `${i.layers}${kinds ? ` (${kinds})` : ""}`),
    ...row("embedding", i.embd),
    ...row("feed-forward", i.ff),
    ...row("heads", heads),
    ...row("vocab", i.vocabSize === undefined ? undefined : `${i.vocabSize} tokens (${[tok.trim(), special, i.vocabHash ? `hash ${i.vocabHash}` : ""].filter(Boolean).join("; ")})`),
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
