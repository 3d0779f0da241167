/**
 * When the next frame of a channel is due, from each kind's own rhythm: audio and video frames come
 * at steady intervals (20 ms of sound, 1/30 s of picture), each kind on its own clock. The fan-out
 * holds a frame back only while another is due within its budget, so a frame with no partner near
 * goes at once and the budget is spent only where it saves a write.
 *
 * The interval is learned from the frames' media timestamps (the encoder's clock, unaffected by how
 * the network bunched them); the due time counts from the last arrival of that kind.
 */
import { FrameKind } from '../../protocol/media-frame.js';

/** how long past a frame's due time a batch still waits for it (the jitter of arrivals) */
export const ARRIVAL_SLACK_MS = 2;
/** weight of the newest interval in the running estimate */
const SMOOTHING = 0.125;
/** timestamp steps outside this range (a pause, a reset, a reordering) teach nothing about the rhythm */
const MAX_INTERVAL_MS = 500;

class KindRhythm {
  lastArrivalMs = -1;
  lastTimestampUs = -1;
  intervalMs = 0;

  note(arrivalMs: number, timestampUs: number): void {
    const stepMs = (timestampUs - this.lastTimestampUs) / 1000;
    if (this.lastTimestampUs >= 0 && stepMs > 0 && stepMs <= MAX_INTERVAL_MS) {
      this.intervalMs = this.intervalMs === 0 ? stepMs : this.intervalMs + SMOOTHING * (stepMs - this.intervalMs);
    }
    this.lastArrivalMs = arrivalMs;
    this.lastTimestampUs = timestampUs;
  }

  /** when the next frame of this kind should arrive; -1 before the rhythm is known */
  get nextDueMs(): number {
    return this.intervalMs > 0 ? this.lastArrivalMs + this.intervalMs : -1;
  }
}

export class FrameCadence {
  readonly #audio = new KindRhythm();
  readonly #video = new KindRhythm();

  /** A frame arrived (text frames have no rhythm and are not counted). */
  note(kind: FrameKind, timestampUs: number, arrivalMs: number): void {
    if (kind === FrameKind.AUDIO) this.#audio.note(arrivalMs, timestampUs);
    else if (kind === FrameKind.VIDEO) this.#video.note(arrivalMs, timestampUs);
  }

  /**
   * The earliest time from `nowMs` on at which a frame is due; Infinity when none is (rhythm unknown,
   * or the due frames are already late: a late frame is not waited for).
   */
  nextDueMs(nowMs: number): number {
    const audio = this.#audio.nextDueMs;
    const video = this.#video.nextDueMs;
    let due = Number.POSITIVE_INFINITY;
    if (audio >= nowMs) due = audio;
    if (video >= nowMs && video < due) due = video;
    return due;
  }
}

/**
 * How long a pending batch, begun at `startedAtMs`, waits now for the frame due next: until a little
 * past that frame's due time, never past `budgetMs` from its start. 0: send it now (no frame is due
 * within the budget).
 */
export function batchHoldMs(cadence: FrameCadence, nowMs: number, startedAtMs: number, budgetMs: number): number {
  const deadline = startedAtMs + budgetMs;
  const due = cadence.nextDueMs(nowMs);
  if (due > deadline) return 0;
  return Math.min(deadline, due + ARRIVAL_SLACK_MS) - nowMs;
}
