// The GGUF writer, read back with @huggingface/gguf: every KV type and array type, tensor infos,
// alignment, and the tensor bytes at their offsets; plus the writer's refusals.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { gguf } from "@huggingface/gguf";
import { afterAll, describe, expect, it } from "vitest";
import { GGMLType, ggmlTensorBytes } from "../../src/models/ggml-types.js";
import { GGUFValueType, kv, layoutGguf, writeGguf, type GgufKV, type GgufTensorSource } from "../../src/models/gguf-writer.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-gguf-writer-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function bytesOf(a: ArrayBufferView): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Deliver `data` in uneven chunks, so chunk edges never line up with staging buffers. */
function* uneven(data: Uint8Array, sizes = [1, 7, 100, 3333]): Generator<Uint8Array> {
  for (let off = 0, i = 0; off < data.length; i++) {
    const n = Math.min(sizes[i % sizes.length], data.length - off);
    yield data.slice(off, off + n);
    off += n;
  }
}

const metadata: [string, GgufKV][] = [
  ["general.architecture", kv.str("test")],
  ["t.u8", kv.u8(250)],
  ["t.i8", kv.i8(-100)],
  ["t.u16", kv.u16(65000)],
  ["t.i16", kv.i16(-32000)],
  ["t.u32", kv.u32(4_000_000_000)],
  ["t.i32", kv.i32(-2_000_000_000)],
  ["t.f32", kv.f32(0.25)],
  ["t.f64", kv.f64(Math.PI)],
  ["t.bool", kv.bool(true)],
  ["t.str", kv.str("héllo wörld ✓ 日本")],
  ["t.empty_str", kv.str("")],
  ["t.u64", kv.u64(2n ** 60n + 1n)],
  ["t.i64", kv.i64(-(2n ** 40n))],
  ["t.arr_str", kv.arr(GGUFValueType.STRING, ["a", "", "Ġthe", "<|im_end|>", "😀"])],
  ["t.arr_i32", kv.arr(GGUFValueType.INT32, [1, -2, 3, 2_000_000_000])],
  ["t.arr_u8", kv.arr(GGUFValueType.UINT8, Uint8Array.from([0, 1, 255]))],
  ["t.arr_f32", kv.arr(GGUFValueType.FLOAT32, [0.5, -1.25, 3])],
  ["t.arr_f64", kv.arr(GGUFValueType.FLOAT64, [1e-300, 2.5])],
  ["t.arr_bool", kv.arr(GGUFValueType.BOOL, [true, false, true])],
  ["t.arr_u64", kv.arr(GGUFValueType.UINT64, [1n, 2n ** 50n])],
  ["t.arr_empty", kv.arr(GGUFValueType.INT32, [])],
];

function sampleTensors(): { src: GgufTensorSource[]; data: Map<string, Uint8Array> } {
  const f32 = Float32Array.from({ length: 3 * 5 }, (_, i) => i * 0.5 - 3);
  const f16 = Uint16Array.from({ length: 64 * 33 }, (_, i) => (i * 2654435761) & 0x7bff);
  const i32 = Int32Array.from({ length: 7 }, (_, i) => -i * 1000);
  const q8 = Uint8Array.from({ length: ggmlTensorBytes(GGMLType.Q8_0, [64, 2]) }, (_, i) => (i * 31) & 0xff);
  const d4 = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => i);
  const data = new Map<string, Uint8Array>([
    ["a.f32", bytesOf(f32)],
    ["b.f16", bytesOf(f16)],
    ["c.i32", bytesOf(i32)],
    ["d.q8_0", q8],
    ["e.4d", bytesOf(d4)],
  ]);
  const src: GgufTensorSource[] = [
    { name: "a.f32", shape: [3, 5], type: GGMLType.F32, data: () => uneven(data.get("a.f32")!) },
    { name: "b.f16", shape: [64, 33], type: GGMLType.F16, data: () => uneven(data.get("b.f16")!) },
    { name: "c.i32", shape: [7], type: GGMLType.I32, data: () => [data.get("c.i32")!] },
    {
      name: "d.q8_0",
      shape: [64, 2],
      type: GGMLType.Q8_0,
      data: async function* () {
        yield data.get("d.q8_0")!;
      },
    },
    { name: "e.4d", shape: [2, 3, 4, 5], type: GGMLType.F32, data: () => uneven(data.get("e.4d")!, [17]) },
  ];
  return { src, data };
}

