/**
 * How long audio should wait between being ready and being played, learnt from the stream: the 95th
 * percentile of how late recent chunks were ready relative to the live edge (LiveEdge: the fastest
 * recent chunk), plus a margin for the render thread. A chunk is "late by x" when it left the decoder
 * x ms after the fastest chunk would have; covering 95% of them means an underrun (a click, a
 * re-schedule) only when something unusual happens, and no more buffer than the path needs — on
 * loopback a few ms, on a busy machine or a Wi-Fi link tens of ms.
 *
 * Samples later than `MAX_JITTER_MS` are not jitter but stale audio (the unit's catch-up burst, a
 * stall): the player drops those chunks, and they do not teach the estimate anything.
 */
import { RecentPercentile } from './RecentPercentile.js';

const MARGIN_MS = 10;
const MIN_MS = 20;
/** until half a window of samples came */
const INITIAL_MS = 40;
export const MAX_JITTER_MS = 200;

export class JitterEstimate {
  // ≈ 5 s of 20 ms packets
  readonly #late = new RecentPercentile({ window: 250, quantile: 0.95, every: 25, minSamples: 125 });

  /** the buffer to keep now, ms */
  get targetMs(): number {
    const p = this.#late.value;
    return p === null ? INITIAL_MS : Math.min(MAX_JITTER_MS, Math.max(MIN_MS, p + MARGIN_MS));
  }

  /** A chunk was ready `lateMs` after the live edge. */
  record(lateMs: number): void {
    if (lateMs <= MAX_JITTER_MS) this.#late.add(Math.max(0, lateMs));
  }

  reset(): void {
    this.#late.reset();
  }
}
