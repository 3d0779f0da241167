/**
 * One stream of frames, in seq order and without duplicates, out of a watch socket's two paths: the
 * WebSocket (ordered, reliable) and UDP (chunks, unordered, lossy; on a data channel or an RTP track,
 * "the data channel" below) — across the unit's switches between them either way.
 *
 * The unit switches between two frames and says so on the WebSocket (`mode`), after the last frame it
 * sent there. So:
 * - to UDP: data-channel chunks that come before `mode: udp` are kept; at `mode: udp` every frame of
 *   the WebSocket is in, and the reassembler starts right after the last frame delivered, video
 *   flowing (FrameReassembler.continueFrom);
 * - to TCP: at `mode: tcp` the data channel may still have frames on the way, and the WebSocket
 *   frames after the switch are held until the data channel has delivered everything before the first
 *   of them, or closed, or the owner's deadline passed (`finishDrain`); what is still missing then
 *   was lost.
 * Around a switch a frame older than the last one delivered is a duplicate and dropped; on plain TCP
 * frames pass as they come.
 */
import { FrameReassembler, type ReassembledFrame } from '../../protocol/FrameReassembler.js';
import { decodeFrame, type Frame } from '../../protocol/media-frame.js';

export type FramePath = 'tcp' | 'udp';

export interface SequencerStats {
  chunksReceived: number;
  /** frames delivered from the data channel */
  udpFrames: number;
  /** frames that arrived twice (both paths around a switch) or too late */
  duplicates: number;
  /** data-channel frames whose bytes were not a valid frame */
  badFrames: number;
}

/** Chunks kept before `mode: udp` arrives (it is on its way on the WebSocket: milliseconds). */
const MAX_EARLY_CHUNKS = 4096;
const HALF_RANGE = 0x8000_0000;
/** a after b, modulo 2^32 */
const after = (a: number, b: number): boolean => a !== b && ((a - b) >>> 0) < HALF_RANGE;

export class FrameSequencer {
  readonly stats: SequencerStats = { chunksReceived: 0, udpFrames: 0, duplicates: 0, badFrames: 0 };
  #lastSeq: number | null = null;
  #reassembler: FrameReassembler | null = null;
  /** reassembler stats of earlier UDP periods, so the totals survive a switch */
  readonly #pastLoss = { framesLost: 0, framesDelivered: 0, videoDroppedAwaitingKeyframe: 0 };
  #early: Uint8Array[] = [];
  #draining = false;
  #held: { frame: Frame; bytes: number }[] = [];
  /** a UDP period just ended: WebSocket frames not after the last one delivered are repeats */
  #afterUdp = false;

  constructor(
    private readonly deliver: (frame: Frame, bytes: number, path: FramePath) => void,
    private readonly windowFrames = 16,
  ) {}

  get lastSeq(): number | null {
    return this.#lastSeq;
  }

