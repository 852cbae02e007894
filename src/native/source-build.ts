// Builds the pinned llama.cpp release from source (`flint build-native`) and remembers the result, so
// the library loader can prefer a build made for this machine's GPU over the generic prebuilt libraries.
// The source is the git bundle that node-llama-cpp@3.22.1 ships: it is exactly the release the prebuilt
// libraries were made from, so source and prebuilt builds expose the same API.
import { spawn, spawnSync } from "node:child_process";
import {
  accessSync, constants, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync,
  statSync, writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { UserError } from "./errors.js";

// One UserError class for the whole project; re-exported so callers of this module need one import.
export { UserError };

export const PINNED = { nodeLlamaCpp: "3.22.1", llamaCommit: "de3ff81" } as const;

export const GPUS = ["cuda", "hip", "vulkan", "cpu"] as const;
export type Gpu = (typeof GPUS)[number];

/** Tools built next to the library: baselines for benchmarks and a way to quantize test models. */
export const TOOL_TARGETS = ["llama-bench", "llama-cli", "llama-server", "llama-quantize"];

export interface BuildOptions {
  gpu: string;
  /** cuda: 86, 90, 120a (comma list allowed); hip: gfx1151; cpu/vulkan: only "portable". */
  arch?: string;
  jobs?: number;
  dryRun?: boolean;
  /** Start from an empty build directory even when a finished build exists. */
  force?: boolean;
  /** false: build only libllama (and the ggml libraries it links). Default true. */
  tools?: boolean;
  /**
   * A gitRelease.bundle to clone instead of node_modules' or npm's (machines without registry
   * access). The commit check still applies.
   */
  bundle?: string;
  /** Overrides for tests and unusual setups; default: detected. */
  generator?: "Ninja" | "Unix Makefiles";
  cacheDir?: string;
  env?: NodeJS.ProcessEnv;
}

export interface BuildPlan {
  gpu: Gpu;
  arch?: string;
  commit: string;
  /** cache root, llama.cpp source tree, cmake build tree */
  root: string;
  srcDir: string;
  buildDir: string;
  generator: "Ninja" | "Unix Makefiles";
  jobs: number;
  targets: string[];
  /** argv lists, argv[0] is the program */
  configure: string[];
  build: string[];
  /** extra environment for cmake (e.g. CUDACXX when nvcc is not on PATH); filled in by preflight */
  env: Record<string, string>;
}

export interface BuildResult extends LocalBuild {
  gpu: Gpu;
  commit: string;
  buildDir: string;
  /** the commands run (or, for a dry run, that would run), shell-quoted */
  commands: string[];
  dryRun: boolean;
  /** true when a finished build with the same configuration was reused */
  reused: boolean;
  seconds: number;
}

export interface LocalBuild { libDir: string; binDir: string; gpu: string; arch?: string }

export interface BuildLogger {
  /** a step, for people */
  info(line: string): void;
  /** one line of cmake / compiler output */
  output(line: string): void;
}

const LLAMA_LIB = process.platform === "darwin" ? "libllama.dylib" : process.platform === "win32" ? "llama.dll" : "libllama.so";

export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLINT_CACHE_DIR) return path.resolve(env.FLINT_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), "flint");
  return path.join(os.homedir(), ".cache", "flint");
}

const llamaDir = (root: string) => path.join(root, "llama.cpp");
const activePath = (root: string) => path.join(llamaDir(root), "active.json");

/** The build recorded by the last successful `flint build-native`, if it is still usable. */
export function findLocalBuild(env: NodeJS.ProcessEnv = process.env): LocalBuild | undefined {
  const data: unknown = readJson(activePath(cacheRoot(env)));
  if (typeof data !== "object" || data === null) return undefined;
  const d = data as Record<string, unknown>;
  if (typeof d.libDir !== "string" || typeof d.binDir !== "string" || typeof d.gpu !== "string") return undefined;
  if (d.arch !== undefined && typeof d.arch !== "string") return undefined;
  // A build of another llama.cpp release (left over from an older flint) would fail symbol checks
  // later with a more confusing message; fall through to the prebuilt libraries instead.
  if (d.commit !== PINNED.llamaCommit) return undefined;
  if (!isFile(path.join(d.libDir, LLAMA_LIB))) return undefined;
  const out: LocalBuild = { libDir: d.libDir, binDir: d.binDir, gpu: d.gpu };
  if (typeof d.arch === "string") out.arch = d.arch;
  return out;
}

