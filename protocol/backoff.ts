/**
 * Bounded exponential backoff with "equal jitter" (half the ceiling fixed, half random, so clients
 * that lost the same server do not come back in step), and a cancellable wait. Browser and Node
 * alike: the CSM link, relay links and the web client all reconnect with it.
 */
export interface BackoffOptions {
  /** first delay, ms */
  minMs: number;
  /** largest delay, ms */
  maxMs: number;
}

/** The delay after `failures` failures in a row (0 for the first retry): min·2^failures capped at max, half jittered, never below min. */
export function backoffDelay(failures: number, { minMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(30, failures)));
  return Math.max(minMs, Math.round(ceiling * (0.5 + random() / 2)));
}

/** A timer that can be cancelled by whoever owns it; `wait` resolves false when cancelled. */
export class Delay {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #resolve: ((ran: boolean) => void) | undefined;

  wait(ms: number): Promise<boolean> {
    this.cancel();
    return new Promise<boolean>((resolve) => {
      this.#resolve = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#resolve = undefined;
        resolve(true);
      }, ms);
    });
  }

  cancel(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    const resolve = this.#resolve;
    this.#resolve = undefined;
    resolve?.(false);
  }
}
