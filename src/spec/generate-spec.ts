// Speculative generation with a DFlash drafter and chain verify: each step drafts a block after the
// last token, verifies [last, d1..dD] in one target forward, and walks the chain with the target's
// own choice at every row (argmax at T=0, a sample from the target's distribution at T>0). Every
// emitted token is the target's; drafts only decide how many target rows one forward yields.
import { performance } from "node:perf_hooks";
import { eventLoop } from "../engine/event-loop.js";
import type { Context } from "../engine/context.js";
import { checkKeep, prefillKept, prepareSampler, TokenEmitter, type GenerateEvent, type GenerateOptions, type GenerateResult } from "../engine/generate.js";
import { UserError } from "../native/errors.js";
import { Batch } from "../engine/batch.js";
import { TreeAcceptor } from "./accept.js";
import { AR, SpecController, type ControllerOptions } from "./controller.js";
import { DDTreeBuilder, type DDTree } from "./ddtree.js";
import type { DraftProposal, Drafter } from "./drafter.js";
import { ASSIST_DEPTH, NgramAssist } from "./ngram-assist.js";
import { draftedTokens, sparseCounts, type SpecStats } from "./spec-stats.js";
import type { StepPrices } from "./prices.js";
import { ShadowProbe, type ObserveAcceptance } from "./shadow.js";
import { TreeBatchPlanner, type TreeBatchPlan } from "./tree-batch.js";

/** most drafted nodes one verify may carry (a tree's leaves each need a sequence id; libllama has 256) */
export const MAX_BUDGET = 255;
/** plain steps before a probe during which a drafter that can stop following the target follows it */
export const FOLLOW_AHEAD = 32;
/** A verify of a budget's nodes has one row more (the root). On ggml-cuda a matrix product of at most
 *  8 rows runs the vector kernel (mul_mat_vec_q, MMVQ_MAX_BATCH_SIZE) and 9 or more a tiled one, whose
 *  tiles come in multiples of 8 rows: on the H200 the trained code29m pair verified 5 rows in 0.47-0.49
 *  ms and 9 in 0.92-0.96 (bench/results/2026-11-24-h200-2), so the budgets are one less than 8, 16,
 *  32 and 64 rows, not 8, 16, 32 and 64 nodes (other backends do not mind the difference). */
const TREE_BUDGETS = [4, 7, 15, 31, 63] as const;

/** The budgets a `budget: "auto"` controller chooses from for a drafter of depth `maxDepth`. */
export function candidateBudgets(maxDepth: number, shape: "chain" | "tree" = "chain"): readonly number[] {
  if (shape === "tree") return TREE_BUDGETS;
  // the drafter's whole depth too, unless its verify would start a new tile of rows (the n-gram
  // drafter's 8: 9 rows cost it 1.01-1.13 ms against 0.61 for 8 on the H200)
  const top = maxDepth + 1 <= 8 || (maxDepth + 1) % 8 === 0 ? [maxDepth] : [];
  return [1, 2, 4, 7, 15, ...top].filter((b, i, a) => b <= maxDepth && a.indexOf(b) === i).sort((x, y) => x - y);
}

/** The controller generateSpeculative makes for `budget: "auto"`. A caller that serves many requests
 *  (the server) makes one with this and passes it to every request, so what it learned about costs and
 *  acceptance carries over instead of being paid for again at the start of each request. */
export function createSpecController(drafter: Pick<Drafter, "maxDepth">, shape: "chain" | "tree" = "chain", overrides: Partial<ControllerOptions> = {}): SpecController {
  return new SpecController({ shape, maxDepth: drafter.maxDepth, budgets: candidateBudgets(drafter.maxDepth, shape), ...overrides });
}
/** The n-gram assist generateSpeculative makes for `ngramAssist: true`: chains of the candidate
 *  budgets up to ASSIST_DEPTH. A caller that serves many requests keeps one, as it keeps its controller. */
export function createNgramAssist(drafter: Pick<Drafter, "maxDepth">, prices?: StepPrices): NgramAssist {
  return new NgramAssist(candidateBudgets(Math.min(ASSIST_DEPTH, drafter.maxDepth)), prices);
}
const EMPTY = new Int32Array(0);

