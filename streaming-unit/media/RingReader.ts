/**
 * One reader of a ring buffer: a viewer served over TCP, or a relay to another unit (paper §5.2).
 *
 * The reader has a cursor, the number of the next frame it considers. `next()` returns that frame's
 * bytes as a view of the slab, or null when the reader has caught up: it never passes the writer.
 * Rules, in the order `next()` applies them:
 * 1. Lapped (the writer overwrote the frame at the cursor): jump to the newest video keyframe held,
 *    or to the writer when none is held. Counted in `drops`, the frames passed over in `framesDropped`.
 * 2. Start: a new reader makes the same jump, so its first picture comes at once. With no keyframe
 *    held it starts at the writer: audio and text flow at once (the player can start sound), video
 *    waits for the first keyframe.
 * 3. After a jump the backlog from the keyframe to the writer at that moment is the catch-up the jump
 *    asked for, so the backlog rule (4) is suspended for it; otherwise a GOP longer than the lag
 *    threshold would make a reader skip the very keyframe it jumped to.
 * 4. Backlog (paper: a reader far behind gets audio only so its data is not overwritten before it is
 *    sent): before each frame, the reader counts what is written after that frame. Over the lag
 *    threshold (frames OR bytes) it goes audio-only: video is skipped (counted in `videoSkipped`),
 *    audio and text still go. Under the resume threshold (frames AND bytes) it goes back to full.
 * 5. Video only starts at a keyframe: after a jump and after a resume, video frames are skipped until
 *    the next keyframe (never mid-GOP), also counted in `videoSkipped`.
 *
 * Allocation: `next()` allocates only the returned Buffer view (no copy of the bytes). The view is
 * valid until the ring's next write, which may overwrite those bytes: hand it, before returning to the
 * event loop, to a sender that copies it — uWebSockets.js `send` and node-datachannel do (into their
 * own backpressure buffers); Node's `socket.write` does NOT when it has to queue, so such a sender
 * writes only while its queue is empty or copies first. Never keep the view. Drain a reader only
 * while its connection has no backpressure: the ring then does the buffering, bounded, for everyone.
 */
import { FrameKind } from '../../protocol/media-frame.js';
import type { FrameSlab } from './FrameSlab.js';
import type { ReaderThresholds } from './ring-options.js';

export type ReaderMode = 'full' | 'audio-only';

export interface ReaderStats {
  /** as decided at the last frame considered (a caught-up reader updates it with the next frame) */
  mode: ReaderMode;
  /** video is held back until the next keyframe (after a start, a jump or a resume) */
  waitingForKeyframe: boolean;
  /** number of the next frame this reader considers */
  cursor: number;
  /** frames and bytes written that this reader has not considered yet */
  lagFrames: number;
  lagBytes: number;
  framesSent: number;
  bytesSent: number;
  videoSkipped: number;
  /** times the writer lapped this reader (each a jump to the newest keyframe) */
  drops: number;
  /** frames passed over by those jumps */
  framesDropped: number;
  /** times the backlog rule switched it to audio-only */
  degradations: number;
}

export class RingReader {
  readonly #slab: FrameSlab;
  readonly #onClose: (reader: RingReader) => void;
  #closed = false;
  #cursor = 0;
  /** bytes written before the frame at the cursor: the byte lag is bytesWritten minus this */
  #bytePos = 0;
  #audioOnly = false;
  #waitKeyframe = true;
  /** the consumer cannot take more now (its socket or data channel is backed up) */
  #congested = false;
  #skippedWhileCongested = false;
  /** the backlog rule applies to frames from this number on (rule 3) */
  #graceUntil = 0;
  #framesSent = 0;
  #bytesSent = 0;
  #videoSkipped = 0;
  #drops = 0;
  #framesDropped = 0;
  #degradations = 0;
  #lastSeq = -1;
  #lastKind = 0;
  #lastKeyframe = false;
  #lastTimestamp = -1;

  /** Made by RingBuffer.createReader(); `onClose` lets the ring forget it. */
  constructor(
    slab: FrameSlab,
    readonly thresholds: ReaderThresholds,
    onClose: (reader: RingReader) => void,
  ) {
    this.#slab = slab;
    this.#onClose = onClose;
    this.#jump();
  }

  /** video frames skipped by the backlog rule so far (read on the send path: no allocation) */
  get videoSkipped(): number {
    return this.#videoSkipped;
  }

  /** bytes of the frames `next()` returned so far (read on the report path: no allocation) */
  get bytesSent(): number {
    return this.#bytesSent;
  }

  /** jumps over frames the writer overwrote, so far */
  get drops(): number {
    return this.#drops;
  }

