// Typed wrappers over ggml for graphs flint builds itself (PFlash's scorer): backends with a
// scheduler, persistent tensors in backend buffers, GGUF weights loaded into them, and a graph
// builder whose op methods take and return Tensor handles. Pointers never leave this file: a Tensor
// carries its native address under a module-private symbol.
//
// ggml checks shapes with GGML_ASSERT, which aborts the process: callers build shapes they have
// checked. Graphs are meant to be built once per shape and computed many times.
import { closeSync, openSync, readSync } from "node:fs";
import koffi from "koffi";
import { getNative } from "./index.js";
import { NativeLibraryError, UserError } from "./errors.js";
import {
  BACKEND_BUFFER_USAGE,
  BACKEND_DEVICE_TYPE,
  GGML_PREC_F32,
  GGML_TYPE,
  GGUF_TYPE,
  ggml_backend_set_n_threads_t,
  ggml_tensor_head,
  ggml_tensor_layout,
} from "./ggml-api.js";
import type { Ptr } from "./llama-api.js";
import { checkGgufFile } from "./model.js";

export { GGML_TYPE, GGML_OP_POOL } from "./ggml-api.js";

const P = Symbol("ggml-pointer");

function isNull(p: Ptr): boolean {
  return p === null || p === undefined || koffi.address(p) === 0n;
}

/** A ggml tensor: its type, shape (ne, 4 dims) and byte strides (nb). */
export class Tensor {
  readonly [P]: Ptr;
  readonly type: number;
  readonly ne: readonly [number, number, number, number];
  readonly nb: readonly [number, number, number, number];

  constructor(ptr: Ptr, what = "ggml op") {
    if (isNull(ptr)) throw new Error(`${what} returned no tensor`);
    this[P] = ptr;
    const h = koffi.decode(ptr, ggml_tensor_head) as { type: number; ne: (number | bigint)[]; nb: (number | bigint)[] };
    this.type = h.type;
    this.ne = [Number(h.ne[0]), Number(h.ne[1]), Number(h.ne[2]), Number(h.ne[3])];
    this.nb = [Number(h.nb[0]), Number(h.nb[1]), Number(h.nb[2]), Number(h.nb[3])];
  }

  get nbytes(): number {
    return getNative().ggml.ggml_nbytes(this[P]);
  }
  get nelements(): number {
    return this.ne[0] * this.ne[1] * this.ne[2] * this.ne[3];
  }
}

/** Bytes of a row of `ne` elements of `type` (block-quantized types included). */
export function rowSize(type: number, ne: number): number {
  return getNative().ggml.ggml_row_size(type, ne);
}

/** Copies host data into a tensor (any backend), at a byte offset. */
export function tensorSet(t: Tensor, data: ArrayBufferView, offset = 0): void {
  if (offset + data.byteLength > t.nbytes) throw new RangeError(`tensor write of ${data.byteLength} bytes at ${offset} exceeds ${t.nbytes}`);
  getNative().ggml.ggml_backend_tensor_set(t[P], data, offset, data.byteLength);
}

/** Copies a tensor's bytes (from byte `offset`) into `out`. */
export function tensorGet<T extends ArrayBufferView>(t: Tensor, out: T, offset = 0): T {
  if (offset + out.byteLength > t.nbytes) throw new RangeError(`tensor read of ${out.byteLength} bytes at ${offset} exceeds ${t.nbytes}`);
  getNative().ggml.ggml_backend_tensor_get(t[P], out, offset, out.byteLength);
  return out;
}

export interface BackendOptions {
  /** where graphs run: "auto" = the first GPU when there is one, else the CPU */
  device?: "auto" | "cpu" | "gpu";
  /** CPU threads (default 4, ggml's default) */
  threads?: number;
  /** most nodes one graph may have (default 16384) */
  graphSize?: number;
}

/** One compute device (plus the CPU as fallback) and a ggml_backend_sched over them. */
export class Backend {
  readonly name: string;
  readonly gpu: boolean;
  private readonly main: Ptr;
  private readonly cpu: Ptr | undefined;
  private readonly sched: Ptr;
  private runs = 0;
  /** the graph the scheduler allocated last: its tensors' addresses are current */
  private last: ComputeGraph | undefined;
  private freed = false;

