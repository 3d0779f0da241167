/**
 * Latency as a viewer can see it without a clock shared with the broadcaster: each frame's arrival
 * time minus its media timestamp, taken relative to the smallest such difference seen (the fastest
 * any frame ever came). That is the delay a frame spent beyond the best case — queues at the unit,
 * on the network, in a relay chain — and it grows when the viewer falls behind. The baseline resets
 * when the timestamps jump (a new publisher session, another unit after a rejoin).
 */
export interface DelayStats {
  /** the last frame's delay over the best case, ms (null before a frame) */
  lastMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  samples: number;
}

/** samples kept for the percentiles: at 80 frames/s, the last six seconds or so */
const WINDOW = 512;
/** a media timestamp this far from the expected one starts a new baseline */
const JUMP_MS = 10_000;

export class DelayTracker {
  readonly #window = new Float64Array(WINDOW);
  #count = 0;
  #next = 0;
  #base: number | null = null;
  #last: number | null = null;
  #lastArrival = 0;
  #lastMediaMs = 0;

  /** A frame arrived at `arrivalMs` (the viewer's clock) with media timestamp `timestampUs`. */
  add(arrivalMs: number, timestampUs: number): number {
    const mediaMs = timestampUs / 1000;
    const offset = arrivalMs - mediaMs;
    const expected = this.#lastMediaMs + (arrivalMs - this.#lastArrival);
    if (this.#base === null || Math.abs(mediaMs - expected) > JUMP_MS) this.reset();
    if (this.#base === null || offset < this.#base) this.#base = offset;
    this.#lastArrival = arrivalMs;
    this.#lastMediaMs = mediaMs;
    const delay = offset - this.#base;
    this.#last = delay;
    this.#window[this.#next] = delay;
    this.#next = (this.#next + 1) % WINDOW;
    if (this.#count < WINDOW) this.#count++;
    return delay;
  }

  reset(): void {
    this.#base = null;
    this.#count = 0;
    this.#next = 0;
    this.#last = null;
  }

  get lastMs(): number | null {
    return this.#last;
  }

  stats(): DelayStats {
    if (this.#count === 0) return { lastMs: this.#last, p50Ms: null, p95Ms: null, samples: 0 };
    const sorted = Array.from(this.#window.subarray(0, this.#count)).sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
    return { lastMs: this.#last, p50Ms: at(0.5), p95Ms: at(0.95), samples: this.#count };
  }
}
