// The adaptive controller against a simulated GPU where changing the target's decode shape costs a
// penalty (issue 7: on the H200 ggml-cuda keeps one captured CUDA graph per context, so the first
// forward at a new row count runs uncaptured and the second captures it again: half the penalty on
// each). Two cost profiles:
//   8b: the H200 sweep's (bench/results/2026-11-23-h200-4/bench-sweep-7-1065008: plain 4.17 ms, chain
//       verify 2/3/5/9/16 rows 4.82/5.53/7.31/9.35/10.08 ms, oracle draft 0.01 ms), chain drafts
//       accepted independently with probability p per depth (0.88, 0.75);
//   code29m: the trained pair on the H200 (bench/results/2026-11-23-h200-5/spec-trained-2-9b63918: plain
//       0.34 ms, DFlash draft 0.9 ms, a verify step 0.32 + 0.06 ms per row, a line through chain 4's
//       and chain 15's measured steps), accepted per depth as chain 15 accepted there (conditional
//       0.99, 1, 0.99, 0.91, 0.42, 0.9, 0.75, 0.71, 0.93, then 0.05), the 12 sweep prompts', useless
//       drafts, and the prompt the model loops on.
// A fresh controller per request of N tokens, and (`carried`) one controller across a sequence of
// 12 requests. A shadow probe costs its plain steps until the walk ends
// (up to its depth); a chain accepted whole is observed one token longer (the bonus token). Prints, per
// profile, acceptance and penalty, the mean rate over SEEDS requests relative to the best fixed
// budget's steady rate or plain decoding's, whichever is higher (bestFixedToPlain: the first over the
// second); variant "priced" starts from the steady prices prices.ts measures at load.
// usage: node bench/cpu/controller-switch.mjs [N=128] [SEEDS=100]   (needs npm run build)
import { AR, SpecController } from "../../dist/spec/controller.js";
import { DDTreeBuilder } from "../../dist/spec/ddtree.js";

const N = Number(process.argv[2] ?? 128);
const SEEDS = Number(process.argv[3] ?? 100);
const BUDGETS = [1, 2, 4, 8, 15];
const geometric = (p) => new Array(15).fill(p);
const PROFILES = {
  "8b": {
    tAr: 4.17,
    tDraft: 0.01,
    verify: (rows) => ({ 2: 4.82, 3: 5.53, 5: 7.31, 9: 9.35, 16: 10.08 })[rows],
    accept: [
      ["p=0.88", geometric(0.88)],
      ["p=0.75", geometric(0.75)],
    ],
    penalties: [0, 3, 6],
  },
  code29m: {
    tAr: 0.34,
    tDraft: 0.9,
    verify: (rows) => 0.32 + 0.06 * rows,
    accept: [
      ["chain-15 profile", [0.99, 1, 0.99, 0.91, 0.42, 0.9, 0.75, 0.71, 0.93, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05]],
      // the 12-prompt sweep's (bench/results/2026-11-24-h200/bench-sweep-trained-2-31ac5f6, the fresh
      // controller's estimate at the end): drafting pays at no budget
      ["12-prompt profile", [0.86, 0.71, 0.51, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34, 0.34]],
      ["useless", new Array(15).fill(0)],
      // the prompt the model loops on (bench/results/2026-11-24-h200/spec-trained-9-b53486c): chain 4
      // took 103 steps for 512 tokens (4.97 a step: depths 1-4 all but always accepted) and chain 15
      // 83 (6.17: past depth 4 about 0.54 per depth)
      ["looping prompt", [0.998, 0.998, 0.998, 0.998, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54, 0.54]],
    ],
    penalties: [0, 0.5, 1],
  },
};

