// Speculative generation with a DFlash drafter and chain verify: each step drafts a block after the
// last token, verifies [last, d1..dD] in one target forward, and walks the chain with the target's
// own choice at every row (argmax at T=0, a sample from the target's distribution at T>0). Every
// emitted token is the target's; drafts only decide how many target rows one forward yields.
import { performance } from "node:perf_hooks";
import type { Context } from "../engine/context.js";
import { prepareSampler, TokenEmitter, type GenerateEvent, type GenerateOptions, type GenerateResult } from "../engine/generate.js";
import { UserError } from "../native/errors.js";
import type { Drafter } from "./drafter.js";

export interface SpecOptions extends GenerateOptions {
  /** drafted tokens verified per step (chain depth); default the drafter's maximum depth; 0 = plain AR */
  budget?: number;
}

export interface SpecStats {
  drafter: Drafter["name"];
  mode: "chain";
  budget: number;
  steps: number;
  /** tokens emitted per verify step, bonus token included */
  meanAcceptedLength: number;
  /** acceptedPerDepth[d]: steps whose draft token at depth d+1 was accepted */
  acceptedPerDepth: number[];
  timeMs: { draft: number; verify: number; bookkeeping: number; sampling: number; other: number };
}

export type SpecResult = GenerateResult & { spec: SpecStats };

export async function* generateSpeculative(target: Context, drafter: Drafter, prompt: ArrayLike<number>, opts: SpecOptions = {}): AsyncGenerator<GenerateEvent, SpecResult> {
  const maxTokens = opts.maxTokens ?? 256;
  const budget = opts.budget ?? drafter.maxDepth;
  if (!Number.isInteger(budget) || budget < 0 || budget > drafter.maxDepth) {
    throw new UserError(`chain budget must be an integer in [0, ${drafter.maxDepth}] for this drafter, got ${budget}`);
  }
  const sampler = prepareSampler(target, prompt, opts);
  const out = new TokenEmitter(target.model.vocab, { ...opts, maxTokens });
  // greedy verify on the device: each row's argmax is read, no logits are copied back
  const onDevice = target.deviceGreedy;
  const nv = target.nVocab;
  const time = { draft: 0, verify: 0, bookkeeping: 0, sampling: 0, other: 0 };
  const acceptedPerDepth = new Array<number>(budget).fill(0);

  target.truncate(0, 0);
  drafter.reset();
  const t0 = performance.now();
  // prefill in batch-sized chunks, injecting each chunk's features into the drafter
  const b = target.batch;
  for (let off = 0; off < prompt.length; off += target.nBatch) {
    const end = Math.min(prompt.length, off + target.nBatch);
    b.clear();
    for (let k = off; k < end; k++) b.add(prompt[k], k, 0, k === prompt.length - 1);
    target.decode(b);
    drafter.onPrefill(prompt.length === end - off ? prompt : Array.prototype.slice.call(prompt, off, end), off);
  }
  let rows = target.logits();
  const tPrompt = performance.now();

  let done = false;
  const pending: GenerateEvent[] = [];
  // emits one target token; returns false when generation ends with it
  const emit = (token: number): boolean => {
    const r = out.push(token);
    if (r.event) pending.push(r.event);
    return r.more;
  };

  let ts = performance.now();
  let last = onDevice ? target.sampledToken(-1) : sampler.sample(rows);
  sampler.accept(last);
  time.sampling += performance.now() - ts;
  const tFirst = performance.now();
  done = maxTokens === 0 || !emit(last);
  let pos = prompt.length;
  let steps = 0;
  let emittedInSteps = 0;
  const committed: number[] = [];
  // chain rows are committed in order: row i holds position pos + i
  const rowIndex = Int32Array.from({ length: drafter.maxDepth + 1 }, (_, i) => i);
  while (!done) {
    for (const e of pending.splice(0)) yield e;
    if (opts.signal?.aborted) {
      out.stopReason = "abort";
      break;
    }
    const depth = Math.min(budget, target.nCtx - 1 - pos, drafter.maxDepth);
    if (depth < 0) break;
    ts = performance.now();
    const block = depth > 0 ? drafter.propose(last, pos, depth) : undefined;
    const t1 = performance.now();
    time.draft += t1 - ts;
    b.clear();
    b.add(last, pos, 0, true);
    // a drafter may propose fewer positions (or none) than asked
    let nDraft = 0;
    while (nDraft < depth && block && nDraft < block.depth && block.ids[nDraft * block.k] >= 0) {
      b.add(block.ids[nDraft * block.k], pos + nDraft + 1, 0, true);
      nDraft++;
    }
    target.decode(b);
    rows = target.logits();
    const t2 = performance.now();
    time.verify += t2 - t1;
    // walk the chain with the target's choices
    let accepted = 0;
    let samplingMs = 0;
    for (let i = 0; i <= nDraft; i++) {
      const s0 = performance.now();
      const tok = onDevice ? target.sampledToken(i) : sampler.sample(rows.subarray(i * nv, (i + 1) * nv));
      sampler.accept(tok);
      samplingMs += performance.now() - s0;
      last = tok;
      if (!emit(tok)) {
        done = true;
        break;
      }
      if (i < nDraft && tok === b.native.token[i + 1]) {
        accepted++;
        acceptedPerDepth[i]++;
      } else break;
    }
    time.sampling += samplingMs;
    steps++;
    emittedInSteps += accepted + 1;
    if (done) break;
    const t3 = performance.now();
    // keep [last_prev, d1..d_accepted] at pos..pos+accepted; the bonus token is the next `last`
    target.truncate(0, pos + accepted + 1);
    committed.length = accepted + 1;
    for (let i = 0; i <= accepted; i++) committed[i] = b.native.token[i];
    drafter.onCommit(committed, pos, rowIndex, nDraft + 1);
    pos += accepted + 1;
    time.bookkeeping += performance.now() - t3;
  }
  for (const e of pending.splice(0)) yield e;
  const tail = out.finish();
  if (tail) yield tail;
  const tLast = performance.now();
  const decodeMs = tLast - tFirst;
  time.other = Math.max(0, decodeMs - time.draft - time.verify - time.bookkeeping - time.sampling);
  const tokens = out.tokens;
  return {
    text: out.text,
    tokens,
    promptTokens: prompt.length,
    stopReason: out.stopReason,
    promptMs: tPrompt - t0,
    decodeMs,
    tokensPerSecond: tokens.length > 1 && decodeMs > 0 ? ((tokens.length - 1) * 1000) / decodeMs : 0,
    split: { decodeCallsMs: time.verify + time.draft, samplingMs: time.sampling },
    spec: {
      drafter: "dflash",
      mode: "chain",
      budget,
      steps,
      meanAcceptedLength: steps > 0 ? emittedInSteps / steps : 0,
      acceptedPerDepth,
      timeMs: time,
    },
  };
}
