// Scores prompt A, then B and C, then A again, and compares A's two importance vectors: the sequence
// that aborted on the H200 (bench/results/2026-11-23-h200-2). "cached" keeps the graphs across prompts
// as the scorer did before it built them per prompt (by replacing its private newGraphs with a no-op).
// Run it against an AddressSanitizer build of the pinned llama.cpp to look for bad memory accesses:
//   LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0 \
//   FLINT_LLAMA_LIB_DIR=<build>/bin node bench/cpu/scorer-repeat.mjs SCORER.gguf [WINDOW]
import { Scorer } from "../../dist/prefill/scorer.js";

const [path, windowArg] = process.argv.slice(2);
const window = Number(windowArg ?? 0);
const tokens = (n, seed) => {
  let x = seed;
  return Int32Array.from({ length: n }, () => (x = (x * 1103515245 + 12345) % 2147483648) % 1000);
};
const rows = [];
for (const cached of [false, true]) {
  const s = Scorer.load(path, { device: "cpu", threads: 2, chunk: 128, window });
  if (cached) s.newGraphs = () => {};
  const a = tokens(900, 1);
  const first = s.score(a).importance.slice();
  s.score(tokens(700, 2));
  s.score(tokens(1100, 3));
  const again = s.score(a).importance;
  let maxDiff = 0;
  for (let i = 0; i < first.length; i++) maxDiff = Math.max(maxDiff, Math.abs(first[i] - again[i]));
  rows.push({ cachedAcrossPrompts: cached, maxDiff, graphsAtEnd: s.graphCount });
  s.free();
}
console.log(JSON.stringify({ scorer: path, window, rows }));
