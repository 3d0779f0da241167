/**
 * What the generator counts per frame a viewer receives, the same for every transport (a UDP viewer
 * hands its reassembled frames to `frameArrived` too). Counters run from the last `reset()` (the
 * measurement window's start); the time to the first keyframe is per viewer, from its connect.
 *
 * - latency: read time − the publisher's send stamp (stream.ts), on the machine's shared clock. It is
 *   what the unit adds plus two loopback hops and the generator's own read delay: an upper bound on
 *   the server-added latency (the generator's loop delay is reported beside it to tell them apart);
 * - on time: latency ≤ 100 ms;
 * - missed: sequence gaps (frames the server skipped or dropped for this viewer). The on-time share
 *   is on time ÷ (received + missed), so skipping frames cannot make a server look punctual.
 *
 * - UDP viewers (udp-viewer.ts): a frame off the carrier (data channel or RTP track) counts when its
 *   last chunk arrives (`udpFrame`, latency to that chunk); seq gaps are not inferred from arrival
 *   order (neither carrier promises order) but reported by the viewer's own accounting (`udpLost`, udp-frames.ts) into `missed`
 *   and `udpLost`. Frames the WebSocket delivers (before the switch, or after a fallback) count as
 *   on TCP. `udpFrames` / (`udpFrames` + `udpLost`) is the share of frames complete on the carrier.
 *
 * A viewer may also carry a tag (the relay scenario: `depth1` … `depth3`, the depth of its unit in
 * the channel's tree): its frames then count in its class and, once more, in `tagged[tag]`.
 */
import { FrameKind, peekFrameHeader } from '../../../protocol/media-frame.js';
import { merge, newHistogram, record } from './latency-histogram.js';
import { STAMP_BYTES } from './stream.js';
import type { ChunkOutcome } from './udp-frames.js';

export const ON_TIME_MS = 100;

/** Viewers are counted in classes: `normal`, and `slow` for the slow-reader scenario. */
export type ViewerClass = 'normal' | 'slow';

export interface ClassCounters {
  viewers: number;
  frames: number;
  videoFrames: number;
  audioFrames: number;
  onTime: number;
  missed: number;
  /** encoded frame bytes (WebSocket message payloads) */
  bytes: number;
  badFrames: number;
  latency: Uint32Array;
  audioLatency: Uint32Array;
  /** video keyframes only (the largest frames: the longest fan-out) */
  keyframeLatency: Uint32Array;
  /** udp: frames complete off the carrier (also in `frames`) */
  udpFrames: number;
  /** udp: seqs given up on the carrier (also in `missed`) */
  udpLost: number;
  /** udp: chunks (data-channel messages or RTP packets), and their bytes (chunk headers included, RTP's not) */
  udpChunks: number;
  udpChunkBytes: number;
  /** udp: chunks for a seq already given up on, or repeated */
  udpLateChunks: number;
  udpBadChunks: number;
}

export function newCounters(): ClassCounters {
  return {
    viewers: 0,
    frames: 0,
    videoFrames: 0,
    audioFrames: 0,
    onTime: 0,
    missed: 0,
    bytes: 0,
    badFrames: 0,
    latency: newHistogram(),
    audioLatency: newHistogram(),
    keyframeLatency: newHistogram(),
    udpFrames: 0,
    udpLost: 0,
    udpChunks: 0,
    udpChunkBytes: 0,
    udpLateChunks: 0,
    udpBadChunks: 0,
  };
}

export function mergeCounters(into: ClassCounters, from: ClassCounters): void {
  into.viewers += from.viewers;
  into.frames += from.frames;
  into.videoFrames += from.videoFrames;
  into.audioFrames += from.audioFrames;
  into.onTime += from.onTime;
  into.missed += from.missed;
  into.bytes += from.bytes;
  into.badFrames += from.badFrames;
  into.udpFrames += from.udpFrames;
  into.udpLost += from.udpLost;
  into.udpChunks += from.udpChunks;
  into.udpChunkBytes += from.udpChunkBytes;
  into.udpLateChunks += from.udpLateChunks;
  into.udpBadChunks += from.udpBadChunks;
  merge(into.latency, from.latency);
  merge(into.audioLatency, from.audioLatency);
  merge(into.keyframeLatency, from.keyframeLatency);
}

export interface ViewerTrack {
  cls: ViewerClass;
  /** performance.now() when the connect started */
  connectStartedAt: number;
  /** ms from connect start to the end of the first keyframe; NaN until then */
  firstKeyframeMs: number;
  lastSeq: number;
  /** counted apart as well, in `tagged` */
  tag: string | null;
}

