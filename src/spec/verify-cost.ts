// Online cost estimates for the speculation controller: an exponentially weighted mean robust to
// one-off stalls, and a model of a verify forward's cost by rows (exact budget sizes measured, a
// weighted line for the rest).

/** A point above this multiple of the estimate (once it rests on a few points) counts as this multiple. */
export const OUTLIER_CAP = 2;
/** weight of the (1 row, t_ar) pseudo-point in the verify-cost fit, against EW sums of ~1/alpha */
const ANCHOR_WEIGHT = 0.5;

/** EW mean with a warm start: exact average of the first 1/alpha points, then EWMA. Once three points
 *  are in, a point counts at most OUTLIER_CAP times the estimate: one stalled step (a graph
 *  re-reserve, a garbage collection, a kernel's first use) must not move a cost for long, because a
 *  cost the controller overrates it stops measuring (an inflated plain-step time keeps it drafting,
 *  and only plain steps measure it). A lasting change still comes through, doubling per point.
 *  `medianStart`: the first three points give their median (the lower of two) instead of their mean,
 *  so that a stall among them is left out too. The plain step's estimate needs it: on a 2-core CPU a
 *  fresh request's first plain step once took ~60 ms, and the mean then rated plain decoding at 21 ms
 *  a step for the rest of the request, which drafted at 0.41x plain speed. */
export class Ewma {
  value = 0;
  count = 0;
  private readonly first = [0, 0, 0];
  constructor(
    readonly alpha: number,
    private readonly medianStart = false,
  ) {}
  add(x: number): void {
    if (this.count >= 3 && x > OUTLIER_CAP * this.value) x = OUTLIER_CAP * this.value;
    this.count++;
    if (this.medianStart && this.count <= 3) {
      const f = this.first;
      f[this.count - 1] = x;
      if (this.count === 1) this.value = x;
      else if (this.count === 2) this.value = Math.min(f[0], f[1]);
      else this.value = Math.max(Math.min(f[0], f[1]), Math.min(Math.max(f[0], f[1]), f[2]));
      return;
    }
    const a = Math.max(this.alpha, 1 / this.count);
    this.value += a * (x - this.value);
  }
  get known(): boolean {
    return this.count > 0;
  }
  /** Starts from `x` as if it were the mean of `weight` points (a price measured beforehand). */
  seed(x: number, weight: number): void {
    this.value = x;
    this.count = weight;
  }
}

/** Verify cost by rows: an EW mean per candidate budget (rows = budget + 1, exact sizes only: a GPU's
 *  cost is step-like, so neighbours would blur it), and an EW least-squares line over every point for
 *  the sizes no bucket has measured. */
export class VerifyCostModel {
  private readonly buckets: Ewma[];
  private sw = 0;
  private sn = 0;
  private sny = 0;
  private snn = 0;
  private sy = 0;

  constructor(
    private readonly budgets: Int32Array,
    private readonly alpha: number,
    /** before any verify is measured: t_ar * (1 + slope * (rows - 1)) */
    private readonly priorSlope: number,
  ) {
    this.buckets = Array.from(budgets, () => new Ewma(alpha));
  }

  /** one verify of `rows` rows took `ms`; `bucket` is the index of the budget with budget + 1 = rows, or -1 */
  observe(bucket: number, rows: number, ms: number): void {
    if (bucket >= 0) this.buckets[bucket].add(ms);
    this.addPoint(rows, ms, 1 - this.alpha);
  }

  /** A price measured beforehand: bucket `bucket` starts from it as from `weight` points, and the
   *  line through the sizes gets it as one point. */
  seed(bucket: number, rows: number, ms: number, weight: number): void {
    if (bucket >= 0) this.buckets[bucket].seed(ms, weight);
    this.addPoint(rows, ms, 1);
  }

  /** the line's EW sums: the old ones times `keep`, plus (rows, ms) */
  private addPoint(rows: number, ms: number, keep: number): void {
    this.sw = this.sw * keep + 1;
    this.sn = this.sn * keep + rows;
    this.snn = this.snn * keep + rows * rows;
    this.sy = this.sy * keep + ms;
    this.sny = this.sny * keep + rows * ms;
  }

  /** whether bucket `bucket` has a price (measured or seeded) */
  known(bucket: number): boolean {
    return bucket >= 0 && this.buckets[bucket].known;
  }

  /** estimated ms for `rows` rows (`bucket` as for observe), given the plain step's estimate */
  estimate(bucket: number, rows: number, tAr: Ewma): number {
    if (bucket >= 0 && this.buckets[bucket].known) return this.buckets[bucket].value;
    const ar = tAr.known;
    const y1 = tAr.value;
    if (this.sw === 0) return y1 * (1 + this.priorSlope * (rows - 1));
    // Weighted least squares over the verify points plus (1, t_ar) as a light anchor: with one
    // verify size measured the anchor sets the slope (extrapolating a lone point along a guessed
    // slope can predict a big verify cheaper than one decode); with several it hardly matters
    const wa = ar ? ANCHOR_WEIGHT : 0;
    const w = this.sw + wa;
    const mn = (this.sn + wa) / w;
    const my = (this.sy + wa * y1) / w;
    const varN = (this.snn + wa) / w - mn * mn;
    let est: number;
    if (varN > 1e-9 * (1 + mn * mn)) {
      const slope = Math.max(0, ((this.sny + wa * y1) / w - mn * my) / varN);
      est = my + slope * (rows - mn);
    } else {
      est = my * (1 + this.priorSlope * (rows - mn)); // a single size, no AR yet
    }
    // Past the largest size measured, no steeper than the prior's slope: a GPU's verify cost grows
    // less than linearly (the weights are read once per forward, whatever the rows), so a line
    // through small sizes overrates big ones, and a size the controller overrates it never tries
    // (H200, 8B: 5 / 9 / 16 rows cost 7.3 / 9.4 / 10.1 ms, a line through the first two predicts
    // 13.3). Optimism here costs one verify to correct where the cost does grow linearly (a CPU).
    let top = -1;
    for (let i = 0; i < this.budgets.length; i++) if (this.buckets[i].known && this.budgets[i] + 1 < rows) top = i;
    if (top >= 0 && ar) est = Math.min(est, this.buckets[top].value + this.priorSlope * y1 * (rows - this.budgets[top] - 1));
    // more rows never cost less than a single-token decode
    return ar && rows > 1 ? Math.max(est, y1) : Math.max(est, 1e-9);
  }

  /** the measured buckets' estimates, by rows */
  measured(round: (x: number) => number): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < this.budgets.length; i++) if (this.buckets[i].known) out[this.budgets[i] + 1] = round(this.buckets[i].value);
    return out;
  }
}
