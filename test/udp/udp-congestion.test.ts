/**
 * A congested data channel: the unit's send bound is small (16 KiB of bufferedAmount over a 64 KiB
 * SCTP send buffer) and the publisher sends a 900 KB keyframe followed at once by a burst of small
 * frames, which therefore find the channel's buffer far over the bound. Video is skipped for that viewer, audio is not; video comes
 * back at a keyframe that the unit asked the publisher for. The viewer cannot tell skipped from lost
 * frames, so with a low loss threshold the same burst sends it back to TCP, and after the back-off it
 * tries UDP again on its own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameKind } from '../../protocol/media-frame.js';
import { stopAndAwaitLast, until } from './checks.js';
import { CARRIERS, nextMode, record, withHarness, type Arrival, type Harness, type TestPublisher } from './udp-harness.js';

const SEND_BOUND = 16 * 1024;

/** The burst: a big keyframe, then small video and audio frames, all in one go. Returns their seqs. */
function burst(publisher: TestPublisher): { key: number; video: number[]; audio: number[] } {
  const key = publisher.video(900_000, true);
  const video: number[] = [];
  const audio: number[] = [];
  for (let i = 0; i < 10; i++) {
    video.push(publisher.video(2000, false));
    audio.push(publisher.audio());
  }
  return { key, video, audio };
}

/** Frames the viewer never got, from its first to its last. */
function missing(arrivals: Arrival[]): number[] {
  const got = new Set(arrivals.map((a) => a.seq));
  const out: number[] = [];
  for (let seq = arrivals[0]!.seq; seq <= arrivals.at(-1)!.seq; seq++) if (!got.has(seq)) out.push(seq);
  return out;
}

/** After each gap, video resumes at a keyframe. */
function assertVideoResumesAtKeyframes(arrivals: Arrival[]): void {
  let gap = false;
  for (let i = 1; i < arrivals.length; i++) {
    if (arrivals[i]!.seq !== arrivals[i - 1]!.seq + 1) gap = true;
    const a = arrivals[i]!;
    if (a.kind !== FrameKind.VIDEO) continue;
    if (gap) assert.ok(a.keyframe, `video after a gap resumes with seq ${a.seq}, not a keyframe`);
    gap = false;
  }
}

describe('UDP mode: a congested data channel', () => {
  let h: Harness;
  // A small SCTP send buffer (process-wide): bufferedAmount then grows past the bound as soon as a
  // frame does not fit, instead of after usrsctp's default megabyte.
  withHarness((started) => (h = started), {}, { udp: { sendBound: SEND_BOUND, hardBound: 64 * 1024 * 1024, sctpSendBufferBytes: 64 * 1024 } });

  it('skips video but keeps audio over the send bound, and resumes video at a keyframe', { timeout: 20_000 }, async () => {
    h.unit.groups.createGroup(41, 0, 'root');
    const publisher = await h.publisher(41, 20);
    // lossThreshold 1: this viewer never leaves UDP for loss (a share cannot exceed 1).
    const viewer = h.viewer(41, 0, 'congested', { udp: { lossThreshold: 1 } });
    const frames = record(viewer);
    await viewer.start();
    await nextMode(viewer, 'udp');
    await until(() => frames.filter((f) => f.path === 'udp').length >= 20, '20 frames over UDP');

    publisher.stop();
    const sent = burst(publisher);
    await until(() => (h.unit.media.udp.session('congested')?.videoSkipped ?? 0) > 0, 'video skipped for the congested viewer');
    publisher.stream(20);
    // The skipped video asked for a keyframe; the publisher sends it next.
    await until(() => publisher.keyframeRequests > 0, 'a keyframe request at the publisher');
    const resumeFrom = publisher.nextSeq;
    await until(() => frames.some((f) => f.seq >= resumeFrom + 20), 'frames after the burst');
    await stopAndAwaitLast(publisher, frames);

    const session = h.unit.media.udp.session('congested')!;
    const gone = missing(frames);
    assert.ok(gone.length > 0 && gone.length >= session.videoSkipped, `missing ${gone.length}, skipped ${session.videoSkipped}`);
    for (const seq of gone) assert.equal(publisher.kinds.get(seq), FrameKind.VIDEO, `seq ${seq} is missing and is not video`);
    for (const seq of sent.audio) assert.ok(frames.some((f) => f.seq === seq), `audio seq ${seq} of the burst arrived`);
    assert.ok(sent.video.some((seq) => gone.includes(seq)), 'video of the burst was skipped');
    const key = frames.find((f) => f.seq === sent.key);
    assert.ok(key && Buffer.from(key.payload).equals(publisher.sent.get(sent.key)!), 'the 900 KB keyframe arrived whole over UDP');
    assertVideoResumesAtKeyframes(frames);
    assert.equal(viewer.mode, 'udp');
    assert.ok((h.unit.groups.counters(41)?.videoSkips ?? 0) >= session.videoSkipped, 'the skips reach the channel counters');
    viewer.close();
  });

  it('sends the viewer back to TCP when its loss stays over the threshold, then back to UDP after a back-off', { timeout: 20_000 }, async () => {
    h.unit.groups.createGroup(42, 1, 'root');
    const publisher = await h.publisher(42, 20);
    const viewer = h.viewer(42, 1, 'lossy', { udp: { lossThreshold: 0.02, lossWindowMs: 500, retryAfterLossMinMs: 300, retryAfterLossMaxMs: 600 } });
    const frames = record(viewer);
    const modes: string[] = [];
    viewer.events.on('mode', (mode) => modes.push(mode));
    await viewer.start();
    await nextMode(viewer, 'udp');
    await until(() => frames.filter((f) => f.path === 'udp').length >= 20, '20 frames over UDP');

    publisher.stop();
    burst(publisher);
    publisher.stream(20);
    await until(() => viewer.stats.udp.fallbacks.loss === 1, 'the loss fallback', 5000);
    await until(() => viewer.stats.udp.opened === 2, 'UDP again after the back-off', 5000);
    await stopAndAwaitLast(publisher, frames);

    assert.deepEqual(modes, ['udp', 'tcp', 'udp']);
    const udp = viewer.stats.udp;
    assert.equal(udp.attempts, 2);
    assert.ok(udp.framesLost > 0);
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i]!.seq > frames[i - 1]!.seq, 'in order, each once');
    for (const seq of missing(frames)) assert.equal(publisher.kinds.get(seq), FrameKind.VIDEO, `seq ${seq} is missing and is not video`);
    assertVideoResumesAtKeyframes(frames);
    viewer.close();
  });
});

