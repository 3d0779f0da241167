/**
 * Capture stamps for the Opus encoder's output. The encoder re-chunks its input (10 ms of microphone
 * samples in, 20 ms Opus frames out) and Chromium stamps each output by counting samples from the
 * first input, so output timestamps cannot be looked up by value and would drift from the wall clock
 * as the microphone's clock does. Instead both sides are laid on one line of stream time: each input
 * occupies [start, start + duration) and each output chunk starts where the previous one ended; an
 * output's stamp is the capture stamp of the input holding its first sample (plus its offset inside
 * that input). Pure bookkeeping, no copy of audio.
 */
interface Input {
  stamp: number;
  start: number;
  duration: number;
}

export class AudioStamps {
  #inputs: Input[] = [];
  #head = 0;
  #inputEnd = 0;
  #outputPos = 0;

  /** An input handed to the encoder: its capture stamp and its length in µs. */
  add(stamp: number, durationUs: number): void {
    this.#inputs.push({ stamp, start: this.#inputEnd, duration: durationUs });
    this.#inputEnd += durationUs;
  }

  /** The capture stamp of the next output chunk, which lasts `durationUs`. */
  next(durationUs: number): number {
    const pos = this.#outputPos;
    this.#outputPos += durationUs;
    // Inputs wholly before this output are done with (the last one is kept for an encoder's padding).
    while (this.#head < this.#inputs.length - 1 && this.#inputs[this.#head]!.start + this.#inputs[this.#head]!.duration <= pos) this.#head++;
    if (this.#head > 64) {
      this.#inputs = this.#inputs.slice(this.#head);
      this.#head = 0;
    }
    const input = this.#inputs[this.#head];
    if (!input) return 0;
    return Math.round(input.stamp + Math.max(0, pos - input.start));
  }

  /** A new encoder starts a new stream. */
  reset(): void {
    this.#inputs = [];
    this.#head = 0;
    this.#inputEnd = 0;
    this.#outputPos = 0;
  }
}
