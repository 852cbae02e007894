// The embedded default: with no --model, flint generates a small random-weights qwen3 model once into
// its cache directory, so `flint run` works offline on any machine with nothing downloaded.
import { existsSync, mkdirSync, renameSync } from "node:fs";
import path from "node:path";
import { makeModel } from "../models/make-model.js";
import { cacheRoot } from "../native/source-build.js";

const DEMO_NAME = "demo-qwen3-tiny-seed1-v2.gguf";

export async function demoModelPath(): Promise<string> {
  const dir = path.join(cacheRoot(), "models");
  const file = path.join(dir, DEMO_NAME);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  await makeModel({ arch: "qwen3", preset: "tiny", seed: 1, out: tmp });
  renameSync(tmp, file);
  return file;
}
