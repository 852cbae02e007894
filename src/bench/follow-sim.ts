// The adaptive controller against a simulated drafter whose following of the target has a price: a
// plain step costs `follow` ms more while the drafter follows, and the step after it starts or stops
// following costs `toggle` ms more (libllama's graph re-reserve). Drafts are never accepted. For the
// controller's tests and bench/cpu/follow-sim.mjs; defaults are the H200 8B's measured costs.
import { AR, SpecController, type ControllerOptions } from "../spec/controller.js";
import { DDTreeBuilder } from "../spec/ddtree.js";

export interface FollowSimOptions {
  steps: number;
  /** plain step (ms, default 4), its extra cost while following (default 1), a toggle (default 45) */
  tAr?: number;
  follow?: number;
  toggle?: number;
  /** drafting (default 3 ms); verifying b drafted tokens costs tAr + 0.5 b */
  tDraft?: number;
  unfollow?: ControllerOptions["unfollow"];
}

export interface FollowSimResult {
  controller: SpecController;
  toggles: number;
  probes: number;
  /** tokens per ms from step `from` on, relative to plain decoding without a drafter */
  ratio(from?: number): number;
}

export function simulateFollowing(o: FollowSimOptions): FollowSimResult {
  const tAr = o.tAr ?? 4;
  const follow = o.follow ?? 1;
  const toggle = o.toggle ?? 45;
  const tDraft = o.tDraft ?? 3;
  const c = new SpecController({ budgets: [1, 2, 4, 8, 15], unfollow: o.unfollow });
  const builder = new DDTreeBuilder(16);
  const ids = new Int32Array(16);
  const path = Int32Array.from({ length: 16 }, (_, i) => i);
  let following = true;
  let toggles = 0;
  let probes = 0;
  const time = new Float64Array(o.steps);
  let t = 0;
  for (let s = 0; s < o.steps; s++) {
    const b = c.choose();
    if (b === AR) {
      const f = c.follows();
      const toggled = f !== following;
      following = f;
      if (toggled) toggles++;
      const ms = tAr + (f ? follow : 0) + (toggled ? toggle : 0);
      c.observeAr(ms, f, toggled);
      t += ms;
    } else {
      probes++;
      if (!following) {
        following = true;
        toggles++;
        t += toggle;
      }
      c.observeDraft(tDraft);
      c.observeVerify(b + 1, tAr + 0.5 * b);
      c.observeAcceptance(builder.buildChain(ids, b), 0, path);
      t += tDraft + tAr + 0.5 * b;
    }
    time[s] = t;
  }
  const ratio = (from = 0) => ((o.steps - from) * tAr) / (time[o.steps - 1] - (from > 0 ? time[from - 1] : 0));
  return { controller: c, toggles, probes, ratio };
}
