/**
 * The per-channel ring buffer of a streaming unit (paper §5, Fig. 10; DESIGN "Data plane"): what
 * arrives for a channel — from the broadcaster's ingest or from a relay — is written here once, and
 * every TCP viewer and every relay to another unit reads it through its own RingReader.
 *
 * - Preallocated and fixed in both dimensions: one slab of `capacityBytes` and `capacityFrames` index
 *   slots (FrameSlab.ts). The writer overwrites the oldest frames when either runs out; it never waits
 *   for a reader.
 * - A frame larger than a quarter of the slab is refused (RING_ERR_FRAME_TOO_LARGE). Such a frame
 *   would evict most of what readers need (the keyframe a new viewer starts from), and the slab space
 *   left unused when a frame does not fit before the end is less than one frame, so the cap keeps at
 *   least three quarters of the slab in use.
 * - Readers follow the rules in RingReader.ts: never past the writer; audio and text only while far
 *   behind; video again from the next keyframe; a lapped reader jumps to the newest keyframe; a new
 *   reader starts at the newest keyframe.
 * - Frame order is arrival order; seq and timestamp are recorded for stats and for readers, not checked.
 *
 * Usage: ring.write(bytes, header) once per frame (bytes from encodeFrame, or a relay's bytes with the
 * header from peekFrameHeader), then drain each reader with `while ((b = reader.next())) send(b)`
 * while its socket accepts more. A view from next() is valid until the next write.
 */
import { FrameSlab, type RingFrameHeader } from './FrameSlab.js';
import { RingError } from './errors.js';
import { resolveReaderThresholds, resolveRingOptions, type ReaderOptions, type RingOptions, type RingOptionsInput } from './ring-options.js';
import { RingReader } from './RingReader.js';

export type { RingFrameHeader } from './FrameSlab.js';
export type { ReaderMode, ReaderStats } from './RingReader.js';
export type { ReaderOptions, RingOptions, RingOptionsInput, Threshold } from './ring-options.js';
export { RingReader };

export interface RingStats {
  capacityBytes: number;
  capacityFrames: number;
  /** frames and bytes held now */
  frames: number;
  bytes: number;
  /** seq of the oldest and newest frame held; null when empty */
  oldestSeq: number | null;
  newestSeq: number | null;
  /** seq of the newest video keyframe held (where a new reader starts); null when none */
  latestKeyframeSeq: number | null;
  /** absolute frame numbers: oldest held, next to be written, newest keyframe (-1 when none) */
  firstFrame: number;
  nextFrame: number;
  latestKeyframe: number;
  framesWritten: number;
  bytesWritten: number;
  framesEvicted: number;
  readers: number;
}

export class RingBuffer {
  readonly options: Readonly<RingOptions>;
  /** the largest frame write() accepts: a quarter of the slab */
  readonly maxFrameBytes: number;
  readonly #slab: FrameSlab;
  readonly #readers = new Set<RingReader>();
  #closed = false;

  /** Throws RingError RING_ERR_BAD_OPTIONS. Allocates the slab and the index, once. */
  constructor(options: RingOptionsInput = {}) {
    this.options = resolveRingOptions(options);
    this.maxFrameBytes = Math.floor(this.options.capacityBytes / 4);
    this.#slab = new FrameSlab(this.options);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get readerCount(): number {
    return this.#readers.size;
  }

  /**
   * Copies one encoded frame into the slab, evicting the oldest frames as needed. Readers whose
   * frames are evicted notice on their next read. Returns the frame number (for frameView). Throws
   * RingError (too large, empty, closed).
   */
  write(bytes: Uint8Array, header: RingFrameHeader): number {
    if (this.#closed) throw new RingError('RING_ERR_CLOSED');
    if (bytes.length === 0) throw new RingError('RING_ERR_EMPTY_FRAME');
    if (bytes.length > this.maxFrameBytes) throw new RingError('RING_ERR_FRAME_TOO_LARGE', `${bytes.length} > ${this.maxFrameBytes} bytes`);
    this.#slab.write(bytes, header);
    return this.#slab.head - 1;
  }

  /** The stored bytes of frame number `n` (what `write` returned), or null once it was overwritten. */
  frameView(n: number): Buffer | null {
    const slab = this.#slab;
    return n >= slab.tail && n < slab.head ? slab.view(slab.slot(n)) : null;
  }

  /**
   * A reader positioned at the newest keyframe (or at the writer when none is held). Options override
   * the ring's thresholds key by key. Throws RingError (bad options, closed).
   */
  createReader(options: ReaderOptions = {}): RingReader {
    if (this.#closed) throw new RingError('RING_ERR_CLOSED');
    const thresholds = resolveReaderThresholds(this.options, options);
    const reader = new RingReader(this.#slab, thresholds, (r) => this.#readers.delete(r));
    this.#readers.add(reader);
    return reader;
  }

  stats(): RingStats {
    const slab = this.#slab;
    const { head, tail } = slab;
    const key = slab.latestKeyframe;
    return {
      capacityBytes: slab.capacityBytes,
      capacityFrames: slab.capacityFrames,
      frames: head - tail,
      bytes: slab.bytesHeld,
      oldestSeq: head > tail ? slab.seq[slab.slot(tail)]! : null,
      newestSeq: head > tail ? slab.seq[slab.slot(head - 1)]! : null,
      latestKeyframeSeq: key >= 0 ? slab.seq[slab.slot(key)]! : null,
      firstFrame: tail,
      nextFrame: head,
      latestKeyframe: key,
      framesWritten: head,
      bytesWritten: slab.bytesWritten,
      framesEvicted: slab.framesEvicted,
      readers: this.#readers.size,
    };
  }

  /** Closes the ring and every reader (they return null from then on). Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const reader of this.#readers) reader.ringClosed();
    this.#readers.clear();
  }
}
