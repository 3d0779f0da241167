/**
 * Is this process's event loop alive? A timer ticks every `tickMs`; the delay of each tick past its
 * due time is the loop's lag. The loop counts as stalled while the current lag, or any lag seen in
 * the last `holdMs`, exceeded `stallMs`. The hold keeps a brief stall visible to a health checker
 * (keepalived's track script) that polls only every second or two.
 *
 * A plain timer rather than perf_hooks.monitorEventLoopDelay: it also sees a stall that is still
 * going on (time since the last tick), which a histogram only reports once the loop is back.
 */
export interface LoopMonitorOptions {
  tickMs?: number;
  stallMs?: number;
  holdMs?: number;
}

export class LoopMonitor {
  readonly tickMs: number;
  readonly stallMs: number;
  readonly holdMs: number;
  #lastTickAt = performance.now();
  #lastLagMs = 0;
  #lastStallAt = -Infinity;
  #lastStallLagMs = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(options: LoopMonitorOptions = {}) {
    this.tickMs = options.tickMs ?? 250;
    this.stallMs = options.stallMs ?? 2000;
    this.holdMs = options.holdMs ?? 5000;
  }

  start(): void {
    if (this.#timer) return;
    this.#lastTickAt = performance.now();
    this.#timer = setInterval(() => this.#tick(), this.tickMs);
    this.#timer.unref();
  }

  /** The largest of: the latest tick's lag, how overdue the pending tick is, and a stall still held. */
  get lagMs(): number {
    const now = performance.now();
    const held = now - this.#lastStallAt <= this.holdMs ? this.#lastStallLagMs : 0;
    return Math.max(this.#lastLagMs, now - this.#lastTickAt - this.tickMs, held);
  }

  get stalled(): boolean {
    const now = performance.now();
    if (now - this.#lastTickAt - this.tickMs > this.stallMs) return true;
    return now - this.#lastStallAt <= this.holdMs;
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  #tick(): void {
    const now = performance.now();
    this.#lastLagMs = Math.max(0, now - this.#lastTickAt - this.tickMs);
    if (this.#lastLagMs > this.stallMs) {
      this.#lastStallAt = now;
      this.#lastStallLagMs = this.#lastLagMs;
    }
    this.#lastTickAt = now;
  }
}