const isFile = (p: string) => statSync(p, { throwIfNoEntry: false })?.isFile() ?? false;

/** Parsed JSON of a file, or undefined when it is missing or not JSON. */
function readJson(file: string): any {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/** Full path of an executable on PATH (or an absolute path that is executable), else undefined. */
export function which(cmd: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const exts = process.platform === "win32" ? ["", ".exe", ".cmd"] : [""];
  const candidates = path.isAbsolute(cmd)
    ? [cmd]
    : (env.PATH ?? "").split(path.delimiter).filter(Boolean).flatMap((d) => exts.map((e) => path.join(d, cmd + e)));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      if (statSync(c).isFile()) return c;
    } catch {
      // not here
    }
  }
  return undefined;
}

export function validateGpu(gpu: string | undefined): Gpu {
  if (!gpu) throw new UserError(`--gpu is required: one of ${GPUS.join(", ")}`);
  const g = gpu.toLowerCase();
  if (!(GPUS as readonly string[]).includes(g)) {
    throw new UserError(`unknown --gpu "${gpu}": use one of ${GPUS.join(", ")}`);
  }
  return g as Gpu;
}

/** Checks --arch for the backend and returns it normalized (lower case, comma separated list). */
export function validateArch(gpu: Gpu, arch: string | undefined): string | undefined {
  if (arch === undefined || arch === "") {
    if (gpu === "hip") {
      throw new UserError(
        "--arch is required for hip builds: the AMD GPU target, e.g. --arch gfx1100 (RX 7900), gfx1151 (Strix Halo), " +
          "gfx90a (MI200), gfx942 (MI300). `rocminfo | grep gfx` shows yours.",
      );
    }
    return undefined;
  }
  const parts = arch.toLowerCase().split(",").map((s) => s.trim());
  const check = (re: RegExp, example: string) => {
    const bad = parts.find((p) => !re.test(p));
    if (bad !== undefined) throw new UserError(`bad --arch "${arch}" for ${gpu}: expected ${example}`);
  };
  if (gpu === "cuda") {
    check(/^[0-9]{2,3}[af]?(-real|-virtual)?$/, "a CUDA compute capability without the dot, e.g. 86, 89, 90, 120a (or a comma list)");
  } else if (gpu === "hip") {
    check(/^gfx[0-9a-f]+$/, "an AMD GPU target like gfx1100 or gfx1151 (or a comma list)");
  } else {
    // Vulkan shaders are compiled at run time; the only choice left is the host CPU code.
    check(/^portable$/, `"portable" (generic CPU code instead of -march=native, for copying to other hosts), or no --arch`);
  }
  return parts.join(",");
}

function defaultJobs(gpu: Gpu): number {
  const cpus = typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
  // nvcc / hip-clang jobs on the big template-instance files can take several GB each.
  const perJobGb = gpu === "cuda" || gpu === "hip" ? 4 : 1.5;
  const byMem = Math.floor(os.totalmem() / 2 ** 30 / perJobGb);
  return Math.max(1, Math.min(cpus, byMem));
}

