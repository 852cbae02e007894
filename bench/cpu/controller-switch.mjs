// The adaptive controller against a simulated GPU where changing the target's decode shape costs a
// penalty (issue 7: on the H200 ggml-cuda keeps one captured CUDA graph per context, so a verify
// after plain steps, a plain step after a verify, or another budget runs uncaptured and is captured
// again). Costs are the H200 sweep's (bench/results/2026-11-23-h200-4/bench-sweep-7-1065008: plain
// 4.17 ms, chain verify 2/3/5/9/16 rows 4.82/5.53/7.31/9.35/10.08 ms, oracle draft 0.01 ms); chain
// drafts accepted independently with probability p per depth; a fresh controller per request of N
// tokens. A shadow probe costs its plain steps until the walk ends (up to its budget); a chain
// accepted whole is observed one token longer (the bonus token scores the draft's next one). Prints, per
// penalty, the mean rate over SEEDS requests relative to the best fixed budget's steady rate.
// usage: node bench/cpu/controller-switch.mjs [N=128] [SEEDS=100]   (needs npm run build)
import { AR, SpecController } from "../../dist/spec/controller.js";
import { DDTreeBuilder } from "../../dist/spec/ddtree.js";

const N = Number(process.argv[2] ?? 128);
const SEEDS = Number(process.argv[3] ?? 100);
const T_AR = 4.17;
const T_DRAFT = 0.01;
const VERIFY = { 2: 4.82, 3: 5.53, 5: 7.31, 9: 9.35, 16: 10.08 };
const BUDGETS = [1, 2, 4, 8, 15];
const tVerify = (rows) => VERIFY[rows];

function request(opts, p, penalty, seed) {
  let s = seed * 7919 + 13;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const c = new SpecController({ budgets: BUDGETS, maxDepth: 15, ...opts });
  const builder = new DDTreeBuilder(16);
  const ids = new Int32Array(16);
  const path = Int32Array.from({ length: 16 }, (_, i) => i);
  let tokens = 0;
  let time = 0;
  let lastRows = 1;
  let shadowSteps = 0;
  const plain = () => {
    const t = T_AR + (lastRows !== 1 ? penalty : 0);
    c.observeAr(t);
    lastRows = 1;
    tokens++;
    time += t;
  };
  while (tokens < N) {
    if (shadowSteps > 0) {
      shadowSteps--;
      plain();
      continue;
    }
    const b = c.choose();
    let k = 0;
    while (b !== AR && k < b && rnd() < p) k++;
    if (b === AR) {
      plain();
      continue;
    }
    c.observeDraft(T_DRAFT);
    time += T_DRAFT;
    if (c.shadowProbe) {
      // scored at once here; in the loop the walk ends after min(k + 1, b) plain tokens
      c.observeAcceptance(builder.buildChain(ids, b), k, path);
      shadowSteps = Math.min(k + 1, b) - 1;
      plain();
      continue;
    }
    const t = tVerify(b + 1) + (b + 1 !== lastRows ? penalty : 0);
    c.observeVerify(b + 1, t);
    // all b accepted: the bonus token says whether the draft's next token would have been too (as
    // generate-spec.ts observes it)
    if (k === b && b < 15) c.observeAcceptance(builder.buildChain(ids, b + 1), rnd() < p ? b + 1 : b, path);
    else c.observeAcceptance(builder.buildChain(ids, b), k, path);
    lastRows = b + 1;
    tokens += k + 1;
    time += t;
  }
  return tokens / time;
}

const fixedRate = (b, p) => {
  let e = 0;
  for (let d = 0, r = 1; d < b; d++) e += r *= p;
  return (e + 1) / (T_DRAFT + tVerify(b + 1));
};
const rows = [];
for (const p of [0.88, 0.75]) {
  const best = Math.max(...BUDGETS.map((b) => fixedRate(b, p)));
  for (const penalty of [0, 3, 6]) {
    const row = { p, penaltyMs: penalty };
    for (const [name, opts] of [["shadowProbes", {}], ["verifiedProbes", { shadow: false }]]) {
      let sum = 0;
      for (let i = 0; i < SEEDS; i++) sum += request(opts, p, penalty, i);
      row[name] = Math.round((sum / SEEDS / best) * 1000) / 1000;
    }
    rows.push(row);
  }
}
console.log(JSON.stringify({ what: "mean request rate / best fixed budget's steady rate (simulated)", tokensPerRequest: N, seeds: SEEDS, rows }, null, 1));
