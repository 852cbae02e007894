// Where a benchmark ran: git commit, llama.cpp build, devices, model identities.
import { spawnSync } from "node:child_process";
import { cpus } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { getNative, listDevices } from "../native/index.js";
import { inspectModel } from "../models/inspect.js";
import type { BenchResults, ModelRef } from "./results.js";

/** llama.cpp release flint's bindings are written for (DESIGN.md) */
export const LLAMA_CPP_COMMIT = "de3ff81";
export const LLAMA_CPP_RELEASE = "node-llama-cpp 3.22.1";

/** HEAD of the checkout flint runs from ("-dirty" with local changes), FLINT_GIT_COMMIT, or "unknown". */
export function gitCommit(env: NodeJS.ProcessEnv = process.env): string {
  if (env.FLINT_GIT_COMMIT) return env.FLINT_GIT_COMMIT;
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
  const head = spawnSync("git", ["rev-parse", "HEAD"], { cwd: root, encoding: "utf8" });
  if (head.status !== 0) return "unknown";
  const dirty = spawnSync("git", ["status", "--porcelain", "--untracked-files=no"], { cwd: root, encoding: "utf8" });
  return head.stdout.trim() + (dirty.status === 0 && dirty.stdout.trim() !== "" ? "-dirty" : "");
}

/** The device models run on: the first GPU (name and description), else the CPU. */
export function primaryDeviceName(gpuLayers = -1): string {
  const devs = listDevices();
  const gpu = gpuLayers !== 0 ? devs.find((d) => d.type === "gpu" || d.type === "igpu") : undefined;
  if (gpu) return gpu.description || gpu.name;
  return `CPU (${cpus()[0]?.model?.trim() ?? devs.find((d) => d.type === "cpu")?.description ?? "unknown"})`;
}

export function deviceInfo(gpuLayers: number, threads?: number): BenchResults["device"] {
  return {
    name: primaryDeviceName(gpuLayers),
    devices: listDevices().map((d) => ({ name: d.name, description: d.description, type: d.type, totalBytes: d.totalBytes })),
    cpu: cpus()[0]?.model?.trim() ?? "unknown",
    ...(threads ? { threads } : {}),
  };
}

export function llamaCppInfo(): BenchResults["llamaCpp"] {
  const src = getNative().source;
  return { commit: LLAMA_CPP_COMMIT, release: LLAMA_CPP_RELEASE, library: src.packageName ?? src.dir, origin: src.origin };
}

export async function modelRef(file: string): Promise<ModelRef> {
  const i = await inspectModel(file);
  return {
    path: file,
    architecture: i.architecture,
    sizeBytes: i.fileBytes,
    params: i.parameterCount,
    quantization: i.quantization,
    ...(i.generated ? { randomWeights: true } : {}),
  };
}
