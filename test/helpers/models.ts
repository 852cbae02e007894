// Generated test models, made once per test worker in a temp dir (tiny: well under a second).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { makeModel } from "../../src/models/make-model.js";

const dir = mkdtempSync(path.join(tmpdir(), "flint-test-models-"));
let tiny: Promise<string> | undefined;
let drafter: Promise<string> | undefined;

export function tinyModelPath(): Promise<string> {
  tiny ??= makeModel({ arch: "qwen3", preset: "tiny", seed: 1, out: path.join(dir, "tiny-qwen3.gguf") }).then(() => path.join(dir, "tiny-qwen3.gguf"));
  return tiny;
}

export function tinyDrafterPath(): Promise<string> {
  drafter ??= tinyModelPath().then(async (target) => {
    const out = path.join(dir, "tiny-dflash.gguf");
    await makeModel({ arch: "dflash", target, seed: 2, out });
    return out;
  });
  return drafter;
}

export const testModelDir = dir;
