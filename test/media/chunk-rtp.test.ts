import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CHUNK_RTP_PAYLOAD_TYPE, CHUNK_RTP_PREFIX_BYTES, CHUNK_RTP_SSRC, RTP_CHUNK_PAYLOAD_MAX, TRACK_MESSAGE_MAX_BYTES, chunkOfEncodedFrame, chunkOfRtpPacket, rtpPacketOfChunk as packetBytes } from '../../protocol/chunk-rtp.js';
import { CHUNK_HEADER_BYTES, splitFrame } from '../../protocol/frame-chunks.js';
import { FrameKind } from '../../protocol/media-frame.js';

/** rtpPacketOfChunk's packet as a Buffer view (its header read with Buffer's readers) */
function rtpPacketOfChunk(chunk: Uint8Array, n?: number): Buffer {
  const packet = packetBytes(chunk, n);
  return Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength);
}

/** the same bytes (a Buffer view and a Uint8Array compare unequal under deepEqual) */
function assertBytes(actual: Uint8Array | null, expected: Uint8Array): void {
  assert.ok(actual && Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), `${actual ? Buffer.from(actual).toString('hex') : 'null'} ≠ ${Buffer.from(expected).toString('hex')}`);
}

describe('chunks in RTP packets', () => {
  it('lays a chunk out as RTP + VP8 descriptor + inter-frame tag, and gets it back whole', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1200 }), fc.integer({ min: 0, max: 0x1_0000_0000 * 2 }), (chunk, n) => {
        const packet = rtpPacketOfChunk(chunk, n);
        assert.equal(packet.length, CHUNK_RTP_PREFIX_BYTES + chunk.length);
        assert.equal(packet[0], 0x80, 'version 2, no padding, extension or CSRC');
        assert.equal(packet[1], 0x80 | CHUNK_RTP_PAYLOAD_TYPE, 'marker: each packet is a whole frame');
        assert.equal(packet.readUInt16BE(2), n & 0xffff);
        assert.equal(packet.readUInt32BE(4), n >>> 0);
        assert.equal(packet.readUInt32BE(8), CHUNK_RTP_SSRC);
        assertBytes(chunkOfRtpPacket(packet), chunk);
        // What Chromium's VP8 depacketizer hands an encoded transform: the descriptor gone.
        assertBytes(chunkOfEncodedFrame(packet.subarray(13)), chunk);
      }),
    );
  });

  it('skips CSRCs, a header extension and padding a sender might add', () => {
    const chunk = Uint8Array.from([1, 2, 3, 4, 5]);
    const plain = rtpPacketOfChunk(chunk, 1);
    const csrc = Buffer.alloc(4, 0xee);
    const extension = Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00]);
    const padding = Buffer.from([0, 0, 3]);
    const rich = Buffer.concat([plain.subarray(0, 12), csrc, extension, plain.subarray(12), padding]);
    rich[0] = 0x80 | 0x20 | 0x10 | 1;
    assertBytes(chunkOfRtpPacket(rich), chunk);
  });

  it('refuses what is not one of its packets', () => {
    const packet = rtpPacketOfChunk(Uint8Array.from([9, 9]), 5);
    const altered = (at: number, value: number): Buffer => {
      const copy = Buffer.from(packet);
      copy[at] = value;
      return copy;
    };
    assert.equal(chunkOfRtpPacket(altered(0, 0x40)), null, 'RTP version 1');
    assert.equal(chunkOfRtpPacket(altered(1, 0x80 | 97)), null, 'another payload type');
    assert.equal(chunkOfRtpPacket(altered(12, 0x90)), null, 'a descriptor with extensions');
    assert.equal(chunkOfRtpPacket(altered(13, 0x00)), null, 'a VP8 keyframe tag: not a chunk');
    assert.equal(chunkOfRtpPacket(packet.subarray(0, 14)), null, 'no chunk bytes');
    assert.equal(chunkOfRtpPacket(altered(0, 0x80 | 0x0f)), null, 'CSRCs past the end');
    assert.equal(chunkOfEncodedFrame(Uint8Array.from([0x00, 1, 2])), null);
    assert.equal(chunkOfEncodedFrame(Uint8Array.from([0x01])), null);
  });

  it('keeps a packet of the largest chunk within a track message', () => {
    const [chunk] = splitFrame(new Uint8Array(RTP_CHUNK_PAYLOAD_MAX), 1, FrameKind.VIDEO, true, RTP_CHUNK_PAYLOAD_MAX);
    assert.equal(chunk!.length, RTP_CHUNK_PAYLOAD_MAX + CHUNK_HEADER_BYTES);
    assert.equal(rtpPacketOfChunk(chunk!).length, TRACK_MESSAGE_MAX_BYTES);
  });
});
