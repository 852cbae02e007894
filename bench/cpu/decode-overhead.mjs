// Per-token cost of flint's decode loop against llama-bench on a CPU, on a tiny generated model where
// the kernels are cheap and the framework shows (issue 2: is the GPU gap JavaScript?). One thread,
// flash attention off and on, median of 3 runs each.
// Usage: LLAMA_BIN_DIR=... node bench/cpu/decode-overhead.mjs > result.json   (needs `npm run build`)
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { makeModel } from "../../dist/models/make-model.js";

const bin = process.env.LLAMA_BIN_DIR;
if (!bin || !existsSync(path.join(bin, "llama-bench"))) throw new Error("set LLAMA_BIN_DIR to a llama.cpp build with llama-bench");
const dir = path.join(os.tmpdir(), "flint-decode-overhead");
mkdirSync(dir, { recursive: true });
const model = path.join(dir, "tiny.gguf");
if (!existsSync(model)) await makeModel({ arch: "qwen3", preset: "tiny", seed: 1, out: model });
const N = 512;
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const rows = [];
for (const fa of ["off", "on"]) {
  const lb = JSON.parse(execFileSync(path.join(bin, "llama-bench"), ["-m", model, "-p", "0", "-n", String(N), "-t", "1", "-r", "3", "-fa", fa === "on" ? "1" : "0", "-o", "json"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }))[0];
  // flint's default context (4096 here) and llama-bench's own (n_prompt + n_gen)
  for (const ctx of [undefined, N]) {
    const flint = [];
    for (let i = 0; i < 3; i++) {
      const args = ["dist/cli.js", "run", "--model", model, "--prompt", "hello", "-n", String(N - 4), "--temperature", "0", "--ignore-eos", "--threads", "1", "--flash-attn", fa, "--json", ...(ctx ? ["--ctx", String(ctx)] : [])];
      const d = JSON.parse(execFileSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }));
      flint.push({ usPerToken: 1e6 / d.tokensPerSecond, decodeCallUs: (d.split.decodeCallsMs * 1000) / (d.tokens - 1) });
    }
    const f = median(flint.map((x) => x.usPerToken));
    const c = median(flint.map((x) => x.decodeCallUs));
    rows.push({ flashAttn: fa, flintCtx: ctx ?? "default (4096)", llamaBenchUsPerToken: 1e6 / lb.avg_ts, flintUsPerToken: f, flintDecodeCallUs: c, flintOutsideDecodeUs: f - c, flintTokPerSecOverLlamaBench: 1e6 / f / lb.avg_ts });
  }
}
console.log(JSON.stringify({
  what: `tg${N} on a tiny generated qwen3 (2 layers, 128 wide), 1 thread: llama-bench vs flint run (median of 3); flintOutsideDecodeUs = per-token time outside llama_decode (sampling, detokenizing, JS, FFI)`,
  command: "LLAMA_BIN_DIR=... node bench/cpu/decode-overhead.mjs",
  date: new Date().toISOString(),
  cpu: os.cpus()[0]?.model,
  llamaBin: bin,
  flintLibs: process.env.FLINT_LLAMA_LIB_DIR ?? "the prebuilt @node-llama-cpp CPU package",
  rows,
}, null, 2));
