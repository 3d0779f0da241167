/**
 * The environment a streaming-unit process should start with: memory tuning that cannot be set from
 * inside a running process. Measured with 1,000 TCP viewers of a 2 Mbit/s stream: the unit's memory
 * per viewer went from about 100 KiB to about 50 KiB (README, "Benchmarks"), at no measurable CPU cost.
 * - glibc keeps the per-socket send buffers that uWS frees after a keyframe burst in its heap (RSS
 *   that never comes back); a lower mmap threshold returns large ones to the system, a lower trim
 *   threshold gives back the top of the heap.
 * - V8 grows its young generation to 16 MiB per semi-space under the unit's steady allocation rate;
 *   1 MiB keeps scavenges frequent and short.
 * `onair cluster`, the tests and the benchmarks start units with it; the systemd unit sets the same.
 */
export const UNIT_MEMORY_ENV = Object.freeze({
  MALLOC_MMAP_THRESHOLD_: '32768',
  MALLOC_TRIM_THRESHOLD_: '65536',
});
export const UNIT_NODE_OPTIONS = '--max-semi-space-size=1';

/** `env` with the unit's memory tuning added (NODE_OPTIONS appended to, not replaced). */
export function unitProcessEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  const nodeOptions = out.NODE_OPTIONS?.includes('--max-semi-space-size') ? out.NODE_OPTIONS : `${out.NODE_OPTIONS ?? ''} ${UNIT_NODE_OPTIONS}`.trim();
  return { ...UNIT_MEMORY_ENV, ...out, NODE_OPTIONS: nodeOptions };
}
