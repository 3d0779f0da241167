/**
 * How long the event loop has been stalled: a timer ticks every TICK_MS, and the time since its last
 * tick beyond that is the stall. Every long-running process's /healthz fails past STALL_MS, so
 * keepalived or a load balancer stops sending to a frozen process.
 */
const TICK_MS = 250;
export const STALL_MS = 2000;

export class LoopStallWatch {
  #lastTick = Date.now();
  readonly #timer = setInterval(() => (this.#lastTick = Date.now()), TICK_MS);

  /** ms the loop is late now (0 while it runs) */
  get stalledMs(): number {
    return Math.max(0, Date.now() - this.#lastTick - TICK_MS);
  }

  get stalled(): boolean {
    return this.stalledMs >= STALL_MS;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