// one request of N tokens with a fresh controller, or with `carried` (kept across requests, as flint
// serve keeps one): returns tokens per ms
function request(prof, accept, opts, penalty, seed, carried) {
  let s = seed * 7919 + 13;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const c = carried ?? new SpecController({ budgets: BUDGETS, maxDepth: 15, ...opts });
  if (carried) {
    // as generateSpeculative does after the prompt (a controller from before startRequest carries all)
    c.startRequest?.();
    c.shapeChanged();
  }
  const builder = new DDTreeBuilder(16);
  const ids = new Int32Array(16);
  const path = Int32Array.from({ length: 16 }, (_, i) => i);
  let tokens = 0;
  let time = 0;
  let lastRows = 0;
  let age = 0;
  let shadowSteps = 0;
  // a forward of `rows`: its share of a shape change's penalty (the first two forwards at a shape)
  const forward = (rows) => {
    if (rows !== lastRows) {
      lastRows = rows;
      age = 0;
    } else age++;
    return age < 2 ? penalty / 2 : 0;
  };
  const plain = () => {
    const t = prof.tAr + forward(1);
    c.observeAr(t);
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
    while (b !== AR && k < b && rnd() < accept[k]) k++;
    if (b === AR) {
      plain();
      continue;
    }
    c.observeDraft(prof.tDraft);
    time += prof.tDraft;
    if (c.shadowProbe) {
      // scored at once here; in the loop the walk ends after min(k + 1, b) plain tokens
      c.observeAcceptance(builder.buildChain(ids, b), k, path);
      shadowSteps = Math.min(k + 1, b) - 1;
      plain();
      continue;
    }
    const t = prof.verify(b + 1) + forward(b + 1);
    c.observeVerify(b + 1, t);
    // all b accepted: the bonus token says whether the draft's next token would have been too (as
    // generate-spec.ts observes it)
    if (k === b && b < 15) c.observeAcceptance(builder.buildChain(ids, b + 1), rnd() < accept[b] ? b + 1 : b, path);
    else c.observeAcceptance(builder.buildChain(ids, b), k, path);
    tokens += k + 1;
    time += t;
  }
  return tokens / time;
}

const fixedRate = (prof, accept, b) => {
  let e = 0;
  for (let d = 0, r = 1; d < b; d++) e += r *= accept[d];
  return (e + 1) / (prof.tDraft + prof.verify(b + 1));
};
const rows = [];
for (const [name, prof] of Object.entries(PROFILES)) {
  for (const [acceptName, accept] of prof.accept) {
    const rates = BUDGETS.map((b) => fixedRate(prof, accept, b));
    const best = Math.max(...rates);
    const bestBudget = BUDGETS[rates.indexOf(best)];
    for (const penalty of prof.penalties) {
      const row = { profile: name, acceptance: acceptName, penaltyMs: penalty, bestFixed: bestBudget, bestFixedToPlain: Math.round(best * prof.tAr * 1000) / 1000 };
      // prices as prices.ts measures them: steady, the catch-up draft taken as twice a draft
      const verifyMsByRows = Object.fromEntries(BUDGETS.map((b) => [b + 1, prof.verify(b + 1)]));
      const prices = { arMs: prof.tAr, draftMs: prof.tDraft, catchUpDraftMs: 2 * prof.tDraft, verifyMsByRows };
      for (const [variant, opts] of [
        ["shadowProbes", {}],
        ["verifiedProbes", { shadow: false }],
        ["priced", { prices }],
      ]) {
        let sum = 0;
        for (let i = 0; i < SEEDS; i++) sum += request(prof, accept, opts, penalty, i);
        // against the best fixed budget, or plain decoding where that is faster
        row[variant] = Math.round((sum / SEEDS / Math.max(best, 1 / prof.tAr)) * 1000) / 1000;
      }
      rows.push(row);
    }
  }
}
// One controller carried across 12 requests of the trained pair's profiles (the looping prompt's
// in requests 2, 6 and 10, the 12 sweep prompts' elsewhere), priced: the whole sequence's rate
// against each request's best fixed budget or plain decoding (time-weighted), mean over seeds.
const carried = [];
{
  const prof = PROFILES.code29m;
  const byName = Object.fromEntries(prof.accept);
  const verifyMsByRows = Object.fromEntries(BUDGETS.map((b) => [b + 1, prof.verify(b + 1)]));
  const prices = { arMs: prof.tAr, draftMs: prof.tDraft, catchUpDraftMs: 2 * prof.tDraft, verifyMsByRows };
  const sequence = Array.from({ length: 12 }, (_, i) => (i % 4 === 1 ? "looping prompt" : "12-prompt profile"));
  const ideal = (name) => Math.max(1 / prof.tAr, ...BUDGETS.map((b) => fixedRate(prof, byName[name], b)));
  for (const penalty of prof.penalties) {
    let sum = 0;
    for (let seed = 0; seed < SEEDS; seed++) {
      const c = new SpecController({ budgets: BUDGETS, maxDepth: 15, prices });
      let time = 0;
      let idealTime = 0;
      sequence.forEach((name, i) => {
        time += N / request(prof, byName[name], {}, penalty, seed * 12 + i, c);
        idealTime += N / ideal(name);
      });
      sum += idealTime / time;
    }
    carried.push({ profile: "code29m", sequence: "looping prompt in requests 2, 6, 10; 12-prompt profile elsewhere", penaltyMs: penalty, priced: Math.round((sum / SEEDS) * 1000) / 1000 });
  }
}
console.log(JSON.stringify({ what: "mean request rate / best fixed budget's steady rate (simulated)", tokensPerRequest: N, seeds: SEEDS, rows, carried }, null, 1));
