/**
 * The UDP path's chunks (frame-chunks.ts) carried as RTP packets on a media track instead of as
 * data-channel messages: SRTP with no SCTP under it, which costs the unit about a third per packet
 * (test/bench/udp-probe.ts, `--mode track-loop` against `--mode loop`). The chunks themselves do not
 * change: the client reassembles, detects loss and waits for keyframes exactly as on a data channel.
 *
 * A browser hands a track's payloads to JavaScript only through a codec's depacketizer (encoded
 * transforms: RTCRtpScriptTransform, or Chromium's `receiver.createEncodedStreams()`;
 * web/client/rtp-tap.ts), so the track is declared VP8 and each packet is shaped as a whole one-packet
 * VP8 frame that carries one chunk:
 *
 *   RTP header (RFC 3550 §5.1, 12 bytes: V=2, marker set, payload type 96, sequence, timestamp, SSRC)
 *   VP8 payload descriptor 0x10 (RFC 7741 §4.2: start of a partition, partition 0, no extensions)
 *   0x01 — a VP8 frame tag's inter-frame bit: the depacketizer asks nothing more of a delta frame
 *   the chunk, as on a data channel
 *
 * Chromium then hands every packet to the page as its own encoded frame ([0x01, chunk…]) at once —
 * the transform runs before its reference finder, so no keyframe is waited for, and a gap in the
 * sequence numbers (a skipped or lost chunk) holds nothing back. Nothing is ever passed on to a
 * decoder: the page decodes the reassembled frames itself, as it does for the other paths.
 *
 * Every viewer gets the same packet bytes but its own numbering: the unit writes the viewer's packet
 * count into sequence number and timestamp (`numberRtpPacket`) just before each send, which copies.
 * Numbered per channel instead, a viewer reading frames in another order than the one that split
 * them first (one that skipped video, then caught up) would see sequence numbers run backwards, and
 * SRTP's replay window refuses packets too far back. A timestamp per packet keeps each packet its own
 * frame for the browser. Written by hand: twelve fixed
 * header bytes are simpler than any RTP library, and node-datachannel's packetizers split real
 * codec bitstreams, not chunks.
 */
import { CHUNK_HEADER_BYTES } from './frame-chunks.js';

export const CHUNK_RTP_PAYLOAD_TYPE = 96;
export const CHUNK_RTP_SSRC = 0x0a1a_c0de;
/** the track's media id in the unit's offer */
export const CHUNK_RTP_MID = 'chunks';
const RTP_HEADER_BYTES = 12;
const VP8_DESCRIPTOR = 0x10;
const VP8_INTER_FRAME_TAG = 0x01;
/** what precedes the chunk in each packet */
export const CHUNK_RTP_PREFIX_BYTES = RTP_HEADER_BYTES + 2;
/**
 * libdatachannel's largest track message at its default 1,280-byte MTU: 1,280 less SRTP (12), UDP (8)
 * and IPv6 (40) — one packet on the wire, never fragmented.
 */
export const TRACK_MESSAGE_MAX_BYTES = 1280 - 12 - 8 - 40;
/** the most encoded-frame bytes one chunk may carry on a track */
export const RTP_CHUNK_PAYLOAD_MAX = TRACK_MESSAGE_MAX_BYTES - CHUNK_RTP_PREFIX_BYTES - CHUNK_HEADER_BYTES;

/**
 * One chunk as an RTP packet numbered `n`, for `track.sendMessageBinary` (as a Buffer view of it). A
 * Uint8Array written byte by byte rather than a Buffer: the browser client imports this file too, and
 * the pages are type-checked without Node's types.
 */
export function rtpPacketOfChunk(chunk: Uint8Array, n = 0): Uint8Array {
  const packet = new Uint8Array(CHUNK_RTP_PREFIX_BYTES + chunk.length);
  packet[0] = 0x80;
  packet[1] = 0x80 | CHUNK_RTP_PAYLOAD_TYPE;
  numberRtpPacket(packet, n);
  writeUint32(packet, 8, CHUNK_RTP_SSRC);
  packet[RTP_HEADER_BYTES] = VP8_DESCRIPTOR;
  packet[RTP_HEADER_BYTES + 1] = VP8_INTER_FRAME_TAG;
  packet.set(chunk, CHUNK_RTP_PREFIX_BYTES);
  return packet;
}

/** Makes `packet` the `n`th of its receiver: sequence number n mod 2^16, timestamp n mod 2^32. */
export function numberRtpPacket(packet: Uint8Array, n: number): void {
  packet[2] = (n >>> 8) & 0xff;
  packet[3] = n & 0xff;
  writeUint32(packet, 4, n);
}

/** `value` mod 2^32, big-endian, at `at` */
function writeUint32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

/**
 * The chunk in an RTP packet as a native track hands it over (decrypted, header intact), or null when
 * the packet is not one of ours (RTCP, another payload type, a malformed header). A view, no copy.
 */
export function chunkOfRtpPacket(packet: Uint8Array): Uint8Array | null {
  if (packet.length < RTP_HEADER_BYTES + 2 || packet[0]! >> 6 !== 2 || (packet[1]! & 0x7f) !== CHUNK_RTP_PAYLOAD_TYPE) return null;
  let at = RTP_HEADER_BYTES + 4 * (packet[0]! & 0x0f);
  if (packet[0]! & 0x10) {
    // A header extension: 4 bytes of profile and length (in 32-bit words), then the words.
    if (packet.length < at + 4) return null;
    at += 4 + 4 * ((packet[at + 2]! << 8) | packet[at + 3]!);
  }
  let end = packet.length;
  if (packet[0]! & 0x20) end -= packet[end - 1]!;
  if (end < at + 2) return null;
  return chunkOfEncodedFrame(packet.subarray(at, end), true);
}

/**
 * The chunk in what a browser's encoded transform hands over for one packet ([0x01, chunk…]: the
 * depacketizer has taken the descriptor off), or null when it is not shaped as ours.
 */
export function chunkOfEncodedFrame(data: Uint8Array, withDescriptor = false): Uint8Array | null {
  let at = 0;
  if (withDescriptor) {
    if (data[0] !== VP8_DESCRIPTOR) return null;
    at = 1;
  }
  if (data.length <= at + 1 || data[at] !== VP8_INTER_FRAME_TAG) return null;
  return data.subarray(at + 1);
}
