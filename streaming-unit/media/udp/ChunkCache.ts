/**
 * Splits each frame of a channel into data-channel chunks once, however many UDP viewers send it
 * (DESIGN "Data plane": no per-viewer copy). Viewers read the ring at slightly different places, so
 * the last `size` frames are kept, indexed by seq. A slot is trusted only when seq, timestamp and
 * length all match: a publisher that restarts its numbering must not get an old frame's chunks.
 * The chunks are copies (splitFrame allocates), so they outlive the ring slot they came from.
 */
import type { FrameKind } from '../../../protocol/media-frame.js';
import { CHUNK_HEADER_BYTES, splitFrame } from '../../../protocol/frame-chunks.js';

interface Entry {
  seq: number;
  timestamp: number;
  length: number;
  chunks: readonly Uint8Array[];
  /** the chunks' bytes, headers included: what the data channel carries */
  bytes: number;
}

export interface FrameChunks {
  readonly chunks: readonly Uint8Array[];
  readonly bytes: number;
}

export class ChunkCache {
  readonly #slots: (Entry | undefined)[];
  #splits = 0;

  constructor(
    readonly chunkPayload: number,
    readonly size = 128,
  ) {
    this.#slots = new Array<Entry | undefined>(size);
  }

  /** frames split so far (the rest were served from the cache) */
  get splits(): number {
    return this.#splits;
  }

  /**
   * The encoded frame again, joined from its chunks, if the cache still holds it (a viewer falling
   * back to TCP gets again what may have died on its data channel). Rare: no copy is kept for it.
   */
  frame(seq: number, timestamp: number): Buffer | null {
    const entry = this.#slots[seq % this.size];
    if (!entry || entry.seq !== seq || entry.timestamp !== timestamp) return null;
    return Buffer.concat(entry.chunks.map((chunk) => chunk.subarray(CHUNK_HEADER_BYTES)), entry.length);
  }

  chunksOf(frame: Uint8Array, seq: number, kind: FrameKind, keyframe: boolean, timestamp: number): FrameChunks {
    const slot = seq % this.size;
    const cached = this.#slots[slot];
    if (cached && cached.seq === seq && cached.timestamp === timestamp && cached.length === frame.length) return cached;
    // As Buffers (views, no copy): node-datachannel's sendMessageBinary takes a Buffer as it is.
    const chunks = splitFrame(frame, seq, kind, keyframe, this.chunkPayload).map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength));
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.length;
    const entry: Entry = { seq, timestamp, length: frame.length, chunks, bytes };
    this.#slots[slot] = entry;
    this.#splits++;
    return entry;
  }
}
