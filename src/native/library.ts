// Finds and loads llama.cpp's shared libraries. Resolution order (first hit wins):
//   1. FLINT_LLAMA_LIB_DIR
//   2. the local source build recorded by `flint build-native`
//   3. the prebuilt @node-llama-cpp/<platform>[-cuda|-vulkan|-metal] package pinned to 3.22.1
// Prebuilt packages load their CPU/GPU backends dynamically from the same directory; standalone
// source builds link their backends in. Both are handled by asking ggml how many backends it has.
import { existsSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import koffi from "koffi";
import { findLocalBuild, PINNED } from "./source-build.js";
import { NativeLibraryError } from "./errors.js";

export const PINNED_NODE_LLAMA_CPP = PINNED.nodeLlamaCpp;
export const PINNED_LLAMA_COMMIT = PINNED.llamaCommit;

export interface LibrarySource {
  dir: string;
  origin: "env" | "source-build" | "prebuilt";
  /** prebuilt package name, when origin is prebuilt */
  packageName?: string;
}

export interface LoadedLibraries {
  source: LibrarySource;
  ggmlBase: koffi.IKoffiLib;
  ggml: koffi.IKoffiLib;
  llama: koffi.IKoffiLib;
}

const require = createRequire(import.meta.url);

/** Prebuilt package candidates for this platform, fastest backend first. */
export function prebuiltCandidates(platform = process.platform, arch = process.arch): string[] {
  if (platform === "linux" && arch === "x64") {
    return ["linux-x64-cuda", "linux-x64-vulkan", "linux-x64"];
  }
  if (platform === "linux" && arch === "arm64") return ["linux-arm64"];
  if (platform === "darwin" && arch === "arm64") return ["mac-arm64-metal"];
  if (platform === "darwin" && arch === "x64") return ["mac-x64"];
  if (platform === "win32" && arch === "x64") return ["win-x64-cuda", "win-x64-vulkan", "win-x64"];
  if (platform === "win32" && arch === "arm64") return ["win-arm64"];
  return [];
}

function prebuiltDir(name: string): string | undefined {
  let entry: string;
  try {
    // the packages export only their dist/index.js, whose sibling ../bins holds the libraries
    entry = require.resolve(`@node-llama-cpp/${name}`);
  } catch {
    return undefined;
  }
  const binsDir = path.join(path.dirname(entry), "..", "bins");
  if (!existsSync(binsDir)) return undefined;
  for (const entry of readdirSync(binsDir)) {
    const dir = path.join(binsDir, entry);
    if (findLib(dir, "llama")) return dir;
  }
  return undefined;
}

/** Candidate file names, prebuilt packages version their sonames (libllama.v0.5.0.so). */
export function findLib(dir: string, base: "llama" | "ggml" | "ggml-base"): string | undefined {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return undefined;
  }
  const exact = process.platform === "win32" ? `${base}.dll` : process.platform === "darwin" ? `lib${base}.dylib` : `lib${base}.so`;
  if (entries.includes(exact)) return path.join(dir, exact);
  const ext = process.platform === "win32" ? ".dll" : process.platform === "darwin" ? ".dylib" : ".so";
  const prefix = process.platform === "win32" ? `${base}.` : `lib${base}.`;
  const versioned = entries.find((e) => e.startsWith(prefix) && e.endsWith(ext) && /\.v?\d/.test(e.slice(prefix.length - 1)));
  return versioned ? path.join(dir, versioned) : undefined;
}

export function resolveLibraryDir(env: NodeJS.ProcessEnv = process.env): LibrarySource {
  const fromEnv = env.FLINT_LLAMA_LIB_DIR;
  if (fromEnv) {
    if (!findLib(fromEnv, "llama")) {
      throw new NativeLibraryError(`FLINT_LLAMA_LIB_DIR=${fromEnv} does not contain libllama (expected libllama.so or a versioned libllama.*.so)`);
    }
    return { dir: fromEnv, origin: "env" };
  }
  const local = findLocalBuild();
  if (local) return { dir: local.libDir, origin: "source-build" };
  for (const name of prebuiltCandidates()) {
    const dir = prebuiltDir(name);
    if (dir) return { dir, origin: "prebuilt", packageName: `@node-llama-cpp/${name}` };
  }
  throw new NativeLibraryError(
    `no llama.cpp library found for ${process.platform}-${process.arch}: install @node-llama-cpp/<platform>@${PINNED_NODE_LLAMA_CPP}, ` +
      `run \`flint build-native\`, or set FLINT_LLAMA_LIB_DIR to a directory containing libllama`,
  );
}

export function loadLibraries(source: LibrarySource): LoadedLibraries {
  const open = (base: "llama" | "ggml" | "ggml-base"): koffi.IKoffiLib => {
    const file = findLib(source.dir, base);
    if (!file) throw new NativeLibraryError(`lib${base} not found in ${source.dir}`);
    try {
      // global: libllama resolves ggml symbols from the libraries loaded before it
      return koffi.load(file, { global: true });
    } catch (err) {
      throw new NativeLibraryError(`cannot load ${file}: ${(err as Error).message}`);
    }
  };
  const ggmlBase = open("ggml-base");
  const ggml = open("ggml");
  const llama = open("llama");
  return { source, ggmlBase, ggml, llama };
}
