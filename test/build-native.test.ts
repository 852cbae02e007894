// flint build-native without compiling anything: the cmake command lines, argument checks, preflight
// errors, active.json handling and the CLI's dry run. Real builds are checked by hand (they take minutes).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command, CommanderError } from "commander";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { makeBuildLogger, registerBuildNative } from "../src/cli/build-native.js";
import {
  buildNative, cacheRoot, findLocalBuild, PINNED, planBuild, preflight, UserError, type BuildLogger,
} from "../src/native/source-build.js";

const tmpRoot = mkdtempSync(path.join(os.tmpdir(), "flint-build-native-"));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let n = 0;
const tmp = (name: string) => {
  const d = path.join(tmpRoot, `${name}-${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const quiet: BuildLogger = { info() {}, output() {} };

/** A folder of fake executables: `name` → shell script body. */
function fakeToolsDir(scripts: Record<string, string>): string {
  const dir = tmp("bin");
  for (const [name, body] of Object.entries(scripts)) {
    const file = path.join(dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  }
  return dir;
}

function errorOf(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error");
}

const base = { generator: "Ninja" as const, jobs: 4 };

describe("planBuild", () => {
  it("cpu for this machine: shared libs, offline, native, library plus tools", () => {
    const cache = tmp("cache");
    const p = planBuild({ ...base, gpu: "cpu", cacheDir: cache });
    expect(p.srcDir).toBe(path.join(cache, "llama.cpp", `src-${PINNED.llamaCommit}`));
    expect(p.buildDir).toBe(path.join(cache, "llama.cpp", "build-cpu"));
    expect(p.configure.slice(0, 7)).toEqual(["cmake", "-S", p.srcDir, "-B", p.buildDir, "-G", "Ninja"]);
    for (const flag of [
      "-DCMAKE_BUILD_TYPE=Release", "-DBUILD_SHARED_LIBS=ON", "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF",
      "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF", "-DLLAMA_BUILD_APP=OFF", "-DGGML_NATIVE=ON",
    ]) {
      expect(p.configure).toContain(flag);
    }
    // deprecated in this release: passing it only produces a cmake warning
    expect(p.configure.some((a) => a.startsWith("-DLLAMA_CURL"))).toBe(false);
    expect(p.configure.some((a) => /GGML_(CUDA|HIP|VULKAN)=/.test(a))).toBe(false);
    expect(p.build).toEqual([
      "cmake", "--build", p.buildDir, "--config", "Release", "-j", "4",
      "--target", "llama", "llama-bench", "llama-cli", "llama-server", "llama-quantize",
    ]);
  });

  it("--no-tools changes only the targets, so a later full build reuses the tree", () => {
    const cache = tmp("cache");
    const full = planBuild({ ...base, gpu: "cpu", cacheDir: cache });
    const lib = planBuild({ ...base, gpu: "cpu", cacheDir: cache, tools: false });
    expect(lib.configure).toEqual(full.configure);
    expect(lib.targets).toEqual(["llama"]);
    expect(lib.build.slice(-2)).toEqual(["--target", "llama"]);
  });

  it("cpu --arch portable turns GGML_NATIVE off and gets its own build dir", () => {
    const p = planBuild({ ...base, gpu: "cpu", arch: "portable", cacheDir: tmp("cache") });
    expect(p.configure).toContain("-DGGML_NATIVE=OFF");
    expect(path.basename(p.buildDir)).toBe("build-cpu-portable");
  });

  it("cuda without --arch targets the GPU present", () => {
    const p = planBuild({ ...base, gpu: "cuda", cacheDir: tmp("cache") });
    expect(p.configure).toEqual(expect.arrayContaining(["-DGGML_CUDA=ON", "-DCMAKE_CUDA_ARCHITECTURES=native", "-DGGML_NATIVE=ON"]));
    expect(path.basename(p.buildDir)).toBe("build-cuda");
  });

  it("cuda --arch maps to CMAKE_CUDA_ARCHITECTURES (lists become cmake lists)", () => {
    const p = planBuild({ ...base, gpu: "CUDA", arch: "90", cacheDir: tmp("cache") });
    expect(p.gpu).toBe("cuda");
    expect(p.configure).toEqual(expect.arrayContaining(["-DGGML_CUDA=ON", "-DCMAKE_CUDA_ARCHITECTURES=90", "-DGGML_NATIVE=OFF"]));
    expect(path.basename(p.buildDir)).toBe("build-cuda-90");
    const multi = planBuild({ ...base, gpu: "cuda", arch: "86,120A", cacheDir: tmp("cache") });
    expect(multi.configure).toContain("-DCMAKE_CUDA_ARCHITECTURES=86;120a");
    expect(path.basename(multi.buildDir)).toBe("build-cuda-86-120a");
  });

  it("hip --arch maps to GPU_TARGETS", () => {
    const p = planBuild({ ...base, gpu: "hip", arch: "gfx1151", cacheDir: tmp("cache") });
    expect(p.configure).toEqual(expect.arrayContaining(["-DGGML_HIP=ON", "-DGPU_TARGETS=gfx1151", "-DGGML_NATIVE=OFF"]));
    expect(path.basename(p.buildDir)).toBe("build-hip-gfx1151");
  });

  it("vulkan enables GGML_VULKAN", () => {
    const p = planBuild({ ...base, gpu: "vulkan", cacheDir: tmp("cache") });
    expect(p.configure).toContain("-DGGML_VULKAN=ON");
    expect(path.basename(p.buildDir)).toBe("build-vulkan");
  });

  it("uses make when asked and picks a default job count", () => {
    const p = planBuild({ gpu: "cpu", generator: "Unix Makefiles", cacheDir: tmp("cache") });
    expect(p.configure).toContain("Unix Makefiles");
    expect(p.jobs).toBeGreaterThanOrEqual(1);
  });

  it("cache root: FLINT_CACHE_DIR, then XDG_CACHE_HOME/flint, then ~/.cache/flint", () => {
    expect(cacheRoot({ FLINT_CACHE_DIR: "/x/c", XDG_CACHE_HOME: "/x/xdg" })).toBe("/x/c");
    expect(cacheRoot({ XDG_CACHE_HOME: "/x/xdg" })).toBe("/x/xdg/flint");
    expect(cacheRoot({})).toBe(path.join(os.homedir(), ".cache", "flint"));
    const p = planBuild({ ...base, gpu: "cpu", env: { FLINT_CACHE_DIR: "/x/c", PATH: "" } });
    expect(p.buildDir).toBe("/x/c/llama.cpp/build-cpu");
  });
});

describe("argument errors", () => {
  const plan = (gpu: string, arch?: string, jobs?: number) => () => planBuild({ ...base, gpu, arch, jobs: jobs ?? 4, cacheDir: tmpRoot });

  it("rejects unknown or missing --gpu, naming the choices", () => {
    const e = errorOf(plan("rocm"));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toBe('unknown --gpu "rocm": use one of cuda, hip, vulkan, cpu');
    expect(errorOf(plan("")).message).toMatch(/--gpu is required/);
  });

  it("rejects malformed --arch per backend", () => {
    for (const bad of ["sm_90", "9.0", "compute_90", "1234", "90,sm_86"]) {
      const e = errorOf(plan("cuda", bad));
      expect(e).toBeInstanceOf(UserError);
      expect(e.message).toContain(`bad --arch "${bad}" for cuda`);
      expect(e.message).toContain("86, 89, 90, 120a");
    }
    for (const bad of ["1151", "gfx", "gfx11g1", "90"]) expect(errorOf(plan("hip", bad)).message).toContain(`bad --arch "${bad}" for hip`);
    expect(errorOf(plan("cpu", "90")).message).toContain("portable");
    expect(errorOf(plan("vulkan", "gfx1100")).message).toContain("for vulkan");
  });

  it("requires --arch for hip", () => {
    const e = errorOf(plan("hip"));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/--arch is required for hip.*gfx1151/);
  });

  it("rejects a bad job count", () => {
    expect(errorOf(plan("cpu", undefined, 0)).message).toContain("bad --jobs");
    expect(errorOf(plan("cpu", undefined, 1.5)).message).toContain("bad --jobs");
  });
});

describe("preflight", () => {
  const cpuPlan = () => planBuild({ ...base, gpu: "cpu", cacheDir: tmp("cache") });

  it("names every missing tool when PATH holds nothing", () => {
    const env = { PATH: tmp("empty") };
    const e = errorOf(() => preflight(cpuPlan(), env, { kind: "npm" }));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toMatch(/^cannot build llama\.cpp:/);
    expect(e.message).toContain("cmake not found on PATH");
    expect(e.message).toContain("git not found on PATH");
    expect(e.message).toContain("npm not found on PATH");
    expect(e.message).toContain("no C and C++ compilers found");
    expect(e.stack).toBeDefined(); // the CLI prints only .message; see the CLI tests
  });

  it("passes with the tools present and does not need npm when the source is ready", () => {
    const bin = fakeToolsDir({ cmake: "", git: "", cc: "", "c++": "", ninja: "" });
    expect(() => preflight(cpuPlan(), { PATH: bin }, { kind: "ready" })).not.toThrow();
    expect(() => preflight(cpuPlan(), { PATH: bin }, { kind: "bundle", bundle: "/x" })).not.toThrow();
    const e = errorOf(() => preflight(cpuPlan(), { PATH: bin }, { kind: "npm" }));
    expect(e.message).toContain("npm not found");
    expect(e.message).toContain(`node-llama-cpp@${PINNED.nodeLlamaCpp}`);
  });

  it("honours CC/CXX and reports a bad one", () => {
    const bin = fakeToolsDir({ cmake: "", mycc: "" });
    const e = errorOf(() => preflight(cpuPlan(), { PATH: bin, CC: "mycc", CXX: "nope++" }, { kind: "ready" }));
    expect(e.message).toMatch(/no C\+\+ compiler found .*CXX=nope\+\+/);
  });

  it("cuda: explains the CUDA toolkit, CUDACXX and cuBLAS", () => {
    const bin = fakeToolsDir({ cmake: "", cc: "", "c++": "", ninja: "" });
    const plan = planBuild({ ...base, gpu: "cuda", arch: "90", cacheDir: tmp("cache") });
    const e = errorOf(() => preflight(plan, { PATH: bin, CUDACXX: "/nonexistent/nvcc" }, { kind: "ready" }));
    expect(e).toBeInstanceOf(UserError);
    expect(e.message).toContain("CUDACXX=/nonexistent/nvcc is not an executable");
    expect(e.message).toContain("CUDA toolkit");
    expect(e.message).toContain("cuBLAS");
  });

  it("cuda: an nvcc without cuBLAS next to it is not enough", () => {
    const toolkit = tmp("cuda");
    mkdirSync(path.join(toolkit, "bin"));
    writeFileSync(path.join(toolkit, "bin", "nvcc"), "#!/bin/sh\n");
    chmodSync(path.join(toolkit, "bin", "nvcc"), 0o755);
    const bin = fakeToolsDir({ cmake: "", cc: "", "c++": "", ninja: "" });
    const plan = planBuild({ ...base, gpu: "cuda", arch: "90", cacheDir: tmp("cache") });
    const env = { PATH: `${bin}:${toolkit}/bin` };
    let cublasElsewhere = false;
    try {
      preflight(plan, env, { kind: "ready" });
      cublasElsewhere = true; // this machine has cuBLAS in a system location the check also searches
    } catch (e) {
      expect((e as Error).message).toMatch(/cuBLAS not found for the CUDA toolkit of .*nvcc/);
    }
    if (!cublasElsewhere) {
      mkdirSync(path.join(toolkit, "lib64"));
      writeFileSync(path.join(toolkit, "lib64", "libcublas.so"), "");
      expect(() => preflight(plan, env, { kind: "ready" })).not.toThrow();
    }
  });

  it.skipIf(existsSync("/opt/rocm/bin/hipcc"))("hip: asks for ROCm when hipcc is missing", () => {
    const plan = planBuild({ ...base, gpu: "hip", arch: "gfx1151", cacheDir: tmp("cache") });
    const e = errorOf(() => preflight(plan, { PATH: tmp("empty") }, { kind: "ready" }));
    expect(e.message).toContain("hipcc not found");
    expect(e.message).toContain("ROCm");
  });

  it("vulkan: asks for glslc / the Vulkan SDK", () => {
    const plan = planBuild({ ...base, gpu: "vulkan", cacheDir: tmp("cache") });
    const e = errorOf(() => preflight(plan, { PATH: tmp("empty") }, { kind: "ready" }));
    expect(e.message).toContain("glslc not found");
    expect(e.message).toContain("Vulkan SDK");
  });
});

describe("findLocalBuild", () => {
  function setup(active: unknown, withLib = true) {
    const cache = tmp("cache");
    const libDir = path.join(cache, "llama.cpp", "build-cuda-90", "bin");
    mkdirSync(libDir, { recursive: true });
    if (withLib) writeFileSync(path.join(libDir, "libllama.so"), "");
    const json = typeof active === "function" ? (active as (d: string) => unknown)(libDir) : active;
    if (json !== undefined) writeFileSync(path.join(cache, "llama.cpp", "active.json"), typeof json === "string" ? json : JSON.stringify(json));
    return { env: { FLINT_CACHE_DIR: cache }, libDir };
  }
  const good = (libDir: string) => ({ libDir, binDir: libDir, gpu: "cuda", arch: "90", commit: PINNED.llamaCommit, builtAt: "2026-01-01T00:00:00.000Z" });

  it("returns the recorded build when libllama.so is there", () => {
    const { env, libDir } = setup(good);
    expect(findLocalBuild(env)).toEqual({ libDir, binDir: libDir, gpu: "cuda", arch: "90" });
  });

  it("is undefined without active.json, with broken JSON or wrong field types", () => {
    expect(findLocalBuild(setup(undefined).env)).toBeUndefined();
    expect(findLocalBuild(setup("{not json").env)).toBeUndefined();
    expect(findLocalBuild(setup("null").env)).toBeUndefined();
    expect(findLocalBuild(setup((d: string) => ({ ...good(d), libDir: 42 })).env)).toBeUndefined();
    expect(findLocalBuild(setup((d: string) => ({ ...good(d), arch: 90 })).env)).toBeUndefined();
  });

  it("is undefined when libllama.so is gone or the build is of another llama.cpp release", () => {
    expect(findLocalBuild(setup(good, false).env)).toBeUndefined();
    expect(findLocalBuild(setup((d: string) => ({ ...good(d), commit: "0123abc" })).env)).toBeUndefined();
  });
});

describe("buildNative with a stand-in cmake", () => {
  // The fake plays both cmake steps: configure prints a line, build drops libllama.so where cmake would.
  const fakeCmake = [
    'if [ "$1" = "--build" ]; then',
    '  /bin/mkdir -p "$2/bin" && : > "$2/bin/libllama.so" && echo "[1/1] Linking CXX shared library bin/libllama.so"',
    "else echo '-- Configuring done'; fi",
  ].join("\n");

  function cacheWithSource() {
    const cache = tmp("cache");
    const src = path.join(cache, "llama.cpp", `src-${PINNED.llamaCommit}`);
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, "CMakeLists.txt"), "");
    return cache;
  }

  it("runs configure and build, then records active.json; a second run reuses the build", async () => {
    const cache = cacheWithSource();
    const env = { PATH: fakeToolsDir({ cmake: fakeCmake, cc: "", "c++": "", ninja: "" }), FLINT_CACHE_DIR: cache };
    const lines: string[] = [];
    const log: BuildLogger = { info() {}, output: (l) => lines.push(l) };
    const r = await buildNative({ ...base, gpu: "cpu", tools: false, env }, log);
    const buildDir = path.join(cache, "llama.cpp", "build-cpu");
    expect(r.libDir).toBe(path.join(buildDir, "bin"));
    expect(r.reused).toBe(false);
    expect(r.commands).toHaveLength(2);
    expect(lines).toEqual(["-- Configuring done", "[1/1] Linking CXX shared library bin/libllama.so"]);
    const active = JSON.parse(readFileSync(path.join(cache, "llama.cpp", "active.json"), "utf8"));
    expect(active).toMatchObject({ libDir: r.libDir, binDir: r.binDir, gpu: "cpu", commit: PINNED.llamaCommit });
    expect(active.arch).toBeUndefined();
    expect(new Date(active.builtAt).toISOString()).toBe(active.builtAt);
    expect(findLocalBuild(env)).toEqual({ libDir: r.libDir, binDir: r.binDir, gpu: "cpu" });
    expect(readFileSync(path.join(buildDir, "flint-build.log"), "utf8")).toContain("$ cmake -S");
    expect(existsSync(path.join(cache, "llama.cpp", "build.lock"))).toBe(false);

    const again = await buildNative({ ...base, gpu: "cpu", tools: false, env }, quiet);
    expect(again.reused).toBe(true);
    expect(again.commands).toEqual([]);
  });

  it("a failing build is a UserError naming the command and the log", async () => {
    const cache = cacheWithSource();
    const env = { PATH: fakeToolsDir({ cmake: 'echo "c++: fatal error: killed"; exit 2', cc: "", "c++": "", ninja: "" }), FLINT_CACHE_DIR: cache };
    const err = await buildNative({ ...base, gpu: "cpu", env }, quiet).catch((e) => e);
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toMatch(/^`cmake -S .*` failed with exit code 2\nFull log: .*flint-build\.log$/);
    expect(existsSync(path.join(cache, "llama.cpp", "active.json"))).toBe(false);
  });
});

describe("flint build-native (CLI)", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("in a terminal, progress is one rewritten line and cmake chatter is hidden; in CI every line passes", () => {
    const fake = () => {
      const writes: string[] = [];
      return { writes, stream: { isTTY: true, columns: 40, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
    };
    const tty = fake();
    const log = makeBuildLogger(tty.stream, true);
    log.output("-- Configuring done");
    log.output("[1/4] Building CXX object ggml/src/CMakeFiles/ggml-base.dir/ggml.c.o");
    log.output("[ 50%] Linking CXX shared library bin/libllama.so");
    log.output("ggml.c:1:1: warning: something");
    log.done();
    expect(tty.writes).toEqual([
      "\r\x1b[K[1/4] 25% Building CXX object ggml/src…", // 39 columns: never wraps
      "\r\x1b[K[50%] Linking CXX shared library bin/l…",
      "\r\x1b[K",
      "ggml.c:1:1: warning: something\n",
    ]);
    const ci = fake();
    const plain = makeBuildLogger(ci.stream, false);
    plain.output("-- Configuring done");
    plain.output("[1/4] Building");
    expect(ci.writes).toEqual(["-- Configuring done\n", "[1/4] Building\n"]);
  });

  async function cli(args: string[]) {
    const out: string[] = [];
    const err: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s) => (out.push(String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s) => (err.push(String(s)), true));
    const program = new Command("flint").exitOverride().configureOutput({ writeErr: (s) => err.push(s), writeOut: (s) => out.push(s) });
    registerBuildNative(program);
    let error: unknown;
    try {
      await program.parseAsync(["node", "flint", "build-native", ...args]);
    } catch (e) {
      error = e;
    }
    vi.restoreAllMocks();
    return { out: out.join(""), err: err.join(""), error };
  }

  it("--dry-run prints the commands and runs nothing", async () => {
    const cache = path.join(tmp("dry"), "cache");
    vi.stubEnv("FLINT_CACHE_DIR", cache);
    const r = await cli(["--gpu", "cuda", "--arch", "90", "--jobs", "3", "--dry-run"]);
    expect(r.error).toBeUndefined();
    const lines = r.out.trim().split("\n");
    expect(lines.some((l) => /^git .*clone .*gitRelease\.bundle .*src-de3ff81\.partial$/.test(l))).toBe(true);
    const configure = lines.find((l) => l.includes("cmake -S"))!;
    expect(configure).toContain(`-B ${cache}/llama.cpp/build-cuda-90 `);
    expect(configure).toContain("-DGGML_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90");
    expect(lines.find((l) => l.includes("cmake --build"))).toMatch(/-j 3 --target llama llama-bench llama-cli llama-server llama-quantize$/);
    expect(lines.at(-1)).toBe(`# libraries would be in ${cache}/llama.cpp/build-cuda-90/bin`);
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
  });

  it("prints a clean error, without a stack trace, for a bad --gpu and a bad --jobs", async () => {
    const r = await cli(["--gpu", "metal"]);
    expect(r.error).toBeInstanceOf(CommanderError);
    expect((r.error as CommanderError).exitCode).toBe(1);
    expect(r.err).toBe('error: unknown --gpu "metal": use one of cuda, hip, vulkan, cpu\n');
    const j = await cli(["--gpu", "cpu", "--jobs", "two"]);
    expect(j.err).toBe('error: bad --jobs "two": expected a positive whole number\n');
  });
});
