/** A seeded PRNG (mulberry32) so every benchmark run draws the same workload. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** p-th percentile (0..100) of the first `count` samples; sorts them in place. */
export function percentile(samples: Float64Array, count: number, p: number): number {
  const view = samples.subarray(0, count).sort();
  if (count === 0) return 0;
  return view[Math.min(count - 1, Math.floor((p / 100) * count))]!;
}
