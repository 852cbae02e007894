// Streaming GGUF v3 writer.
//
// @huggingface/gguf 0.4.6 exports serializeGgufMetadata, but it pads right after the KV section
// (in a GGUF file the tensor infos follow the KVs directly, padding comes after them), has no
// tensor-info serializer, and builds one Uint8Array per array element. So the header is serialized
// here; the tensor data is streamed from per-tensor generators so a 16 GB model needs a few MB.

import { open, rename, rm, type FileHandle } from "node:fs/promises";
import { GGUFValueType } from "@huggingface/gguf";
import { ggmlTensorBytes, ggmlTypeName } from "./ggml-types.js";

export { GGUFValueType };

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as little-endian u32
export const GGUF_VERSION = 3;
export const GGUF_DEFAULT_ALIGNMENT = 32;

type NumericValueType =
  | GGUFValueType.UINT8
  | GGUFValueType.INT8
  | GGUFValueType.UINT16
  | GGUFValueType.INT16
  | GGUFValueType.UINT32
  | GGUFValueType.INT32
  | GGUFValueType.FLOAT32
  | GGUFValueType.FLOAT64;
type BigValueType = GGUFValueType.UINT64 | GGUFValueType.INT64;
export type GgufScalarType = NumericValueType | BigValueType | GGUFValueType.BOOL | GGUFValueType.STRING;

export type GgufKV =
  | { type: NumericValueType; value: number }
  | { type: BigValueType; value: bigint | number }
  | { type: GGUFValueType.BOOL; value: boolean }
  | { type: GGUFValueType.STRING; value: string }
  | { type: GGUFValueType.ARRAY; subType: NumericValueType; value: ArrayLike<number> }
  | { type: GGUFValueType.ARRAY; subType: BigValueType; value: ArrayLike<bigint | number> }
  | { type: GGUFValueType.ARRAY; subType: GGUFValueType.BOOL; value: ArrayLike<boolean> }
  | { type: GGUFValueType.ARRAY; subType: GGUFValueType.STRING; value: ArrayLike<string> };

/** Constructors for typed KV values. */
export const kv = {
  u8: (value: number): GgufKV => ({ type: GGUFValueType.UINT8, value }),
  i8: (value: number): GgufKV => ({ type: GGUFValueType.INT8, value }),
  u16: (value: number): GgufKV => ({ type: GGUFValueType.UINT16, value }),
  i16: (value: number): GgufKV => ({ type: GGUFValueType.INT16, value }),
  u32: (value: number): GgufKV => ({ type: GGUFValueType.UINT32, value }),
  i32: (value: number): GgufKV => ({ type: GGUFValueType.INT32, value }),
  f32: (value: number): GgufKV => ({ type: GGUFValueType.FLOAT32, value }),
  f64: (value: number): GgufKV => ({ type: GGUFValueType.FLOAT64, value }),
  u64: (value: bigint | number): GgufKV => ({ type: GGUFValueType.UINT64, value }),
  i64: (value: bigint | number): GgufKV => ({ type: GGUFValueType.INT64, value }),
  bool: (value: boolean): GgufKV => ({ type: GGUFValueType.BOOL, value }),
  str: (value: string): GgufKV => ({ type: GGUFValueType.STRING, value }),
  arr(subType: GgufScalarType, value: ArrayLike<number | bigint | boolean | string>): GgufKV {
    return { type: GGUFValueType.ARRAY, subType, value } as GgufKV;
  },
};

export type GgufMetadata = Iterable<readonly [string, GgufKV]> | Record<string, GgufKV>;

export interface GgufTensorInfo {
  name: string;
  /** ggml order: shape[0] = ne0, the contiguous (input) dimension */
  shape: readonly number[];
  /** GGMLType */
  type: number;
}

export type TensorChunks = Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface GgufTensorSource extends GgufTensorInfo {
  /** Yields the tensor's bytes in order. Each chunk is copied before the generator resumes. */
  data: () => TensorChunks;
}

export interface GgufLayout {
  header: Uint8Array;
  /** byte offset of the tensor data section in the file */
  dataOffset: number;
  /** per tensor: offset relative to dataOffset, and byte size */
  tensors: { name: string; offset: number; bytes: number }[];
  totalBytes: number;
}

