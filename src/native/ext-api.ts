// The C++ functions of llama.cpp's src/llama-ext.h that DFlash needs. They have no C linkage, so they
// are bound by their Itanium-mangled names; every one must resolve, or flint refuses to start with a
// message naming the llama.cpp release it was written against.
import type koffi from "koffi";
import type { Ptr } from "./llama-api.js";
import { NativeLibraryError } from "./errors.js";
import { PINNED_LLAMA_COMMIT, PINNED_NODE_LLAMA_CPP } from "./library.js";

type F<A extends unknown[], R> = (...args: A) => R;

export interface ExtApi {
  llama_set_embeddings_layer_inp: F<[Ptr, number, boolean], void>;
  llama_get_embeddings_layer_inp: F<[Ptr, number], Ptr>;
  /** the same function returning the address as a number: to check a cached view without a new one */
  uaddr_get_embeddings_layer_inp: F<[Ptr, number], number>;
  llama_model_target_layer_ids: F<[Ptr], Ptr>;
  llama_model_target_layer_ids_n: F<[Ptr], number>;
  llama_set_embeddings_nextn: F<[Ptr, boolean, boolean], void>;
  llama_get_ctx_other: F<[Ptr], Ptr>;
}

/** mangled symbol -> [name, result, args]; mangling per the Itanium C++ ABI (gcc/clang). */
const SYMBOLS: Record<keyof ExtApi, [string, string, string[]]> = {
  llama_set_embeddings_layer_inp: ["_Z30llama_set_embeddings_layer_inpP13llama_contextjb", "void", ["void *", "uint32_t", "bool"]],
  llama_get_embeddings_layer_inp: ["_Z30llama_get_embeddings_layer_inpP13llama_contextj", "void *", ["void *", "uint32_t"]],
  uaddr_get_embeddings_layer_inp: ["_Z30llama_get_embeddings_layer_inpP13llama_contextj", "uintptr_t", ["void *", "uint32_t"]],
  llama_model_target_layer_ids: ["_Z28llama_model_target_layer_idsPK11llama_model", "void *", ["void *"]],
  llama_model_target_layer_ids_n: ["_Z30llama_model_target_layer_ids_nPK11llama_model", "uint32_t", ["void *"]],
  llama_set_embeddings_nextn: ["_Z26llama_set_embeddings_nextnP13llama_contextbb", "void", ["void *", "bool", "bool"]],
  llama_get_ctx_other: ["_Z19llama_get_ctx_otherP13llama_context", "void *", ["void *"]],
};

export function declareExt(lib: koffi.IKoffiLib, libPath: string): ExtApi {
  const api: Partial<Record<keyof ExtApi, unknown>> = {};
  const missing: string[] = [];
  for (const [name, [mangled, result, args]] of Object.entries(SYMBOLS) as [keyof ExtApi, [string, string, string[]]][]) {
    try {
      api[name] = lib.func(mangled, result, args);
    } catch {
      missing.push(`${name} (${mangled})`);
    }
  }
  if (missing.length > 0) {
    throw new NativeLibraryError(
      `libllama in ${libPath} lacks the llama-ext.h symbols flint needs: ${missing.join(", ")}. ` +
        `flint expects llama.cpp ${PINNED_LLAMA_COMMIT} (the release inside node-llama-cpp@${PINNED_NODE_LLAMA_CPP}); ` +
        `point FLINT_LLAMA_LIB_DIR at a build of that release or run \`flint build-native\``,
    );
  }
  return api as ExtApi;
}
