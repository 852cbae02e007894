// CountingDrafter (llama-server's draft_n for flint serve): counts the drafted rows verifies carried,
// and passes a drafter's shadow drafts in flight through uncounted (without them the server's
// shadow probes would draft in line).
import { describe, expect, it } from "vitest";
import type { DraftProposal, Drafter } from "../../src/spec/drafter.js";
import { CountingDrafter } from "../../src/server/counting-drafter.js";

function fakeDrafter(withLaunch: boolean): Drafter & { launched: number; taken: number } {
  const proposal: DraftProposal = { depth: 4, k: 1, ids: Int32Array.from([1, 2, 3, 4]), logp: new Float32Array(4) };
  const d = {
    name: "dflash" as const,
    maxDepth: 4,
    launched: 0,
    taken: 0,
    reset() {},
    rewind() {},
    onPrefill() {},
    propose: () => proposal,
    onCommit() {},
    saveState: () => new Uint8Array(0),
    restoreState() {},
    free() {},
  };
  if (!withLaunch) return d;
  return Object.assign(d, {
    launchProposal() {
      d.launched++;
    },
    takeProposal() {
      d.taken++;
      return proposal;
    },
  });
}

describe("CountingDrafter", () => {
  it("counts verified drafts and passes shadow drafts in flight through uncounted", () => {
    const inner = fakeDrafter(true);
    const c = new CountingDrafter(inner);
    c.begin();
    // a verify of 4 drafted tokens: the commit reports 5 rows (root + 4)
    c.propose(7, 10, 4);
    c.onCommit(Int32Array.from([7, 1, 2]), 10, Int32Array.from([0, 1, 2]), 5);
    // a shadow probe: launched, taken, then plain steps commit one row each
    c.launchProposal!(9, 13, 4);
    expect(c.takeProposal!().depth).toBe(4);
    c.onCommit(Int32Array.from([9]), 13, Int32Array.from([0]), 1);
    expect(inner.launched).toBe(1);
    expect(inner.taken).toBe(1);
    expect(c.end()).toEqual({ drafted: 4 });
  });

  it("has no drafts in flight when its drafter has none", () => {
    const c = new CountingDrafter(fakeDrafter(false));
    expect(c.launchProposal).toBeUndefined();
    expect(c.takeProposal).toBeUndefined();
  });
});
