/**
 * Back to TCP without losing the stream, on each carrier: the unit's peer connection dies mid-stream,
 * the data channel or track never opens (no candidate pair can connect: UDP blocked), and the page
 * asks (forceTcp / tryUdp). In each case the frames go on over the WebSocket with no frame lost or
 * repeated and no pause over a second (the unit sends again what its failed session carried last;
 * the viewer keeps each frame once).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertComplete, longestPause, pathChanges, stopAndAwaitLast, until } from './checks.js';
import { CARRIERS, nextMode, record, viewerOnUdp, withHarness, type Harness } from './udp-harness.js';

for (const carrier of CARRIERS) {
  describe(`UDP mode: falling back to TCP (${carrier})`, () => {
    let h: Harness;
    withHarness((started) => (h = started));

    it('moves a viewer to TCP when the unit’s peer connection closes mid-stream, losing no frame', { timeout: 20_000 }, async () => {
      const { publisher, viewer, frames } = await viewerOnUdp(h, 31, 0, 'fail-unit', carrier);
      await until(() => frames.filter((f) => f.path === 'udp').length >= 100, '100 frames over UDP');

      const backToTcp = nextMode(viewer, 'tcp');
      assert.ok(h.unit.media.udp.failSession('fail-unit'));
      await backToTcp;
      const switchedAt = frames.length;
      await until(() => frames.length >= switchedAt + 100, '100 more frames over TCP');
      await stopAndAwaitLast(publisher, frames);

      assertComplete(frames, publisher.sent, 'viewer');
      assert.deepEqual(pathChanges(frames), ['tcp', 'udp', 'tcp']);
      assert.ok(longestPause(frames) < 1000, `a pause of ${Math.round(longestPause(frames))} ms`);
      const udp = viewer.stats.udp;
      // Which side noticed first is a race: the unit's `mode: tcp`, or the viewer's own channel closing.
      assert.equal(udp.fallbacks.unit + udp.fallbacks.closed, 1, JSON.stringify(udp.fallbacks));
      assert.equal(udp.mode, 'tcp');
      assert.equal(h.unit.media.udp.sessionCount, 0);
      viewer.close();
    });

    it('stays on TCP when the data channel or track never opens, and gives up on UDP after its open timeout', { timeout: 20_000 }, async () => {
      h.unit.groups.createGroup(32, 1, 'root');
      const publisher = await h.publisher(32, 10);
      // The viewer's ICE has IPv6 loopback only, the unit's IPv4 loopback only: no candidate pair can ever connect.
      const viewer = h.viewer(32, 1, 'never-opens', { udp: { carrier, openTimeoutMs: 800, rtcConfiguration: { bindAddress: '::1' } } });
      const frames = record(viewer);
      const modes: string[] = [];
      viewer.events.on('mode', (mode) => modes.push(mode));
      await viewer.start();
      await until(() => viewer.stats.udp.fallbacks.timeout === 1, 'the open timeout', 5000);
      await until(() => h.unit.media.udp.sessionCount === 0, 'the unit closed its peer connection');
      const settledAt = frames.length;
      await until(() => frames.length >= settledAt + 50, '50 more frames');
      await stopAndAwaitLast(publisher, frames);

      assertComplete(frames, publisher.sent, 'viewer');
      assert.deepEqual(pathChanges(frames), ['tcp']);
      assert.deepEqual(modes, [], 'frames never left the WebSocket');
      assert.ok(longestPause(frames) < 1000, `a pause of ${Math.round(longestPause(frames))} ms`);
      assert.equal(viewer.stats.udp.attempts, 1, 'not retried on its own after a timeout');
      assert.equal(h.unit.media.udp.counters.ended.stopped, 1, 'the viewer’s udp-stop ended the unit’s session');
      viewer.close();
    });

    it('switches TCP → UDP → TCP → UDP on request without losing or repeating a frame', { timeout: 20_000 }, async () => {
      const { publisher, viewer, frames } = await viewerOnUdp(h, 33, 2, 'on-request', carrier);
      const count = (n: number) => async (): Promise<void> => {
        const from = frames.length;
        await until(() => frames.length >= from + n, `${n} more frames`);
      };
      await count(60)();
      viewer.forceTcp();
      await nextMode(viewer, 'tcp');
      await count(60)();
      viewer.tryUdp();
      await nextMode(viewer, 'udp');
      await count(60)();
      await stopAndAwaitLast(publisher, frames);

      assertComplete(frames, publisher.sent, 'viewer');
      assert.deepEqual(pathChanges(frames), ['tcp', 'udp', 'tcp', 'udp']);
      assert.ok(longestPause(frames) < 1000);
      const udp = viewer.stats.udp;
      assert.equal(udp.fallbacks.forced, 1);
      assert.equal(udp.attempts, 2);
      assert.equal(udp.opened, 2);
      assert.equal(udp.duplicates + udp.framesLost, 0, JSON.stringify(udp));
      viewer.close();
    });
  });
}