// On a data channel and on RTP alike: the rule reads the viewer's reports, not a send queue (a track has none).
for (const [i, carrier] of CARRIERS.entries()) {
  describe(`UDP mode (${carrier}): a viewer whose reports say it is far behind`, () => {
    let h: Harness;
    withHarness((started) => (h = started));

    it('gets audio only over UDP while behind, then video again from a keyframe', { timeout: 20_000 }, async () => {
      const channel = 43 + i * 10;
      h.unit.groups.createGroup(channel, 0, 'root');
      const publisher = await h.publisher(channel, 20);
      let latencyMs = 50;
      const viewer = h.viewer(channel, 0, 'udp-behind', { reportIntervalMs: 100, latencyMs: () => latencyMs, udp: { carrier } });
      const frames = record(viewer);
      await viewer.start();
      await nextMode(viewer, 'udp');
      await until(() => frames.filter((f) => f.path === 'udp' && f.kind === FrameKind.VIDEO).length >= 10, 'video over UDP');
      assert.equal(h.unit.media.udp.session('udp-behind')?.carrier, carrier);
      const conn = [...h.unit.media.channel(channel)!.viewers].find((v) => v.viewerId === 'udp-behind')!;

      latencyMs = 5000;
      await until(() => conn.videoHold !== null, 'the unit took the report');
      const behindFrom = publisher.nextSeq;
      await until(() => frames.filter((f) => f.seq >= behindFrom && f.kind === FrameKind.AUDIO).length >= 20, 'audio goes on');
      const whileBehind = frames.filter((f) => f.seq >= behindFrom);
      assert.ok(whileBehind.every((f) => f.kind === FrameKind.AUDIO && f.path === 'udp'), 'audio only, still over UDP');

      latencyMs = 50;
      await until(() => conn.videoHold === null, 'caught up');
      const resumeFrom = publisher.nextSeq;
      await until(() => frames.filter((f) => f.seq >= resumeFrom && f.kind === FrameKind.VIDEO).length >= 5, 'video again');
      const firstVideo = frames.find((f) => f.seq >= behindFrom && f.kind === FrameKind.VIDEO)!;
      assert.ok(firstVideo.keyframe, `video resumes with a keyframe (seq ${firstVideo.seq})`);
      assert.equal(viewer.mode, 'udp');
      viewer.close();
    });
  });
}
