/**
 * The media time the picture should show now, in the broadcaster's µs.
 *
 * Audio is the clock: while sound is coming out (AudioOutput.position), a video frame is due when the
 * audio being heard reaches its timestamp — both were stamped at capture with one clock, so that is
 * lip sync. Without sound (no audio in the stream, audio starved for a moment, or a context the
 * autoplay policy holds suspended) the clock is the wall clock following the newest video: a frame
 * stamped t is due at t + video live-edge offset + a small buffer (enough to absorb the spread of
 * decode times and arrivals, little enough to stay near live) — or, when most video is ready only
 * later than that (a slow encoder or decoder), when most video is ready: a steady picture rather than
 * one that jumps ahead of its frames.
 */
import { epochMicros } from '../shared/capture-clock.js';
import type { AudioOutput } from './AudioOutput.js';
import type { LiveEdge } from './LiveEdge.js';

export type ClockSource = 'audio' | 'wall';

export interface ClockReading {
  positionUs: number;
  source: ClockSource;
}

export class PlayoutClock {
  readonly #audio: AudioOutput | null;
  readonly #videoEdge: LiveEdge;
  readonly #bufferUs: number;
  readonly #videoReadyMs: () => number | null;

  /** `videoReadyMs`: how long after capture most video is ready to show (null: unknown) */
  constructor(audio: AudioOutput | null, videoEdge: LiveEdge, videoReadyMs: () => number | null, bufferMs = 40) {
    this.#audio = audio;
    this.#videoEdge = videoEdge;
    this.#videoReadyMs = videoReadyMs;
    this.#bufferUs = bufferMs * 1000;
  }

  /** null before any video arrived and while no audio plays: then frames are shown as they come */
  now(): ClockReading | null {
    const audio = this.#audio?.position() ?? null;
    if (audio !== null) return { positionUs: audio, source: 'audio' };
    const offset = this.#videoEdge.offsetUs;
    if (offset === null) return null;
    const delayUs = Math.max(offset + this.#bufferUs, (this.#videoReadyMs() ?? 0) * 1000);
    return { positionUs: epochMicros() - delayUs, source: 'wall' };
  }
}