export class ViewerStats {
  counters: Record<ViewerClass, ClassCounters> = { normal: newCounters(), slow: newCounters() };
  /** per tag, the tagged viewers' frames again */
  tagged: Record<string, ClassCounters> = {};

  /** Starts a new window (the viewer counts stay). */
  reset(): void {
    const viewers = { normal: this.counters.normal.viewers, slow: this.counters.slow.viewers };
    this.counters = { normal: newCounters(), slow: newCounters() };
    this.counters.normal.viewers = viewers.normal;
    this.counters.slow.viewers = viewers.slow;
    const tagged: Record<string, ClassCounters> = {};
    for (const [tag, c] of Object.entries(this.tagged)) {
      tagged[tag] = newCounters();
      tagged[tag].viewers = c.viewers;
    }
    this.tagged = tagged;
  }

  track(cls: ViewerClass, tag: string | null = null): ViewerTrack {
    this.counters[cls].viewers++;
    if (tag !== null) (this.tagged[tag] ??= newCounters()).viewers++;
    return { cls, connectStartedAt: performance.now(), firstKeyframeMs: NaN, lastSeq: -1, tag };
  }

  /** One encoded frame (the exact bytes the server sent), read at `readAtMs` (performance.now()). */
  frameArrived(viewer: ViewerTrack, bytes: Buffer, readAtMs: number): void {
    this.#frame(viewer, bytes, readAtMs, true);
  }

  /** udp: one frame complete off the carrier at `readAtMs` (its last chunk); no gap inferred. */
  udpFrame(viewer: ViewerTrack, bytes: Buffer, readAtMs: number): void {
    if (this.#frame(viewer, bytes, readAtMs, false)) this.#each(viewer, (c) => c.udpFrames++);
  }

  /** udp: `frames` seqs that never came whole off the carrier. */
  udpLost(viewer: ViewerTrack, frames: number): void {
    this.#each(viewer, (c) => {
      c.missed += frames;
      c.udpLost += frames;
    });
  }

  /** udp: one chunk of `bytes`. */
  udpChunk(viewer: ViewerTrack, bytes: number, outcome: ChunkOutcome): void {
    this.#each(viewer, (c) => {
      c.udpChunks++;
      c.udpChunkBytes += bytes;
      if (outcome === 'late') c.udpLateChunks++;
      else if (outcome === 'bad') c.udpBadChunks++;
    });
  }

  #each(viewer: ViewerTrack, apply: (c: ClassCounters) => void): void {
    apply(this.counters[viewer.cls]);
    if (viewer.tag !== null) apply(this.tagged[viewer.tag]!);
  }

  /** false: not a media frame (bad, or text) */
  #frame(viewer: ViewerTrack, bytes: Buffer, readAtMs: number, countGap: boolean): boolean {
    const c = this.counters[viewer.cls];
    const t = viewer.tag === null ? null : this.tagged[viewer.tag]!;
    let header;
    try {
      header = peekFrameHeader(bytes);
    } catch {
      c.badFrames++;
      if (t) t.badFrames++;
      return false;
    }
    if (header.kind === FrameKind.TEXT) return false;
    if (Number.isNaN(viewer.firstKeyframeMs) && header.kind === FrameKind.VIDEO && header.keyframe) viewer.firstKeyframeMs = readAtMs - viewer.connectStartedAt;
    let gap = 0;
    if (countGap) {
      if (viewer.lastSeq >= 0) {
        gap = (header.seq - viewer.lastSeq - 1) >>> 0;
        if (gap >= 1_000_000) gap = 0;
      }
      viewer.lastSeq = header.seq;
    }
    // performance.now() of this process → the shared wall clock the publisher stamped with.
    const latency = header.payloadLength < STAMP_BYTES ? NaN : performance.timeOrigin + readAtMs - bytes.readDoubleLE(header.payloadOffset);
    const kind = header.kind === FrameKind.AUDIO ? 'audio' : header.keyframe ? 'keyframe' : 'delta';
    add(c, kind, bytes.length, gap, latency);
    if (t) add(t, kind, bytes.length, gap, latency);
    return true;
  }
}

/** One frame into one set of counters; `latency` NaN: the frame carries no send stamp. */
function add(c: ClassCounters, kind: 'audio' | 'delta' | 'keyframe', length: number, gap: number, latency: number): void {
  c.missed += gap;
  c.frames++;
  c.bytes += length;
  if (Number.isNaN(latency)) {
    c.badFrames++;
    return;
  }
  record(c.latency, latency);
  if (latency <= ON_TIME_MS) c.onTime++;
  if (kind === 'audio') {
    c.audioFrames++;
    record(c.audioLatency, latency);
  } else c.videoFrames++;
  if (kind === 'keyframe') record(c.keyframeLatency, latency);
}
