// Top-K of a logits row with log-softmax normalisation, written into caller-owned arrays.
// One pass keeps the K best in a small insertion-sorted window (K is small, <= 16) and accumulates
// the log-sum-exp online, so a 150K vocabulary is read once.

export function topKLogProbs(row: Float32Array, k: number, ids: Int32Array, logp: Float32Array, offset: number): void {
  const n = row.length;
  let filled = 0;
  let max = -Infinity;
  let sum = 0; // sum of exp(x - max)
  for (let i = 0; i < n; i++) {
    const x = row[i];
    if (x !== x) continue; // NaN
    if (x > max) {
      sum = sum * Math.exp(max - x) + 1;
      max = x;
    } else {
      sum += Math.exp(x - max);
    }
    if (filled < k || x > logp[offset + filled - 1]) {
      // insertion: the window logp[offset .. offset+filled) is sorted descending, ties keep lower ids
      let j = filled < k ? filled++ : k - 1;
      while (j > 0 && logp[offset + j - 1] < x) {
        logp[offset + j] = logp[offset + j - 1];
        ids[offset + j] = ids[offset + j - 1];
        j--;
      }
      logp[offset + j] = x;
      ids[offset + j] = i;
    }
  }
  const lse = max + Math.log(sum);
  for (let j = 0; j < filled; j++) logp[offset + j] -= lse;
  for (let j = filled; j < k; j++) {
    ids[offset + j] = -1;
    logp[offset + j] = -Infinity;
  }
}
