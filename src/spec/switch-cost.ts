// What a change of the target's row count costs. ggml-cuda keeps one captured CUDA graph per context
// and shape: the first forward at a new row count runs uncaptured and the second captures the graph
// again, so a step that changes shape (plain decoding to a verify, one budget to another) pays for
// two forwards' excess over their steady price (on the H200: 3.7-4.9 ms per change with the random
// 8B, about one plain step; 1.98 ms with the trained code29m pair, six plain steps:
// bench/results/2026-11-23-h200-6/sweep-auto-split.json). On a CPU the excess is ~0.

import { Ewma } from "./verify-cost.js";

/** forwards at a new shape that run uncaptured or capture (ggml-cuda: the third replays) */
export const COLD_FORWARDS = 2;

export class SwitchCost {
  /** the row count of the last forward observed (0 before any) */
  rows = 0;
  private age = 0;
  private readonly excess: Ewma[];

  constructor(alpha: number) {
    this.excess = Array.from({ length: COLD_FORWARDS }, () => new Ewma(alpha));
  }

  /** A forward of `rows` rows: how many forwards before it had this shape in a row (0: a change). */
  note(rows: number): number {
    if (rows !== this.rows) {
      this.rows = rows;
      this.age = 0;
    } else this.age++;
    return this.age;
  }

  /** A cold forward (note() < COLD_FORWARDS) took `ms` where the shape's steady price is `steadyMs`. */
  observe(age: number, ms: number, steadyMs: number): void {
    this.excess[age].add(Math.max(0, ms - steadyMs));
  }

  /** one change's cost: the excess of the forwards at the new shape until it runs captured */
  get ms(): number {
    let s = 0;
    for (const e of this.excess) s += e.value;
    return s;
  }
}
