/**
 * A percentile of the last `window` samples, recomputed every `every` samples (a sort of a few
 * hundred numbers a couple of times a second, not on every frame). Null until `minSamples` came.
 */
export class RecentPercentile {
  readonly #samples: Float64Array;
  readonly #quantile: number;
  readonly #every: number;
  readonly #minSamples: number;
  #count = 0;
  #next = 0;
  #since = 0;
  #value: number | null = null;

  constructor(options: { window: number; quantile: number; every: number; minSamples: number }) {
    this.#samples = new Float64Array(options.window);
    this.#quantile = options.quantile;
    this.#every = options.every;
    this.#minSamples = options.minSamples;
  }

  get value(): number | null {
    return this.#value;
  }

  get count(): number {
    return this.#count;
  }

  add(sample: number): void {
    this.#samples[this.#next] = sample;
    this.#next = (this.#next + 1) % this.#samples.length;
    if (this.#count < this.#samples.length) this.#count++;
    if (++this.#since >= this.#every || (this.#value === null && this.#count >= this.#minSamples)) this.#recompute();
  }

  reset(): void {
    this.#count = this.#next = this.#since = 0;
    this.#value = null;
  }

  #recompute(): void {
    this.#since = 0;
    if (this.#count < this.#minSamples) return;
    const sorted = this.#samples.slice(0, this.#count).sort();
    this.#value = sorted[Math.min(sorted.length - 1, Math.floor(this.#quantile * sorted.length))]!;
  }
}