/** Everything the build will do, computed without running or writing anything. */
export function planBuild(opts: BuildOptions): BuildPlan {
  const env = opts.env ?? process.env;
  const gpu = validateGpu(opts.gpu);
  const arch = validateArch(gpu, opts.arch);
  if (opts.jobs !== undefined && (!Number.isInteger(opts.jobs) || opts.jobs < 1)) {
    throw new UserError(`bad --jobs "${opts.jobs}": expected a positive whole number`);
  }
  const root = opts.cacheDir ? path.resolve(opts.cacheDir) : cacheRoot(env);
  const commit = PINNED.llamaCommit;
  const srcDir = path.join(llamaDir(root), `src-${commit}`);
  const buildDir = path.join(llamaDir(root), `build-${gpu}${arch ? `-${arch.replace(/,/g, "-")}` : ""}`);
  const generator = opts.generator ?? (which("ninja", env) ? "Ninja" : "Unix Makefiles");
  const jobs = opts.jobs ?? defaultJobs(gpu);
  const tools = opts.tools !== false;
  const onOff = (b: boolean) => (b ? "ON" : "OFF");

  const configure = [
    "cmake", "-S", srcDir, "-B", buildDir, "-G", generator,
    "-DCMAKE_BUILD_TYPE=Release",
    "-DBUILD_SHARED_LIBS=ON",
    // Configured the same with or without --no-tools (only the targets differ), so a later build
    // with tools reuses the library build. llama-cli and llama-server sit behind LLAMA_BUILD_SERVER.
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_APP=OFF",
    // The server's web UI would otherwise be downloaded from Hugging Face at build time; builds
    // must work offline. (LLAMA_CURL is gone from this release: passing it only prints a warning.)
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
    "-DLLAMA_OPENSSL=OFF",
    // No --arch means "for this machine"; with one, the result may be copied to other hosts.
    `-DGGML_NATIVE=${onOff(arch === undefined)}`,
  ];
  if (gpu === "cuda") {
    configure.push("-DGGML_CUDA=ON", `-DCMAKE_CUDA_ARCHITECTURES=${arch ? arch.replace(/,/g, ";") : "native"}`);
  } else if (gpu === "hip") {
    configure.push("-DGGML_HIP=ON", `-DGPU_TARGETS=${arch!.replace(/,/g, ";")}`);
  } else if (gpu === "vulkan") {
    configure.push("-DGGML_VULKAN=ON");
  }

  const targets = tools ? ["llama", ...TOOL_TARGETS] : ["llama"];
  const build = ["cmake", "--build", buildDir, "--config", "Release", "-j", String(jobs), "--target", ...targets];
  return { gpu, arch, commit, root, srcDir, buildDir, generator, jobs, targets, configure, build, env: {} };
}

export interface SourcePlan {
  /** "ready": srcDir already holds the pinned commit */
  kind: "ready" | "bundle" | "npm";
  bundle?: string;
}