  private constructor(main: Ptr, cpu: Ptr | undefined, sched: Ptr, gpu: boolean) {
    this.main = main;
    this.cpu = cpu;
    this.sched = sched;
    this.gpu = gpu;
    this.name = getNative().ggml.ggml_backend_name(main);
  }

  static create(o: BackendOptions = {}): Backend {
    const { ggml } = getNative();
    const device = o.device ?? "auto";
    let gpu: Ptr | undefined;
    if (device !== "cpu") {
      for (const type of [BACKEND_DEVICE_TYPE.GPU, BACKEND_DEVICE_TYPE.IGPU]) {
        const b = ggml.ggml_backend_init_by_type(type, null);
        if (!isNull(b)) {
          gpu = b;
          break;
        }
      }
      if (!gpu && device === "gpu") throw new UserError("no GPU backend is available for the scorer (use --scorer-device cpu or auto)");
    }
    const cpu = ggml.ggml_backend_init_by_type(BACKEND_DEVICE_TYPE.CPU, null);
    if (isNull(cpu)) {
      if (gpu) ggml.ggml_backend_free(gpu);
      throw new UserError("the ggml CPU backend could not be initialised");
    }
    if (o.threads !== undefined) {
      const reg = ggml.ggml_backend_dev_backend_reg(ggml.ggml_backend_get_device(cpu));
      const fn = ggml.ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
      if (!isNull(fn)) koffi.call(fn, ggml_backend_set_n_threads_t, cpu, o.threads);
    }
    // the scheduler wants the CPU last: ops a GPU cannot run fall back to it
    const list = gpu ? [gpu, cpu] : [cpu];
    const sched = ggml.ggml_backend_sched_new(list, null, list.length, o.graphSize ?? 16384, false, false);
    if (isNull(sched)) {
      for (const b of list) ggml.ggml_backend_free(b);
      throw new Error("ggml_backend_sched_new failed");
    }
    return new Backend(gpu ?? cpu, gpu ? cpu : undefined, sched, gpu !== undefined);
  }

  /** the main device's backend (module-private) */
  get [P](): Ptr {
    return this.main;
  }

  /** Runs a graph: allocates its intermediate tensors, lets `setInputs` fill the inputs, computes.
   *  A graph keeps its tensor addresses while it is run repeatedly; once another graph was allocated
   *  in between (the compute buffer may have moved), its addresses are cleared and allocated anew. */
  run(graph: ComputeGraph, setInputs: () => void): void {
    const { ggml } = getNative();
    if (this.last !== graph) graph.clearAllocation();
    ggml.ggml_backend_sched_reset(this.sched);
    if (!ggml.ggml_backend_sched_alloc_graph(this.sched, graph[P])) {
      this.last = undefined;
      throw new UserError(`the scorer's graph does not fit in ${this.name} memory`);
    }
    this.last = graph;
    setInputs();
    // the top byte stays 0: the name's last byte is always a terminator
    graph.stamp(BigInt(++this.runs) & 0xffffffffffffffn);
    const status = ggml.ggml_backend_sched_graph_compute(this.sched, graph[P]);
    if (status !== 0) throw new Error(`ggml graph compute failed (status ${status})`);
  }

  /** Bytes of the scheduler's compute buffer on the main device. */
  computeBufferBytes(): number {
    return getNative().ggml.ggml_backend_sched_get_buffer_size(this.sched, this.main);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const { ggml } = getNative();
    ggml.ggml_backend_sched_free(this.sched);
    ggml.ggml_backend_free(this.main);
    if (this.cpu) ggml.ggml_backend_free(this.cpu);
  }
}

/** Allocates every tensor of a no_alloc ggml context in one buffer of the backend's main device. */
function allocContext(ctx: Ptr, backend: Backend, usage: "weights" | "any"): Ptr {
  const { ggml } = getNative();
  const buf = ggml.ggml_backend_alloc_ctx_tensors(ctx, backend[P]);
  if (isNull(buf)) throw new UserError(`not enough memory on ${backend.name} for the scorer's tensors`);
  if (usage === "weights") ggml.ggml_backend_buffer_set_usage(buf, BACKEND_BUFFER_USAGE.WEIGHTS);
  return buf;
}

