// Writes a benchmark's outputs: results.json (checked against its schema first), report.md (tables)
// and SVG charts.
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { ResultsSchema, type BenchResults } from "./results.js";
import { barChart, lineChart, type Bar, type Series } from "./svg.js";

const SIM = "simulated acceptance";

export interface Chart {
  file: string;
  svg: string;
}

/** The charts a result set supports. */
export function charts(r: BenchResults): Chart[] {
  const out: Chart[] = [];
  const dev = r.device.name;
  if (r.decode && r.decode.modes.length) {
    const bars: Bar[] = r.decode.modes.map((m) => ({ label: m.label.replace(" (simulated)", ""), value: m.tokensPerSecond, highlight: m.simulated }));
    for (const b of r.baseline?.llamaServer ?? []) bars.push({ label: `llama-server ${b.mode}`, value: b.tokensPerSecond });
    const tg = r.baseline?.llamaBench?.find((x) => x.nPrompt === 0 && x.nGen > 0);
    if (tg) bars.push({ label: `llama-bench ${tg.test}`, value: tg.tokensPerSecond });
    out.push({
      file: "decode-tokens-per-second.svg",
      svg: barChart({
        title: `Decode speed by mode (${dev})`,
        xLabel: "mode",
        yLabel: "tokens per second",
        bars,
        footnote: r.decode.modes.some((m) => m.simulated) ? `* ${SIM} (oracle drafter): speed is measured, acceptance is not` : undefined,
      }),
    });
  }
  if (r.sweep && r.sweep.points.length) {
    const groups = new Map<string, Series>();
    const costs = new Map<string, Series>();
    for (const p of r.sweep.points) {
      if (p.shape === "ar" || p.budget === "auto") continue;
      const key = `${p.drafter} ${p.shape}${p.shape === "tree" ? ` k${p.treeK}` : ""}${p.simulated ? " (simulated)" : ""}`;
      const g = groups.get(key) ?? { name: key, points: [] };
      g.points.push([p.budget, p.tokensPerSecond]);
      groups.set(key, g);
      if (p.verifyMsPerStep !== null && p.drafter !== "ngram") {
        const c = costs.get(key) ?? { name: key, points: [] };
        c.points.push([p.budget, p.verifyMsPerStep]);
        costs.set(key, c);
      }
    }
    const budgets = [...groups.values()].flatMap((g) => g.points.map((x) => x[0]));
    const lo = Math.min(...budgets, 1);
    const hi = Math.max(...budgets, 2);
    const ar: Series = { name: "plain (AR)", points: [[lo, r.sweep.arTokensPerSecond], [hi, r.sweep.arTokensPerSecond]] };
    out.push({
      file: "sweep-tokens-per-second.svg",
      svg: lineChart({ title: `Tokens/s vs budget (${dev})`, xLabel: "budget (drafted tokens per step; DDTree nodes)", yLabel: "tokens per second", series: [ar, ...groups.values()], xLog: true }),
    });
    const arCost: Series = { name: "plain step", points: [[lo, r.sweep.arStepMs], [hi, r.sweep.arStepMs]] };
    out.push({
      file: "sweep-verify-cost.svg",
      svg: lineChart({ title: `Verify cost per step vs budget (${dev})`, xLabel: "budget (drafted tokens per step; DDTree nodes)", yLabel: "verify forward, ms per step", series: [arCost, ...costs.values()], xLog: true }),
    });
  }
  if (r.prefill && r.prefill.points.length) {
    const by = new Map<string, Series>();
    for (const p of r.prefill.points) {
      const s = by.get(p.method) ?? { name: p.method === "full" ? "flint full prefill" : `flint ${p.method}`, points: [] };
      s.points.push([p.contextTokens, p.ttftMs]);
      by.set(p.method, s);
    }
    const pp = (r.baseline?.llamaBench ?? []).filter((x) => x.nGen === 0 && x.nPrompt > 0);
    if (pp.length) by.set("llama-bench", { name: "llama-bench pp (ms = n / pp tok/s)", points: pp.map((x) => [x.nPrompt, (x.nPrompt * 1000) / x.tokensPerSecond]) });
    out.push({
      file: "prefill-ttft.svg",
      svg: lineChart({ title: `Time to first token vs context (${dev})`, xLabel: "prompt tokens", yLabel: "time to first token, ms", series: [...by.values()], xLog: true }),
    });
  }
  return out;
}

const f = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));

