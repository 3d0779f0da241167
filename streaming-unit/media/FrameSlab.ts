/**
 * The storage of a ring buffer (paper Fig. 10): one slab of bytes allocated once, and an index of
 * fixed size in typed arrays, both circular. Frames are numbered 0, 1, 2, … in the order written
 * (absolute numbers, safe as JS numbers for millennia); frame n lives in index slot n % capacityFrames
 * and in slab bytes [offset, offset + length). The frames held are [tail, head).
 *
 * Writing copies the bytes into the slab once and evicts the oldest frames until both the slab
 * region and an index slot are free. Nothing is allocated per frame. Readers live in RingReader.ts;
 * this class knows nothing of them.
 */
import { FrameKind } from '../../protocol/media-frame.js';
import type { RingOptions } from './ring-options.js';

/** What the ring needs to know about a frame: from the Frame you encoded, or from peekFrameHeader. */
export interface RingFrameHeader {
  readonly kind: FrameKind;
  readonly keyframe: boolean;
  readonly seq: number;
  readonly timestamp: number;
}

export class FrameSlab {
  readonly capacityBytes: number;
  readonly capacityFrames: number;
  readonly slab: Buffer;
  readonly offset: Uint32Array;
  readonly length: Uint32Array;
  readonly seq: Uint32Array;
  readonly timestamp: Float64Array;
  readonly kind: Uint8Array;
  /** 1 only for video keyframes: the only frames a reader may start video at */
  readonly keyframe: Uint8Array;
  /** bytes written before this frame, since the ring began: a reader's byte lag without a scan */
  readonly startByte: Float64Array;

  #head = 0;
  #tail = 0;
  #latestKeyframe = -1;
  #writeAt = 0;
  #bytesHeld = 0;
  #bytesWritten = 0;
  #evicted = 0;

  constructor(options: Readonly<RingOptions>) {
    this.capacityBytes = options.capacityBytes;
    this.capacityFrames = options.capacityFrames;
    // allocUnsafeSlow: the slab is a long-lived buffer of its own, not a slice of Node's shared pool.
    this.slab = Buffer.allocUnsafeSlow(this.capacityBytes);
    const n = this.capacityFrames;
    this.offset = new Uint32Array(n);
    this.length = new Uint32Array(n);
    this.seq = new Uint32Array(n);
    this.timestamp = new Float64Array(n);
    this.kind = new Uint8Array(n);
    this.keyframe = new Uint8Array(n);
    this.startByte = new Float64Array(n);
  }

  /** number of the next frame to be written */
  get head(): number {
    return this.#head;
  }
  /** number of the oldest frame held (== head when empty) */
  get tail(): number {
    return this.#tail;
  }
  /** number of the newest video keyframe held, or -1 */
  get latestKeyframe(): number {
    return this.#latestKeyframe;
  }
  get bytesHeld(): number {
    return this.#bytesHeld;
  }
  get bytesWritten(): number {
    return this.#bytesWritten;
  }
  get framesEvicted(): number {
    return this.#evicted;
  }

  slot(n: number): number {
    return n % this.capacityFrames;
  }

  /** The bytes of the held frame in `slot`, as a view of the slab (no copy; valid until the next write). */
  view(slot: number): Buffer {
    const start = this.offset[slot]!;
    return this.slab.subarray(start, start + this.length[slot]!);
  }

  /** Copies one frame in. The caller has checked 0 < bytes.length <= capacityBytes / 4. */
  write(bytes: Uint8Array, header: RingFrameHeader): void {
    const size = bytes.length;
    let at = this.#writeAt;
    if (at + size > this.capacityBytes) {
      // The frame does not fit before the end: give up the rest of the slab for this lap and start
      // again at 0. Whatever lies in [at, end) is the oldest data, so it goes first.
      this.#evictOverlapping(at, this.capacityBytes);
      at = 0;
    }
    this.#evictOverlapping(at, at + size);
    if (this.#head - this.#tail === this.capacityFrames) this.#evictOldest();

    const n = this.#head;
    const s = this.slot(n);
    this.slab.set(bytes, at);
    this.offset[s] = at;
    this.length[s] = size;
    this.seq[s] = header.seq;
    this.timestamp[s] = header.timestamp;
    this.kind[s] = header.kind;
    const key = header.kind === FrameKind.VIDEO && header.keyframe;
    this.keyframe[s] = key ? 1 : 0;
    this.startByte[s] = this.#bytesWritten;
    if (key) this.#latestKeyframe = n;
    this.#writeAt = at + size;
    this.#bytesHeld += size;
    this.#bytesWritten += size;
    this.#head = n + 1;
  }

  /**
   * Evicts from the tail while the oldest frame overlaps [from, to). Going forward from the write
   * position the slab holds, in order: unused space, then the held frames oldest first. So the frames
   * in the way of a write are always a prefix of the tail, and stopping at the first frame that is
   * not in the way is correct.
   */
  #evictOverlapping(from: number, to: number): void {
    while (this.#tail < this.#head) {
      const s = this.slot(this.#tail);
      const start = this.offset[s]!;
      if (start >= to || start + this.length[s]! <= from) return;
      this.#evictOldest();
    }
  }

  #evictOldest(): void {
    const s = this.slot(this.#tail);
    this.#bytesHeld -= this.length[s]!;
    this.#tail++;
    this.#evicted++;
    if (this.#latestKeyframe < this.#tail) this.#latestKeyframe = -1;
  }
}
