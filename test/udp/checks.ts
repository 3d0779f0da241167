/** What the UDP tests assert about a viewer's frames, and a deadline-bounded wait. */
import assert from 'node:assert/strict';
import { FrameKind } from '../../protocol/media-frame.js';
import { waitFor } from '../support/processes.js';
import type { Arrival } from './udp-harness.js';

/** Polls `condition` every 10 ms; fails with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  await waitFor(what, condition, timeoutMs, 10);
}

/** Every frame once, consecutive seqs from the first, payloads as sent, video from a keyframe. */
export function assertComplete(arrivals: Arrival[], sent: Map<number, Uint8Array>, what: string): void {
  assert.ok(arrivals.length > 0, `${what}: no frames`);
  const firstVideo = arrivals.find((a) => a.kind === FrameKind.VIDEO);
  assert.ok(firstVideo?.keyframe, `${what}: the first video frame is not a keyframe`);
  for (let i = 0; i < arrivals.length; i++) {
    const a = arrivals[i]!;
    if (i > 0) assert.equal(a.seq, arrivals[i - 1]!.seq + 1, `${what}: seq ${a.seq} (${a.path}) follows ${arrivals[i - 1]!.seq} (${arrivals[i - 1]!.path})`);
    const payload = sent.get(a.seq);
    assert.ok(payload, `${what}: seq ${a.seq} was never sent`);
    assert.ok(Buffer.from(a.payload).equals(payload), `${what}: the payload of seq ${a.seq} differs`);
  }
}

/** The longest time between two consecutive deliveries, ms. */
export function longestPause(arrivals: Arrival[]): number {
  let longest = 0;
  for (let i = 1; i < arrivals.length; i++) longest = Math.max(longest, arrivals[i]!.at - arrivals[i - 1]!.at);
  return longest;
}

/** The paths in delivery order with repeats folded: e.g. ['tcp', 'udp', 'tcp']. */
export function pathChanges(arrivals: Arrival[]): string[] {
  const out: string[] = [];
  for (const a of arrivals) if (out.at(-1) !== a.path) out.push(a.path);
  return out;
}