function newContext(maxTensors: number, extra = 0): Ptr {
  const { ggml } = getNative();
  const ctx = ggml.ggml_init({ mem_size: ggml.ggml_tensor_overhead() * maxTensors + extra, mem_buffer: null, no_alloc: true });
  if (isNull(ctx)) throw new Error("ggml_init failed");
  return ctx;
}

/** Tensors that live across graphs (a KV cache), allocated together in one backend buffer. */
export class TensorArena {
  private readonly ctx: Ptr;
  private buffer: Ptr | undefined;
  private freed = false;

  private constructor(ctx: Ptr) {
    this.ctx = ctx;
  }

  static create(maxTensors: number): TensorArena {
    return new TensorArena(newContext(maxTensors));
  }

  newTensor(type: number, ne: readonly number[]): Tensor {
    const { ggml } = getNative();
    if (this.buffer) throw new Error("the arena is allocated already");
    const [a, b = 1, c = 1, d = 1] = ne;
    return new Tensor(ggml.ggml_new_tensor_4d(this.ctx, type, a, b, c, d), "ggml_new_tensor_4d");
  }

  /** Allocates every tensor made so far in one buffer of the backend's main device. */
  allocate(backend: Backend): void {
    if (this.buffer) throw new Error("the arena is allocated already");
    this.buffer = allocContext(this.ctx, backend, "any");
  }

  get bytes(): number {
    return this.buffer ? getNative().ggml.ggml_backend_buffer_get_size(this.buffer) : 0;
  }

  /** Sets every byte of the buffer. */
  clear(value = 0): void {
    if (this.buffer) getNative().ggml.ggml_backend_buffer_clear(this.buffer, value);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const { ggml } = getNative();
    if (this.buffer) ggml.ggml_backend_buffer_free(this.buffer);
    ggml.ggml_free(this.ctx);
  }
}

export type GgufValue = number | string | boolean;

/** A GGUF file's metadata and its tensors, loaded into one buffer of a backend. */
export class GgufWeights {
  readonly path: string;
  private readonly gguf: Ptr;
  private readonly ctx: Ptr;
  private buffer: Ptr | undefined;
  private readonly tensors = new Map<string, Tensor>();
  private freed = false;

  private constructor(path: string, gguf: Ptr, ctx: Ptr) {
    this.path = path;
    this.gguf = gguf;
    this.ctx = ctx;
  }

  /** Reads the metadata and tensor table (no data yet). Bad files are UserErrors. */
  static open(path: string): GgufWeights {
    checkGgufFile(path);
    const { ggml } = getNative();
    const out = koffi.alloc("void *", 1);
    try {
      const gguf = ggml.gguf_init_from_file(path, { no_alloc: true, ctx: out });
      if (isNull(gguf)) throw new UserError(`cannot read ${path}: not a valid GGUF file (truncated or corrupt)`);
      const ctx = koffi.decode(out, "void *") as Ptr;
      if (isNull(ctx)) {
        ggml.gguf_free(gguf);
        throw new UserError(`cannot read the tensors of ${path}`);
      }
      return new GgufWeights(path, gguf, ctx);
    } finally {
      koffi.free(out);
    }
  }

  /** A metadata value (numbers, strings, bools; arrays give their length), or undefined. */
  meta(key: string): GgufValue | undefined {
    const { ggml } = getNative();
    const id = ggml.gguf_find_key(this.gguf, key);
    if (id < 0) return undefined;
    switch (ggml.gguf_get_kv_type(this.gguf, id)) {
      case GGUF_TYPE.UINT32:
        return ggml.gguf_get_val_u32(this.gguf, id);
      case GGUF_TYPE.INT32:
        return ggml.gguf_get_val_u32(this.gguf, id) | 0;
      case GGUF_TYPE.FLOAT32:
        return ggml.gguf_get_val_f32(this.gguf, id);
      case GGUF_TYPE.STRING:
        return ggml.gguf_get_val_str(this.gguf, id);
      case GGUF_TYPE.ARRAY:
        return ggml.gguf_get_arr_n(this.gguf, id);
      default:
        return undefined;
    }
  }

  /** A tensor by name (metadata; data once load() ran), or undefined. */
  tensor(name: string): Tensor | undefined {
    let t = this.tensors.get(name);
    if (!t) {
      const p = getNative().ggml.ggml_get_tensor(this.ctx, name);
      if (isNull(p)) return undefined;
      t = new Tensor(p);
      this.tensors.set(name, t);
    }
    return t;
  }