const SCALAR_SIZE: Partial<Record<GGUFValueType, number>> = {
  [GGUFValueType.UINT8]: 1,
  [GGUFValueType.INT8]: 1,
  [GGUFValueType.UINT16]: 2,
  [GGUFValueType.INT16]: 2,
  [GGUFValueType.UINT32]: 4,
  [GGUFValueType.INT32]: 4,
  [GGUFValueType.FLOAT32]: 4,
  [GGUFValueType.BOOL]: 1,
  [GGUFValueType.UINT64]: 8,
  [GGUFValueType.INT64]: 8,
  [GGUFValueType.FLOAT64]: 8,
};

const INT_RANGE: Partial<Record<GGUFValueType, [number, number]>> = {
  [GGUFValueType.UINT8]: [0, 0xff],
  [GGUFValueType.INT8]: [-0x80, 0x7f],
  [GGUFValueType.UINT16]: [0, 0xffff],
  [GGUFValueType.INT16]: [-0x8000, 0x7fff],
  [GGUFValueType.UINT32]: [0, 0xffffffff],
  [GGUFValueType.INT32]: [-0x80000000, 0x7fffffff],
};

/** Growable little-endian byte buffer for the header. */
class ByteSink {
  buf = new Uint8Array(1 << 16);
  view = new DataView(this.buf.buffer);
  len = 0;
  private enc = new TextEncoder();

  private reserve(n: number): number {
    if (this.len + n > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < this.len + n) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    const at = this.len;
    this.len += n;
    return at;
  }
  u32(v: number) { this.view.setUint32(this.reserve(4), v, true); }
  u64(v: bigint | number) { this.view.setBigUint64(this.reserve(8), BigInt(v), true); }
  string(s: string) {
    // reserve the worst case (3 bytes per UTF-16 unit), then give back what was not used
    const lenAt = this.reserve(8);
    const at = this.reserve(s.length * 3);
    const { written } = this.enc.encodeInto(s, this.buf.subarray(at));
    this.len = at + written;
    this.view.setBigUint64(lenAt, BigInt(written), true);
  }
  scalar(type: GGUFValueType, v: unknown, key: string) {
    const where = `GGUF key "${key}"`;
    if (type === GGUFValueType.STRING) {
      if (typeof v !== "string") throw new Error(`${where}: expected a string, got ${typeof v}`);
      this.string(v);
      return;
    }
    if (type === GGUFValueType.BOOL) {
      if (typeof v !== "boolean") throw new Error(`${where}: expected a boolean, got ${typeof v}`);
      this.view.setUint8(this.reserve(1), v ? 1 : 0);
      return;
    }
    if (type === GGUFValueType.UINT64 || type === GGUFValueType.INT64) {
      if (typeof v !== "bigint" && !(typeof v === "number" && Number.isSafeInteger(v))) {
        throw new Error(`${where}: expected an integer or bigint, got ${String(v)}`);
      }
      const at = this.reserve(8);
      if (type === GGUFValueType.UINT64) this.view.setBigUint64(at, BigInt(v), true);
      else this.view.setBigInt64(at, BigInt(v), true);
      return;
    }
    if (typeof v !== "number") throw new Error(`${where}: expected a number, got ${typeof v}`);
    const range = INT_RANGE[type];
    if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) {
      throw new Error(`${where}: ${v} does not fit ${GGUFValueType[type]}`);
    }
    const at = this.reserve(SCALAR_SIZE[type] ?? 0);
    switch (type) {
      case GGUFValueType.UINT8: this.view.setUint8(at, v); break;
      case GGUFValueType.INT8: this.view.setInt8(at, v); break;
      case GGUFValueType.UINT16: this.view.setUint16(at, v, true); break;
      case GGUFValueType.INT16: this.view.setInt16(at, v, true); break;
      case GGUFValueType.UINT32: this.view.setUint32(at, v, true); break;
      case GGUFValueType.INT32: this.view.setInt32(at, v, true); break;
      case GGUFValueType.FLOAT32: this.view.setFloat32(at, v, true); break;
      case GGUFValueType.FLOAT64: this.view.setFloat64(at, v, true); break;
      default: throw new Error(`${where}: unsupported GGUF value type ${type}`);
    }
  }
  pad(alignment: number) {
    const n = (alignment - (this.len % alignment)) % alignment;
    const at = this.reserve(n);
    this.buf.fill(0, at, at + n);
  }
  bytes(): Uint8Array { return this.buf.subarray(0, this.len); }
}