describe("writeGguf round trip", () => {
  for (const alignment of [32, 64]) {
    it(`keeps every KV, tensor info and tensor byte (alignment ${alignment})`, async () => {
      const file = path.join(dir, `roundtrip-${alignment}.gguf`);
      const { src, data } = sampleTensors();
      // small staging buffers so the double-buffered flush path runs many times
      const res = await writeGguf(file, { metadata, tensors: src, alignment, chunkBytes: 1000 });
      const bytes = readFileSync(file);
      expect(res.bytes).toBe(bytes.length);
      expect(res.dataOffset % alignment).toBe(0);

      const r = await gguf(file, { allowLocalFile: true, typedMetadata: true });
      const md = r.typedMetadata as unknown as Record<string, { value: unknown; type: number; subType?: number }>;
      expect(r.metadata.version).toBe(3);
      expect(Number(r.metadata.tensor_count)).toBe(src.length);
      const expectedKeys = metadata.map(([k]) => k);
      if (alignment !== 32) expectedKeys.push("general.alignment");
      expect(Object.keys(md).filter((k) => !["version", "tensor_count", "kv_count"].includes(k))).toEqual(expectedKeys);
      for (const [key, val] of metadata) {
        expect(md[key].type, key).toBe(val.type);
        const got = md[key].value;
        if (val.type === GGUFValueType.ARRAY) {
          expect(md[key].subType, key).toBe(val.subType);
          const want = Array.from(val.value as ArrayLike<unknown>);
          if (val.subType === GGUFValueType.FLOAT32) expect((got as number[]).map((x) => Math.fround(x))).toEqual(want.map((x) => Math.fround(x as number)));
          else expect(got, key).toEqual(want);
        } else if (val.type === GGUFValueType.FLOAT32) {
          expect(got).toBeCloseTo(val.value as number, 6);
        } else {
          expect(got, key).toEqual(val.value);
        }
      }
      if (alignment !== 32) expect(md["general.alignment"].value).toBe(alignment);

      expect(Number(r.tensorDataOffset)).toBe(res.dataOffset);
      expect(r.tensorInfos.map((t) => t.name)).toEqual(src.map((t) => t.name));
      for (const [i, t] of r.tensorInfos.entries()) {
        expect(t.shape.map(Number)).toEqual(src[i].shape);
        expect(t.n_dims).toBe(src[i].shape.length);
        expect(t.dtype).toBe(src[i].type);
        expect(Number(t.offset) % alignment).toBe(0);
        const start = Number(r.tensorDataOffset + t.offset);
        const want = data.get(t.name)!;
        expect(Buffer.compare(bytes.subarray(start, start + want.length), Buffer.from(want)), t.name).toBe(0);
      }
      // padding after the last tensor keeps the file a multiple of the alignment
      expect(bytes.length % alignment).toBe(0);
    });
  }

  it("lays out the header exactly as it writes it", () => {
    const { src } = sampleTensors();
    const layout = layoutGguf(metadata, src);
    expect(layout.header.length).toBe(layout.dataOffset);
    expect(new TextDecoder().decode(layout.header.subarray(0, 4))).toBe("GGUF");
    expect(layout.tensors.map((t) => t.bytes)).toEqual([60, 64 * 33 * 2, 28, 2 * 2 * 34, 480]);
    let expectOffset = 0;
    for (const t of layout.tensors) {
      expect(t.offset).toBe(expectOffset);
      expectOffset = Math.ceil((t.offset + t.bytes) / 32) * 32;
    }
  });
});

describe("writeGguf refuses bad input", () => {
  const one = (over: Partial<GgufTensorSource>): GgufTensorSource[] => [
    { name: "x", shape: [4], type: GGMLType.F32, data: () => [new Uint8Array(16)], ...over },
  ];
  const cases: [string, Parameters<typeof writeGguf>[1], RegExp][] = [
    ["short generator", { metadata: [], tensors: one({ data: () => [new Uint8Array(12)] }) }, /produced 12 bytes, expected 16/],
    ["long generator", { metadata: [], tensors: one({ data: () => [new Uint8Array(16), new Uint8Array(1)] }) }, /produced 17 bytes, expected 16/],
    ["duplicate key", { metadata: [["a", kv.u32(1)], ["a", kv.u32(2)]], tensors: [] }, /duplicate GGUF metadata key "a"/],
    ["u8 out of range", { metadata: [["a", kv.u8(256)]], tensors: [] }, /256 does not fit UINT8/],
    ["non-integer u32", { metadata: [["a", kv.u32(1.5)]], tensors: [] }, /1.5 does not fit UINT32/],
    ["wrong value type", { metadata: [["a", { type: GGUFValueType.STRING, value: 3 } as unknown as GgufKV]], tensors: [] }, /expected a string/],
    ["nested array", { metadata: [["a", { type: GGUFValueType.ARRAY, subType: GGUFValueType.ARRAY, value: [] } as unknown as GgufKV]], tensors: [] }, /nested arrays/],
    ["duplicate tensor", { metadata: [], tensors: [...one({}), ...one({})] }, /duplicate tensor name "x"/],
    ["zero dim", { metadata: [], tensors: one({ shape: [0] }) }, /bad dimension 0/],
    ["5 dims", { metadata: [], tensors: one({ shape: [1, 1, 1, 1, 4] }) }, /1 to 4 dims/],
    ["partial block", { metadata: [], tensors: one({ type: GGMLType.Q8_0, shape: [48] }) }, /not a multiple of its block size 32/],
    ["bad alignment", { metadata: [], tensors: [], alignment: 12 }, /alignment must be a positive multiple of 8/],
  ];
  for (const [label, opts, msg] of cases) {
    it(label, async () => {
      const file = path.join(dir, `bad-${label.replace(/\W/g, "_")}.gguf`);
      await expect(writeGguf(file, opts)).rejects.toThrow(msg);
      expect(existsSync(file)).toBe(false);
    });
  }

  it("leaves no partial file behind when a generator throws", async () => {
    const file = path.join(dir, "throws.gguf");
    await expect(
      writeGguf(file, {
        metadata: [],
        tensors: one({
          data: function* () {
            yield new Uint8Array(8);
            throw new Error("generator broke");
          },
        }),
      }),
    ).rejects.toThrow("generator broke");
    expect(readdirSync(dir).filter((f) => f.startsWith("throws"))).toEqual([]);
  });

  it("names the path when the directory does not exist", async () => {
    await expect(writeGguf(path.join(dir, "no/such/dir/x.gguf"), { metadata: [], tensors: [] })).rejects.toThrow(/cannot write GGUF file .*no\/such\/dir/);
  });
});