  /** Allocates the tensors on the backend and copies their data from the file. */
  load(backend: Backend, chunkBytes = 64 << 20): void {
    const { ggml } = getNative();
    if (this.buffer) throw new Error(`${this.path} is loaded already`);
    this.buffer = allocContext(this.ctx, backend, "weights");
    const n = ggml.gguf_get_n_tensors(this.gguf);
    const base = ggml.gguf_get_data_offset(this.gguf);
    let buf = Buffer.alloc(0);
    const fd = openSync(this.path, "r");
    try {
      for (let i = 0; i < n; i++) {
        const name = ggml.gguf_get_tensor_name(this.gguf, i);
        const t = this.tensor(name)!;
        const size = ggml.gguf_get_tensor_size(this.gguf, i);
        const at = base + ggml.gguf_get_tensor_offset(this.gguf, i);
        if (buf.length < Math.min(size, chunkBytes)) buf = Buffer.alloc(Math.min(Math.max(size, 1 << 20), chunkBytes));
        for (let off = 0; off < size; off += chunkBytes) {
          const len = Math.min(chunkBytes, size - off);
          const got = readSync(fd, buf, 0, len, at + off);
          if (got !== len) throw new UserError(`${this.path} is truncated: tensor ${name} needs ${size} bytes at ${at}`);
          ggml.ggml_backend_tensor_set(t[P], buf, off, len);
        }
      }
    } finally {
      closeSync(fd);
    }
  }

  get bytes(): number {
    return this.buffer ? getNative().ggml.ggml_backend_buffer_get_size(this.buffer) : 0;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    const { ggml } = getNative();
    if (this.buffer) ggml.ggml_backend_buffer_free(this.buffer);
    ggml.ggml_free(this.ctx);
    ggml.gguf_free(this.gguf);
  }
}

let layoutChecked = false;
const OFF_BUFFER = koffi.offsetof(ggml_tensor_layout, "buffer");
const OFF_DATA = koffi.offsetof(ggml_tensor_layout, "data");
const OFF_NAME = koffi.offsetof(ggml_tensor_layout, "name");

/** A ggml context for one graph and the graph itself. Op methods add tensors; expand() adds nodes. */
export class ComputeGraph {
  readonly [P]: Ptr;
  private readonly ctx: Ptr;
  /** word indices of every tensor's `buffer` and `data` fields in the context's memory */
  private slots: Int32Array | undefined;
  /** word indices of the last 8 bytes of each short tensor name (see stamp) */
  private nameTails: Int32Array | undefined;
  private words: BigUint64Array | undefined;
  private freed = false;

  private constructor(ctx: Ptr, graph: Ptr) {
    this.ctx = ctx;
    this[P] = graph;
  }

  static create(maxNodes = 16384): ComputeGraph {
    const { ggml } = getNative();
    const ctx = newContext(maxNodes, ggml.ggml_graph_overhead_custom(maxNodes, false));
    const graph = ggml.ggml_new_graph_custom(ctx, maxNodes, false);
    if (isNull(graph)) {
      ggml.ggml_free(ctx);
      throw new Error("ggml_new_graph_custom failed");
    }
    return new ComputeGraph(ctx, graph);
  }

  get nNodes(): number {
    return getNative().ggml.ggml_graph_n_nodes(this[P]);
  }

  /**
   * Forgets the backend addresses of this graph's own tensors (not of weights or caches, which live in
   * other contexts): ggml's allocator keeps any tensor that has data, so a graph allocated again after
   * another graph must start from none (ggml_backend_sched_reset's note on dangling pointers). The
   * fields are found once per graph; clearing them is plain memory writes.
   */
  clearAllocation(): void {
    this.findSlots();
    const w = this.words!;
    for (const i of this.slots!) w[i] = 0n;
  }

  /**
   * Writes `run` into the unused tail of every short tensor name (after its terminating 0). ggml-cuda
   * records a CUDA graph when a graph is computed again with every node's struct unchanged and replays
   * it from then on; flint's scorer aborted on the H200 with an illegal memory access when it scored
   * repeated prompt shapes (see Scorer.newGraphs). A name that differs at every run keeps each compute
   * a direct one, as on first use. Plain memory writes, no FFI.
   */
  stamp(run: bigint): void {
    this.findSlots();
    const w = this.words!;
    for (const i of this.nameTails!) w[i] = run;
  }