  get closed(): boolean {
    return this.#closed;
  }
  /** nothing left to read: the cursor is at the writer */
  get caughtUp(): boolean {
    return this.#cursor >= this.#slab.head;
  }
  /** video frames are being skipped until the next keyframe */
  get waitingForKeyframe(): boolean {
    return this.#waitKeyframe;
  }
  get mode(): ReaderMode {
    return this.#audioOnly ? 'audio-only' : 'full';
  }
  /** seq, kind, keyframe flag and timestamp of the frame `next()` returned last (-1/0 before any) */
  get lastSeq(): number {
    return this.#lastSeq;
  }
  get lastKind(): FrameKind | 0 {
    return this.#lastKind as FrameKind | 0;
  }
  get lastKeyframe(): boolean {
    return this.#lastKeyframe;
  }
  get lastTimestamp(): number {
    return this.#lastTimestamp;
  }

  /** The next frame to send, as a view of the slab valid until the ring's next write; null when caught up or closed. */
  next(): Buffer | null {
    if (this.#closed) return null;
    const slab = this.#slab;
    if (this.#cursor < slab.tail) this.#lapped();
    const head = slab.head;
    const { lag, resume } = this.thresholds;
    while (this.#cursor < head) {
      const n = this.#cursor;
      const s = slab.slot(n);
      const size = slab.length[s]!;
      if (n >= this.#graceUntil) {
        // What is written after this frame: the backlog that grows while this reader is slow.
        const behindFrames = head - n - 1;
        const behindBytes = slab.bytesWritten - this.#bytePos - size;
        if (!this.#audioOnly) {
          if (behindFrames > lag.frames || behindBytes > lag.bytes) {
            this.#audioOnly = true;
            this.#degradations++;
          }
        } else if (behindFrames < resume.frames && behindBytes < resume.bytes) {
          this.#audioOnly = false;
          this.#waitKeyframe = true;
        }
      }
      this.#cursor = n + 1;
      this.#bytePos += size;
      const kind = slab.kind[s]!;
      if (kind === FrameKind.VIDEO) {
        if (this.#audioOnly || this.#congested || (this.#waitKeyframe && slab.keyframe[s] === 0)) {
          this.#videoSkipped++;
          if (this.#congested) this.#skippedWhileCongested = true;
          continue;
        }
        this.#waitKeyframe = false;
      }
      this.#framesSent++;
      this.#bytesSent += size;
      this.#lastSeq = slab.seq[s]!;
      this.#lastKind = kind;
      this.#lastKeyframe = slab.keyframe[s] === 1;
      this.#lastTimestamp = slab.timestamp[s]!;
      return slab.view(s);
    }
    return null;
  }

  stats(): ReaderStats {
    const slab = this.#slab;
    return {
      mode: this.mode,
      waitingForKeyframe: this.#waitKeyframe,
      cursor: this.#cursor,
      lagFrames: slab.head - this.#cursor,
      lagBytes: slab.bytesWritten - this.#bytePos,
      framesSent: this.#framesSent,
      bytesSent: this.#bytesSent,
      videoSkipped: this.#videoSkipped,
      drops: this.#drops,
      framesDropped: this.#framesDropped,
      degradations: this.#degradations,
    };
  }

  get congested(): boolean {
    return this.#congested;
  }

  /**
   * The consumer's own queue (socket buffer, data channel) is over its bound: skip video, keep audio
   * and text flowing, so the queue drains while the reader keeps up with the writer. When it clears,
   * video resumes at the next keyframe (if any video was skipped meanwhile).
   */
  setCongested(congested: boolean): void {
    if (congested === this.#congested) return;
    this.#congested = congested;
    if (!congested && this.#skippedWhileCongested) this.#waitKeyframe = true;
    this.#skippedWhileCongested = false;
  }

  /**
   * Continues from the writer's position, in full mode, as if this reader had read every frame so
   * far: for a reader whose frames were delivered another way meanwhile (the unit's topic fan-out).
   */
  resumeAtHead(): void {
    const slab = this.#slab;
    this.#cursor = slab.head;
    this.#bytePos = slab.bytesWritten;
    this.#audioOnly = false;
    this.#waitKeyframe = false;
    this.#graceUntil = slab.head;
  }

  /** Stops reading and leaves the ring. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose(this);
  }

  /** The ring closed: this reader returns null from now on. */
  ringClosed(): void {
    this.#closed = true;
  }

  #lapped(): void {
    const from = this.#cursor;
    this.#drops++;
    this.#jump();
    this.#framesDropped += this.#cursor - from;
  }

  /** To the newest keyframe held, else to the writer; full mode, video from a keyframe, grace to the writer. */
  #jump(): void {
    const slab = this.#slab;
    const key = slab.latestKeyframe;
    this.#cursor = key >= 0 ? key : slab.head;
    this.#bytePos = key >= 0 ? slab.startByte[slab.slot(key)]! : slab.bytesWritten;
    this.#audioOnly = false;
    this.#waitKeyframe = true;
    this.#graceUntil = slab.head;
  }
}
