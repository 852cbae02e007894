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

/**
 * Orders the n candidates a device top-k wrote at offset (ids, raw logits in logp; unordered) best
 * first, ties to the lower id, and turns the logits into log-probabilities normalised over those n.
 * The device returns no full-vocabulary log-sum-exp, so these overstate each candidate's probability
 * by the mass outside the top k; they rank DDTree paths, and verification stays exact.
 */
export function normalizeTopK(ids: Int32Array, logp: Float32Array, offset: number, n: number, k: number): void {
  const m = Math.min(n, k);
  for (let i = 1; i < n; i++) {
    const x = logp[offset + i];
    const id = ids[offset + i];
    let j = i;
    while (j > 0 && (logp[offset + j - 1] < x || (logp[offset + j - 1] === x && ids[offset + j - 1] > id))) {
      logp[offset + j] = logp[offset + j - 1];
      ids[offset + j] = ids[offset + j - 1];
      j--;
    }
    logp[offset + j] = x;
    ids[offset + j] = id;
  }
  let max = -Infinity;
  for (let j = 0; j < m; j++) if (logp[offset + j] > max) max = logp[offset + j];
  let sum = 0;
  for (let j = 0; j < m; j++) sum += Math.exp(logp[offset + j] - max);
  const lse = max + Math.log(sum);
  for (let j = 0; j < m; j++) logp[offset + j] -= lse;
  for (let j = m; j < k; j++) {
    ids[offset + j] = -1;
    logp[offset + j] = -Infinity;
  }
}
