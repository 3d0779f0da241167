/**
 * Where "live" is for one kind of frame: the smallest (arrival − timestamp) seen over the last
 * `windowMs`, i.e. how long the fastest recent frame took from the broadcaster's clock to this page.
 * A frame stamped t is "fresh" at t + offset; the player plays it a small buffer after that.
 *
 * Why the minimum over a sliding window: the fastest frame is the one no queue delayed, so its offset
 * is the path's floor (plus the clock difference between the two machines, which cancels out: the
 * offset is only ever added back to timestamps of the same broadcaster). A window rather than an
 * all-time minimum lets the floor rise when the path gets slower (another unit after a rejoin, TCP
 * instead of UDP) within `windowMs`. Joining mid-stream, the unit sends a burst from its newest
 * keyframe: those frames are old on arrival, and the minimum follows the burst down to the newest.
 * The window runs on stream time, not wall time: a pause in the stream (the broadcaster's network
 * dropped for a few seconds) moves it on by at most `MAX_GAP_CREDIT_MS`. So the floor learnt before
 * the pause still stands when the pause ends — the backlog the broadcaster then flushes shows up as
 * late, and is dropped, instead of teaching the edge that the stream is now seconds behind.
 * Memory is a monotonic queue: only the samples that can still become the minimum are kept.
 */
const MAX_GAP_CREDIT_MS = 250;

export class LiveEdge {
  readonly #windowUs: number;
  /** per sample: stream time (µs) and offset (µs), offsets increasing from the front */
  #at: number[] = [];
  #offset: number[] = [];
  /** stream time: arrival time with the pauses cut down to MAX_GAP_CREDIT_MS */
  #streamUs = 0;
  #lastArrivalUs: number | null = null;

  constructor(windowMs = 2000) {
    this.#windowUs = windowMs * 1000;
  }

  /** A frame stamped `timestampUs` (broadcaster's clock) arrived at `arrivalUs` (this page's epoch clock). */
  observe(timestampUs: number, arrivalUs: number): void {
    const offset = arrivalUs - timestampUs;
    if (this.#lastArrivalUs !== null) this.#streamUs += Math.min(MAX_GAP_CREDIT_MS * 1000, Math.max(0, arrivalUs - this.#lastArrivalUs));
    this.#lastArrivalUs = arrivalUs;
    const now = this.#streamUs;
    while (this.#offset.length > 0 && this.#offset[this.#offset.length - 1]! >= offset) {
      this.#offset.pop();
      this.#at.pop();
    }
    this.#at.push(now);
    this.#offset.push(offset);
    while (this.#at.length > 1 && this.#at[0]! < now - this.#windowUs) {
      this.#at.shift();
      this.#offset.shift();
    }
  }

  /** arrival − timestamp of the fastest recent frame, µs; null before any */
  get offsetUs(): number | null {
    return this.#offset[0] ?? null;
  }

  /** Forget the path (a rejoin: the new one may be slower or faster). */
  reset(): void {
    this.#at = [];
    this.#offset = [];
    this.#streamUs = 0;
    this.#lastArrivalUs = null;
  }
}
