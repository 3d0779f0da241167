/**
 * UDP mode end to end on loopback, on each carrier: publisher → unit ring → data channels or RTP
 * tracks → the real viewer client (Viewer + node-datachannel). Each viewer starts on TCP and moves to
 * UDP; every frame must arrive once, complete and in order, across that switch.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FrameKind } from '../../protocol/media-frame.js';
import { assertComplete, collectGarbage, pathChanges, stopAndAwaitLast, until } from './checks.js';
import { CARRIERS, nextMode, record, viewerOnUdp, withHarness, type Harness } from './udp-harness.js';

for (const carrier of CARRIERS) {
  describe(`UDP mode: delivery (${carrier})`, () => {
    let h: Harness;
    withHarness((started) => (h = started));

    it('brings two viewers from TCP to UDP and delivers every frame complete and in order', { timeout: 20_000 }, async () => {
      h.unit.groups.createGroup(21, 0, 'root');
      // 100 video + 100 audio frames/s, 12 KB keyframes (11 chunks each): ~1.6 Mbit/s.
      const publisher = await h.publisher(21, 10);
      const a = h.viewer(21, 0, 'delivery-a', { udp: { carrier }, reportIntervalMs: 250 });
      const b = h.viewer(21, 0, 'delivery-b', { udp: { carrier }, reportIntervalMs: 250 });
      const framesA = record(a);
      const framesB = record(b);
      await Promise.all([a.start(), b.start()]);
      await Promise.all([nextMode(a, 'udp'), nextMode(b, 'udp')]);
      assert.equal(h.unit.media.udp.sessionCount, 2);
      await until(() => framesA.filter((f) => f.path === 'udp').length >= 300 && framesB.filter((f) => f.path === 'udp').length >= 300, '300 frames over UDP at each viewer', 10_000);
      publisher.stop();
      const last = publisher.nextSeq - 1;
      await until(() => framesA.at(-1)?.seq === last && framesB.at(-1)?.seq === last, 'the last frame at both viewers');

      for (const [name, v, frames] of [['A', a, framesA], ['B', b, framesB]] as const) {
        assertComplete(frames, publisher.sent, `viewer ${name}`);
        assert.deepEqual(pathChanges(frames), ['tcp', 'udp'], `viewer ${name}: TCP first, then UDP`);
        const udp = v.stats.udp;
        assert.equal(udp.mode, 'udp');
        assert.equal(udp.carrier, carrier);
        assert.equal(udp.framesLost, 0, `viewer ${name}: no loss on loopback`);
        assert.equal(udp.duplicates, 0);
        assert.ok(udp.chunksReceived > udp.framesOverUdp, 'keyframes came in several chunks');
        assert.ok(udp.openMs !== null && udp.openMs < 3000);
        assert.ok(v.stats.firstFrameMs !== null);
      }
      const readers = [...h.unit.media.channel(21)!.viewers];
      assert.ok(readers.length === 2 && readers.every((r) => r.report !== null && r.report.loss === 0), 'both viewers report, without loss');
      for (const session of h.unit.media.udp.sessions()) {
        assert.equal(session.state, 'open');
        assert.equal(session.carrier, carrier, 'the unit sends on the carrier asked for');
        assert.equal(session.videoSkipped, 0);
        assert.ok(session.framesSent >= 300);
      }
      a.close();
      b.close();
      await until(() => h.unit.media.udp.sessionCount === 0, 'the leaving viewers’ peer connections closed');
      // Closed from the viewer's side first (its data channel goes before its socket) or on the socket's close.
      const ended = h.unit.media.udp.counters.ended;
      assert.equal(ended.closed + ended.failed + ended.left, 2);
    });

    it('serves a TCP viewer and a UDP viewer of the same group at once, with the same frames', { timeout: 20_000 }, async () => {
      h.unit.groups.createGroup(22, 1, 'root');
      const publisher = await h.publisher(22, 10);
      const tcp = h.viewer(22, 1, 'mixed-tcp', { udp: null });
      const udp = h.viewer(22, 1, 'mixed-udp', { udp: { carrier } });
      const framesTcp = record(tcp);
      const framesUdp = record(udp);
      await Promise.all([tcp.start(), udp.start()]);
      await nextMode(udp, 'udp');
      await until(() => framesUdp.filter((f) => f.path === 'udp').length >= 200, '200 frames over UDP', 10_000);
      publisher.stop();
      const last = publisher.nextSeq - 1;
      await until(() => framesTcp.at(-1)?.seq === last && framesUdp.at(-1)?.seq === last, 'the last frame at both viewers');

      assertComplete(framesTcp, publisher.sent, 'TCP viewer');
      assertComplete(framesUdp, publisher.sent, 'UDP viewer');
      assert.deepEqual(pathChanges(framesTcp), ['tcp']);
      assert.equal(tcp.mode, 'tcp');
      assert.equal(tcp.stats.udp.attempts, 0, 'a viewer without the udp option never asks');
      assert.equal(h.unit.media.udp.sessionCount, 1);
      assert.equal(h.unit.groups.group(1)!.viewerIds.size, 2);
      // Where both saw the stream they saw the same frames.
      const from = Math.max(framesTcp[0]!.seq, framesUdp[0]!.seq);
      const seqs = (frames: typeof framesTcp): number[] => frames.filter((f) => f.seq >= from).map((f) => f.seq);
      assert.deepEqual(seqs(framesTcp), seqs(framesUdp));
      assert.ok(framesUdp.some((f) => f.kind === FrameKind.AUDIO && f.path === 'udp'));
    });

    it('keeps every frame when a viewer goes back to UDP while the last UDP period is still draining', { timeout: 20_000 }, async () => {
      const { publisher, viewer: v, frames } = await viewerOnUdp(h, 23, 2, 'back-to-udp', carrier);
      v.forceTcp();
      await nextMode(v, 'tcp');
      // No frame comes to end the drain: it is still pending when the new data channel opens.
      publisher.stop();
      v.tryUdp();
      await nextMode(v, 'udp');
      publisher.stream(10);
      await until(() => frames.filter((f) => f.path === 'udp').length >= 150, '150 frames over UDP after the second switch', 10_000);
      await stopAndAwaitLast(publisher, frames);
      assertComplete(frames, publisher.sent, 'viewer');
      assert.equal(v.mode, 'udp');
      assert.equal(v.stats.udp.fallbacks.loss, 0);
    });

    it('goes on receiving over UDP after a full garbage collection', { timeout: 20_000 }, async () => {
      const { publisher, viewer: v, frames } = await viewerOnUdp(h, 24, 3, 'after-gc', carrier);
      // node-datachannel drops a native object's callbacks when its JavaScript wrapper is collected:
      // the client must hold its peer connection, channel and track for as long as they carry frames.
      collectGarbage();
      collectGarbage();
      const udpFrames = (): number => frames.filter((f) => f.path === 'udp').length;
      const before = udpFrames();
      await until(() => udpFrames() >= before + 300, '300 more frames over UDP after the collection', 10_000);
      publisher.stop();
      assert.equal(v.mode, 'udp');
      assert.equal(v.stats.udp.framesLost, 0);
    });
  });
}
