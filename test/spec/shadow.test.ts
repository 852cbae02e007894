import { describe, expect, it } from "vitest";
import { DDTreeBuilder } from "../../src/spec/ddtree.js";
import { ShadowProbe } from "../../src/spec/shadow.js";
import { TreeAcceptor } from "../../src/spec/accept.js";

// A shadow probe must observe what a verify of the same tree would accept when the target's tokens
// at each depth are the ones plain decoding then emits.
describe("ShadowProbe", () => {
  const builder = new DDTreeBuilder(64);
  // 3 positions x top-2: tokens 10/11, 20/21, 30/31 with the first candidate likelier
  const ids = Int32Array.from([10, 11, 20, 21, 30, 31]);
  const logp = Float32Array.from([-0.1, -2.5, -0.2, -1.8, -0.3, -1.5]);

  function observe(emitted: number[], budget: number) {
    const tree = builder.build(ids, logp, 3, 2, budget);
    const probe = new ShadowProbe(8);
    probe.start(tree);
    let fed = 0;
    let obs: { accepted: number; path: number[] } | undefined;
    for (const t of emitted) {
      fed++;
      probe.feed(t, (_, accepted, path) => (obs = { accepted, path: Array.from(path.subarray(0, accepted)) }));
      if (!probe.active) break;
    }
    // the verify of the same tree, with the target choosing `emitted` at every depth
    const acc = new TreeAcceptor(8);
    acc.accept(tree, (row) => emitted[row === 0 ? 0 : tree.depth[row - 1]]);
    return { obs, fed, verified: { accepted: acc.accepted, path: Array.from(acc.path.subarray(0, acc.accepted)) }, active: probe.active };
  }

  it("ends at the first token the tree does not have, and agrees with a verify", () => {
    for (const emitted of [[99, 20, 30], [10, 99, 30], [10, 20, 99], [11, 20, 30], [10, 21, 31], [10, 20, 30, 40]]) {
      for (const budget of [1, 3, 6]) {
        const r = observe(emitted, budget);
        expect(r.obs, JSON.stringify({ emitted, budget })).toEqual(r.verified);
        expect(r.active).toBe(false);
        // it reads no token past the one that decided
        expect(r.fed).toBe(Math.min(emitted.length, r.verified.accepted + (r.verified.accepted < builder.tree.maxDepth ? 1 : 0)));
      }
    }
  });

  it("an empty tree is no probe; cancel() drops a walk without an observation", () => {
    const probe = new ShadowProbe(4);
    let called = false;
    const observe = () => (called = true);
    probe.start(builder.buildChain(new Int32Array(0), 0));
    expect(probe.active).toBe(false);
    probe.feed(1, observe);
    expect(called).toBe(false);
    probe.start(builder.buildChain(Int32Array.from([5, 6]), 2));
    probe.feed(5, observe);
    expect(probe.active).toBe(true);
    probe.cancel();
    expect(probe.active).toBe(false);
    probe.feed(6, observe);
    expect(called).toBe(false);
  });
});
