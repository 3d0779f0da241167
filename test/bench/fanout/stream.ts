/**
 * The stream the bench's publisher replays: the fixture's video frame sizes (a real VP8 encode, see
 * fixture.ts) scaled to the scenario's bitrate, interleaved with Opus-like audio (20 ms frames of
 * ~160 B, modelled: the unit treats audio as opaque bytes too). One cycle is the fixture's length;
 * the publisher loops it with sequence numbers and timestamps running on.
 *
 * Every payload starts with a send-time stamp: float64 LE milliseconds on the shared wall clock
 * (performance.timeOrigin + performance.now(), the same clock in every process on the machine), so a
 * viewer computes how long the frame took from the publisher's send to its own read.
 */
import { FrameKind } from '../../../protocol/media-frame.js';
import { seededRandom } from '../random.js';
import type { VideoFixture } from './fixture.js';

export const STAMP_BYTES = 8;
const AUDIO_FRAME_MS = 20;
const AUDIO_MEAN_BYTES = 160;

export interface StreamEvent {
  /** offset from the cycle's start */
  atMs: number;
  kind: typeof FrameKind.VIDEO | typeof FrameKind.AUDIO;
  keyframe: boolean;
  size: number;
}

export interface StreamPlan {
  events: StreamEvent[];
  cycleMs: number;
  /** factor applied to the fixture's video sizes */
  videoScale: number;
  /** video + audio, as replayed */
  meanMbps: number;
  maxFrameBytes: number;
}

/** Video scaled so the video alone runs at `bitrateMbps` (the encoder's target); audio on top. */
export function planStream(fixture: VideoFixture, bitrateMbps: number, seed = 1): StreamPlan {
  const random = seededRandom(seed);
  const frameMs = 1000 / fixture.fps;
  const cycleMs = fixture.frames.length * frameMs;
  const videoScale = bitrateMbps / fixture.measuredMbps;
  const events: StreamEvent[] = fixture.frames.map(([size, key], i) => ({
    atMs: i * frameMs,
    kind: FrameKind.VIDEO,
    keyframe: key === 1,
    size: Math.max(2 * STAMP_BYTES, Math.round(size * videoScale)),
  }));
  for (let t = 0; t < cycleMs; t += AUDIO_FRAME_MS) {
    events.push({ atMs: t, kind: FrameKind.AUDIO, keyframe: false, size: Math.round(AUDIO_MEAN_BYTES * (0.8 + 0.4 * random())) });
  }
  // Video first at equal times: a keyframe and its audio leave together, picture first.
  events.sort((a, b) => a.atMs - b.atMs || a.kind - b.kind);
  const bytes = events.reduce((s, e) => s + e.size, 0);
  return { events, cycleMs, videoScale, meanMbps: (bytes * 8) / (cycleMs / 1000) / 1e6, maxFrameBytes: Math.max(...events.map((e) => e.size)) };
}

/** Now on the clock every process of the machine shares, in milliseconds. */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now();
}

export function writeStamp(payload: Buffer, nowMs = wallNowMs()): void {
  payload.writeDoubleLE(nowMs, 0);
}

export function readStamp(bytes: Buffer, payloadOffset: number): number {
  return bytes.readDoubleLE(payloadOffset);
}
