/**
 * The broadcast's figures: what the page shows and what tests and the browser benchmark read through
 * `window.onair.stats`. One plain object, changed in place as things happen, so a reader always sees
 * the current values.
 */
import type { BroadcastHookStats } from '../../../protocol/page-hooks.js';
export type BroadcastStatsFields = BroadcastHookStats;

const BITRATE_WINDOW_MS = 2000;

export function emptyStats(): BroadcastStatsFields {
  return { framesSent: 0, videoFrames: 0, audioFrames: 0, keyframes: 0, droppedFrames: 0, bitrateKbps: 0, viewers: 0, reconnects: 0 };
}

export function resetStats(stats: BroadcastStatsFields): void {
  Object.assign(stats, emptyStats());
}

/** The sent bitrate over a sliding window, from samples of a running byte count. */
export class BitrateMeter {
  #samples: { at: number; bytes: number }[] = [];

  /** A sample of the bytes sent so far (`at` in ms); returns kbit/s over the last window (bits per ms). */
  sample(at: number, bytes: number): number {
    this.#samples.push({ at, bytes });
    // Keep one sample at or before the window's start, as the baseline.
    while (this.#samples.length > 2 && this.#samples[1]!.at <= at - BITRATE_WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const elapsed = at - first.at;
    return elapsed > 0 ? ((bytes - first.bytes) * 8) / elapsed : 0;
  }
}
