/**
 * The client side of protocol/frame-chunks.ts: a small jitter buffer. Chunks are gathered into
 * encoded frames, and frames are handed on in sequence order. A missing frame holds the ones after it
 * until it completes or until `windowFrames` newer frames have been seen — then it is lost (the data
 * channel does not retransmit). A loss, whatever the lost frame was, stops video until the next
 * keyframe, so the decoder never gets a picture whose reference it missed; audio and text flow on.
 * Memory is bounded by the window. The first chunk received sets where the stream starts: an older
 * frame arriving after it is late.
 */
import { FrameKind } from './media-frame.js';
import { CHUNK_HEADER_BYTES, readChunkHeader } from './frame-chunks.js';

export interface ReassembledFrame {
  seq: number;
  kind: FrameKind;
  keyframe: boolean;
  bytes: Uint8Array;
}

export interface ReassemblyStats {
  framesDelivered: number;
  framesLost: number;
  videoDroppedAwaitingKeyframe: number;
  badChunks: number;
  /** chunks for frames already delivered or lost, or repeated chunks */
  lateOrDuplicate: number;
}

interface Pending {
  kind: FrameKind;
  keyframe: boolean;
  parts: (Uint8Array | undefined)[];
  received: number;
  bytes: number;
}

const HALF_RANGE = 0x8000_0000;
/** distance from a to b modulo 2^32 (b ahead of a when < HALF_RANGE) */
const ahead = (a: number, b: number): number => (b - a) >>> 0;

export class FrameReassembler {
  readonly stats: ReassemblyStats = { framesDelivered: 0, framesLost: 0, videoDroppedAwaitingKeyframe: 0, badChunks: 0, lateOrDuplicate: 0 };
  readonly #pending = new Map<number, Pending>();
  readonly #complete = new Map<number, ReassembledFrame>();
  /** the next seq to hand on; null before the first chunk */
  #next: number | null = null;
  #newest = 0;
  #awaitingKeyframe = true;

  constructor(readonly windowFrames = 16) {}

  /**
   * Start at `seq`, with video flowing: the caller already holds every frame before it, from another
   * path (a viewer switching from TCP to the data channel mid-stream). Without this the first chunk
   * would set the start (an earlier frame overtaken on the unordered channel would count as late) and
   * video would wait for a keyframe the viewer does not need. Only before the first chunk.
   */
  continueFrom(seq: number): void {
    if (this.#next !== null) throw new Error('continueFrom() after the first chunk');
    this.#next = seq >>> 0;
    this.#newest = (seq - 1) >>> 0;
    this.#awaitingKeyframe = false;
  }

  /** Feed one data-channel message; returns the frames now ready, in sequence order. */
  push(chunk: Uint8Array): ReassembledFrame[] {
    let header;
    try {
      header = readChunkHeader(chunk);
    } catch {
      this.stats.badChunks++;
      return [];
    }
    const { seq } = header;
    if (this.#next === null) {
      this.#next = seq;
      this.#newest = seq;
    }
    const distance = ahead(this.#next, seq);
    if (distance >= HALF_RANGE || this.#complete.has(seq)) {
      this.stats.lateOrDuplicate++;
      return [];
    }
    const out: ReassembledFrame[] = [];
    if (distance > this.windowFrames * 4) {
      // The stream jumped (e.g. a new unit after a failover): everything waiting is lost.
      this.#giveUpTo(seq, out);
    }
    if (ahead(this.#newest, seq) < HALF_RANGE) this.#newest = seq;
    let pending = this.#pending.get(seq);
    if (!pending) {
      pending = { kind: header.kind, keyframe: header.keyframe, parts: new Array(header.count), received: 0, bytes: 0 };
      this.#pending.set(seq, pending);
    }
    if (pending.parts.length !== header.count || pending.parts[header.index]) {
      this.stats.lateOrDuplicate++;
      return out;
    }
    const part = chunk.subarray(CHUNK_HEADER_BYTES);
    pending.parts[header.index] = part;
    pending.received++;
    pending.bytes += part.length;
    if (pending.received === header.count) {
      this.#pending.delete(seq);
      this.#complete.set(seq, { seq, kind: pending.kind, keyframe: pending.keyframe, bytes: join(pending.parts as Uint8Array[], pending.bytes) });
    }
    this.#drain(out);
    while (this.#behind() >= this.windowFrames) {
      this.#lose(this.#next!);
      this.#drain(out);
    }
    return out;
  }

  /** Give up on every gap now (the stream ended or paused) and hand on what is complete. */
  flush(): ReassembledFrame[] {
    const out: ReassembledFrame[] = [];
    if (this.#next === null) return out;
    this.#giveUpTo((this.#newest + 1) >>> 0, out);
    return out;
  }

  #giveUpTo(seq: number, out: ReassembledFrame[]): void {
    while (this.#next !== seq && (this.#pending.size > 0 || this.#complete.size > 0)) {
      if (!this.#complete.has(this.#next!)) this.#lose(this.#next!);
      this.#drain(out);
    }
    if (this.#pending.size === 0 && this.#complete.size === 0 && this.#next !== seq) {
      if (ahead(this.#next!, seq) < HALF_RANGE && this.#next !== null) this.#markLost(ahead(this.#next, seq));
      this.#next = seq;
    }
  }

  /** how far the newest seq seen is ahead of the next one to hand on (0 when caught up) */
  #behind(): number {
    const d = ahead(this.#next!, this.#newest);
    return d < HALF_RANGE ? d : 0;
  }

  #drain(out: ReassembledFrame[]): void {
    for (let frame = this.#complete.get(this.#next!); frame; frame = this.#complete.get(this.#next!)) {
      this.#complete.delete(frame.seq);
      this.#next = (this.#next! + 1) >>> 0;
      if (this.#admit(frame)) out.push(frame);
    }
  }

  #lose(seq: number): void {
    this.#pending.delete(seq);
    this.#markLost(1);
    this.#next = (seq + 1) >>> 0;
  }

  #markLost(frames: number): void {
    if (frames <= 0) return;
    this.stats.framesLost += frames;
    this.#awaitingKeyframe = true;
  }

  #admit(frame: ReassembledFrame): boolean {
    if (frame.kind === FrameKind.VIDEO) {
      if (frame.keyframe) this.#awaitingKeyframe = false;
      else if (this.#awaitingKeyframe) {
        this.stats.videoDroppedAwaitingKeyframe++;
        return false;
      }
    }
    this.stats.framesDelivered++;
    return true;
  }
}

function join(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