/** Root of the flint-llm package (the folder holding its package.json), from this file's location. */
function packageRoot(): string | undefined {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (readJson(path.join(dir, "package.json"))?.name === "flint-llm") return dir;
    const up = path.dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

function sourcePlan(plan: BuildPlan, explicitBundle?: string): SourcePlan {
  if (isFile(path.join(plan.srcDir, "CMakeLists.txt"))) return { kind: "ready" };
  if (explicitBundle) {
    if (!isFile(explicitBundle)) throw new UserError(`--bundle ${explicitBundle}: no such file`);
    return { kind: "bundle", bundle: path.resolve(explicitBundle) };
  }
  const pkg = packageRoot();
  if (pkg) {
    const nlc = path.join(pkg, "node_modules", "node-llama-cpp");
    const bundle = path.join(nlc, "llama", "gitRelease.bundle");
    // A different node-llama-cpp version ships a different llama.cpp; only the pinned one will do.
    if (readJson(path.join(nlc, "package.json"))?.version === PINNED.nodeLlamaCpp && isFile(bundle)) {
      return { kind: "bundle", bundle };
    }
  }
  return { kind: "npm" };
}

function firstExisting(paths: (string | undefined)[]): string | undefined {
  return paths.find((p): p is string => !!p && existsSync(p));
}

/**
 * Checks that the tools the plan needs exist, and fills plan.env with what cmake must be told
 * (compiler locations found outside PATH). Throws UserError listing every problem at once.
 */
export function preflight(plan: BuildPlan, env: NodeJS.ProcessEnv = process.env, source = sourcePlan(plan)): SourcePlan {
  const problems: string[] = [];
  const w = (c: string) => which(c, env);
  if (!w("cmake")) problems.push("cmake not found on PATH: install CMake 3.21 or newer (apt install cmake, or pip install cmake).");
  if (source.kind !== "ready" && !w("git")) problems.push("git not found on PATH: it is needed to unpack the llama.cpp source (apt install git).");
  if (source.kind === "npm") {
    if (!w("npm")) {
      problems.push(
        `npm not found on PATH: it is needed to fetch the llama.cpp source (npm pack node-llama-cpp@${PINNED.nodeLlamaCpp}). ` +
          "Install Node.js with npm, or `npm install` in the flint-llm folder so node_modules/node-llama-cpp exists.",
      );
    }
    if (!w("tar")) problems.push("tar not found on PATH: it is needed to unpack the downloaded npm package.");
  }
  const cc = env.CC ? w(env.CC) : w("cc") ?? w("gcc") ?? w("clang");
  const cxx = env.CXX ? w(env.CXX) : w("c++") ?? w("g++") ?? w("clang++");
  if (!cc || !cxx) {
    const which_ = !cc && !cxx ? "C and C++ compilers" : !cc ? "C compiler" : "C++ compiler";
    const hint = env.CC || env.CXX ? ` (CC=${env.CC ?? ""} CXX=${env.CXX ?? ""} do not point at executables)` : "";
    problems.push(`no ${which_} found${hint}: install gcc/g++ (apt install build-essential) or clang, or set CC and CXX.`);
  }
  if (plan.generator === "Unix Makefiles" && !w("make")) problems.push("neither ninja nor make found on PATH: install one (apt install ninja-build).");
  if (plan.gpu === "cuda") checkCuda(plan, env, problems);
  if (plan.gpu === "hip") checkHip(plan, env, problems);
  if (plan.gpu === "vulkan") checkVulkan(env, problems);

  if (problems.length === 1) throw new UserError(problems[0]!);
  if (problems.length > 1) throw new UserError(`cannot build llama.cpp:\n  - ${problems.join("\n  - ")}`);
  return source;
}

function checkCuda(plan: BuildPlan, env: NodeJS.ProcessEnv, problems: string[]): void {
  const roots = [env.CUDAToolkit_ROOT, env.CUDA_PATH, env.CUDA_HOME, "/usr/local/cuda", "/opt/cuda"];
  const nvcc = env.CUDACXX
    ? which(env.CUDACXX, env)
    : which("nvcc", env) ?? firstExisting(roots.map((r) => r && path.join(r, "bin", "nvcc")));
  if (!nvcc) {
    problems.push(
      (env.CUDACXX ? `CUDACXX=${env.CUDACXX} is not an executable. ` : "nvcc not found. ") +
        "CUDA builds need the CUDA toolkit (nvcc and cuBLAS, e.g. apt install cuda-toolkit-13-0): put its bin/ on PATH or set CUDACXX=/usr/local/cuda/bin/nvcc.",
    );
    return;
  }
  if (!env.CUDACXX && !which("nvcc", env)) plan.env.CUDACXX = nvcc;
  // nvcc alone is not enough: ggml-cuda links cuBLAS, and a toolkit without it fails deep inside
  // cmake with "target CUDA::cublas not found". Look where FindCUDAToolkit would.
  const nvccRoot = path.dirname(path.dirname(nvcc));
  const libDirs = [...roots, nvccRoot].filter((r): r is string => !!r).flatMap((r) => [
    path.join(r, "lib64"), path.join(r, "lib"), path.join(r, "targets", `${os.arch() === "arm64" ? "sbsa" : "x86_64"}-linux`, "lib"),
  ]);
  libDirs.push("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib");
  if (!firstExisting(libDirs.map((d) => path.join(d, "libcublas.so")))) {
    problems.push(
      `cuBLAS not found for the CUDA toolkit of ${nvcc}: CUDA builds need the complete toolkit including cuBLAS ` +
        "(libcublas.so, e.g. apt install libcublas-dev-13-0 or the full cuda-toolkit). If it is installed elsewhere, set CUDA_PATH to the toolkit root.",
    );
  }
  if (!plan.arch && !existsSync("/dev/nvidia0") && !which("nvidia-smi", env)) {
    problems.push("no NVIDIA GPU visible to detect the architecture from: pass --arch (e.g. --arch 90 for H100/H200, 89 for RTX 4090, 120a for RTX 5090).");
  }
}

function checkHip(plan: BuildPlan, env: NodeJS.ProcessEnv, problems: string[]): void {
  const roots = [env.ROCM_PATH, env.HIP_PATH, "/opt/rocm"];
  const hipcc = which("hipcc", env) ?? firstExisting(roots.map((r) => r && path.join(r, "bin", "hipcc")));
  if (!hipcc) {
    problems.push("hipcc not found: HIP builds need ROCm 6.1 or newer with hipBLAS and rocBLAS (https://rocm.docs.amd.com); put /opt/rocm/bin on PATH or set ROCM_PATH.");
    return;
  }
  // llama.cpp's documented HIP recipe: HIPCXX=$(hipconfig -l)/clang HIP_PATH=$(hipconfig -R).
  const hipconfig = path.join(path.dirname(hipcc), "hipconfig");
  if (!env.HIPCXX && existsSync(hipconfig)) {
    const q = (flag: string) => spawnSync(hipconfig, [flag], { encoding: "utf8", env }).stdout?.trim();
    const [llvmBin, rocm] = [q("-l"), q("-R")];
    if (llvmBin) plan.env.HIPCXX = path.join(llvmBin, "clang");
    if (rocm && !env.HIP_PATH) plan.env.HIP_PATH = rocm;
  }
}

function checkVulkan(env: NodeJS.ProcessEnv, problems: string[]): void {
  const sdk = env.VULKAN_SDK;
  // find_package(Vulkan COMPONENTS glslc) needs both the shader compiler and the headers/loader.
  if (!which("glslc", env) && !(sdk && existsSync(path.join(sdk, "bin", "glslc")))) {
    problems.push("glslc not found: Vulkan builds need the Vulkan SDK (glslc, headers, loader), e.g. apt install glslc libvulkan-dev, or set VULKAN_SDK.");
  }
  const header = firstExisting([sdk && path.join(sdk, "include", "vulkan", "vulkan.h"), "/usr/include/vulkan/vulkan.h", "/usr/local/include/vulkan/vulkan.h"]);
  if (!header) problems.push("Vulkan headers not found (vulkan/vulkan.h): install libvulkan-dev or the Vulkan SDK and set VULKAN_SDK.");
}

/** POSIX shell quoting, for printing commands people can paste. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}

function envPrefix(extra: Record<string, string>): string {
  return Object.entries(extra).map(([k, v]) => `${k}=${shellQuote([v])} `).join("");
}

interface RunOpts {
  cwd?: string;
  env: NodeJS.ProcessEnv;
  log: BuildLogger;
  logFile?: NodeJS.WritableStream;
  /** collect stdout instead of forwarding it */
  capture?: boolean;
}

