// The DFlash drafter's cache positions, as against the target's. The drafter does not follow the
// target through long plain stretches (SpecController.unfollow), so its history has gaps. libllama
// wants each new position to continue a sequence's last one; moving the cached features up by the gap
// (a RoPE shift of the whole cache) cost the H200's trained code29m pair 0.7-2.5 ms per probe, more
// than the draft itself (bench/results/2026-11-24-h200-3, draft-step). Attention sees only relative
// positions, so placing the features after a gap right after the drafter's last position gives the
// same relative distances as that shift, at no cost: the drafter's positions run behind the target's
// by an offset that grows at each gap. A segment is a run of target positions with one offset.

/** Target positions to the drafter's own: each gap opens a segment that continues the last one. */
export class PositionMap {
  /** segment i covers target positions [starts[i], starts[i + 1]) at drafter position target - offsets[i] */
  private starts: number[] = [0];
  private offsets: number[] = [0];
  /** the target position after the last one placed: placing there continues without a gap */
  private nextPos = 0;

  /** the target position after the last one placed */
  get next(): number {
    return this.nextPos;
  }

  /** the offset that new positions get (target - drafter) */
  get offset(): number {
    return this.offsets[this.offsets.length - 1];
  }

  reset(): void {
    this.starts = [0];
    this.offsets = [0];
    this.nextPos = 0;
  }

  /** Target positions [pos, pos + n) go into the cache next (n = 0: a draft block, which is dropped
   *  again, at pos). A gap since the last placed position opens a segment. Returns the offset to
   *  subtract from them. */
  place(pos: number, n: number): number {
    if (pos > this.nextPos) {
      const offset = this.offset + (pos - this.nextPos);
      if (this.starts[this.starts.length - 1] === this.nextPos) {
        // the last segment holds nothing yet (a gap right after a cut or a block): widen it
        this.starts[this.starts.length - 1] = pos;
        this.offsets[this.offsets.length - 1] = offset;
      } else {
        this.starts.push(pos);
        this.offsets.push(offset);
      }
    }
    this.nextPos = Math.max(this.nextPos, pos + n);
    return this.offset;
  }

  /** The drafter position of target position `pos` (at or past the end: where it would go next). */
  toDrafter(pos: number): number {
    if (pos >= this.nextPos) return this.nextPos - this.offset;
    let i = this.starts.length - 1;
    while (i > 0 && this.starts[i] > pos) i--;
    return pos - this.offsets[i];
  }

  /** Forgets target positions >= pos (no-op past the end). Cut the cache at toDrafter(pos) first. */
  cut(pos: number): void {
    if (pos >= this.nextPos) return;
    if (pos <= 0) return this.reset();
    while (this.starts.length > 1 && this.starts[this.starts.length - 1] >= pos) {
      this.starts.pop();
      this.offsets.pop();
    }
    this.nextPos = pos;
  }

  /** The map as Int32 values (a saved drafter state carries it): next, then start/offset pairs. */
  save(): Int32Array {
    const out = new Int32Array(1 + 2 * this.starts.length);
    out[0] = this.nextPos;
    for (let i = 0; i < this.starts.length; i++) {
      out[1 + 2 * i] = this.starts[i];
      out[2 + 2 * i] = this.offsets[i];
    }
    return out;
  }

  load(v: Int32Array): void {
    if (v.length < 3 || v.length % 2 === 0) throw new Error(`bad position map (${v.length} values)`);
    this.nextPos = v[0];
    this.starts = [];
    this.offsets = [];
    for (let i = 1; i < v.length; i += 2) {
      this.starts.push(v[i]);
      this.offsets.push(v[i + 1]);
    }
  }
}
