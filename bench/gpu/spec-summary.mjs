// Summarises bench/gpu/spec.sh's runs: ratios to plain decoding, verify cost per row count, equality.
import { readFileSync, writeFileSync } from "node:fs";

const [runsFile, outFile] = process.argv.slice(2);
const runs = readFileSync(runsFile, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l));
const by = (p) => runs.filter((r) => r.label.startsWith(p));
const median = (xs) => { const s = xs.filter((x) => x != null).sort((a, b) => a - b); const m = s.length >> 1; return s.length === 0 ? null : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const plain = median(by("none-").filter((r) => r.label !== "none-fa-off").map((r) => r.tokensPerSecond));
const plainFaOff = median(by("none-fa-off").map((r) => r.tokensPerSecond));
const ref = by("none-1")[0]?.tokenIds;
// trees run without flash attention; their reference is plain decoding with the same kernels
const refFaOff = by("none-fa-off")[0]?.tokenIds;
const plainStepMs = plain ? 1000 / plain : null;
const rows = runs.map((r) => {
  const s = r.spec;
  const per = s ? { draft: s.timeMs.draft / s.steps, verify: s.timeMs.verify / s.steps, bookkeeping: s.timeMs.bookkeeping / s.steps, sampling: s.timeMs.sampling / s.steps } : undefined;
  // the best a speculative step could do with the measured draft and verify costs: AL tokens per
  // (draft + verify); bookkeeping, sampling and JS are what separate the run from it
  const verifyMs = per ? per.verify + (r.sampling === "device" ? per.sampling : 0) : 0;
  const ideal = s && s.arSteps === 0 && per.draft + verifyMs > 0 ? (s.meanAcceptedLength * 1000) / (per.draft + verifyMs) : null;
  return {
    label: r.label,
    tokensPerSecond: r.tokensPerSecond,
    ratioToPlain: r.tokensPerSecond && plain ? r.tokensPerSecond / (r.label.startsWith("tree") ? plainFaOff : plain) : null,
    sameTokensAsPlain: r.tokenIds && ref ? JSON.stringify(r.tokenIds) === JSON.stringify(r.label.startsWith("tree") || r.label === "none-fa-off" ? refFaOff : ref) : null,
    meanAcceptedLength: s?.meanAcceptedLength,
    draftN: r.draftN,
    draftAccepted: r.draftAccepted,
    steps: s?.steps,
    arSteps: s?.arSteps,
    shadowProbes: s?.shadowProbes,
    unfollowedSteps: s?.unfollowedSteps,
    msPerStep: per,
    // with device sampling the wait for the GPU lands in "sampling": the verify's cost is both
    verifyCostInPlainSteps: per && plainStepMs && s.arSteps === 0 ? (per.verify + (r.sampling === "device" ? per.sampling : 0)) / plainStepMs : undefined,
    idealTokPerSec: ideal,
    ratioToIdeal: ideal && r.tokensPerSecond ? r.tokensPerSecond / ideal : undefined,
  };
});
function ratios(prefix) {
  const xs = by(prefix).map((r) => r.tokensPerSecond / plain).sort((a, b) => a - b);
  return xs.length ? { median: median(xs), min: xs[0], max: xs[xs.length - 1], runs: xs.length } : null;
}
const out = {
  suite: "spec-decode",
  date: new Date().toISOString(),
  command: `bash .device/remote.sh bash bench/gpu/spec.sh (SET=${process.env.SET ?? "random"}, PRESET=${process.env.PRESET ?? "8b"})`,
  target: process.env.T ?? null,
  drafter: process.env.D ?? null,
  gitCommit: process.env.FLINT_GIT_COMMIT ?? "unknown",
  note: (process.env.SET === "trained" ? "trained code29m pair (../shared/models): real acceptance" : "random-weight target and drafter: drafts are useless, acceptance is ~0") + "; tree runs use --flash-attn off and are compared with plain decoding at --flash-attn off; oracle-* rows are SIMULATED acceptance; llama-server rows: tok/s, draftN and draftAccepted from its timings",
  plainTokPerSec: plain,
  // --spec auto (with its n-gram assist) against plain: (run tok/s / median plain tok/s) over its runs
  autoRatioToPlain: ratios("auto-"),
  // --spec dflash --budget auto (the DFlash controller alone) against plain
  dflashAutoRatioToPlain: ratios("dflash-auto-"),
  plainFlashAttnOffTokPerSec: plainFaOff,
  rows,
};
writeFileSync(outFile, JSON.stringify(out, null, 2) + "\n");
for (const r of rows) console.log(`${r.label.padEnd(22)} ${String(r.tokensPerSecond?.toFixed?.(1)).padStart(8)} tok/s  ratio ${r.ratioToPlain?.toFixed(3) ?? "-"}  same ${r.sameTokensAsPlain}`);
