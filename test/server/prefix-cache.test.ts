// The prefix cache's pure decisions: common prefixes, the host slot LRU and its bounds, and when
// the live sequence is saved or swapped for a slot.
import { describe, expect, it } from "vitest";
import { commonPrefix, planPrefix, SlotStore, type PrefixInputs } from "../../src/server/prefix-cache.js";

const seq = (...xs: number[]) => Int32Array.from(xs);
const range = (n: number, from = 0) => Int32Array.from({ length: n }, (_, i) => from + i);

describe("commonPrefix", () => {
  it("stops at the first difference and at either end", () => {
    expect(commonPrefix(seq(1, 2, 3), 3, [1, 2, 4])).toBe(2);
    expect(commonPrefix(seq(1, 2, 3), 3, [1, 2, 3, 4])).toBe(3);
    expect(commonPrefix(seq(1, 2, 3), 2, [1, 2, 3])).toBe(2);
    expect(commonPrefix(seq(), 0, [1])).toBe(0);
    expect(commonPrefix(seq(5), 1, [1])).toBe(0);
  });
});

describe("SlotStore", () => {
  it("finds the slot sharing the longest prefix", () => {
    const s = new SlotStore<string>({ maxSlots: 4, maxBytes: 1e9 });
    s.put(seq(1, 2, 3, 4), "a", 10, 4);
    s.put(seq(1, 2, 9, 9, 9), "b", 10, 5);
    expect(s.best([1, 2, 3, 7])!.slot.state).toBe("a");
    expect(s.best([1, 2, 9, 9])!.common).toBe(4);
    expect(s.best([7])).toBeUndefined();
  });

  it("evicts the least recently stored slot by count and by bytes", () => {
    const s = new SlotStore<string>({ maxSlots: 2, maxBytes: 100 });
    s.put(seq(1), "a", 10, 1);
    s.put(seq(2), "b", 10, 1);
    expect(s.put(seq(3), "c", 10, 1)).toBe(1);
    expect(s.best([1])).toBeUndefined();
    expect(s.size).toBe(2);
    // bytes: c (10) + d (95) > 100, so b and c go
    expect(s.put(seq(4), "d", 95, 1)).toBe(2);
    expect(s.size).toBe(1);
    expect(s.bytes).toBe(95);
    // a state larger than the whole bound is never kept
    expect(s.accepts(101)).toBe(false);
    expect(s.put(seq(5), "e", 101, 1)).toBe(0);
    expect(s.best([5])).toBeUndefined();
  });

  it("drops slots the new history supersedes (its own earlier turns)", () => {
    const s = new SlotStore<string>({ maxSlots: 4, maxBytes: 1e9 });
    s.put(seq(1, 2), "turn1", 10, 2);
    s.put(seq(7, 8), "other", 10, 2);
    s.put(seq(1, 2, 3, 4), "turn2", 20, 4);
    expect(s.size).toBe(2);
    expect(s.best([1, 2])!.slot.state).toBe("turn2");
    s.take(s.best([1])!.slot);
    expect(s.size).toBe(1);
    expect(s.bytes).toBe(10);
  });

  it("keeps nothing with zero slots", () => {
    const s = new SlotStore<string>({ maxSlots: 0, maxBytes: 1e9 });
    s.put(seq(1), "a", 1, 1);
    expect(s.size).toBe(0);
  });
});

describe("planPrefix", () => {
  const base = (o: Partial<PrefixInputs>): PrefixInputs => ({
    live: range(200),
    liveLength: 200,
    liveDrafter: Infinity,
    prompt: range(250),
    speculative: true,
    minRestoreGain: 16,
    minSaveTokens: 64,
    slotsEnabled: true,
    partialReuse: true,
    ...o,
  });

  it("reuses the live prefix of a continued conversation and saves nothing", () => {
    expect(planPrefix(base({}))).toEqual({ restore: false, save: false, reuse: 200 });
  });

  it("always leaves the last prompt token to decode", () => {
    expect(planPrefix(base({ prompt: range(200) })).reuse).toBe(199);
    expect(planPrefix(base({ prompt: range(1) })).reuse).toBe(0);
  });

  it("saves the live history before a different conversation overwrites it", () => {
    const p = planPrefix(base({ prompt: range(300, 1000) }));
    expect(p).toEqual({ restore: false, save: true, reuse: 0 });
    // too little to lose: not worth a copy
    expect(planPrefix(base({ live: range(50), liveLength: 50, prompt: range(300, 1000) })).save).toBe(false);
    expect(planPrefix(base({ prompt: range(300, 1000), slotsEnabled: false })).save).toBe(false);
  });

  it("restores a slot that shares clearly more than the live sequence", () => {
    const prompt = range(300, 1000);
    expect(planPrefix(base({ prompt, slot: { common: 280, length: 330, drafterTokens: Infinity } }))).toEqual({ restore: true, save: true, reuse: 280 });
    // a gain below the threshold keeps the live sequence
    const live = Int32Array.from([...range(270, 1000)]);
    expect(planPrefix(base({ live, liveLength: 270, prompt, slot: { common: 280, length: 330, drafterTokens: Infinity } })).restore).toBe(false);
  });

  it("caps reuse at what a stateful drafter holds when the request speculates", () => {
    expect(planPrefix(base({ liveDrafter: 120 })).reuse).toBe(120);
    expect(planPrefix(base({ liveDrafter: 120, speculative: false })).reuse).toBe(200);
    const prompt = range(300, 1000);
    expect(planPrefix(base({ prompt, slot: { common: 280, length: 330, drafterTokens: 100 } })).reuse).toBe(100);
  });

  it("reuses only whole histories on recurrent targets", () => {
    // the prompt extends the live history: all of it is reusable
    expect(planPrefix(base({ partialReuse: false })).reuse).toBe(200);
    // an edit inside the history: recurrent state cannot be cut there
    const edited = Int32Array.from([...range(150), ...range(100, 5000)]);
    expect(planPrefix(base({ partialReuse: false, prompt: edited })).reuse).toBe(0);
    expect(planPrefix(base({ partialReuse: true, prompt: edited })).reuse).toBe(150);
    // a slot whose history the prompt extends wins over a live sequence that cannot be cut
    const prompt = Int32Array.from([...range(300, 1000), 7]);
    expect(planPrefix(base({ partialReuse: false, prompt, slot: { common: 300, length: 300, drafterTokens: Infinity } }))).toMatchObject({ restore: true, reuse: 300 });
    expect(planPrefix(base({ partialReuse: false, prompt, slot: { common: 280, length: 330, drafterTokens: Infinity } })).restore).toBe(false);
  });
});