  /** frames come from the data channel now (the reassembler is running) */
  get udpActive(): boolean {
    return this.#reassembler !== null && !this.#draining;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Loss as the data channel saw it, over every UDP period of this socket. */
  get udpLoss(): { framesLost: number; framesDelivered: number; videoDroppedAwaitingKeyframe: number } {
    const r = this.#reassembler?.stats;
    return {
      framesLost: this.#pastLoss.framesLost + (r?.framesLost ?? 0),
      framesDelivered: this.#pastLoss.framesDelivered + (r?.framesDelivered ?? 0),
      videoDroppedAwaitingKeyframe: this.#pastLoss.videoDroppedAwaitingKeyframe + (r?.videoDroppedAwaitingKeyframe ?? 0),
    };
  }

  /** A frame from the WebSocket. */
  tcpFrame(frame: Frame, bytes: number): void {
    if (this.#reassembler === null) {
      // Right after a UDP period the unit may send again frames delivered already: those come first.
      if (this.#afterUdp && this.#lastSeq !== null && !after(frame.seq, this.#lastSeq)) {
        this.stats.duplicates++;
        return;
      }
      // Plain TCP: the WebSocket's own order stands (a publisher that restarts its numbering included).
      this.#afterUdp = false;
      this.#lastSeq = frame.seq;
      return this.deliver(frame, bytes, 'tcp');
    }
    // WebSocket frames while the unit is on UDP would be a unit bug; after mode tcp they wait their turn.
    this.#held.push({ frame, bytes });
    if (this.#draining) this.#tryFinishDrain();
  }

  /** A data-channel message. */
  udpChunk(chunk: Uint8Array): void {
    this.stats.chunksReceived++;
    const reassembler = this.#reassembler;
    if (!reassembler) {
      if (this.#early.length < MAX_EARLY_CHUNKS) this.#early.push(chunk);
      return;
    }
    this.#reassembled(reassembler.push(chunk));
    if (this.#draining) this.#tryFinishDrain();
  }

  /** The unit's `mode` message. */
  unitMode(mode: FramePath): void {
    if (mode === 'udp') {
      if (this.#reassembler && !this.#draining) return;
      if (this.#draining) this.finishDrain();
      const reassembler = new FrameReassembler(this.windowFrames);
      if (this.#lastSeq !== null) reassembler.continueFrom((this.#lastSeq + 1) >>> 0);
      this.#reassembler = reassembler;
      const early = this.#early;
      this.#early = [];
      for (const chunk of early) this.#reassembled(reassembler.push(chunk));
      return;
    }
    this.#early = [];
    if (!this.#reassembler || this.#draining) return;
    this.#draining = true;
    this.#tryFinishDrain();
  }

  /** The data channel is gone: nothing more will come from it. */
  udpClosed(): void {
    this.#early = [];
    if (this.#draining) this.finishDrain();
  }

  /**
   * Stops waiting for the data channel. What it still holds complete and the WebSocket frames held
   * meanwhile go out merged in seq order (the unit may send again on the WebSocket frames its failed
   * channel carried last); what neither path brought is lost.
   */
  finishDrain(): void {
    const reassembler = this.#reassembler;
    if (!reassembler) return;
    const fromUdp = this.#decoded(reassembler.flush());
    this.#pastLoss.framesLost += reassembler.stats.framesLost;
    this.#pastLoss.framesDelivered += reassembler.stats.framesDelivered;
    this.#pastLoss.videoDroppedAwaitingKeyframe += reassembler.stats.videoDroppedAwaitingKeyframe;
    this.#reassembler = null;
    this.#draining = false;
    this.#afterUdp = true;
    const held = this.#held;
    this.#held = [];
    let u = 0;
    for (const t of held) {
      for (; u < fromUdp.length && after(t.frame.seq, fromUdp[u]!.frame.seq); u++) this.#emit(fromUdp[u]!.frame, fromUdp[u]!.bytes, 'udp');
      this.#emit(t.frame, t.bytes, 'tcp');
    }
    for (; u < fromUdp.length; u++) this.#emit(fromUdp[u]!.frame, fromUdp[u]!.bytes, 'udp');
  }

  #tryFinishDrain(): void {
    const first = this.#held[0];
    if (!first) return;
    // From the first WebSocket frame after the switch on, the WebSocket brings everything: when that
    // one follows the last frame delivered (or comes before it: frames sent again), nothing is missing.
    if (this.#lastSeq === null || !after(first.frame.seq, (this.#lastSeq + 1) >>> 0)) this.finishDrain();
  }

  #reassembled(frames: ReassembledFrame[]): void {
    const limit = this.#draining ? this.#held[0]?.frame.seq : undefined;
    for (const { frame, bytes } of this.#decoded(frames)) {
      // Past the first held WebSocket frame the WebSocket has it all, in order.
      if (limit !== undefined && !after(limit, frame.seq)) {
        this.stats.duplicates++;
        continue;
      }
      this.#emit(frame, bytes, 'udp');
    }
  }

  #decoded(frames: ReassembledFrame[]): { frame: Frame; bytes: number }[] {
    const out: { frame: Frame; bytes: number }[] = [];
    for (const r of frames) {
      try {
        out.push({ frame: decodeFrame(r.bytes), bytes: r.bytes.byteLength });
      } catch {
        this.stats.badFrames++;
      }
    }
    return out;
  }

  #emit(frame: Frame, bytes: number, path: FramePath): void {
    if (this.#lastSeq !== null && !after(frame.seq, this.#lastSeq)) {
      this.stats.duplicates++;
      return;
    }
    this.#lastSeq = frame.seq;
    if (path === 'udp') this.stats.udpFrames++;
    this.deliver(frame, bytes, path);
  }
}
