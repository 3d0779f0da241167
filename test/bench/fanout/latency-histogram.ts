/**
 * A fixed-size latency histogram the generator workers fill per frame (no allocation) and the parent
 * merges. Three tiers: 0.05 ms buckets below 100 ms (where the targets are), 1 ms buckets to 2 s,
 * 10 ms buckets to 120 s (a stalled viewer's backlog), then one overflow bucket. Percentiles are read
 * at the bucket's middle; one in the overflow bucket reads as OVERFLOW_MS.
 */
const FINE_LIMIT_MS = 100;
const FINE_PER_MS = 20;
const FINE_BUCKETS = FINE_LIMIT_MS * FINE_PER_MS;
const MID_LIMIT_MS = 2000;
const MID_BUCKETS = MID_LIMIT_MS - FINE_LIMIT_MS;
const COARSE_MS = 10;
export const OVERFLOW_MS = 120_000;
const COARSE_BUCKETS = (OVERFLOW_MS - MID_LIMIT_MS) / COARSE_MS;
export const HISTOGRAM_BUCKETS = FINE_BUCKETS + MID_BUCKETS + COARSE_BUCKETS + 1;

export function newHistogram(): Uint32Array {
  return new Uint32Array(HISTOGRAM_BUCKETS);
}

export function record(histogram: Uint32Array, ms: number): void {
  let index: number;
  if (!(ms > 0)) index = 0; // also NaN: the same clock on both sides never runs backwards by more than rounding
  else if (ms < FINE_LIMIT_MS) index = Math.floor(ms * FINE_PER_MS);
  else if (ms < MID_LIMIT_MS) index = FINE_BUCKETS + Math.floor(ms - FINE_LIMIT_MS);
  else index = Math.min(HISTOGRAM_BUCKETS - 1, FINE_BUCKETS + MID_BUCKETS + Math.floor((ms - MID_LIMIT_MS) / COARSE_MS));
  histogram[index]!++;
}

export function merge(into: Uint32Array, from: Uint32Array): void {
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) into[i]! += from[i]!;
}

export function count(histogram: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) n += histogram[i]!;
  return n;
}

function bucketMiddle(index: number): number {
  if (index < FINE_BUCKETS) return (index + 0.5) / FINE_PER_MS;
  if (index < FINE_BUCKETS + MID_BUCKETS) return FINE_LIMIT_MS + (index - FINE_BUCKETS) + 0.5;
  if (index === HISTOGRAM_BUCKETS - 1) return OVERFLOW_MS;
  return MID_LIMIT_MS + (index - FINE_BUCKETS - MID_BUCKETS + 0.5) * COARSE_MS;
}

/** The p-th percentile (0–100), or null without samples; OVERFLOW_MS when it lies in the overflow bucket. */
export function percentile(histogram: Uint32Array, p: number): number | null {
  const total = count(histogram);
  if (total === 0) return null;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
    seen += histogram[i]!;
    if (seen >= rank) return bucketMiddle(i);
  }
  return OVERFLOW_MS;
}