export interface SpecOptions extends GenerateOptions {
  /** "tree" for top-K drafters (DDTree budgets), "chain" otherwise; picks the controller's budgets */
  shape?: "chain" | "tree";
  /** drafted nodes verified per step: the chain depth for one-candidate drafters, the DDTree node
   *  budget for top-K drafters; default the drafter's maximum depth; 0 = plain AR; "auto" = chosen
   *  per step by the adaptive controller (plain AR included) */
  budget?: number | "auto";
  /** with budget "auto": the controller to use and keep learning in (made by createSpecController
   *  for the same drafter and shape); default a fresh one for this request */
  controller?: SpecController;
  /** with budget "auto" and no controller given: the step prices the fresh controller starts from
   *  (Runtime.prices) */
  prices?: StepPrices;
  /** with budget "auto" and a model drafter: the n-gram lookup verifies repeated spans under a
   *  controller of its own (ngram-assist.ts); true = a fresh assist for this request, or one kept
   *  across requests (createNgramAssist) */
  ngramAssist?: boolean | NgramAssist;
}

export type SpecResult = GenerateResult & { spec: SpecStats };
export { draftedTokens, type SpecStats };

/** Whether the drafter follows the target during a plain step (see ControllerOptions.unfollow). */
function arFollow(drafter: Drafter, controller: SpecController | undefined): boolean {
  return !drafter.follow || !controller?.unfollow || controller.stepsToProbe() < FOLLOW_AHEAD;
}

