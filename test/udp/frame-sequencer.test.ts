/**
 * The viewer's merge of its two paths (web/client/FrameSequencer.ts), message by message: the order
 * the unit's messages can arrive in around a switch, played exactly, with real encoded frames and
 * real chunks (protocol/frame-chunks.ts). No sockets: every interleaving here is one the network can
 * produce, and the socket tests cannot pick them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { splitFrame } from '../../protocol/frame-chunks.js';
import { Codec, decodeFrame, encodeFrame, FrameKind, type Frame } from '../../protocol/media-frame.js';
import { FrameSequencer, type FramePath } from '../../web/client/FrameSequencer.js';

const CHANNEL = 9;

function frame(seq: number, keyframe = false, kind: FrameKind = FrameKind.VIDEO): Uint8Array {
  const codec = kind === FrameKind.VIDEO ? Codec.VP8 : Codec.OPUS;
  return encodeFrame({ channel: CHANNEL, seq, timestamp: seq * 1000, kind, keyframe, codec, payload: new Uint8Array(3000).fill(seq & 0xff) });
}

function chunks(seq: number, keyframe = false): Uint8Array[] {
  return splitFrame(frame(seq, keyframe), seq, FrameKind.VIDEO, keyframe, 1100);
}

function sequencer(): { s: FrameSequencer; out: { seq: number; path: FramePath }[] } {
  const out: { seq: number; path: FramePath }[] = [];
  const s = new FrameSequencer((f: Frame, _bytes, path) => out.push({ seq: f.seq, path }));
  return { s, out };
}

const tcp = (s: FrameSequencer, seq: number, keyframe = false): void => s.tcpFrame(decodeFrame(frame(seq, keyframe)), 3000);
const udp = (s: FrameSequencer, seq: number, keyframe = false): void => {
  for (const c of chunks(seq, keyframe)) s.udpChunk(c);
};

describe('FrameSequencer', () => {
  it('continues over UDP right after the last TCP frame, without waiting for a keyframe', () => {
    const { s, out } = sequencer();
    tcp(s, 1, true);
    tcp(s, 2);
    // The data channel delivers before `mode: udp` has come on the socket: kept.
    udp(s, 3);
    assert.deepEqual(out.map((f) => f.seq), [1, 2]);
    s.unitMode('udp');
    udp(s, 4);
    assert.deepEqual(out, [
      { seq: 1, path: 'tcp' },
      { seq: 2, path: 'tcp' },
      { seq: 3, path: 'udp' },
      { seq: 4, path: 'udp' },
    ]);
  });

  it('holds the socket’s frames after `mode: tcp` until the data channel’s last ones are in', () => {
    const { s, out } = sequencer();
    tcp(s, 1, true);
    s.unitMode('udp');
    udp(s, 2);
    // 3 is on its way over UDP when the unit switches back; 4 comes on the socket first.
    s.unitMode('tcp');
    tcp(s, 4);
    assert.deepEqual(out.map((f) => f.seq), [1, 2]);
    assert.equal(s.draining, true);
    udp(s, 3);
    assert.equal(s.draining, false);
    tcp(s, 5);
    assert.deepEqual(out.map((f) => `${f.seq}/${f.path}`), ['1/tcp', '2/udp', '3/udp', '4/tcp', '5/tcp']);
  });

  it('gives up on what the data channel never brings when told to, in order', () => {
    const { s, out } = sequencer();
    tcp(s, 1, true);
    s.unitMode('udp');
    udp(s, 2);
    udp(s, 4); // 3 is lost, so 4 (a P-frame) may not be decoded
    udp(s, 5, true);
    s.unitMode('tcp');
    tcp(s, 7);
    s.finishDrain(); // 6 never came (nor did the data channel see it: not counted there)
    assert.deepEqual(out.map((f) => f.seq), [1, 2, 5, 7]);
    assert.deepEqual(s.udpLoss, { framesLost: 1, framesDelivered: 2, videoDroppedAwaitingKeyframe: 1 });
  });

  it('keeps each frame once when the unit sends again on the socket what its failed channel carried', () => {
    const { s, out } = sequencer();
    tcp(s, 1, true);
    s.unitMode('udp');
    udp(s, 2);
    udp(s, 3);
    // 4 died with the channel; the unit resends 2, 3 and 4, then goes on with 5.
    s.unitMode('tcp');
    for (const seq of [2, 3, 4, 5]) tcp(s, seq);
    tcp(s, 6);
    assert.deepEqual(out.map((f) => f.seq), [1, 2, 3, 4, 5, 6]);
    assert.equal(s.stats.duplicates, 2);
  });

  it('passes plain TCP through as it comes, a publisher restarting its numbering included', () => {
    const { s, out } = sequencer();
    for (const seq of [7, 8, 0, 1]) tcp(s, seq, seq === 0 || seq === 7);
    assert.deepEqual(out.map((f) => f.seq), [7, 8, 0, 1]);
  });
});
