/**
 * The load this unit publishes to the CSM, measured rather than guessed (seed 001): viewers (from
 * UnitGroups), egress bits/s (the data plane adds every byte it sends to viewers and relays), CPU as
 * cores used (process.cpuUsage delta over wall time) and resident memory.
 *
 * Rates are computed by `sample()` over the time since the previous sample, on one timer owned by
 * the unit; heartbeats, reports and /metrics only read `current()`, so reading never shortens the
 * measuring interval.
 */
import type { UnitLoad } from '../protocol/control-messages.js';
import type { UnitGroups } from './UnitGroups.js';

/** The schema caps cpu at 1024 cores; a clock glitch must not produce a load the CSM refuses. */
const MAX_CORES = 1024;

export interface LoadMeterClock {
  /** monotonic milliseconds */
  now(): number;
  cpuUsage(): NodeJS.CpuUsage;
  rssBytes(): number;
}

const processClock: LoadMeterClock = {
  now: () => performance.now(),
  cpuUsage: () => process.cpuUsage(),
  rssBytes: () => process.memoryUsage.rss(),
};

export class LoadMeter {
  readonly #groups: UnitGroups;
  readonly #clock: LoadMeterClock;
  #egressBytes = 0;
  #lastAt: number;
  #lastCpu: NodeJS.CpuUsage;
  #egressBps = 0;
  #cpu = 0;
  #timer: NodeJS.Timeout | null = null;

  constructor(groups: UnitGroups, clock: LoadMeterClock = processClock) {
    this.#groups = groups;
    this.#clock = clock;
    this.#lastAt = clock.now();
    this.#lastCpu = clock.cpuUsage();
  }

  /** Count bytes sent to a viewer or relay (hot path: one addition). */
  addEgressBytes(bytes: number): void {
    this.#egressBytes += bytes;
  }

  /** Close the current interval: rates are computed over the time since the previous sample. */
  sample(): UnitLoad {
    const now = this.#clock.now();
    const elapsedMs = now - this.#lastAt;
    if (elapsedMs > 0) {
      const cpu = this.#clock.cpuUsage();
      const cpuMicros = cpu.user - this.#lastCpu.user + (cpu.system - this.#lastCpu.system);
      this.#egressBps = (this.#egressBytes * 8 * 1000) / elapsedMs;
      this.#cpu = Math.min(MAX_CORES, Math.max(0, cpuMicros / 1000 / elapsedMs));
      this.#egressBytes = 0;
      this.#lastAt = now;
      this.#lastCpu = cpu;
    }
    return this.current();
  }

  /** The last measured rates with the live viewer count and memory. */
  current(): UnitLoad {
    return { viewers: this.#groups.viewerCount, egressBps: this.#egressBps, cpu: this.#cpu, rssBytes: this.#clock.rssBytes() };
  }

  /** Sample every `intervalMs` until close(). The timer does not keep the process alive on its own. */
  start(intervalMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
