// Aggregation of many greedy generations of one mode into the numbers a report shows.
import type { RunResult } from "./harness.js";
import type { SpecStats } from "../spec/generate-spec.js";
import type { Equality, TimeSplit } from "./results.js";

export class ModeAccumulator {
  tokens = 0;
  /** sum of (tokens - 1): the decode steps behind decodeMs */
  intervals = 0;
  decodeMs = 0;
  steps = 0;
  emitted = 0;
  arSteps = 0;
  /** drafts scored as shadow probes (plain steps, not verified) */
  shadowProbes = 0;
  unfollowedSteps = 0;
  /** the n-gram assist's verify steps, the tokens they emitted and its free shadows (SpecStats.ngramAssist) */
  assist?: { steps: number; tokens: number; shadowProbes: number };
  /** the shadow probes' draft time: launched (or drafted in line) and taken */
  shadowMs = { launch: 0, take: 0 };
  relayouts = 0;
  /** verify steps by drafted nodes verified, over all runs */
  verifiedByNodes: Record<string, number> = {};
  /** target forwards whose row count changed (SpecStats.shapeChanges), over all runs */
  shapeChanges = 0;
  /** the controller's estimates at the end of the last run (budget "auto") */
  controller?: SpecStats["controller"];
  acceptedPerDepth: number[] = [];
  time: TimeSplit = { draft: 0, verify: 0, bookkeeping: 0, sampling: 0, other: 0 };
  equality: Equality = { compared: 0, equal: 0, nearTies: 0, mismatches: 0 };

  add(r: RunResult): void {
    const n = r.tokens.length;
    this.tokens += n;
    this.intervals += Math.max(0, n - 1);
    this.decodeMs += r.decodeMs;
    if (r.spec) {
      const s = r.spec;
      this.steps += s.steps;
      this.emitted += s.meanAcceptedLength * s.steps;
      this.arSteps += s.arSteps;
      this.shadowProbes += s.shadowProbes;
      this.unfollowedSteps += s.unfollowedSteps;
      if (s.ngramAssist) {
        const a = (this.assist ??= { steps: 0, tokens: 0, shadowProbes: 0 });
        a.steps += s.ngramAssist.steps;
        a.tokens += s.ngramAssist.tokens;
        a.shadowProbes += s.ngramAssist.shadowProbes;
      }
      this.shadowMs.launch += s.shadowMs.launch;
      this.shadowMs.take += s.shadowMs.take;
      this.relayouts += s.relayouts;
      this.shapeChanges += s.shapeChanges;
      if (s.controller) this.controller = s.controller;
      for (const [n, c] of Object.entries(s.verifiedByNodes)) this.verifiedByNodes[n] = (this.verifiedByNodes[n] ?? 0) + c;
      s.acceptedPerDepth.forEach((v, d) => (this.acceptedPerDepth[d] = (this.acceptedPerDepth[d] ?? 0) + v));
      for (const k of Object.keys(this.time) as (keyof TimeSplit)[]) this.time[k] += s.timeMs[k];
    } else {
      // plain decoding: every step is one decode call and one pick
      const steps = Math.max(0, n - 1);
      this.steps += steps;
      this.emitted += steps;
      this.arSteps += steps;
      this.time.verify += r.split.decodeCallsMs;
      this.time.sampling += r.split.samplingMs;
      this.time.other += Math.max(0, r.decodeMs - r.split.decodeCallsMs - r.split.samplingMs);
    }
  }

  get tokensPerSecond(): number {
    return this.decodeMs > 0 ? (this.intervals * 1000) / this.decodeMs : 0;
  }

  get meanAcceptedLength(): number {
    return this.steps > 0 ? this.emitted / this.steps : 0;
  }

  /** verify steps that drafted (plain steps of the controller excluded) */
  get specSteps(): number {
    return this.steps - this.arSteps;
  }

  /** drafts made: verified steps and shadow probes */
  get drafts(): number {
    return this.specSteps + this.shadowProbes;
  }

  /** per depth: share of drafting steps that accepted the token at that depth */
  get acceptanceByDepth(): number[] {
    const s = this.specSteps;
    return this.acceptedPerDepth.map((v) => (s > 0 ? v / s : 0));
  }

  msPerStep(): TimeSplit {
    const s = Math.max(1, this.steps);
    return { draft: this.time.draft / s, verify: this.time.verify / s, bookkeeping: this.time.bookkeeping / s, sampling: this.time.sampling / s, other: this.time.other / s };
  }
}

export function round(x: number, digits = 3): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