/**
 * Runs a command, forwarding its output line by line. The error names only the command: the output
 * itself already went to the logger (which decides what people see) and the log file.
 */
function run(argv: string[], o: RunOpts): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: o.cwd,
      env: o.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let captured = "";
    const onLines = (stream: NodeJS.ReadableStream, isStdout: boolean) => {
      let buf = "";
      stream.setEncoding("utf8");
      stream.on("data", (chunk: string) => {
        if (o.capture && isStdout) {
          captured += chunk;
          return;
        }
        buf += chunk;
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          emit(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
      });
      stream.on("end", () => buf && emit(buf));
    };
    const emit = (line: string) => {
      line = line.replace(/\r$/, "");
      o.logFile?.write(line + "\n");
      o.log.output(line);
    };
    onLines(child.stdout!, true);
    onLines(child.stderr!, false);
    child.on("error", (e) => reject(new UserError(`could not run ${argv[0]}: ${e.message}`)));
    child.on("close", (code, signal) => {
      if (code === 0) return resolve(captured);
      const why = signal ? `was killed by ${signal}` : `failed with exit code ${code}`;
      reject(new UserError(`\`${shellQuote(argv)}\` ${why}`));
    });
  });
}

/** Makes srcDir hold the pinned llama.cpp commit, fetching the bundle with npm when needed. */
async function prepareSource(
  plan: BuildPlan, source: SourcePlan, env: NodeJS.ProcessEnv, log: BuildLogger, commands: string[], dryRun: boolean,
): Promise<void> {
  if (source.kind === "ready") return;
  const dl = path.join(llamaDir(plan.root), "download");
  let bundle = source.bundle;
  const steps: { argv: string[] }[] = [];
  if (source.kind === "npm") {
    const tgz = path.join(dl, `node-llama-cpp-${PINNED.nodeLlamaCpp}.tgz`);
    bundle = path.join(dl, "package", "llama", "gitRelease.bundle");
    steps.push({ argv: ["npm", "pack", `node-llama-cpp@${PINNED.nodeLlamaCpp}`, "--ignore-scripts", "--silent", "--pack-destination", dl] });
    steps.push({ argv: ["tar", "-xzf", tgz, "-C", dl, "package/llama/gitRelease.bundle"] });
  }
  // Clone into a temporary name and rename, so an interrupted clone is never mistaken for a source tree.
  const partial = `${plan.srcDir}.partial`;
  steps.push({ argv: ["git", "-c", "advice.detachedHead=false", "clone", "--quiet", bundle!, partial] });
  for (const s of steps) commands.push(shellQuote(s.argv));
  if (dryRun) return;

  const cwd = source.kind === "npm" ? dl : llamaDir(plan.root);
  mkdirSync(cwd, { recursive: true });
  rmSync(partial, { recursive: true, force: true });
  log.info(source.kind === "npm"
    ? `fetching llama.cpp source: npm pack node-llama-cpp@${PINNED.nodeLlamaCpp} (about 36 MB)`
    : `unpacking llama.cpp source from ${bundle}`);
  for (const s of steps) await run(s.argv, { cwd, env, log });
  const head = (await run(["git", "-C", partial, "rev-parse", "HEAD"], { env, log, capture: true })).trim();
  if (!head.startsWith(plan.commit)) {
    throw new UserError(`the llama.cpp bundle ${bundle} is at commit ${head.slice(0, 7)}, expected ${plan.commit} (node-llama-cpp@${PINNED.nodeLlamaCpp}).`);
  }
  renameSync(partial, plan.srcDir);
  // The tarball and bundle are only a means to the clone; they would double the cache size.
  if (source.kind === "npm") rmSync(dl, { recursive: true, force: true });
}

