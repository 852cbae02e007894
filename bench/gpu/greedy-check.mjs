// Greedy equality, token by token: flint run --temperature 0 (token ids from --json) vs llama-server
// /completion at temperature 0 (return_tokens, top-2 logprobs) on the same GGUF and prompt.
// Near-tie rule: at the first divergence, if llama.cpp's top-2 probabilities there differ by less than
// 1e-3 the divergence is counted as a near tie (batched vs single-token rounding); otherwise a mismatch.
// Usage: node greedy-check.mjs MODEL PROMPT N PORT FLINT_JSON [FLINT_JSON...] > result.json
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const [model, prompt, nStr, port, ...flintFiles] = process.argv.slice(2);
const n = Number(nStr);
const bin = `${process.env.LLAMA_BIN_DIR}/llama-server`;
const server = spawn(bin, ["-m", model, "-ngl", "99", "-fa", "on", "-c", "4096", "--host", "127.0.0.1", "--port", port, "-np", "1"], { stdio: ["ignore", "ignore", "pipe"] });
let log = "";
server.stderr.on("data", (d) => (log = (log + d).slice(-4000)));
const base = `http://127.0.0.1:${port}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
try {
  let ready = false;
  for (let i = 0; i < 240 && !ready; i++) {
    try { ready = (await fetch(`${base}/health`)).status === 200; } catch {}
    if (!ready) await sleep(500);
  }
  if (!ready) throw new Error(`llama-server did not become ready: ${log}`);
  const res = await fetch(`${base}/completion`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, n_predict: n, temperature: 0, ignore_eos: true, return_tokens: true, n_probs: 2, cache_prompt: false }),
  });
  const body = await res.json();
  const llamaTokens = body.tokens;
  const probs = body.completion_probabilities ?? [];
  const comparisons = flintFiles.map((f) => {
    const flint = JSON.parse(readFileSync(f, "utf8"));
    const ft = flint.tokenIds;
    let first = -1;
    for (let i = 0; i < Math.min(ft.length, llamaTokens.length); i++) if (ft[i] !== llamaTokens[i]) { first = i; break; }
    let verdict = first < 0 && ft.length === llamaTokens.length ? "equal" : "mismatch";
    let top2;
    if (first >= 0) {
      top2 = (probs[first]?.top_logprobs ?? probs[first]?.top_probs ?? []).map((t) => ({ id: t.id, logprob: t.logprob, prob: t.prob ?? Math.exp(t.logprob) }));
      if (top2.length >= 2 && Math.abs(top2[0].prob - top2[1].prob) < 1e-3 && top2.some((t) => t.id === ft[first])) verdict = "near-tie";
    }
    return { file: f.split("/").pop(), sampling: flint.sampling, tokens: ft.length, verdict, firstDivergence: first, top2AtDivergence: top2, flintTokens: ft };
  });
  console.log(JSON.stringify({ model: model.split("/").pop(), prompt, n, llamaTokens, llamaText: body.content, comparisons }, null, 1));
} finally {
  server.kill("SIGTERM");
}
