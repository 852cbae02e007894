// Measures one running OpenAI-compatible server (flint serve or llama-server) through its streaming
// chat endpoint, as a client sees it: decode tokens/s = (completion tokens - 1) / (last - first content
// chunk), and time to first token for a ~2K-token prompt (a fresh prompt each time: no prefix-cache hit).
// usage: node bench/gpu/serve-run.mjs BASE_URL LABEL N_TOKENS REPS FILLER_FILE >> runs.jsonl
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";

const [base, label, nArg, repsArg, fillerFile] = process.argv.slice(2);
const N = Number(nArg);
const REPS = Number(repsArg);
const filler = readFileSync(fillerFile, "utf8");

async function chat(content, maxTokens) {
  const t0 = performance.now();
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "m", messages: [{ role: "user", content }], max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  if (!res.ok) throw new Error(`${label}: HTTP ${res.status} ${await res.text()}`);
  const decoder = new TextDecoder();
  let buf = "";
  let tFirst = 0;
  let tLast = 0;
  let chunks = 0;
  let usage = null;
  let timings = null;
  for await (const part of res.body) {
    buf += decoder.decode(part, { stream: true });
    let i;
    while ((i = buf.indexOf("\n\n")) >= 0) {
      const ev = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const line = ev.split("\n").find((l) => l.startsWith("data: "));
      if (!line || line === "data: [DONE]") continue;
      const d = JSON.parse(line.slice(6));
      const delta = d.choices?.[0]?.delta;
      if (delta && (delta.content || delta.reasoning_content)) {
        const t = performance.now();
        if (!tFirst) tFirst = t;
        tLast = t;
        chunks++;
      }
      if (d.usage) usage = d.usage;
      if (d.timings) timings = d.timings;
    }
  }
  return { ttftMs: tFirst - t0, decodeMs: tLast - tFirst, chunks, completionTokens: usage?.completion_tokens ?? null, promptTokens: usage?.prompt_tokens ?? null, serverTimings: timings };
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
// warm-up: first request compiles kernels and grows buffers
await chat("Hello", 8);
const decode = [];
for (let r = 0; r < REPS; r++) {
  const x = await chat(`Request ${r}: write a long story about a lighthouse keeper.`, N);
  decode.push({ ...x, tokensPerSecond: x.completionTokens > 1 ? ((x.completionTokens - 1) * 1000) / x.decodeMs : null });
}
const words = filler.split(/\s+/);
const ttft = [];
for (let r = 0; r < REPS; r++) {
  // ~2K tokens: the filler's words, rotated so each prompt differs from its first token on
  const text = `${r} ${r} ${r}: ` + words.slice(r * 7, r * 7 + 1500).join(" ");
  const x = await chat(text + "\nSummarise.", 1);
  ttft.push(x);
}
console.log(JSON.stringify({
  label,
  decodeTokensPerSecond: median(decode.map((d) => d.tokensPerSecond)),
  ttft2kMs: median(ttft.map((t) => t.ttftMs)),
  ttftPromptTokens: ttft.map((t) => t.promptTokens),
  decode,
  ttft,
}));
