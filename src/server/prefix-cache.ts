// The prefix cache's decisions, kept free of native calls so they are unit-tested without a model.
// The target context's sequence 0 holds the KV of one token history (the last request's prompt and
// output); host slots hold serialized copies of a few earlier histories, so an agent that alternates
// conversations gets each one's prefix back without a prefill. The service does the native work.

/** Length of the longest common prefix of a[0, aLen) and b. */
export function commonPrefix(a: ArrayLike<number>, aLen: number, b: ArrayLike<number>): number {
  const n = Math.min(aLen, a.length, b.length);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}

/** One history saved in host memory. */
export interface HostSlot<S> {
  /** the history whose KV the state holds: exactly these tokens, positions 0.. */
  tokens: Int32Array;
  /** serialized state (target, and the drafter's when it has one) */
  state: S;
  bytes: number;
  /** the drafter's part of the state covers positions [0, drafterTokens) */
  drafterTokens: number;
  lastUsed: number;
}

export interface SlotStoreOptions {
  /** most slots kept (0 = no host slots) */
  maxSlots: number;
  /** most bytes all slots may hold together */
  maxBytes: number;
}

/** LRU set of host slots bounded by count and bytes. */
export class SlotStore<S> {
  private readonly slots: HostSlot<S>[] = [];
  private clock = 0;
  private totalBytes = 0;

  constructor(private readonly o: SlotStoreOptions) {}

  get size(): number {
    return this.slots.length;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /** The slot sharing the longest prefix with `prompt`, and that length (undefined when none shares any). */
  best(prompt: ArrayLike<number>): { slot: HostSlot<S>; common: number } | undefined {
    let best: { slot: HostSlot<S>; common: number } | undefined;
    for (const slot of this.slots) {
      const common = commonPrefix(slot.tokens, slot.tokens.length, prompt);
      if (common > 0 && (!best || common > best.common)) best = { slot, common };
    }
    return best;
  }

  /** Removes a slot (it is being restored into the live sequence, which supersedes it). */
  take(slot: HostSlot<S>): void {
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    this.totalBytes -= slot.bytes;
  }

  /** Would a history of `tokens` be kept? False when slots are off or it exceeds the byte bound alone. */
  accepts(bytesEstimate: number): boolean {
    return this.o.maxSlots > 0 && bytesEstimate <= this.o.maxBytes;
  }

  /** Stores a history, dropping slots it supersedes (its own prefixes) and then the least recently
   *  used ones until both bounds hold. Returns the slots evicted for room (not the superseded). */
  put(tokens: Int32Array, state: S, bytes: number, drafterTokens: number): number {
    if (!this.accepts(bytes)) return 0;
    for (let i = this.slots.length - 1; i >= 0; i--) {
      const s = this.slots[i];
      if (s.tokens.length <= tokens.length && commonPrefix(s.tokens, s.tokens.length, tokens) === s.tokens.length) {
        this.slots.splice(i, 1);
        this.totalBytes -= s.bytes;
      }
    }
    let evicted = 0;
    while (this.slots.length > 0 && (this.slots.length >= this.o.maxSlots || this.totalBytes + bytes > this.o.maxBytes)) {
      let lru = 0;
      for (let i = 1; i < this.slots.length; i++) if (this.slots[i].lastUsed < this.slots[lru].lastUsed) lru = i;
      this.totalBytes -= this.slots[lru].bytes;
      this.slots.splice(lru, 1);
      evicted++;
    }
    this.slots.push({ tokens, state, bytes, drafterTokens, lastUsed: ++this.clock });
    this.totalBytes += bytes;
    return evicted;
  }

  clear(): void {
    this.slots.length = 0;
    this.totalBytes = 0;
  }
}

/** What the service does with the caches before a request (see planPrefix). */
export interface PrefixPlan {
  /** restore the best host slot into sequence 0 first */
  restore: boolean;
  /** save sequence 0's history to a host slot before it is overwritten */
  save: boolean;
  /** prompt tokens whose KV is reused (generate's `reuse`) */
  reuse: number;
}

export interface PrefixInputs {
  /** tokens of the history in sequence 0 (its KV covers all of them) */
  live: ArrayLike<number>;
  liveLength: number;
  /** positions [0, liveDrafter) of the live history are in the drafter's state (Infinity: stateless drafter) */
  liveDrafter: number;
  prompt: ArrayLike<number>;
  /** the best host slot for this prompt, if any: its shared length, history length and drafter coverage */
  slot?: { common: number; length: number; drafterTokens: number };
  /** false for recurrent targets: their state cannot drop a tail, so only a whole history is reusable */
  partialReuse: boolean;
  /** the request speculates with a drafter whose state must cover the reused prefix */
  speculative: boolean;
  /** a saved slot is restored only when it shares at least this many more tokens than sequence 0 */
  minRestoreGain: number;
  /** sequence 0's history is saved only when at least this many of its tokens would be lost */
  minSaveTokens: number;
  slotsEnabled: boolean;
}

/** Picks the reuse length and whether to swap sequence 0 with a host slot. */
export function planPrefix(i: PrefixInputs): PrefixPlan {
  const liveCommon = commonPrefix(i.live, i.liveLength, i.prompt);
  const usable = (common: number, length: number, drafter: number) => {
    if (!i.partialReuse && common < length) return 0;
    return Math.min(common, i.prompt.length - 1, i.speculative ? drafter : Infinity);
  };
  let reuse = usable(liveCommon, i.liveLength, i.liveDrafter);
  let restore = false;
  let kept = liveCommon;
  if (i.slot && i.slotsEnabled) {
    const fromSlot = usable(i.slot.common, i.slot.length, i.slot.drafterTokens);
    if (fromSlot >= reuse + i.minRestoreGain) {
      restore = true;
      reuse = fromSlot;
      // the live history is replaced whole
      kept = 0;
    }
  }
  const lost = i.liveLength - kept;
  const save = i.slotsEnabled && lost >= i.minSaveTokens && i.liveLength >= i.minSaveTokens;
  return { restore, save, reuse: Math.max(0, reuse) };
}