const STAMP = "flint-build.json";

function readStamp(buildDir: string): { configure?: string[]; targets?: string[]; builtAt?: string } | undefined {
  return readJson(path.join(buildDir, STAMP));
}

/** The directory holding the freshly built libllama (bin/ with this release's cmake layout). */
function locateLib(buildDir: string): string | undefined {
  return [path.join(buildDir, "bin"), path.join(buildDir, "lib"), path.join(buildDir, "src")]
    .find((d) => isFile(path.join(d, LLAMA_LIB)));
}

/** One build per cache at a time: builds share the source tree and would fight over the CPUs anyway. */
function lockCache(root: string): () => void {
  const lock = path.join(llamaDir(root), "build.lock");
  mkdirSync(path.dirname(lock), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lock, String(process.pid), { flag: "wx" });
      return () => rmSync(lock, { force: true });
    } catch {
      let pid = 0;
      try {
        pid = Number(readFileSync(lock, "utf8"));
        process.kill(pid, 0);
      } catch (e) {
        // ESRCH: left by a run that died (Ctrl-C); EPERM: alive but someone else's
        if ((e as NodeJS.ErrnoException).code !== "EPERM") pid = 0;
      }
      if (pid > 0) throw new UserError(`another flint build-native (pid ${pid}) is using ${llamaDir(root)}; wait for it, or remove ${lock} if it is gone.`);
      rmSync(lock, { force: true });
    }
  }
  throw new UserError(`could not lock ${llamaDir(root)}; remove ${lock} and retry.`);
}

/** cmake refuses to reuse a build tree made with another generator (e.g. ninja installed since). */
function generatorChanged(buildDir: string, generator: string): boolean {
  try {
    const m = /^CMAKE_GENERATOR:INTERNAL=(.*)$/m.exec(readFileSync(path.join(buildDir, "CMakeCache.txt"), "utf8"));
    return !!m && m[1] !== generator;
  } catch {
    return false;
  }
}

