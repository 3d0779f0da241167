/**
 * The client's RTP tap (web/client/rtp-tap.ts) is injected: UdpLink makes the peer connection with
 * the tap's configuration, opens it on the track's receiver inside `ontrack`, and reads the chunks
 * from what it returns — the watch page's standard tap goes through this very seam (its browser side
 * is tested in test/browser/watch-in-chromium). A tap that cannot open the receiver ends the session
 * quietly: the viewer goes on over TCP, nothing thrown out of `ontrack`.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RtcEncodedFrameLike, RtcReaderLike, RtcRtpReceiverLike } from '../../web/client/rtc.js';
import { legacyRtpTap, RtpTapError, type RtpTap } from '../../web/client/rtp-tap.js';
import { NodeRtpPeerConnection } from '../../web/client/NodeRtpPeerConnection.js';
import { assertComplete, collectGarbage, pathChanges, stopAndAwaitLast, until } from './checks.js';
import { heldChannels } from '../../protocol/native-channels.js';
import { nextMode, record, withHarness, type Harness } from './udp-harness.js';

/** legacyRtpTap, watched: the configuration UdpLink gave the peer connection and the frames read */
function countingTap(): RtpTap & { configurations: Record<string, unknown>[]; frames: number } {
  const tap = {
    configuration: { tappedBy: 'countingTap' },
    configurations: [] as Record<string, unknown>[],
    frames: 0,
    open(receiver: RtcRtpReceiverLike): RtcReaderLike<RtcEncodedFrameLike> {
      const reader = legacyRtpTap.open(receiver);
      return {
        read: async () => {
          const next = await reader.read();
          if (!next.done) tap.frames++;
          return next;
        },
        cancel: (reason) => reader.cancel(reason),
      };
    },
  };
  return tap;
}

/** NodeRtpPeerConnection recording each configuration it is made with into `into` */
function recordingPeerConnection(into: Record<string, unknown>[]): typeof NodeRtpPeerConnection {
  return class extends NodeRtpPeerConnection {
    constructor(configuration: Record<string, unknown> = {}) {
      into.push(configuration);
      const { tappedBy: _, ...rest } = configuration;
      super(rest);
    }
  };
}

describe('UDP mode: the injected RTP tap', () => {
  let h: Harness;
  withHarness((started) => (h = started));

  it('reads the track through the tap it is given, with its configuration', { timeout: 20_000 }, async () => {
    h.unit.groups.createGroup(71, 0, 'root');
    const publisher = await h.publisher(71, 10);
    const tap = countingTap();
    const viewer = h.viewer(71, 0, 'tapped', { udp: { carrier: 'rtp', rtpTap: tap, RTCPeerConnection: recordingPeerConnection(tap.configurations) } });
    const frames = record(viewer);
    await viewer.start();
    await nextMode(viewer, 'udp');
    await until(() => frames.filter((f) => f.path === 'udp').length >= 100, '100 frames over UDP');
    await stopAndAwaitLast(publisher, frames);

    assertComplete(frames, publisher.sent, 'viewer');
    assert.equal(tap.configurations.length, 1, 'one peer connection');
    assert.equal(tap.configurations[0]!['tappedBy'], 'countingTap', "the tap's configuration is merged in");
    assert.equal(tap.configurations[0]!['encodedInsertableStreams'], undefined, "the legacy tap's flag is the legacy tap's only");
    assert.ok(tap.frames >= 100, `${tap.frames} encoded frames read through the tap`);
    viewer.close();
  });

  it('goes on over TCP, losing no frame, when the tap cannot open the receiver', { timeout: 20_000 }, async () => {
    h.unit.groups.createGroup(72, 1, 'root');
    const publisher = await h.publisher(72, 10);
    const refusing: RtpTap = {
      configuration: {},
      open: () => {
        throw new RtpTapError('WEB_ERR_CLIENT_RTP_TAP_UNAVAILABLE', 'refusing');
      },
    };
    const viewer = h.viewer(72, 1, 'untappable', { udp: { carrier: 'rtp', rtpTap: refusing } });
    const frames = record(viewer);
    await viewer.start();
    await until(() => viewer.stats.udp.fallbacks.closed === 1, 'the session given up');
    await until(() => h.unit.media.udp.sessionCount === 0, 'the unit closed its peer connection');
    const settledAt = frames.length;
    await until(() => frames.length >= settledAt + 50, '50 more frames');
    await stopAndAwaitLast(publisher, frames);

    assertComplete(frames, publisher.sent, 'viewer');
    assert.deepEqual(pathChanges(frames), ['tcp'], 'every frame over the WebSocket');
    viewer.close();
    // The track nobody read (the tap refused it) is collectable now: unless it is held until its close
    // is reported (protocol/native-channels.ts), node-datachannel's cleanup() in after() crashes on it.
    await until(() => heldChannels() === 0, 'every track closed and let go');
    collectGarbage();
  });
});
