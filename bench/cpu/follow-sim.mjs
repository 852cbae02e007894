// --spec auto against plain decoding, simulated, for drafters whose following costs every plain step
// and whose toggles cost a graph re-reserve (src/bench/follow-sim.ts; defaults: the H200 8B's 4.0 ms
// step, +1 ms following, ~45 ms per toggle), useless drafts, per run length and ControllerOptions.unfollow.
// usage: node bench/cpu/follow-sim.mjs > result.json   (needs `npm run build`)
import { simulateFollowing } from "../../dist/bench/follow-sim.js";

const rows = [];
for (const steps of [128, 512, 2000, 10000, 50000]) {
  for (const unfollow of ["auto", false, true]) {
    const r = simulateFollowing({ steps, unfollow });
    rows.push({ steps, unfollow, ratioToPlain: Math.round(r.ratio() * 1000) / 1000, toggles: r.toggles, probes: r.probes, probeGap: r.controller.probeGap() });
  }
}
console.log(JSON.stringify({ what: "simulated --spec auto tokens/s relative to plain decoding, useless drafts; unfollow: auto (default) = stop following where the measured saving beats two toggles, false = follow always, true = stop whenever the next probe is over 32 steps away", costs: { tArMs: 4, followMs: 1, toggleMs: 45, draftMs: 3, verifyMs: "4 + 0.5 x drafted" }, rows }, null, 1));
