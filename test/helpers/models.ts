// Generated test models, made once per test worker in a temp dir (tiny: well under a second).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { Model } from "../../src/engine/model.js";
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

/** The tiny target and its dflash drafter, loaded on the CPU before a describe block's tests and
 *  freed after them: `const pair = useTinyPair();` then `pair.target`, `pair.draft` inside tests. */
export function useTinyPair(): { target: Model; draft: Model } {
  const pair = {} as { target: Model; draft: Model };
  beforeAll(async () => {
    pair.target = Model.load(await tinyModelPath(), { gpuLayers: 0 });
    pair.draft = Model.load(await tinyDrafterPath(), { gpuLayers: 0 });
  });
  afterAll(() => {
    pair.draft?.free();
    pair.target?.free();
  });
  return pair;
}