function metadataEntries(metadata: GgufMetadata): [string, GgufKV][] {
  const entries: [string, GgufKV][] =
    Symbol.iterator in metadata
      ? [...(metadata as Iterable<readonly [string, GgufKV]>)].map(([k, v]) => [k, v])
      : Object.entries(metadata as Record<string, GgufKV>);
  const seen = new Set<string>();
  for (const [k] of entries) {
    if (!k) throw new Error("GGUF metadata key must be a non-empty string");
    if (seen.has(k)) throw new Error(`duplicate GGUF metadata key "${k}"`);
    seen.add(k);
  }
  return entries;
}

/**
 * Serialize magic, version, counts, KVs and tensor infos, padded to the alignment; also returns
 * where every tensor's data goes. `general.alignment` is written when alignment is not 32.
 */
export function layoutGguf(
  metadata: GgufMetadata,
  tensors: readonly GgufTensorInfo[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): GgufLayout {
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error(`GGUF alignment must be a positive multiple of 8, got ${alignment}`);
  }
  const entries = metadataEntries(metadata);
  const alignKey = entries.find(([k]) => k === "general.alignment");
  if (alignKey && Number(alignKey[1].value) !== alignment) {
    throw new Error(`general.alignment (${String(alignKey[1].value)}) disagrees with alignment ${alignment}`);
  }
  if (!alignKey && alignment !== GGUF_DEFAULT_ALIGNMENT) entries.push(["general.alignment", kv.u32(alignment)]);

  const s = new ByteSink();
  s.u32(GGUF_MAGIC);
  s.u32(GGUF_VERSION);
  s.u64(tensors.length);
  s.u64(entries.length);
  for (const [key, val] of entries) {
    s.string(key);
    s.u32(val.type);
    if (val.type === GGUFValueType.ARRAY) {
      // callers outside TypeScript (or copying typed metadata from another file) may pass anything
      if (!("subType" in val) || (val.subType as number) === GGUFValueType.ARRAY || !val.value || typeof val.value.length !== "number") {
        throw new Error(`GGUF key "${key}": arrays need a scalar subType (nested arrays are not supported)`);
      }
      s.u32(val.subType);
      s.u64(val.value.length);
      const items = val.value;
      for (let i = 0; i < items.length; i++) s.scalar(val.subType, items[i], key);
    } else {
      s.scalar(val.type, val.value, key);
    }
  }

  const names = new Set<string>();
  const placed: GgufLayout["tensors"] = [];
  let offset = 0;
  for (const t of tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor name "${t.name}"`);
    names.add(t.name);
    if (t.shape.length < 1 || t.shape.length > 4) {
      throw new Error(`tensor "${t.name}": GGUF tensors have 1 to 4 dims, got ${t.shape.length}`);
    }
    for (const d of t.shape) {
      if (!Number.isSafeInteger(d) || d <= 0) throw new Error(`tensor "${t.name}": bad dimension ${d}`);
    }
    let bytes: number;
    try {
      bytes = ggmlTensorBytes(t.type, t.shape);
    } catch (e) {
      throw new Error(`tensor "${t.name}" (${ggmlTypeName(t.type)}): ${(e as Error).message}`);
    }
    s.string(t.name);
    s.u32(t.shape.length);
    for (const d of t.shape) s.u64(d);
    s.u32(t.type);
    s.u64(offset);
    placed.push({ name: t.name, offset, bytes });
    offset += bytes;
    offset += (alignment - (offset % alignment)) % alignment;
  }
  s.pad(alignment);
  const header = s.bytes();
  return { header, dataOffset: header.length, tensors: placed, totalBytes: header.length + offset };
}

/**
 * Double-buffered file output: one staging buffer fills while the other is being written, so
 * generating the next chunk overlaps the disk write of the previous one.
 */
class StagedWriter {
  private bufs: [Buffer, Buffer];
  private cur = 0;
  private fill = 0;
  private pending: Promise<unknown> | null = null;
  /** bytes handed to the file so far (flushed, maybe still in flight) */
  private position = 0;
  /** time spent waiting for the disk instead of generating: tells a slow disk from slow generation */
  stallMs = 0;

  constructor(private fh: FileHandle, chunkBytes: number) {
    this.bufs = [Buffer.allocUnsafe(chunkBytes), Buffer.allocUnsafe(chunkBytes)];
  }

  /** logical end of the output: flushed plus staged bytes */
  get written(): number {
    return this.position + this.fill;
  }

  async push(src: Uint8Array): Promise<void> {
    let off = 0;
    while (off < src.length) {
      const buf = this.bufs[this.cur];
      const n = Math.min(buf.length - this.fill, src.length - off);
      buf.set(src.subarray(off, off + n), this.fill);
      this.fill += n;
      off += n;
      if (this.fill === buf.length) await this.flush();
    }
  }

  async zeros(n: number): Promise<void> {
    if (n > 0) await this.push(new Uint8Array(n));
  }

  async flush(): Promise<void> {
    if (this.fill === 0) return;
    if (this.pending) await this.waitPending();
    const buf = this.bufs[this.cur];
    const len = this.fill;
    const at = this.position;
    this.pending = this.fh.write(buf, 0, len, at).then(({ bytesWritten }) => {
      if (bytesWritten !== len) throw new Error(`short write: ${bytesWritten} of ${len} bytes`);
    });
    this.position += len;
    this.cur ^= 1;
    this.fill = 0;
  }

  private async waitPending(): Promise<void> {
    const t0 = performance.now();
    await this.pending;
    this.stallMs += performance.now() - t0;
  }

  async finish(): Promise<void> {
    await this.flush();
    if (this.pending) await this.waitPending();
    this.pending = null;
  }

  /** after a failure: let an in-flight write end without surfacing as an unhandled rejection */
  async abandon(): Promise<void> {
    await this.pending?.catch(() => undefined);
    this.pending = null;
  }
}

export interface WriteGgufOptions {
  metadata: GgufMetadata;
  tensors: readonly GgufTensorSource[];
  alignment?: number;
  /** staging buffer size; two are allocated (default 8 MiB) */
  chunkBytes?: number;
  onProgress?: (written: number, total: number) => void;
}

export interface WriteGgufResult {
  path: string;
  bytes: number;
  dataOffset: number;
  tensorCount: number;
  /** seconds spent waiting on the disk (the rest of the time went to generating data) */
  diskWaitSeconds: number;
}

/**
 * Write a GGUF file. Data goes to a temporary file in the same directory that is renamed into
 * place at the end, so a failed or interrupted run never leaves a truncated model at `path`.
 */
export async function writeGguf(path: string, opts: WriteGgufOptions): Promise<WriteGgufResult> {
  const layout = layoutGguf(opts.metadata, opts.tensors, opts.alignment);
  const tmp = `${path}.partial-${process.pid}`;
  let fh: FileHandle;
  try {
    fh = await open(tmp, "w");
  } catch (e) {
    throw new Error(`cannot write GGUF file ${path}: ${(e as Error).message}`);
  }
  let ok = false;
  let diskWaitSeconds = 0;
  const w = new StagedWriter(fh, opts.chunkBytes ?? 8 << 20);
  try {
    await w.push(layout.header);
    let lastReport = 0;
    for (let i = 0; i < opts.tensors.length; i++) {
      const t = opts.tensors[i];
      const { bytes, offset } = layout.tensors[i];
      const start = layout.dataOffset + offset;
      await w.zeros(start - w.written);
      let produced = 0;
      for await (const chunk of t.data()) {
        produced += chunk.length;
        if (produced > bytes) break;
        await w.push(chunk);
      }
      if (produced !== bytes) {
        throw new Error(`tensor "${t.name}": data generator produced ${produced} bytes, expected ${bytes}`);
      }
      const done = start + bytes;
      if (opts.onProgress && done - lastReport > 64 << 20) {
        lastReport = done;
        opts.onProgress(done, layout.totalBytes);
      }
    }
    await w.zeros(layout.totalBytes - w.written);
    await w.finish();
    opts.onProgress?.(layout.totalBytes, layout.totalBytes);
    if (w.written !== layout.totalBytes) {
      throw new Error(`internal error: wrote ${w.written} bytes, expected ${layout.totalBytes}`);
    }
    diskWaitSeconds = w.stallMs / 1000;
    await fh.close();
    await rename(tmp, path);
    ok = true;
  } finally {
    if (!ok) {
      await w.abandon();
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
    }
  }
  return { path, bytes: layout.totalBytes, dataOffset: layout.dataOffset, tensorCount: opts.tensors.length, diskWaitSeconds };
}
