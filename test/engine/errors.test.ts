// Bad inputs get a clear error and never crash the process.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Context } from "../../src/engine/context.js";
import { Model } from "../../src/engine/model.js";
import { UserError } from "../../src/native/errors.js";
import { tinyModelPath } from "../helpers/models.js";

let good: string;
const dir = mkdtempSync(path.join(tmpdir(), "flint-err-"));

beforeAll(async () => {
  good = await tinyModelPath();
});

describe("loading off the event loop (Model.loadAsync)", () => {
  it("keeps the event loop turning while the weights load, and gives the same model", async () => {
    let turns = 0;
    let spinning = true;
    const spin = () => {
      turns++;
      if (spinning) setImmediate(spin);
    };
    setImmediate(spin);
    const m = await Model.loadAsync(good, { gpuLayers: 0 });
    spinning = false;
    // a synchronous load would hold the loop until it returned: not one turn in between
    expect(turns).toBeGreaterThan(0);
    const sync = Model.load(good, { gpuLayers: 0 });
    expect(m.info).toEqual(sync.info);
    expect(Array.from(m.vocab.tokenize("hello world"))).toEqual(Array.from(sync.vocab.tokenize("hello world")));
    m.free();
    sync.free();
  });

  it("rejects a truncated file with the same clear error", async () => {
    const bytes = readFileSync(good);
    const f = path.join(dir, "truncated-async.gguf");
    writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    await expect(Model.loadAsync(f, { gpuLayers: 0 })).rejects.toThrow(/failed to load model .*truncated-async\.gguf/);
    await expect(Model.loadAsync(path.join(dir, "nope.gguf"))).rejects.toThrow(/model file not found/);
  });
});

describe("model loading errors", () => {
  it("missing file", () => {
    expect(() => Model.load(path.join(dir, "nope.gguf"))).toThrow(/model file not found: .*nope\.gguf/);
  });

  it("a directory", () => {
    expect(() => Model.load(dir)).toThrow(/is a directory/);
  });

  it("not a GGUF file", () => {
    const f = path.join(dir, "text.gguf");
    writeFileSync(f, "this is not a model\n");
    expect(() => Model.load(f)).toThrow(/not a GGUF file/);
  });

  it("truncated GGUF", () => {
    const bytes = readFileSync(good);
    const f = path.join(dir, "truncated.gguf");
    writeFileSync(f, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(() => Model.load(f, { gpuLayers: 0 })).toThrow(UserError);
    expect(() => Model.load(f, { gpuLayers: 0 })).toThrow(/failed to load model .*truncated\.gguf/);
  });

  it("corrupt header", () => {
    const bytes = Buffer.from(readFileSync(good));
    // keep the magic, scramble the version and counts
    bytes.fill(0xff, 4, 24);
    const f = path.join(dir, "corrupt.gguf");
    writeFileSync(f, bytes);
    expect(() => Model.load(f, { gpuLayers: 0 })).toThrow(/failed to load model/);
  });

  it("unknown architecture", () => {
    const bytes = Buffer.from(readFileSync(good));
    const key = Buffer.from("qwen3");
    // general.architecture's value is the first "qwen3" string after its key; rename it to an unknown arch
    const at = bytes.indexOf(key, bytes.indexOf(Buffer.from("general.architecture")));
    expect(at).toBeGreaterThan(0);
    Buffer.from("zzzz9").copy(bytes, at);
    const f = path.join(dir, "arch.gguf");
    writeFileSync(f, bytes);
    expect(() => Model.load(f, { gpuLayers: 0 })).toThrow(/failed to load model.*(unknown|architecture)/i);
  });

  it("bad gpu layers value", () => {
    expect(() => Model.load(good, { gpuLayers: -5 })).toThrow(/gpu layers/);
  });
});

describe("context errors", () => {
  it("context larger than the training context", () => {
    const m = Model.load(good, { gpuLayers: 0 });
    try {
      expect(() => Context.create(m, { ctx: m.info.nCtxTrain * 4 })).toThrow(/exceeds the model's training context/);
      expect(() => Context.create(m, { ctx: 0 })).toThrow(/positive integer/);
    } finally {
      m.free();
    }
  });

  it("a model copy still loads after the failures above (no corrupted global state)", () => {
    const f = path.join(dir, "copy.gguf");
    copyFileSync(good, f);
    const m = Model.load(f, { gpuLayers: 0 });
    expect(m.info.architecture).toBe("qwen3");
    m.free();
  });
});
