/**
 * Splits each frame of a channel into UDP messages once, however many UDP viewers send it (DESIGN
 * "Data plane": no per-viewer copy): data-channel chunks, or for the `rtp` carrier the same chunks
 * as RTP packets (protocol/chunk-rtp.ts), which each session numbers as it sends them. One cache per
 * channel per carrier. Viewers read the ring at slightly different places, so
 * the last `size` frames are kept, indexed by seq. A slot is trusted only when seq, timestamp and
 * length all match: a publisher that restarts its numbering must not get an old frame's chunks.
 * The messages are copies (splitFrame allocates), so they outlive the ring slot they came from.
 */
import type { FrameKind } from '../../../protocol/media-frame.js';
import { CHUNK_HEADER_BYTES, splitFrame } from '../../../protocol/frame-chunks.js';
import { CHUNK_RTP_PREFIX_BYTES, rtpPacketOfChunk } from '../../../protocol/chunk-rtp.js';
import type { UdpCarrier } from '../../../protocol/media-messages.js';

interface Entry {
  seq: number;
  timestamp: number;
  length: number;
  messages: readonly Buffer[];
  /** the messages' bytes, headers included: what the data channel or the track carries */
  bytes: number;
}

export interface FrameMessages {
  readonly messages: readonly Buffer[];
  readonly bytes: number;
}

export class ChunkCache {
  readonly #slots: (Entry | undefined)[];
  /** bytes before each chunk's own header in a message */
  readonly #prefix: number;
  #splits = 0;

  constructor(
    readonly carrier: UdpCarrier,
    readonly chunkPayload: number,
    readonly size = 128,
  ) {
    this.#slots = new Array<Entry | undefined>(size);
    this.#prefix = carrier === 'rtp' ? CHUNK_RTP_PREFIX_BYTES : 0;
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
    const skip = this.#prefix + CHUNK_HEADER_BYTES;
    return Buffer.concat(entry.messages.map((message) => message.subarray(skip)), entry.length);
  }

  messagesOf(frame: Uint8Array, seq: number, kind: FrameKind, keyframe: boolean, timestamp: number): FrameMessages {
    const slot = seq % this.size;
    const cached = this.#slots[slot];
    if (cached && cached.seq === seq && cached.timestamp === timestamp && cached.length === frame.length) return cached;
    const chunks = splitFrame(frame, seq, kind, keyframe, this.chunkPayload);
    // As Buffers (views, no copy): node-datachannel's send calls take a Buffer as it is.
    const messages = chunks.map((chunk) => {
      const message = this.carrier === 'rtp' ? rtpPacketOfChunk(chunk) : chunk;
      return Buffer.from(message.buffer, message.byteOffset, message.byteLength);
    });
    let bytes = 0;
    for (const message of messages) bytes += message.length;
    const entry: Entry = { seq, timestamp, length: frame.length, messages, bytes };
    this.#slots[slot] = entry;
    this.#splits++;
    return entry;
  }
}
