/**
 * One UDP viewer's frame accounting on its carrier (a data channel, or RTP packets on a media track):
 * which frames came whole, which never did. Lighter than protocol/FrameReassembler.ts, which a player
 * needs (frames handed on in seq order, video held back after a loss until a keyframe) but the
 * generator does not: here a frame counts the moment its last chunk arrives, whatever came before
 * it, so its latency is the network's and the unit's, not a jitter buffer's.
 *
 * - complete: every chunk of the seq arrived (protocol/frame-chunks.ts); its chunks are joined and the
 *   whole encoded frame goes to `sink.frame`, read at the time of its last chunk;
 * - lost: a seq not complete once GIVE_UP_FRAMES newer seqs have been seen (about 0.4 s of a 30 fps
 *   video + 50 fps audio stream), partial or never seen; `sink.lost` gets how many. Neither carrier
 *   retransmits, and a frame skipped by the unit (its send bound) looks the same to a viewer;
 * - late: a chunk for a seq already given up on, or a repeated chunk (`sink.chunk(…, 'late')`).
 *
 * Counting starts at `startAt(seq)` (the first seq after the last frame the WebSocket delivered, as
 * the unit switches between two frames) or, without it, at the first chunk. Memory is bounded: only
 * seqs within GIVE_UP_FRAMES of the newest are held.
 */
import { CHUNK_HEADER_BYTES, readChunkHeader } from '../../../protocol/frame-chunks.js';

export const GIVE_UP_FRAMES = 32;
const HALF_RANGE = 0x8000_0000;

export type ChunkOutcome = 'ok' | 'late' | 'bad';

export interface UdpFrameSink {
  /** a whole encoded frame (the ring's exact bytes), complete at `readAtMs` (performance.now()) */
  frame(bytes: Buffer, readAtMs: number): void;
  /** `frames` seqs given up on */
  lost(frames: number): void;
  /** one chunk (a data-channel message, or the chunk an RTP packet carries) of `bytes`, its header included */
  chunk(bytes: number, outcome: ChunkOutcome): void;
}

interface Slot {
  count: number;
  received: number;
  bytes: number;
  parts: (Buffer | undefined)[] | null;
  done: boolean;
}

export class UdpFrameCounter {
  readonly #sink: UdpFrameSink;
  readonly #slots = new Map<number, Slot>();
  /** the oldest seq not yet decided; null before the start */
  #next: number | null = null;
  /** the newest seq seen */
  #newest = 0;

  constructor(sink: UdpFrameSink) {
    this.#sink = sink;
  }

  get started(): boolean {
    return this.#next !== null;
  }

  /** the newest seq seen on the carrier, or null before any */
  get newest(): number | null {
    return this.#next === null ? null : this.#newest;
  }

  /** Counts from `seq` on. Only before the first chunk (later: ignored). */
  startAt(seq: number): void {
    if (this.#next !== null) return;
    this.#next = seq >>> 0;
    this.#newest = (seq - 1) >>> 0;
  }

  /** One chunk, read at `readAtMs`. */
  chunk(bytes: Buffer, readAtMs: number): void {
    let header;
    try {
      header = readChunkHeader(bytes);
    } catch {
      this.#sink.chunk(bytes.length, 'bad');
      return;
    }
    const seq = header.seq;
    if (this.#next === null) {
      this.#next = seq;
      this.#newest = seq;
    }
    if (((seq - this.#next) >>> 0) >= HALF_RANGE) {
      this.#sink.chunk(bytes.length, 'late');
      return;
    }
    if (((seq - this.#newest) >>> 0) < HALF_RANGE) this.#newest = seq;
    let slot = this.#slots.get(seq);
    if (!slot) {
      slot = { count: header.count, received: 0, bytes: 0, parts: new Array<Buffer | undefined>(header.count), done: false };
      this.#slots.set(seq, slot);
    }
    if (slot.done || slot.parts === null || slot.parts.length !== header.count || slot.parts[header.index]) {
      this.#sink.chunk(bytes.length, 'late');
    } else {
      this.#sink.chunk(bytes.length, 'ok');
      const part = bytes.subarray(CHUNK_HEADER_BYTES);
      slot.parts[header.index] = part;
      slot.received++;
      slot.bytes += part.length;
      if (slot.received === slot.count) {
        const parts = slot.parts as Buffer[];
        slot.done = true;
        slot.parts = null;
        this.#sink.frame(parts.length === 1 ? parts[0]! : Buffer.concat(parts, slot.bytes), readAtMs);
      }
    }
    const behind = (this.#newest - this.#next) >>> 0;
    if (behind < HALF_RANGE && behind >= GIVE_UP_FRAMES) this.#decide(behind - GIVE_UP_FRAMES + 1);
  }

  /** Decides every seq up to the newest now (the carrier's period ended). */
  flush(): void {
    if (this.#next === null) return;
    const span = ((this.#newest - this.#next) >>> 0) + 1;
    if (span < HALF_RANGE) this.#decide(span);
  }

  /** Decides the `n` oldest seqs: complete ones were counted already, the rest are lost. */
  #decide(n: number): void {
    const next = this.#next!;
    let complete = 0;
    if (n === 1) {
      const slot = this.#slots.get(next);
      if (slot) {
        if (slot.done) complete++;
        this.#slots.delete(next);
      }
    } else {
      for (const [seq, slot] of this.#slots) {
        if (((seq - next) >>> 0) < n) {
          if (slot.done) complete++;
          this.#slots.delete(seq);
        }
      }
    }
    this.#next = (next + n) >>> 0;
    if (n - complete > 0) this.#sink.lost(n - complete);
  }
}
