/** Bounded exponential backoff with equal jitter, and a cancellable wait (browser and Node alike). */
export interface BackoffOptions {
  /** first delay, ms */
  minMs: number;
  /** largest delay, ms */
  maxMs: number;
}

/** The delay before attempt `attempt` (1-based): min·2^(attempt-1), capped, half of it jittered. */
export function backoffDelay(attempt: number, { minMs, maxMs }: BackoffOptions, random: () => number = Math.random): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
  return Math.round(base / 2 + (random() * base) / 2);
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