export function markdown(r: BenchResults): string {
  const L: string[] = [];
  const t = r.models.target;
  L.push(`# flint bench: ${r.suite}`, "");
  L.push(`| | |`, `| --- | --- |`);
  L.push(`| date | ${r.date} |`);
  L.push(`| command | \`${r.command.replace(/\|/g, "\\|")}\` |`);
  L.push(`| git commit | ${r.gitCommit} |`);
  L.push(`| llama.cpp | ${r.llamaCpp.commit} (${r.llamaCpp.release}; ${r.llamaCpp.origin}: ${r.llamaCpp.library}) |`);
  L.push(`| device | ${r.device.name}${r.device.threads ? `, ${r.device.threads} threads` : ""} |`);
  L.push(`| target | ${path.basename(t.path)}: ${t.architecture}, ${t.quantization ?? "?"}, ${(t.sizeBytes / 2 ** 20).toFixed(1)} MiB${t.randomWeights ? ", **random weights**" : ""} |`);
  if (r.models.draft) L.push(`| drafter | ${path.basename(r.models.draft.path)}: ${r.models.draft.architecture}${r.models.draft.randomWeights ? ", **random weights** (acceptance near 0)" : ""} |`);
  if (r.models.scorer) L.push(`| scorer | ${path.basename(r.models.scorer.path)}: ${r.models.scorer.architecture} |`);
  L.push(`| result | ${r.ok ? "ok" : "**FAILED**"} (${r.durationS.toFixed(1)} s) |`, "");
  if (r.notes.length) L.push(...r.notes.map((n) => `- ${n}`), "");
  if (r.failures.length) L.push("## Failures", "", ...r.failures.map((x) => `- ${x}`), "");

  const compared = r.rows.filter((x) => x.baseline !== null);
  if (compared.length) {
    L.push("## flint vs baseline", "", "| suite | measurement | unit | flint | baseline | source | ratio |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const x of compared) L.push(`| ${x.suite} | ${x.label}${x.simulated ? ` (${SIM})` : ""} | ${x.unit} | ${f(x.flint)} | ${f(x.baseline)} | ${x.baselineSource ?? ""} | ${f(x.ratio, 3)} |`);
    L.push("", "Ratios above 1 mean flint is faster.", "");
  }
  if (r.decode) {
    const d = r.decode;
    const ar = d.modes.find((m) => m.mode === "ar")?.tokensPerSecond ?? 0;
    const arOff = d.modes.find((m) => m.mode === "ar-fa-off")?.tokensPerSecond ?? ar;
    L.push(`## Decode (${d.prompts.length} prompts x ${d.tokensPerPrompt} tokens, temperature 0)`, "");
    L.push("| mode | tok/s | vs plain | mean accepted length | acceptance by depth (1..8) | ms/step draft / verify / bookkeeping / sampling / other | same as plain |");
    L.push("| --- | --- | --- | --- | --- | --- | --- |");
    for (const m of d.modes) {
      const ref = m.flashAttn === "off" ? arOff : ar;
      const acc = m.acceptanceByDepth.slice(0, 8).map((x) => x.toFixed(2)).join(" ");
      const s = m.msPerStep;
      const eq = m.shape === "ar" ? "reference" : `${m.equality.equal}/${m.equality.compared}${m.equality.nearTies ? `, ${m.equality.nearTies} near tie${m.equality.nearTies > 1 ? "s" : ""}` : ""}${m.equality.mismatches ? `, **${m.equality.mismatches} mismatches**` : ""}`;
      L.push(`| ${m.label}${m.simulated ? ` (${SIM})` : ""} | ${f(m.tokensPerSecond, 1)} | ${ref > 0 ? f(m.tokensPerSecond / ref, 3) : "-"} | ${f(m.meanAcceptedLength)} | ${acc || "-"} | ${f(s.draft, 3)} / ${f(s.verify, 3)} / ${f(s.bookkeeping, 3)} / ${f(s.sampling, 3)} / ${f(s.other, 3)} | ${eq} |`);
    }
    L.push("", `Equality rule: ${d.nearTieRule}. Tree modes run with flash attention off and are compared with plain decoding at flash attention off.`, "");
  }
  if (r.sweep) {
    const s = r.sweep;
    L.push(`## Budget sweep (${s.prompts.length} prompts x ${s.tokensPerPrompt} tokens)`, "");
    L.push(`Plain decoding: ${f(s.arTokensPerSecond, 1)} tok/s, ${f(s.arStepMs, 3)} ms per plain forward (launch and wait). Best fixed choice: **${s.best.drafter} ${s.best.shape}${s.best.shape === "tree" ? ` k${s.best.treeK}` : ""} budget ${s.best.budget}** at ${f(s.best.tokensPerSecond, 1)} tok/s (${f(s.best.speedup, 3)}x plain).`, "");
    L.push("| drafter | shape | budget | tok/s | mean accepted length | verify ms/step | draft ms/step |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const p of s.points) L.push(`| ${p.drafter}${p.ngramAssist ? " + ngram assist" : ""}${p.simulated ? ` (${SIM})` : ""} | ${p.shape}${p.shape === "tree" ? ` k${p.treeK}` : ""} | ${p.budget} | ${f(p.tokensPerSecond, 1)} | ${f(p.meanAcceptedLength)} | ${f(p.verifyMsPerStep, 3)} | ${f(p.draftMsPerStep, 3)} |`);
    const costs = (r: Record<string, number>) => Object.entries(r).map(([k, v]) => `${k}: ${v.toFixed(3)} ms`).join(", ");
    L.push("", `Chain verify cost by rows per forward (1 row = a plain step): ${costs(s.verifyMsByRows)}.`);
    if (Object.keys(s.treeVerifyMsByRows).length) L.push("", `DDTree verify cost by rows per forward (flash attention off): ${costs(s.treeVerifyMsByRows)}.`);
    const split = s.points.filter((p) => p.msPerToken && (p.shape === "ar" || p.budget === "auto"));
    if (split.length) {
      L.push("", "Where a token's time goes, ms per token (plain decoding and the auto points):", "", "| drafter | shape | budget | draft | verify | bookkeeping | sampling | other | shadow probes | ms per shadow (launch + take) | unfollowed steps |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
      for (const p of split) {
        const t = p.msPerToken!;
        L.push(`| ${p.drafter}${p.ngramAssist ? " + ngram assist" : ""} | ${p.shape}${p.controllerCarried ? " (one controller)" : ""} | ${p.budget} | ${f(t.draft, 4)} | ${f(t.verify, 4)} | ${f(t.bookkeeping, 4)} | ${f(t.sampling, 4)} | ${f(t.other, 4)} | ${p.shadowProbes ?? "-"} | ${p.shadowMsPerProbe ? `${f(p.shadowMsPerProbe.launch, 3)} + ${f(p.shadowMsPerProbe.take, 3)}` : "-"} | ${p.unfollowedSteps ?? "-"} |`);
      }
    }
    L.push("");
  }
  if (r.prefill) {
    L.push("## Prefill", "", "| method | prompt tokens | TTFT ms | prefill tok/s | kept |", "| --- | --- | --- | --- | --- |");
    for (const p of r.prefill.points) L.push(`| ${p.method} | ${p.contextTokens} | ${f(p.ttftMs, 1)} | ${f(p.prefillTokensPerSecond, 0)} | ${p.keepRatio === undefined ? "all" : f(p.keepRatio, 3)} |`);
    L.push("", `PFlash: ${r.prefill.pflash.note}`, "");
  }
  if (r.niah) {
    L.push("## Needle in a haystack", "", r.niah.note, "");
    if (r.niah.result !== undefined) L.push("```json", JSON.stringify(r.niah.result, null, 2), "```", "");
  }
  if (r.baseline) {
    const b = r.baseline;
    L.push("## llama.cpp baseline", "");
    if (!b.ran) L.push(`Not run: ${b.skipped ?? "?"}.`, "");
    else {
      L.push(`Tools from \`${b.binDir}\`.`, "");
      for (const x of b.llamaBench ?? []) L.push(`- llama-bench ${x.test}: ${f(x.tokensPerSecond, 1)} tok/s (sd ${f(x.stddev, 1)})${x.buildCommit ? `, build ${x.buildCommit}` : ""}`);
      for (const x of b.llamaServer ?? []) {
        L.push(`- llama-server ${x.mode}: ${f(x.tokensPerSecond, 1)} tok/s over ${x.prompts} prompts${x.draftN ? `, drafted ${x.draftN}, accepted ${x.draftAccepted}` : ""}${x.sameTokensAsFlint !== undefined ? `, ${x.sameTokensAsFlint}/${x.prompts} with the same token ids as flint's plain decoding` : ""}`);
      }
      for (const e of b.errors ?? []) L.push(`- error: ${e}`);
      L.push("");
    }
  }
  if (r.charts.length) L.push("## Charts", "", ...r.charts.map((c) => `![${c}](${c})`), "");
  return L.join("\n");
}

/** Validates and writes results.json, report.md and the charts into `dir`; returns the file paths. */
export function writeReport(dir: string, results: BenchResults): string[] {
  mkdirSync(dir, { recursive: true });
  const cs = charts(results);
  const r = ResultsSchema.parse({ ...results, charts: cs.map((c) => c.file) });
  const files: string[] = [];
  for (const c of cs) {
    const p = path.join(dir, c.file);
    writeFileSync(p, c.svg);
    files.push(p);
  }
  writeFileSync(path.join(dir, "results.json"), JSON.stringify(r, null, 2) + "\n");
  writeFileSync(path.join(dir, "report.md"), markdown(r));
  files.push(path.join(dir, "results.json"), path.join(dir, "report.md"));
  return files;
}
