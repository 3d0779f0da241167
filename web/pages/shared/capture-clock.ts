/**
 * The clock both pages share: microseconds since the Unix epoch, high resolution
 * (performance.timeOrigin + performance.now()). The broadcast page stamps every frame with it when the
 * raw frame leaves the camera or microphone track, and the watch page reads the same clock when it
 * draws the frame, so on one machine (the tests, `npm run bench -- browser`) draw − stamp is the
 * glass-to-glass latency. Across machines the difference also holds their clock offset; the player
 * never uses it for timing, only for the latency it shows.
 */
export function epochMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

export function epochMillis(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Capture stamps for one kind of frame (one per track kind): epochMicros() at the moment of the
 * call, but strictly increasing — two frames read within the same microsecond, or a clock stepped
 * back by the system, still get distinct, ordered stamps (the player and the ring buffer rely on it).
 */
export class CaptureStamps {
  #last = -1;

  next(): number {
    const now = epochMicros();
    this.#last = now > this.#last ? now : this.#last + 1;
    return this.#last;
  }
}