  private findSlots(): void {
    const { ggml } = getNative();
    if (!this.slots) {
      const base = koffi.address(ggml.ggml_get_mem_buffer(this.ctx));
      const size = ggml.ggml_get_mem_size(this.ctx);
      this.words = new BigUint64Array(koffi.view(ggml.ggml_get_mem_buffer(this.ctx), Math.floor(size / 8) * 8));
      const slots: number[] = [];
      const tails: number[] = [];
      for (let t = ggml.ggml_get_first_tensor(this.ctx); !isNull(t); t = ggml.ggml_get_next_tensor(this.ctx, t)) {
        const at = Number(koffi.address(t) - base);
        if (at % 8 !== 0) throw new Error("unexpected ggml tensor alignment");
        if (!layoutChecked) {
          // a named tensor proves the offsets up to its name (data is the field right before it)
          const name = ggml.ggml_get_name(t);
          if (name) {
            if ((koffi.decode(t, OFF_NAME, koffi.array("char", 64, "String")) as string) !== name || OFF_DATA !== OFF_NAME - 8) {
              throw new NativeLibraryError("this ggml's struct ggml_tensor differs from the layout flint expects (the llama.cpp release of node-llama-cpp@3.22.1)");
            }
            layoutChecked = true;
          }
        }
        slots.push((at + OFF_BUFFER) / 8, (at + OFF_DATA) / 8);
        // bytes 56..63 of name[64]; names shorter than 56 chars end before them
        if ((ggml.ggml_get_name(t) ?? "").length < 56) tails.push((at + OFF_NAME + 56) / 8);
      }
      this.slots = Int32Array.from(slots);
      this.nameTails = Int32Array.from(tails);
    }
  }

  /** A tensor the caller fills before each compute (see Backend.run). */
  input(type: number, ne: readonly number[], name?: string): Tensor {
    const { ggml } = getNative();
    const [a, b = 1, c = 1, d = 1] = ne;
    const p = ggml.ggml_new_tensor_4d(this.ctx, type, a, b, c, d);
    if (name) ggml.ggml_set_name(p, name);
    ggml.ggml_set_input(p);
    return new Tensor(p);
  }

  /** Marks a result to be kept (readable after compute) and adds it to the graph. */
  output(t: Tensor): Tensor {
    getNative().ggml.ggml_set_output(t[P]);
    this.expand(t);
    return t;
  }

  /** Adds a tensor and everything it depends on to the graph, in order. */
  expand(t: Tensor): void {
    getNative().ggml.ggml_build_forward_expand(this[P], t[P]);
  }

  private t(p: Ptr, what: string): Tensor {
    return new Tensor(p, what);
  }