export async function* generateSpeculative(target: Context, drafter: Drafter, prompt: ArrayLike<number>, opts: SpecOptions = {}): AsyncGenerator<GenerateEvent, SpecResult> {
  const maxTokens = opts.maxTokens ?? 256;
  const shape = opts.shape ?? "chain";
  const controller = opts.budget === "auto" ? (opts.controller ?? createSpecController(drafter, shape, opts.prices ? { prices: opts.prices } : {})) : undefined;
  if (controller && (controller.shape !== shape || controller.maxDepth !== drafter.maxDepth)) {
    throw new UserError(`the given controller was made for ${controller.shape}s of depth ${controller.maxDepth}, not ${shape}s of depth ${drafter.maxDepth}`);
  }
  // the largest budget any step may use (buffers are sized for it)
  const budget = controller ? (opts.shape === "tree" ? TREE_BUDGETS[TREE_BUDGETS.length - 1] : drafter.maxDepth) : ((opts.budget as number | undefined) ?? drafter.maxDepth);
  if (!Number.isInteger(budget) || budget < 0 || budget > MAX_BUDGET) {
    throw new UserError(`budget must be an integer in [0, ${MAX_BUDGET}] or "auto", got ${opts.budget}`);
  }
  if (opts.ngramAssist && (!controller || drafter.name === "ngram")) throw new UserError("the n-gram assist needs budget \"auto\" and a model drafter");
  const assist = opts.ngramAssist === true ? createNgramAssist(drafter, opts.prices) : opts.ngramAssist || undefined;
  if (assist && assist.maxDepth > Math.min(budget, drafter.maxDepth)) throw new UserError(`the n-gram assist was made for chains of ${assist.maxDepth}, longer than this drafter's ${Math.min(budget, drafter.maxDepth)}`);
  const sampler = prepareSampler(target, prompt, opts);
  const recurrent = target.model.info.isHybrid || target.model.info.isRecurrent;
  if (recurrent && target.native.nRsSeq < Math.min(budget, drafter.maxDepth)) {
    throw new UserError(`${target.model.info.architecture} has recurrent layers: a chain of ${Math.min(budget, drafter.maxDepth)} needs a context with at least that many rollback snapshots (rsSeq)`);
  }
  const out = new TokenEmitter(target.model.vocab, { ...opts, maxTokens });
  // greedy verify on the device: each row's argmax is read, no logits are copied back
  const onDevice = target.deviceGreedy;
  const nv = target.nVocab;
  const time = { draft: 0, verify: 0, bookkeeping: 0, sampling: 0, other: 0 };
  const acceptedPerDepth = new Array<number>(Math.min(budget, drafter.maxDepth)).fill(0);

  const reuse = opts.reuse ?? 0;
  target.truncate(0, reuse);
  const kvValid = opts.keep ? checkKeep(prompt.length, opts.keep, reuse) : prompt.length;
  // after a compressed prefill (opts.keep) the drafter starts empty and sees the kept tokens only, at
  // consecutive positions ending at prompt.length - 1 (libllama's batches need consecutive positions)
  drafter.rewind(opts.keep ? 0 : reuse, prompt);
  const t0 = performance.now();
  // a measurement-only drafter's simulation so far (the oracle re-deriving its script): not drafting
  const simulatedNow = () => drafter.simulatedMs ?? 0;
  const simulated0 = simulatedNow();
  const b = target.batch;
  if (opts.keep) {
    const skipped = prompt.length - reuse - opts.keep.filter((k) => k >= reuse).length;
    prefillKept(target, prompt, opts.keep, reuse, 0, (tokens, pos0) => drafter.onPrefill(tokens, pos0 + skipped));
  }
  // prefill in batch-sized chunks, injecting each chunk's features into the drafter
  for (let off = reuse; !opts.keep && off < prompt.length; off += target.nBatch) {
    const end = Math.min(prompt.length, off + target.nBatch);
    b.clear();
    for (let k = off; k < end; k++) b.add(prompt[k], k, 0, k === prompt.length - 1);
    target.decode(b);
    drafter.onPrefill(prompt.length === end - off ? prompt : Array.prototype.slice.call(prompt, off, end), off);
  }
  let rows = target.logits();
  const tPrompt = performance.now();
  controller?.startRequest();
  controller?.shapeChanged();
  assist?.start(prompt);

  let done = false;
  const pending: GenerateEvent[] = [];
  // emits one target token; returns false when generation ends with it (`end`: out.ends(token), when
  // the caller already asked: each ask is an FFI call)
  const emit = (token: number, end = out.ends(token)): boolean => {
    const r = out.push(token, end);
    if (r.event) pending.push(r.event);
    return r.more;
  };

  let ts = performance.now();
  let last = onDevice ? target.sampledToken(-1) : sampler.sample(rows);
  sampler.accept(last);
  assist?.push(last);
  time.sampling += performance.now() - ts;
  const tFirst = performance.now();
  done = maxTokens === 0 || !emit(last);
  let pos = prompt.length;
  let steps = 0;
  let emittedInSteps = 0;
  const builder = new DDTreeBuilder(Math.max(1, budget));
  const planner = new TreeBatchPlanner(Math.max(1, budget));
  const acceptor = new TreeAcceptor(drafter.maxDepth);
  // observations of a chain one longer than the verified one (see the bonus token below)
  const observed = new DDTreeBuilder(drafter.maxDepth + 1);
  const chainPath = Int32Array.from({ length: drafter.maxDepth + 1 }, (_, i) => i);
  // row 0 carries every path's seq: a tree batch needs as many seq slots as it has leaves
  const vb = new Batch(budget + 1, Math.min(budget + 1, planner.maxPaths));
  const committedRows = new Int32Array(drafter.maxDepth + 1);
  const committedTokens = new Int32Array(drafter.maxDepth + 1);
  const committedRoot = committedTokens.subarray(0, 1);
  const mem = target.native;
  // Batch order: the root, then the greedy chain (path 0, the committed sequence), then the other
  // nodes in plan order. KV cells are taken in batch order, so every row attends to cells in position
  // order, and when a prefix of the chain is accepted (the common case) every freed cell lies after
  // the kept ones: the cache stays ordered by position (see the relayout below for why that matters).
  // planRowAt[k] is the plan row in batch row k.
  const planRowAt = new Int32Array(budget + 1);
  const batchRowOf = new Int32Array(budget + 1);
  const logitsOfRow = (r: number) => {
    const k = batchRowOf[r];
    return rows.subarray(k * nv, (k + 1) * nv);
  };
  const deviceToken = (r: number) => target.sampledToken(batchRowOf[r]);
  let treeMode = false;
  let relayouts = 0;
  let arSteps = 0;
  let unfollowedSteps = 0;
  let shadowProbes = 0;
  const shadow = new ShadowProbe(drafter.maxDepth);
  // the wait of the plain step in flight includes a shadow draft: not a plain step's cost
  let shadowInWait = false;
  // A verify step's cost is its whole wall time less the drafting, from the top of the loop to the
  // next top (bookkeeping and the consumer's share included, as a plain step's token-to-token time
  // includes them), handed to the controller when the next step starts: rows > 0 until then
  let verifyRows = 0;
  let verifyStart = 0;
  let verifyDraftMs = 0;
  let verifyAssisted = false;
  // Row counts of the target's forwards: on ggml-cuda a context keeps one captured CUDA graph, so the
  // first forward at a new row count runs uncaptured and the second captures it again
  let lastRows = 0;
  let shapeChanges = 0;
  const forward = (nRows: number): void => {
    if (nRows !== lastRows) shapeChanges++;
    lastRows = nRows;
  };
  const verifiedByNodes = new Int32Array(budget + 1);
  const observeShadow: ObserveAcceptance = (tree, accepted, path) => controller!.observeAcceptance(tree, accepted, path);
  // a shadow probe: the drafter proposes after `tok` at `at` (the plain decode of `tok` at `at`
  // comes next or is in flight), and the plain tokens from at + 1 on score the proposal. A drafter
  // that can (launchProposal) drafts while the plain steps go on: its proposal is taken when the
  // next plain token is in (takeShadow), before that token scores it. Such a draft's time is the
  // host's share, not what a draft on the critical path costs, so the controller is not told it:
  // while it knows no catch-up draft's cost (no load-time prices), shadows draft in line and price it.
  let shadowRoom = 0;
  let shadowInFlight = false;
  const shadowMs = { launch: 0, take: 0 };
  const asyncShadow = drafter.launchProposal !== undefined && drafter.takeProposal !== undefined;
  const draftShadow = (tok: number, at: number): number => {
    const t0 = performance.now();
    drafter.follow?.(true);
    shadowRoom = Math.max(1, target.nCtx - 1 - at);
    shadowProbes++;
    if (asyncShadow && controller!.tCatchUpDraft.known) {
      drafter.launchProposal!(tok, at, Math.min(drafter.maxDepth, shadowRoom));
      shadowInFlight = true;
      // the drafter's forward shares the device with this plain step
      shadowInWait = true;
      const ms = performance.now() - t0;
      time.draft += ms;
      shadowMs.launch += ms;
      return ms;
    }
    const sim = simulatedNow();
    const proposal = drafter.propose(tok, at, Math.min(drafter.maxDepth, shadowRoom));
    const ms = performance.now() - t0;
    time.draft += ms;
    const drafted = ms - (simulatedNow() - sim);
    shadowMs.launch += drafted;
    controller!.observeDraft(drafted, false);
    startShadow(proposal);
    return ms;
  };
  const startShadow = (proposal: DraftProposal): void => {
    const depth = Math.min(controller!.shadowDepth, budget);
    const tree = builder.buildFrom(proposal, depth);
    if (proposal.k === 1) controller!.observeProposalLength(Math.min(depth, shadowRoom), tree.size);
    controller!.observeProposal(tree);
    shadow.start(tree);
  };
  const takeShadow = (): number => {
    const t0 = performance.now();
    shadowInFlight = false;
    startShadow(drafter.takeProposal!());
    const ms = performance.now() - t0;
    time.draft += ms;
    shadowMs.take += ms;
    return ms;
  };
  // a plan whose scratch sequences are in the cache until its commit runs
  let openPlan: TreeBatchPlan | undefined;
  // A plain step that follows a plain step is launched before the token that decided it is handed
  // out (as generate() does), so that detokenizing and the drafter's copy overlap the device:
  // `launched` says the target already decodes `last` at `pos`, with the budget and following
  // that were chosen for that step; tToken is when the previous token arrived
  let launched = false;
  // the next step's budget when a plain step already asked the controller (chosen)
  let chosen = false;
  let nextBudget = 0;
  let nextFollow = true;
  let tToken = 0;
  // whether the step about to run verifies the n-gram assist's chain (assist.tree), not a draft
  let assisted = false;
  // a step's budget: the assist's lookup first (microseconds), then the controller
  const decide = (room: number): number => {
    assisted = false;
    if (shadow.active) return AR;
    const n = assist?.decide(room) ?? 0;
    assisted = n > 0;
    if (assisted) return n;
    return controller ? controller.choose() : budget;
  };
  try {
      while (!done) {
      // (an index loop: splice(0) would allocate an array per step)
      for (let i = 0; i < pending.length; i++) yield pending[i];
      pending.length = 0;
      const turn = eventLoop.turn();
      if (turn) await turn;
      if (opts.signal?.aborted) {
        out.stopReason = "abort";
        break;
      }
      const room = target.nCtx - 1 - pos;
      if (room < 0) break;
      ts = performance.now();
      // (a step verified nodes exactly when it left verifyRows set)
      const afterVerify = verifyRows > 0;
      if (afterVerify) {
        controller?.observeVerify(verifyRows, ts - verifyStart - verifyDraftMs);
        // the assist learns from its own chains' verifies only: the model drafter's first verifies
        // run at new shapes (one-off costs on a CPU without prices) and would rate every chain dear
        if (verifyAssisted) assist!.controller.observeVerify(verifyRows, ts - verifyStart - verifyDraftMs);
        else assist?.controller.noteForward(verifyRows);
        verifyRows = 0;
      }
      let stepBudget = chosen ? nextBudget : decide(room);
      if (!chosen && !assisted && stepBudget !== AR && controller?.shadowProbe) {
        draftShadow(last, pos);
        stepBudget = AR;
      }
      chosen = false;
      if (stepBudget === AR) {
        // plain decoding, as cheap as generate(): one token, no planner, no draft; with
        // controller.unfollow the drafter follows only the last FOLLOW_AHEAD steps before a probe
        arSteps++;
        const follow = launched ? nextFollow : arFollow(drafter, controller);
        if (!launched) drafter.follow?.(follow);
        if (!follow) unfollowedSteps++;
        if (!launched) forward(1);
        const t2 = performance.now();
        if (!launched) target.launch(last, pos);
        rows = target.logits(); // the host waits here; with device sampling in sampledToken
        const t3 = performance.now();
        const tok = onDevice ? target.sampledToken(-1) : sampler.sample(rows);
        sampler.accept(tok);
        const t4 = performance.now();
        time.verify += t3 - t2;
        time.sampling += t4 - t3;
        // a plain token's wall time: since the previous token when this decode was launched then,
        // else this launch and wait (the host sampler's own time left out, as for a verify)
        if (!shadowInWait) {
          const ms = launched ? t4 - tToken : onDevice ? t4 - t2 : t3 - t2;
          controller?.observeAr(ms);
          assist?.controller.observeAr(ms);
        }
        shadowInWait = false;
        tToken = t4;
        let aside = 0;
        if (shadowInFlight) {
          // before this token scores the draft (and before onCommit reads this decode's features);
          // the wait for it is no plain step's cost either
          aside = takeShadow();
          shadowInWait = true;
        }
        launched = false;
        steps++;
        emittedInSteps++;
        if (follow) {
          // before the next decode: it reads this decode's captured layer inputs
          committedTokens[0] = last;
          committedRows[0] = 0;
          drafter.onCommit(committedRoot, pos, committedRows, 1);
        }
        shadow.feed(tok, observeShadow);
        assist?.push(tok);
        // time accounted elsewhere: a shadow draft's take, the next launch (verify), a shadow draft
        const end = out.ends(tok);
        if (!end && out.tokens.length + 1 < maxTokens && pos + 1 < target.nCtx) {
          nextBudget = decide(target.nCtx - 2 - pos);
          chosen = true;
          const probe = !assisted && nextBudget !== AR && controller !== undefined && controller.shadowProbe;
          if (nextBudget === AR || probe) {
            nextFollow = probe || arFollow(drafter, controller);
            drafter.follow?.(nextFollow);
            const t5 = performance.now();
            forward(1);
            target.launch(tok, pos + 1);
            aside = performance.now() - t5;
            time.verify += aside;
            launched = true;
            // the drafter works while the target decodes (its own context: on a GPU its own stream)
            if (probe) {
              aside += draftShadow(tok, pos + 1);
              shadowInWait = true;
              nextBudget = AR;
            }
          }
        }
        // a stop string may still end generation here with the next decode launched: the cache then
        // holds one token more, which the truncate after the loop drops
        if (!emit(tok, end)) break;
        last = tok;
        pos++;
        time.bookkeeping += performance.now() - t4 - aside;
        continue;
      }
      // an assisted step verifies the lookup's chain; the drafter follows as through a plain step
      const follow = !assisted || arFollow(drafter, controller);
      drafter.follow?.(follow);
      const sim = simulatedNow();
      const proposal = !assisted && stepBudget > 0 && room > 0 ? drafter.propose(last, pos, Math.min(drafter.maxDepth, room)) : undefined;
      const t1 = performance.now();
      const draftMs = assisted ? assist!.lookupMs : t1 - ts - (simulatedNow() - sim);
      time.draft += t1 - ts;
      // a chain is the tree of a one-candidate proposal; more candidates make a DDTree
      const tree = assisted ? assist!.tree! : proposal ? builder.buildFrom(proposal, Math.min(stepBudget, budget)) : builder.buildChain(EMPTY, 0);
      while (tree.size > 0 && tree.maxDepth > room) tree.truncate(tree.size - 1);
      if (controller && proposal && proposal.k === 1) controller.observeProposalLength(Math.min(stepBudget, budget, room), tree.size);
      if ((proposal?.k ?? 1) > 1 && !treeMode) {
        // llama.cpp's CPU flash attention gives wrong logits on larger tree batches (budget 64 on the
        // trained pair: a token off by a top-2 gap of 0.03) even with the cache kept in order, while
        // the plain attention path is exact. Until that is understood per backend, trees need it off.
        if (recurrent) throw new UserError(`${target.model.info.architecture} has recurrent layers: tree verify needs an attention-only target`);
        if (target.flashAttn !== "off") throw new UserError("DDTree verify needs the target context made with flash attention off (--flash-attn off)");
        if (!target.kvUnified) throw new UserError("DDTree verify needs the target context made with a unified KV cache (a sequence per branch)");
        treeMode = true;
      }
      const plan = planner.plan(tree, last, pos);
      if (onDevice && plan.nPaths > 1) throw new UserError("device greedy verify supports chains only (one path)");
      plan.prepareOps.run(mem);
      openPlan = plan;
      let k = 0;
      planRowAt[k++] = 0;
      for (let r = 1; r < plan.nRows; r++) if (plan.primarySeq(r) === plan.committedSeq) planRowAt[k++] = r;
      for (let r = 1; r < plan.nRows; r++) if (plan.primarySeq(r) !== plan.committedSeq) planRowAt[k++] = r;
      vb.clear();
      for (k = 0; k < plan.nRows; k++) {
        const r = planRowAt[k];
        batchRowOf[r] = k;
        vb.addSeqRange(plan.token[r], plan.pos[r], plan.seqIds, plan.seqStart[r], plan.seqCount(r), true);
      }
      const t2 = performance.now();
      time.bookkeeping += t2 - t1;
      forward(plan.nRows);
      if (controller && (proposal || assisted)) {
        verifyRows = plan.nRows;
        verifyAssisted = assisted;
        verifyStart = ts;
        verifyDraftMs = t1 - ts;
      }
      verifiedByNodes[tree.size]++;
      target.decode(vb);
      rows = onDevice ? rows : target.logits();
      const t3 = performance.now();
      time.verify += t3 - t2;
      // the target's own choice at each visited row decides the path
      if (onDevice) acceptor.accept(tree, deviceToken);
      else if (sampler.isPlainGreedy) acceptor.acceptGreedy(tree, logitsOfRow);
      else acceptor.acceptSampled(tree, sampler, logitsOfRow);
      const accepted = acceptor.accepted;
      const t4 = performance.now();
      time.sampling += t4 - t3;
      const stepProposal = assisted ? assist!.proposal : proposal;
      const sc = assisted ? assist!.controller : controller;
      if (sc && stepProposal) {
        sc.observeDraft(draftMs, afterVerify);
        // a chain accepted whole: the bonus token says whether the draft's next token, drafted but
        // not verified, would have been accepted too, so the controller learns the depth past its
        // budget without trying it (the same event a longer verify would have seen)
        if (stepProposal.k === 1 && accepted === tree.size && tree.size === tree.maxDepth && accepted < stepProposal.depth && accepted < sc.maxDepth) {
          const longer = observed.buildChain(stepProposal.ids, accepted + 1, stepProposal.logp);
          const hit = longer.size === accepted + 1 && acceptor.bonus === stepProposal.ids[accepted];
          sc.observeAcceptance(longer, hit ? accepted + 1 : accepted, chainPath);
        } else sc.observeAcceptance(tree, accepted, acceptor.path);
      }
      // a drafted token counts as accepted once it is emitted and generation goes on past it (the
      // way llama.cpp counts), so the last step of a request counts only what it used
      let used = 0;
      for (let i = 0; i <= accepted; i++) {
        if (!emit(acceptor.tokens[i])) {
          done = true;
          break;
        }
        if (i < accepted) acceptedPerDepth[used++]++;
      }
      steps++;
      emittedInSteps += used + 1;
      if (assisted) {
        assist!.stats.steps++;
        assist!.stats.tokens += used + 1;
      }
      if (done) break;
      if (assist) for (let i = 0; i <= accepted; i++) assist.push(acceptor.tokens[i]);
      // keep root + accepted nodes in the committed sequence; the bonus token is the next root
      committedRows[0] = 0;
      committedTokens[0] = last;
      let offChain = false;
      for (let j = 0; j < accepted; j++) {
        const r = acceptor.path[j] + 1;
        committedRows[j + 1] = batchRowOf[r];
        committedTokens[j + 1] = tree.token[acceptor.path[j]];
        offChain ||= plan.primarySeq(r) !== plan.committedSeq;
      }
      // the drafter reads the verify's layer inputs, so it goes before any re-decode below
      if (follow) drafter.onCommit(committedTokens.subarray(0, accepted + 1), pos, committedRows, plan.nRows);
      plan.commit(acceptor.path, accepted, tree).run(mem);
      openPlan = undefined;
      if (offChain) {
        // The accepted path left the greedy chain, so its cells sit after freed cells of the chain, and
        // the next tokens would fill those holes at lower cell indices than older positions. llama.cpp
        // (de3ff81) computes wrong attention over a sequence whose cells are out of position order:
        // with flash attention always, without it in some layouts (reproduced on the trained pair:
        // logits off by 0.06-0.09 although every cell's K/V equals a plain prefill's). So the
        // accepted nodes are decoded again in order right behind the root, which keeps the cache
        // ordered. One small extra forward on such steps; counted in spec.relayouts.
        target.truncate(0, pos + 1);
        vb.clear();
        for (let j = 1; j <= accepted; j++) vb.add(committedTokens[j], pos + j, 0, false);
        forward(accepted);
        target.decode(vb);
        controller?.shapeChanged();
        assist?.controller.shapeChanged();
        relayouts++;
      }
      last = acceptor.bonus;
      pos += accepted + 1;
      time.bookkeeping += performance.now() - t4;
    }
  } finally {
    shadow.cancel();
    assist?.finish();
    // a request that ended inside a step leaves its tree's scratch sequences behind: drop them
    if (openPlan) for (let p = 1; p < openPlan.nPaths; p++) mem.seqRm(openPlan.pathSeq[p], -1, -1);
    vb.free();
  }
  // positions < pos are committed in the target and known to the drafter; a step cut short by the
  // end of generation may have left unverified draft cells after them
  target.truncate(0, kvValid < prompt.length ? kvValid : pos);
  for (let i = 0; i < pending.length; i++) yield pending[i];
  pending.length = 0;
  const tail = out.finish();
  if (tail) yield tail;
  const tLast = performance.now();
  // a measurement-only drafter's simulation work (the oracle re-deriving its script) is not drafting
  const simulatedMs = simulatedNow() - simulated0;
  time.draft = Math.max(0, time.draft - simulatedMs);
  const decodeMs = tLast - tFirst - simulatedMs;
  time.other = Math.max(0, decodeMs - time.draft - time.verify - time.bookkeeping - time.sampling);
  const tokens = out.tokens;
  return {
    text: out.text,
    tokens,
    promptTokens: prompt.length,
    stopReason: out.stopReason,
    stopSequence: out.stopSequence,
    promptMs: tPrompt - t0,
    decodeMs,
    tokensPerSecond: tokens.length > 1 && decodeMs > 0 ? ((tokens.length - 1) * 1000) / decodeMs : 0,
    split: { decodeCallsMs: time.verify + time.draft, samplingMs: time.sampling },
    kvTokens: kvValid < prompt.length ? kvValid : pos,
    spec: {
      drafter: drafter.name,
      mode: treeMode ? "tree" : "chain",
      budget,
      steps,
      meanAcceptedLength: steps > 0 ? emittedInSteps / steps : 0,
      acceptedPerDepth,
      relayouts,
      budgetMode: controller ? "auto" : "fixed",
      arSteps,
      unfollowedSteps,
      shadowMs,
      shadowProbes,
      verifiedByNodes: sparseCounts(verifiedByNodes),
      shapeChanges,
      ...(controller ? { controller: controller.snapshot() } : {}),
      ...(assist ? { ngramAssist: { ...assist.stats, controller: assist.controller.snapshot() } } : {}),
      ...(simulatedMs > 0 ? { simulatedMs } : {}),
      timeMs: time,
    },
  };
}
