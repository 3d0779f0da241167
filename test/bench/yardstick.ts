/**
 * A machine-speed yardstick measured in the same run as a benchmark, so results from noisy machines
 * compare as ratios: the bare bookkeeping every admission must at least do — a fresh string id,
 * one Map entry, one Set entry — repeated `count` times.
 */
export function bookkeepingOpsPerSec(count = 1_000_000): number {
  const map = new Map<string, { n: number }>();
  const set = new Set<string>();
  const started = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    const id = `v${i.toString(36)}`;
    map.set(id, { n: i });
    set.add(id);
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (map.size !== count || set.size !== count) throw new Error('yardstick lost entries');
  return count / seconds;
}