  getRows(a: Tensor, rows: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_get_rows(this.ctx, a[P], rows[P]), "get_rows");
  }
  /** a [k, n], b [k, m] -> [n, m] (broadcast over dims 2, 3) */
  mulMat(a: Tensor, b: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_mul_mat(this.ctx, a[P], b[P]), "mul_mat");
  }
  add(a: Tensor, b: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_add(this.ctx, a[P], b[P]), "add");
  }
  sub(a: Tensor, b: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_sub(this.ctx, a[P], b[P]), "sub");
  }
  mul(a: Tensor, b: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_mul(this.ctx, a[P], b[P]), "mul");
  }
  scale(a: Tensor, s: number): Tensor {
    return this.t(getNative().ggml.ggml_scale(this.ctx, a[P], s), "scale");
  }
  rmsNorm(a: Tensor, eps: number): Tensor {
    return this.t(getNative().ggml.ggml_rms_norm(this.ctx, a[P], eps), "rms_norm");
  }
  /** silu(a) * b */
  swiglu(a: Tensor, b: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_swiglu_split(this.ctx, a[P], b[P]), "swiglu_split");
  }
  relu(a: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_relu(this.ctx, a[P]), "relu");
  }
  step(a: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_step(this.ctx, a[P]), "step");
  }
  log(a: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_log(this.ctx, a[P]), "log");
  }
  /** mean along dim 0 */
  mean(a: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_mean(this.ctx, a[P]), "mean");
  }
  /** [start, stop) with step, F32 */
  arange(start: number, stop: number, step = 1): Tensor {
    return this.t(getNative().ggml.ggml_arange(this.ctx, start, stop, step), "arange");
  }
  rope(a: Tensor, pos: Tensor, o: { nDims: number; mode: number; nCtxOrig: number; freqBase: number; freqScale?: number; extFactor?: number; attnFactor?: number; betaFast?: number; betaSlow?: number }): Tensor {
    return this.t(
      getNative().ggml.ggml_rope_ext(this.ctx, a[P], pos[P], null, o.nDims, o.mode, o.nCtxOrig, o.freqBase, o.freqScale ?? 1, o.extFactor ?? 0, o.attnFactor ?? 1, o.betaFast ?? 32, o.betaSlow ?? 1),
      "rope_ext",
    );
  }
  /** q [d, nq, H], k/v [d, nkv, Hkv] (F16), mask [nkv, nq] F16 -> [d, H, nq]; accumulates in F32 */
  flashAttn(q: Tensor, k: Tensor, v: Tensor, mask: Tensor | undefined, scale: number): Tensor {
    const { ggml } = getNative();
    const r = ggml.ggml_flash_attn_ext(this.ctx, q[P], k[P], v[P], mask ? mask[P] : null, scale, 0, 0);
    ggml.ggml_prec_set_acc(r, GGML_PREC_F32);
    return this.t(r, "flash_attn_ext");
  }
  softMax(a: Tensor, mask: Tensor | undefined, scale: number): Tensor {
    return this.t(getNative().ggml.ggml_soft_max_ext(this.ctx, a[P], mask ? mask[P] : null, scale, 0), "soft_max_ext");
  }
  reshape(a: Tensor, ne: readonly number[]): Tensor {
    const { ggml } = getNative();
    const [x, y = 1, z = 1, w = 1] = ne;
    return this.t(ggml.ggml_reshape_4d(this.ctx, a[P], x, y, z, w), "reshape");
  }
  /** A view of `ne` elements with byte strides nb1..nb3 at a byte offset. */
  view(a: Tensor, ne: readonly number[], nb: readonly number[], offset: number): Tensor {
    const { ggml } = getNative();
    const [x, y = 1, z = 1, w = 1] = ne;
    const [nb1 = a.nb[1], nb2 = a.nb[2], nb3 = a.nb[3]] = nb;
    return this.t(ggml.ggml_view_4d(this.ctx, a[P], x, y, z, w, nb1, nb2, nb3, offset), "view");
  }
  permute(a: Tensor, ax0: number, ax1: number, ax2: number, ax3: number): Tensor {
    return this.t(getNative().ggml.ggml_permute(this.ctx, a[P], ax0, ax1, ax2, ax3), "permute");
  }
  transpose(a: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_transpose(this.ctx, a[P]), "transpose");
  }
  cont(a: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_cont(this.ctx, a[P]), "cont");
  }
  cast(a: Tensor, type: number): Tensor {
    return this.t(getNative().ggml.ggml_cast(this.ctx, a[P], type), "cast");
  }
  /** Writes rows of `src` into `dst` at row indices `idx` (I64 or I32); returns a view of dst. */
  setRows(dst: Tensor, src: Tensor, idx: Tensor): Tensor {
    return this.t(getNative().ggml.ggml_set_rows(this.ctx, dst[P], src[P], idx[P]), "set_rows");
  }
  repeat(a: Tensor, ne: readonly number[]): Tensor {
    const [x, y = 1, z = 1, w = 1] = ne;
    return this.t(getNative().ggml.ggml_repeat_4d(this.ctx, a[P], x, y, z, w), "repeat_4d");
  }
  /** zero padding: [left0, right0, left1, right1, ...] */
  pad(a: Tensor, p: readonly number[]): Tensor {
    const q = [0, 0, 0, 0, 0, 0, 0, 0].map((z, i) => p[i] ?? z);
    return this.t(getNative().ggml.ggml_pad_ext(this.ctx, a[P], q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]), "pad_ext");
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    getNative().ggml.ggml_free(this.ctx);
  }
}

export const F32 = GGML_TYPE.F32;
export const F16 = GGML_TYPE.F16;
export const I32 = GGML_TYPE.I32;
export const I64 = GGML_TYPE.I64;