/** Fetches the source if needed, configures and builds, and records the result in active.json. */
export async function buildNative(opts: BuildOptions, log: BuildLogger): Promise<BuildResult> {
  const t0 = Date.now();
  const env = opts.env ?? process.env;
  const plan = planBuild(opts);
  const source = sourcePlan(plan, opts.bundle);
  const dryRun = !!opts.dryRun;
  const commands: string[] = [];
  const result = (libDir: string, reused: boolean): BuildResult => ({
    libDir, binDir: path.join(plan.buildDir, "bin"), gpu: plan.gpu, arch: plan.arch, commit: plan.commit,
    buildDir: plan.buildDir, commands, dryRun, reused, seconds: (Date.now() - t0) / 1000,
  });

  if (dryRun) {
    try {
      preflight(plan, env, source);
    } catch (e) {
      if (!(e instanceof UserError)) throw e;
      log.info(`note: a real build would stop here: ${e.message}`);
    }
    await prepareSource(plan, source, env, log, commands, true);
    if (opts.force) commands.push(shellQuote(["rm", "-rf", plan.buildDir]));
    commands.push(envPrefix(plan.env) + shellQuote(plan.configure), envPrefix(plan.env) + shellQuote(plan.build));
    return result(path.join(plan.buildDir, "bin"), false);
  }

  preflight(plan, env, source);
  const unlock = lockCache(plan.root);
  try {
    await prepareSource(plan, source, env, log, commands, false);

    const stamp = readStamp(plan.buildDir);
    const existing = locateLib(plan.buildDir);
    const sameConfig = JSON.stringify(stamp?.configure) === JSON.stringify(plan.configure)
      && plan.targets.every((t) => stamp?.targets?.includes(t));
    if (!opts.force && existing && sameConfig) {
      log.info(`reusing finished build in ${plan.buildDir} (--force rebuilds it)`);
      writeActive(plan, existing, stamp?.builtAt);
      return result(existing, true);
    }
    if (opts.force || generatorChanged(plan.buildDir, plan.generator)) rmSync(plan.buildDir, { recursive: true, force: true });
    // A stale stamp must not vouch for a half-finished rebuild.
    rmSync(path.join(plan.buildDir, STAMP), { force: true });
    mkdirSync(plan.buildDir, { recursive: true });
    const logPath = path.join(plan.buildDir, "flint-build.log");
    const logFile = createWriteStream(logPath);
    try {
      for (const argv of [plan.configure, plan.build]) {
        const line = envPrefix(plan.env) + shellQuote(argv);
        commands.push(line);
        log.info(`$ ${line}`);
        logFile.write(`$ ${line}\n`);
        await run(argv, { log, logFile, env: { ...env, ...plan.env } });
      }
    } catch (e) {
      if (e instanceof UserError) e.message += `\nFull log: ${logPath}`;
      throw e;
    } finally {
      await new Promise((r) => logFile.end(r));
    }

    const libDir = locateLib(plan.buildDir);
    if (!libDir) throw new UserError(`the build finished but ${LLAMA_LIB} is not in ${plan.buildDir}/bin; see ${logPath}`);
    const builtAt = new Date().toISOString();
    const stampData = { configure: plan.configure, targets: plan.targets, commit: plan.commit, builtAt };
    writeFileSync(path.join(plan.buildDir, STAMP), JSON.stringify(stampData, null, 2) + "\n");
    writeActive(plan, libDir, builtAt);
    return result(libDir, false);
  } finally {
    unlock();
  }
}

function writeActive(plan: BuildPlan, libDir: string, builtAt = new Date().toISOString()): void {
  const active: Record<string, string> = { libDir, binDir: path.join(plan.buildDir, "bin"), gpu: plan.gpu };
  if (plan.arch) active.arch = plan.arch;
  active.commit = plan.commit;
  active.builtAt = builtAt;
  const file = activePath(plan.root);
  // Write-then-rename: the loader may read active.json while another build finishes.
  writeFileSync(`${file}.tmp`, JSON.stringify(active, null, 2) + "\n");
  renameSync(`${file}.tmp`, file);
}
