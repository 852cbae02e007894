// What the speculative loop needs from a drafter. Drafters propose per-position candidates; the
// loop verifies them with the target and tells the drafter which target rows became history.

/** Per-position candidates for the `depth` positions after the last token, best first. */
export interface DraftProposal {
  depth: number;
  k: number;
  /** [depth x k] token ids; -1 marks a missing candidate */
  ids: Int32Array;
  /** [depth x k] log-probabilities under the drafter (0 when the drafter has none) */
  logp: Float32Array;
}

export interface Drafter {
  readonly name: "dflash" | "ngram" | "oracle" | "draft-model";
  /** most positions one proposal covers */
  readonly maxDepth: number;
  /** Forget everything (a new request). */
  reset(): void;
  /** A new request whose first `keep` tokens of `history` are still in the target's cache (prefix
   *  cache): keep what the drafter holds for positions [0, keep), forget the rest. keep = 0 is reset(). */
  rewind(keep: number, history: ArrayLike<number>): void;
  /** The target prefilled prompt tokens [pos0, pos0 + n): rows 0..n-1 of its last decode. */
  onPrefill(tokens: ArrayLike<number>, pos0: number): void;
  /** Candidates for positions pos+1 .. pos+depth after `last` (at `pos`, not yet in the target's cache). */
  propose(last: number, pos: number, depth: number): DraftProposal;
  /** The target kept `tokens` at positions pos0.. ; they are rows `rows` of its last decode of `nRows` rows. */
  onCommit(tokens: ArrayLike<number>, pos0: number, rows: ArrayLike<number>, nRows: number): void;
  /** A host copy of what the drafter holds for the committed history (the server keeps it with the
   *  target's state for an inactive conversation); empty for drafters that rebuild from the history
   *  in rewind(). */
  saveState(): Uint8Array;
  /** Optional: whether the drafter follows the target's decodes (default on). While off the loop
   *  makes no onCommit calls and the drafter's history has a gap; proposals stay valid, only less
   *  informed. For drafters whose following has a cost in every target step (DFlash's copy of the
   *  captured features) during long stretches of plain decoding. reset() and rewind() turn it back on. */
  follow?(on: boolean): void;
  /** Optional: propose() in two halves, for drafts nobody waits on (shadow probes). launchProposal
   *  starts the drafter's forward and returns while the device computes; takeProposal reads the
   *  result (waiting for it if need be). Nothing else may be asked of the drafter in between but
   *  onCommit; any other call first settles the proposal in flight (reads and drops it). */
  launchProposal?(last: number, pos: number, depth: number): void;
  takeProposal?(): DraftProposal;
  /** Optional, measurement-only drafters: total ms spent simulating rather than drafting (the oracle
   *  re-deriving the target's continuation); the loop takes it out of its timings. */
  readonly simulatedMs?: number;
  /** Optional: runs each batch size the drafter's own decodes can take once, from the rows of the
   *  target's last decode (nTargetRows of them), and forgets them (load-time warm-up, warmup.ts). */
  warmInjections?(nTargetRows: number): void;
  /** Takes back a saveState() copy covering positions [0, nTokens); a rewind() follows as usual. */
  restoreState(data: Uint8Array, nTokens: number): void;
  free(): void;
}
