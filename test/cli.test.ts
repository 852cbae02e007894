// The flint binary end to end (compiled dist/, which `npm test` builds first).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Model } from "../src/engine/model.js";
import { tinyDrafterPath, tinyModelPath } from "./helpers/models.js";

const cli = path.resolve(__dirname, "../dist/cli.js");
const dir = mkdtempSync(path.join(tmpdir(), "flint-cli-"));

function flint(...args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { ...process.env, FLINT_CACHE_DIR: dir }, timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let model: string;
beforeAll(async () => {
  model = await tinyModelPath();
  expect(existsSync(cli)).toBe(true);
});

describe("flint run", () => {
  it("prints one JSON object with text and timings", () => {
    const r = flint("run", "--model", model, "--prompt", "Hello", "-n", "16", "--temperature", "0", "--ignore-eos", "--threads", "1", "--json");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokens).toBe(16);
    expect(out.tokenIds).toHaveLength(16);
    expect(typeof out.text).toBe("string");
    expect(out.promptTokens).toBeGreaterThan(0);
    expect(out.tokensPerSecond).toBeGreaterThan(0);
    expect(out.promptMs).toBeGreaterThanOrEqual(0);
    expect(out.decodeMs).toBeGreaterThan(0);
    expect(out.stopReason).toBe("length");
  });

  it("streams the same greedy text as --json", () => {
    const json = JSON.parse(flint("run", "--model", model, "--prompt", "Hi", "-n", "12", "--temperature", "0", "--ignore-eos", "--threads", "1", "--json").stdout);
    const streamed = flint("run", "--model", model, "--prompt", "Hi", "-n", "12", "--temperature", "0", "--ignore-eos", "--threads", "1");
    expect(streamed.code).toBe(0);
    expect(streamed.stdout).toBe(json.text + "\n");
    expect(streamed.stderr).toMatch(/tok\/s/);
  });

  it("runs the generated demo model when no --model is given", () => {
    const r = flint("run", "--prompt", "Hello", "-n", "4", "--threads", "1", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).tokens).toBeLessThanOrEqual(4);
    expect(existsSync(path.join(dir, "models"))).toBe(true);
  });

  it("rejects bad input with a clear message and exit code 1", () => {
    const cases: [string[], RegExp][] = [
      [["run", "--model", path.join(dir, "missing.gguf"), "--prompt", "x"], /model file not found/],
      [["run", "--model", model], /no prompt/],
      [["run", "--model", model, "--prompt", "x", "--temperature", "hot"], /temperature.*expected a number/],
      [["run", "--model", model, "--prompt", "x", "-n", "-3"], /max-tokens.*expected an integer/],
      [["run", "--model", model, "--prompt", "x", "--ctx", "99999999"], /exceeds the model's training context/],
      [["run", "--model", model, "--prompt", "x", "--flash-attn", "maybe"], /flash-attn.*expected one of/],
    ];
    for (const [args, msg] of cases) {
      const r = flint(...args);
      expect(r.code, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toMatch(msg);
      expect(r.stderr).not.toMatch(/internal error|at .*\.js:\d+/);
    }
  });
});

describe("flint run --spec dflash", () => {
  it("reports speculation stats and the same greedy tokens as plain decoding", async () => {
    const draft = await tinyDrafterPath();
    const args = ["--model", model, "--prompt", "Hello", "-n", "20", "--temperature", "0", "--ignore-eos", "--threads", "1", "--json"];
    const plain = JSON.parse(flint("run", ...args).stdout);
    const r = flint("run", ...args, "--spec", "dflash", "--draft", draft, "--budget", "4");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokenIds).toEqual(plain.tokenIds);
    expect(out.spec.drafter).toBe("dflash");
    expect(out.spec.budget).toBe(4);
    expect(out.spec.steps).toBeGreaterThan(0);
    expect(out.spec.acceptedPerDepth).toHaveLength(4);
    expect(Object.keys(out.spec.timeMs).sort()).toEqual(["bookkeeping", "draft", "other", "sampling", "verify"]);
  });

  it("verifies DDTrees with --tree-k and keeps the greedy tokens", async () => {
    const draft = await tinyDrafterPath();
    const args = ["--model", model, "--prompt", "Hello", "-n", "20", "--temperature", "0", "--ignore-eos", "--threads", "1", "--json", "--flash-attn", "off"];
    const plain = JSON.parse(flint("run", ...args).stdout);
    const r = flint("run", ...args, "--spec", "dflash", "--draft", draft, "--tree-k", "4", "--budget", "16");
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.spec.mode).toBe("tree");
    expect(out.tokenIds).toEqual(plain.tokenIds);
    const bad = flint("run", "--model", model, "--prompt", "x", "--spec", "dflash", "--draft", draft, "--tree-k", "4", "--flash-attn", "on");
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/--tree-k > 1 needs --flash-attn off/);
  });

  it("runs the n-gram drafter and the adaptive controller", () => {
    const args = ["--model", model, "--prompt", "Hello", "-n", "24", "--temperature", "0", "--ignore-eos", "--threads", "1", "--json"];
    const plain = JSON.parse(flint("run", ...args).stdout);
    const ngram = JSON.parse(flint("run", ...args, "--spec", "ngram", "--budget", "4").stdout);
    expect(ngram.tokenIds).toEqual(plain.tokenIds);
    expect(ngram.spec.drafter).toBe("ngram");
    const auto = JSON.parse(flint("run", ...args, "--spec", "auto").stdout);
    expect(auto.tokenIds).toEqual(plain.tokenIds);
    expect(auto.spec.budgetMode).toBe("auto");
    const self = JSON.parse(flint("run", ...args, "--spec", "draft-model", "--draft", model, "--budget", "4").stdout);
    expect(self.tokenIds).toEqual(plain.tokenIds);
    expect(self.spec.drafter).toBe("draft-model");
    const autoModel = JSON.parse(flint("run", ...args, "--spec", "auto", "--draft", model).stdout);
    expect(autoModel.spec.drafter).toBe("draft-model");
    const oracle = JSON.parse(flint("run", ...args, "--spec", "oracle", "--oracle-al", "6").stdout);
    expect(oracle.tokenIds).toEqual(plain.tokenIds);
    expect(oracle.spec.note).toBe("simulated acceptance");
  });

  it("rejects bad combinations clearly", async () => {
    const draft = await tinyDrafterPath();
    const cases: [string[], RegExp][] = [
      [["--spec", "dflash"], /needs --draft/],
      [["--draft", draft], /--spec is none/],
      [["--spec", "ngram", "--draft", draft], /--spec is ngram/],
      [["--spec", "ngram", "--tree-k", "4"], /--tree-k needs a dflash drafter/],
      [["--spec", "oracle", "--temperature", "0.7"], /--spec oracle .* use --temperature 0/],
      [["--spec", "dflash", "--draft", draft, "--budget", "soon"], /budget.*expected an integer/],
      [["--spec", "dflash", "--draft", path.join(dir, "none.gguf")], /model file not found/],
      [["--spec", "dflash", "--draft", model], /is not a DFlash drafter/],
      [["--spec", "dflash", "--draft", draft, "--budget", "300"], /budget.*expected an integer in \[0, 255\]/],
    ];
    for (const [extra, msg] of cases) {
      const r = flint("run", "--model", model, "--prompt", "x", "-n", "2", "--threads", "1", ...extra);
      expect(r.code, extra.join(" ")).toBe(1);
      expect(r.stderr, extra.join(" ")).toMatch(msg);
    }
  });
});

describe("flint quantize", () => {
  for (const type of ["Q8_0", "Q4_K_M"]) {
    it(`quantizes to ${type} and the result loads and runs`, () => {
      const out = path.join(dir, `tiny-${type}.gguf`);
      const r = flint("quantize", model, out, type, "--threads", "1");
      expect(r.code, r.stderr).toBe(0);
      const m = Model.load(out, { gpuLayers: 0 });
      try {
        expect(m.info.ftype).toMatch(new RegExp(type.replace("_M", "").replace("_", "_"), "i"));
      } finally {
        m.free();
      }
      const run = flint("run", "--model", out, "--prompt", "Hello", "-n", "8", "--threads", "1", "--json");
      expect(run.code).toBe(0);
    });
  }

  it("rejects an unknown type", () => {
    const r = flint("quantize", model, path.join(dir, "x.gguf"), "Q9_X");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown quantization type "Q9_X"/);
  });
});
