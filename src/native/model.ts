// Ownership of a llama_model and its vocabulary. Loading validates the path first so the common
// mistakes (missing file, directory, not a GGUF) get a plain message instead of a llama.cpp log.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import koffi from "koffi";
import { getNative } from "./index.js";
import { LlamaError, UserError } from "./errors.js";
import type { Ptr } from "./llama-api.js";
import { clearRecentLog, recentProblems } from "./log.js";

export interface ModelLoadOptions {
  /** layers to offload to the GPU; -1 = all (default), 0 = CPU only */
  gpuLayers?: number;
  vocabOnly?: boolean;
  useMmap?: boolean;
  checkTensors?: boolean;
}

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian

function loadParams(path: string, opts: ModelLoadOptions) {
  checkGgufFile(path);
  const params = getNative().llama.llama_model_default_params();
  if (opts.gpuLayers !== undefined) params.n_gpu_layers = opts.gpuLayers;
  if (opts.vocabOnly) params.vocab_only = true;
  if (opts.checkTensors) params.check_tensors = true;
  if (opts.useMmap === false) params.load_mode = 0;
  clearRecentLog();
  return params;
}

export function checkGgufFile(path: string): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UserError(`model file not found: ${path}`);
  }
  if (st.isDirectory()) throw new UserError(`model path is a directory, not a GGUF file: ${path}`);
  const head = Buffer.alloc(4);
  const fd = openSync(path, "r");
  try {
    if (readSync(fd, head, 0, 4, 0) < 4 || head.readUInt32LE(0) !== GGUF_MAGIC) {
      throw new UserError(`not a GGUF file (bad magic): ${path}`);
    }
  } finally {
    closeSync(fd);
  }
}

function failure(what: string): LlamaError {
  const why = recentProblems();
  return new LlamaError(why.length ? `${what}: ${why.join("; ")}` : what);
}

export class NativeModel {
  readonly ptr: Ptr;
  readonly vocab: Ptr;
  readonly path: string;
  private freed = false;

  private constructor(ptr: Ptr, path: string) {
    this.ptr = ptr;
    this.path = path;
    this.vocab = getNative().llama.llama_model_get_vocab(ptr);
  }

  static load(path: string, opts: ModelLoadOptions = {}): NativeModel {
    const params = loadParams(path, opts);
    const ptr = getNative().llama.llama_model_load_from_file(path, params);
    if (!ptr) throw failure(`failed to load model ${path}`);
    return new NativeModel(ptr, path);
  }

  /** load() on a koffi worker thread, so the event loop keeps running while weights are read (a
   *  server answers /health with 503 meanwhile). libllama's log callback is queued back to the main
   *  thread by koffi. */
  static async loadAsync(path: string, opts: ModelLoadOptions = {}): Promise<NativeModel> {
    const params = loadParams(path, opts);
    const fn = getNative().llama.llama_model_load_from_file as unknown as {
      async(path: string, params: unknown, cb: (err: unknown, ptr: Ptr | null) => void): void;
    };
    const ptr = await new Promise<Ptr | null>((resolve, reject) => fn.async(path, params, (err, res) => (err ? reject(err) : resolve(res))));
    if (!ptr) throw failure(`failed to load model ${path}`);
    return new NativeModel(ptr, path);
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    getNative().llama.llama_model_free(this.ptr);
  }

  /** a GGUF metadata value as a string (arrays are not supported by libllama), undefined if absent */
  meta(key: string): string | undefined {
    const { llama } = getNative();
    const buf = Buffer.alloc(4096);
    const n = llama.llama_model_meta_val_str(this.ptr, key, buf, buf.length);
    if (n < 0) return undefined;
    if (n >= buf.length) {
      const big = Buffer.alloc(n + 1);
      llama.llama_model_meta_val_str(this.ptr, key, big, big.length);
      return big.toString("utf8", 0, n);
    }
    return buf.toString("utf8", 0, n);
  }

  metaKeys(): string[] {
    const { llama } = getNative();
    const buf = Buffer.alloc(512);
    const keys: string[] = [];
    const count = llama.llama_model_meta_count(this.ptr);
    for (let i = 0; i < count; i++) {
      const n = llama.llama_model_meta_key_by_index(this.ptr, i, buf, buf.length);
      if (n >= 0) keys.push(buf.toString("utf8", 0, Math.min(n, buf.length - 1)));
    }
    return keys;
  }

  description(): string {
    const buf = Buffer.alloc(256);
    const n = getNative().llama.llama_model_desc(this.ptr, buf, buf.length);
    return buf.toString("utf8", 0, Math.max(0, Math.min(n, buf.length - 1)));
  }

  info() {
    const { llama } = getNative();
    const p = this.ptr;
    return {
      nEmbd: llama.llama_model_n_embd(p),
      nEmbdInp: llama.llama_model_n_embd_inp(p),
      nLayer: llama.llama_model_n_layer(p),
      nHead: llama.llama_model_n_head(p),
      nHeadKv: llama.llama_model_n_head_kv(p),
      nCtxTrain: llama.llama_model_n_ctx_train(p),
      nParams: Number(llama.llama_model_n_params(p)),
      sizeBytes: Number(llama.llama_model_size(p)),
      ftype: llama.llama_ftype_name(llama.llama_model_ftype(p)),
      isRecurrent: llama.llama_model_is_recurrent(p),
      isHybrid: llama.llama_model_is_hybrid(p),
      hasEncoder: llama.llama_model_has_encoder(p),
      description: this.description(),
    };
  }

  chatTemplate(name?: string): string | undefined {
    return getNative().llama.llama_model_chat_template(this.ptr, name ?? null) ?? undefined;
  }

  /** DFlash drafters: the target layers whose inputs condition the drafter (empty for other models) */
  targetLayerIds(): Int32Array {
    const { ext } = getNative();
    const n = ext.llama_model_target_layer_ids_n(this.ptr);
    if (n === 0) return new Int32Array(0);
    const ptr = ext.llama_model_target_layer_ids(this.ptr);
    return Int32Array.from(koffi.decode(ptr, "int32_t", n) as number[]);
  }
}
