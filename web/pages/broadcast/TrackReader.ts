/**
 * Reads a camera or microphone track as raw VideoFrames or AudioData through Chromium's
 * MediaStreamTrackProcessor, and stamps each one with the capture clock the moment it is read —
 * the stamp every frame carries to the viewers, from which glass-to-glass latency is measured.
 * The callback owns the frame it gets and must close it.
 */
import { CaptureStamps } from '../shared/capture-clock.js';

export type RawFrame = VideoFrame | AudioData;

export class TrackReader<T extends RawFrame> {
  readonly track: MediaStreamTrack;
  readonly #reader: ReadableStreamDefaultReader<T>;
  #stopped = false;

  /**
   * `maxBufferSize`: how many raw frames the processor holds while this page is busy before it drops
   * the oldest. Video wants few (a late frame is worth less than a fresh one); audio more (a gap is
   * audible).
   */
  constructor(track: MediaStreamTrack, stamps: CaptureStamps, onFrame: (frame: T, stamp: number) => void, options: { maxBufferSize: number; onEnd?: () => void }) {
    this.track = track;
    const processor = new MediaStreamTrackProcessor<T>({ track, maxBufferSize: options.maxBufferSize });
    this.#reader = processor.readable.getReader();
    void this.#run(stamps, onFrame, options.onEnd);
  }

  async #run(stamps: CaptureStamps, onFrame: (frame: T, stamp: number) => void, onEnd?: () => void): Promise<void> {
    for (;;) {
      let result: ReadableStreamReadResult<T>;
      try {
        result = await this.#reader.read();
      } catch {
        break; // the track ended or the reader was cancelled: nothing more to read
      }
      if (result.done) break;
      const frame = result.value;
      const stamp = stamps.next();
      if (this.#stopped) {
        frame.close();
        break;
      }
      try {
        onFrame(frame, stamp);
      } catch (error) {
        // One frame's failure must not stop the stream: the next frame is read as usual.
        console.error('frame handler failed', error);
      }
    }
    if (!this.#stopped) onEnd?.();
  }

  /** Stops reading (the track itself is left alone). Safe to call twice. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#reader.cancel().catch(() => {});
  }
}
