/** The one check of what a viewer got: every frame once, consecutive seqs, payloads as sent, video from a keyframe. */
import assert from 'node:assert/strict';
import { FrameKind } from '../../protocol/media-frame.js';

export interface ReceivedFrame {
  seq: number;
  kind: number;
  keyframe: boolean;
  payload: Uint8Array;
  /** the path it came by, when the viewer has two (named in failures) */
  path?: string;
}

export function assertInOrderAndIdentical(frames: readonly ReceivedFrame[], sent: ReadonlyMap<number, Uint8Array>, what: string): void {
  assert.ok(frames.length > 0, `${what}: no frames`);
  const firstVideo = frames.find((f) => f.kind === FrameKind.VIDEO);
  assert.ok(firstVideo?.keyframe, `${what}: the first video frame is not a keyframe`);
  const by = (f: ReceivedFrame): string => (f.path ? ` (${f.path})` : '');
  for (let i = 0; i < frames.length; i++) {
    const f = frames[i]!;
    if (i > 0) assert.equal(f.seq, frames[i - 1]!.seq + 1, `${what}: frame ${i} has seq ${f.seq}${by(f)} after ${frames[i - 1]!.seq}${by(frames[i - 1]!)}`);
    const payload = sent.get(f.seq);
    assert.ok(payload, `${what}: seq ${f.seq} was never sent`);
    assert.ok(Buffer.from(f.payload).equals(payload), `${what}: the payload of seq ${f.seq} differs`);
  }
}
