/**
 * The `rtp` carrier on the wire, against a real unit: a viewer asking for it gets an offer with one
 * sendonly VP8 track and no data channel; once the track is open the unit says `mode: udp` and every
 * frame comes as chunks in RTP packets (protocol/chunk-rtp.ts) that a native node-datachannel track
 * hands over — the same bytes for every viewer, numbered per viewer. What the web client does with
 * them is tested with the client (udp-delivery); here the packets themselves are checked.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { PeerConnection } from 'node-datachannel';
import { CHUNK_RTP_PAYLOAD_TYPE, CHUNK_RTP_SSRC, chunkOfRtpPacket } from '../../protocol/chunk-rtp.js';
import { FrameReassembler, type ReassembledFrame } from '../../protocol/FrameReassembler.js';
import { decodeFrame } from '../../protocol/media-frame.js';
import { holdUntilClosed } from '../../protocol/native-channels.js';
import { until } from './checks.js';
import { RawViewer } from './raw-viewer.js';
import { withHarness, type Harness, type TestPublisher } from './udp-harness.js';

const CHANNEL = 61;

/** A viewer on the rtp carrier built from the native API, as the bench's generator is. */
class RtpViewer {
  readonly packets: Buffer[] = [];
  readonly frames: ReassembledFrame[] = [];
  readonly #reassembler = new FrameReassembler();
  readonly #pc = new PeerConnection('rtp-viewer', { iceServers: [], bindAddress: '127.0.0.1' });
  offer = '';

  private constructor(readonly raw: RawViewer) {}

  static async start(h: Harness, viewerId: string): Promise<RtpViewer> {
    const v = new RtpViewer(await RawViewer.open(h, CHANNEL, 0, viewerId));
    v.#pc.onTrack((track) => {
      // Held (protocol/native-channels.ts): a collected Track stops calling back, and crashes cleanup().
      holdUntilClosed(track);
      track.onMessage((packet) => {
        v.packets.push(packet);
        const chunk = chunkOfRtpPacket(packet);
        if (chunk) v.frames.push(...v.#reassembler.push(chunk));
      });
    });
    v.#pc.onLocalDescription((sdp, type) => {
      if (type === 'answer') v.raw.send({ t: 'udp-answer', sdp });
    });
    v.#pc.onLocalCandidate((candidate, mid) => v.raw.send({ t: 'udp-candidate', candidate: candidate.replace(/^a=/, ''), mid }));
    v.raw.send({ t: 'udp-start', carrier: 'rtp' });
    v.offer = (await v.raw.next('udp-offer')).sdp;
    v.#pc.setRemoteDescription(v.offer, 'offer');
    let applied = 0;
    const candidates = (): void => {
      const all = v.raw.messages.filter((m) => m.t === 'udp-candidate');
      for (const c of all.slice(applied)) v.#pc.addRemoteCandidate(c.candidate, c.mid);
      applied = all.length;
    };
    await until(() => (candidates(), v.raw.messages.some((m) => m.t === 'mode' && m.mode === 'udp')), 'mode udp', 10_000);
    return v;
  }

  close(): void {
    this.#pc.close();
    this.raw.close();
  }
}

describe('the rtp carrier', () => {
  let h: Harness;
  let publisher: TestPublisher;
  const viewers: RtpViewer[] = [];
  after(() => viewers.forEach((v) => v.close()));
  withHarness(async (harness) => {
    h = harness;
    h.unit.groups.createGroup(CHANNEL, 0, 'root');
    publisher = await h.publisher(CHANNEL);
  });

  it('offers one sendonly VP8 track and no data channel, then sends every frame as chunk packets', { timeout: 30_000 }, async () => {
    const a = await RtpViewer.start(h, 'rtp-a');
    const b = await RtpViewer.start(h, 'rtp-b');
    viewers.push(a, b);
    assert.match(a.offer, /^m=video /m);
    assert.match(a.offer, /a=rtpmap:96 VP8\/90000/);
    assert.match(a.offer, /a=sendonly/);
    assert.doesNotMatch(a.offer, /^m=application/m, 'no data channel on the rtp carrier');
    assert.equal(h.unit.media.udp.session('rtp-a')?.carrier, 'rtp');

    // A keyframe of many packets, then deltas and audio; every seq must come whole to both.
    const first = publisher.video(20_000, true);
    for (let i = 0; i < 20; i++) {
      publisher.video(500 + i * 50, false);
      publisher.audio();
    }
    const last = publisher.nextSeq - 1;
    for (const v of [a, b]) await until(() => v.frames.some((f) => f.seq === last), `seq ${last} over RTP`);

    for (const v of [a, b]) {
      const got = v.frames.filter((f) => f.seq >= first);
      assert.deepEqual(
        got.map((f) => f.seq),
        Array.from({ length: last - first + 1 }, (_, i) => first + i),
        'every frame, in order',
      );
      for (const f of got) assert.ok(Buffer.from(decodeFrame(f.bytes).payload).equals(publisher.sent.get(f.seq)!), `seq ${f.seq} identical`);
    }
    // RTP as chunk-rtp.ts lays it out: payload type 96, the one SSRC, marker on every packet (each its
    // own frame), and each viewer's own numbering: 0, 1, 2… in sequence number and timestamp alike.
    for (const v of [a, b])
      v.packets.forEach((p, i) => {
        assert.equal(p[1]! & 0x7f, CHUNK_RTP_PAYLOAD_TYPE);
        assert.equal(p[1]! & 0x80, 0x80, 'marker');
        assert.equal(p.readUInt32BE(8), CHUNK_RTP_SSRC);
        assert.equal(p.readUInt16BE(2), i & 0xffff, `packet ${i}'s sequence number`);
        assert.equal(p.readUInt32BE(4), i, `packet ${i}'s timestamp`);
      });
    // Split once per channel: past the numbering, both viewers got the very same packets.
    const lastOf = (v: RtpViewer): string => v.packets.at(-1)!.subarray(8).toString('hex');
    assert.equal(lastOf(a), lastOf(b));

    const metrics = await (await fetch(`http://127.0.0.1:${h.unit.port}/metrics`)).text();
    assert.match(metrics, /onair_unit_udp_sessions_open\{carrier="rtp"[^}]*\} 2/);
    // Every packet the two viewers got was counted as sent on rtp (on loopback none is lost), none on a data channel.
    const sent = (carrier: string): number => Number(new RegExp(`^onair_unit_udp_chunks_sent\\{carrier="${carrier}"[^}]*\\} (\\d+)`, 'm').exec(metrics)?.[1]);
    assert.ok(sent('rtp') >= a.packets.length + b.packets.length, `sent ${sent('rtp')}, received ${a.packets.length + b.packets.length}`);
    assert.equal(sent('datachannel'), 0);
  });

  it('a viewer that asks for no carrier gets a data channel, as before', { timeout: 20_000 }, async () => {
    const raw = await RawViewer.open(h, CHANNEL, 0, 'dc-default');
    try {
      raw.send({ t: 'udp-start' });
      const offer = (await raw.next('udp-offer')).sdp;
      assert.match(offer, /^m=application /m);
      assert.doesNotMatch(offer, /^m=video/m);
      assert.equal(h.unit.media.udp.session('dc-default')?.carrier, 'datachannel');
    } finally {
      raw.close();
    }
  });
});
