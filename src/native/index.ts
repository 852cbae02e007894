// The native boundary: loads llama.cpp once per process and hands out typed APIs. Everything outside
// src/native/ goes through the handle classes exported here and never sees a pointer.
import { declareExt, type ExtApi } from "./ext-api.js";
import { declareGgml, type GgmlApi } from "./ggml-api.js";
import { findLib, loadLibraries, resolveLibraryDir, type LibrarySource } from "./library.js";
import { declareLlama, type LlamaApi } from "./llama-api.js";
import { installLogger } from "./log.js";
import { NativeLibraryError } from "./errors.js";

export interface Native {
  source: LibrarySource;
  llama: LlamaApi;
  ggml: GgmlApi;
  ext: ExtApi;
}

let native: Native | undefined;

export function getNative(): Native {
  if (native) return native;
  const source = resolveLibraryDir();
  const libs = loadLibraries(source);
  let llama: LlamaApi;
  let ggml: GgmlApi;
  try {
    llama = declareLlama(libs.llama);
    ggml = declareGgml(libs.ggmlBase, libs.ggml);
  } catch (err) {
    throw new NativeLibraryError(`llama.cpp in ${source.dir} does not export the expected C API (${(err as Error).message}); flint expects the release inside node-llama-cpp@3.22.1`);
  }
  const ext = declareExt(libs.llama, findLib(source.dir, "llama") ?? source.dir);
  installLogger(llama);
  // prebuilt packages ship their CPU/GPU backends as separate modules; standalone builds link them in
  if (ggml.ggml_backend_reg_count() === 0) {
    ggml.ggml_backend_load_all_from_path(source.dir);
  }
  llama.llama_backend_init();
  if (ggml.ggml_backend_dev_count() === 0) {
    throw new NativeLibraryError(`no ggml backend could be loaded from ${source.dir}`);
  }
  native = { source, llama, ggml, ext };
  return native;
}

export interface DeviceInfo {
  name: string;
  description: string;
  type: "cpu" | "gpu" | "igpu" | "accel";
  freeBytes: number;
  totalBytes: number;
}

export function listDevices(): DeviceInfo[] {
  const { ggml } = getNative();
  const types = ["cpu", "gpu", "igpu", "accel"] as const;
  const free = new BigUint64Array(1);
  const total = new BigUint64Array(1);
  const out: DeviceInfo[] = [];
  for (let i = 0; i < ggml.ggml_backend_dev_count(); i++) {
    const dev = ggml.ggml_backend_dev_get(i);
    ggml.ggml_backend_dev_memory(dev, free, total);
    out.push({
      name: ggml.ggml_backend_dev_name(dev),
      description: ggml.ggml_backend_dev_description(dev),
      type: types[ggml.ggml_backend_dev_type(dev)] ?? "accel",
      freeBytes: Number(free[0]),
      totalBytes: Number(total[0]),
    });
  }
  return out;
}

export { UserError, NativeLibraryError, LlamaError } from "./errors.js";
export { setLogLevel, type LogLevel } from "./log.js";
