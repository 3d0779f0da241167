/**
 * The media frame, declared once for the broadcaster page, the units, the relays and the player.
 *
 * A frame is one A/V or text item. It is encoded ONCE with msgpackr where it enters a unit, and those
 * very bytes go to every viewer and relay (DESIGN "Data plane": no per-viewer copy or re-encode).
 * The layout is a msgpack array of eight fields, in this order:
 *
 *   [FRAME_FORMAT, channel, seq, timestamp, kind, keyframe, codec, payload]
 *
 *   channel    integer 1 … 2^31-1, the CSM's channel id
 *   seq        uint32, increasing per channel (the player finds loss from gaps; it wraps at 2^32)
 *   timestamp  microseconds, a non-negative safe integer (WebCodecs' chunk timestamp)
 *   kind       a FrameKind code
 *   keyframe   boolean; the ring buffer only looks at it on video (every audio chunk is a "key" chunk)
 *   codec      a Codec string that carries that kind
 *   payload    msgpack bin — last, so a frame's payload ends at the frame's last byte
 *
 * Decoding is written by hand for this one fixed layout rather than with msgpackr's `unpack`:
 * - it accepts every width a msgpack encoder may pick for a field (msgpackr writes timestamps past
 *   2^32 µs, about 71 minutes, as float64) and refuses everything else: extension types, records,
 *   nested values, trailing bytes;
 * - the payload stays a view of the input (no copy) and nothing else is allocated;
 * - hostile input is refused after reading at most the header (msgpackr's error path serialises the
 *   whole decoded value into its message, a CPU cost an attacker could choose).
 * The tests check it against msgpackr in both directions. No Node-only API: the browser uses this file.
 */
import { Packr } from 'msgpackr';
import { catalogueError } from './control-errors.js';

/** The layout version, the frame's first field. A change of layout is a new number. */
export const FRAME_FORMAT = 1;
/** Largest encoded frame anyone accepts (a 4K keyframe fits with room to spare). */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Largest text (chat) payload, in bytes of UTF-8. */
export const MAX_TEXT_PAYLOAD_BYTES = 2 * 1024;
export const MAX_FRAME_CHANNEL = 2 ** 31 - 1;
export const MAX_FRAME_SEQ = 0xffff_ffff;
const FIELD_COUNT = 8;

/** Numeric kind codes on the wire, shared with the browser. */
export const FrameKind = { VIDEO: 1, AUDIO: 2, TEXT: 3 } as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

/** Short codec names on the wire; the player maps each to a full WebCodecs codec string. */
export const Codec = { VP8: 'vp8', VP9: 'vp9', AV1: 'av1', H264: 'h264', OPUS: 'opus', TEXT_UTF8: 'text/utf8' } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

/** The kind each codec carries: an opus payload in a video frame is refused. */
export const CODEC_KIND = {
  vp8: FrameKind.VIDEO,
  vp9: FrameKind.VIDEO,
  av1: FrameKind.VIDEO,
  h264: FrameKind.VIDEO,
  opus: FrameKind.AUDIO,
  'text/utf8': FrameKind.TEXT,
} as const satisfies Record<Codec, FrameKind>;

/** What describes a frame, apart from its payload. */
interface FrameFields {
  channel: number;
  seq: number;
  timestamp: number;
  kind: FrameKind;
  keyframe: boolean;
  codec: Codec;
}

export interface Frame extends FrameFields {
  payload: Uint8Array;
}

/** Everything but the payload, plus where the payload lies in the encoded bytes. */
export interface FrameHeader extends FrameFields {
  payloadOffset: number;
  payloadLength: number;
}

/** Why a frame was refused, declared once (the connection that sent it is closed with the code). */
export const FRAME_ERRORS = {
  FRAME_ERR_TOO_LARGE: `the frame is larger than ${MAX_FRAME_BYTES} bytes`,
  FRAME_ERR_TRUNCATED: 'the frame ends in the middle of a field',
  FRAME_ERR_BAD_LAYOUT: `the frame is not a msgpack array of ${FIELD_COUNT} fields and nothing after it`,
  FRAME_ERR_BAD_FORMAT: `the frame's format is not ${FRAME_FORMAT}`,
  FRAME_ERR_BAD_CHANNEL: `the channel is not an integer from 1 to ${MAX_FRAME_CHANNEL}`,
  FRAME_ERR_BAD_SEQ: 'the sequence number is not a uint32',
  FRAME_ERR_BAD_TIMESTAMP: 'the timestamp is not a non-negative safe integer of microseconds',
  FRAME_ERR_UNKNOWN_KIND: 'the kind is not video, audio or text',
  FRAME_ERR_BAD_KEYFRAME: 'the keyframe flag is not a boolean',
  FRAME_ERR_UNKNOWN_CODEC: 'the codec is not one of the known codecs',
  FRAME_ERR_CODEC_KIND: 'the codec does not carry this kind of frame',
  FRAME_ERR_BAD_PAYLOAD: 'the payload is not binary',
  FRAME_ERR_TEXT_TOO_LARGE: `the text payload is larger than ${MAX_TEXT_PAYLOAD_BYTES} bytes`,
  FRAME_ERR_BAD_TEXT: 'the text payload is not valid UTF-8',
  FRAME_ERR_BAD_PIECES: 'a frame sent in pieces does not add up (protocol/frame-pieces.ts)',
} as const;

export type FrameErrorCode = keyof typeof FRAME_ERRORS;

export class FrameError extends catalogueError<FrameErrorCode>('FrameError', FRAME_ERRORS) {}

// Plain arrays, strings and bin only: no records, no extension types.
const packr = new Packr({ useRecords: false, moreTypes: false });
const utf8 = new TextDecoder('utf-8', { fatal: true });
const asciiBytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const CODEC_BYTES: readonly (readonly [Codec, Uint8Array])[] = Object.values(Codec).map((c) => [c, asciiBytes(c)] as const);

/**
 * Encodes a frame: validates it by the decoder's rules (a unit never sends bytes a peer refuses),
 * then one msgpackr pack, which copies the payload once (a Buffer in Node). It may share its ArrayBuffer with
 * other encodings msgpackr made: treat it as read-only.
 */
export function encodeFrame(frame: Frame): Uint8Array {
  checkChannel(frame.channel);
  checkSeq(frame.seq);
  checkTimestamp(frame.timestamp);
  checkKind(frame.kind);
  checkKeyframe(frame.keyframe);
  checkCodec(frame.codec, frame.kind);
  if (!(frame.payload instanceof Uint8Array)) throw new FrameError('FRAME_ERR_BAD_PAYLOAD');
  // Refuse before packing: msgpackr would otherwise copy an oversize payload just to be thrown away.
  if (frame.payload.length > MAX_FRAME_BYTES) throw new FrameError('FRAME_ERR_TOO_LARGE', `payload of ${frame.payload.length} bytes`);
  if (frame.kind === FrameKind.TEXT) checkText(frame.payload);
  const { channel, seq, timestamp, kind, keyframe, codec, payload } = frame;
  const bytes = packr.pack([FRAME_FORMAT, channel, seq, timestamp, kind, keyframe, codec, payload]);
  if (bytes.length > MAX_FRAME_BYTES) throw new FrameError('FRAME_ERR_TOO_LARGE', `${bytes.length} bytes`);
  return bytes;
}

/**
 * Decodes and validates a frame. The payload is a view of `bytes` (no copy): it changes if they do.
 * Throws FrameError, and nothing else, on any input.
 */
export function decodeFrame(bytes: Uint8Array): Frame {
  const h = peekFrameHeader(bytes);
  const payload = bytes.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
  return { channel: h.channel, seq: h.seq, timestamp: h.timestamp, kind: h.kind, keyframe: h.keyframe, codec: h.codec, payload };
}

/**
 * Reads and validates the header of an encoded frame without touching the payload (except a text
 * payload's UTF-8 check), for a unit that stores frames a relay sends already encoded. It accepts
 * exactly the inputs decodeFrame accepts. Throws FrameError, and nothing else, on any input.
 */
export function peekFrameHeader(bytes: Uint8Array): FrameHeader {
  if (!(bytes instanceof Uint8Array)) throw new FrameError('FRAME_ERR_BAD_LAYOUT', 'not bytes');
  if (bytes.length > MAX_FRAME_BYTES) throw new FrameError('FRAME_ERR_TOO_LARGE', `${bytes.length} bytes`);
  const r = new FieldReader(bytes);
  if (r.arrayLength() !== FIELD_COUNT) throw new FrameError('FRAME_ERR_BAD_LAYOUT');
  const format = r.number();
  if (format !== FRAME_FORMAT) throw new FrameError('FRAME_ERR_BAD_FORMAT', String(format));
  const channel = checkChannel(r.number());
  const seq = checkSeq(r.number());
  const timestamp = checkTimestamp(r.number());
  const kind = checkKind(r.number());
  const keyframe = checkKeyframe(r.boolean());
  const codec = checkCodec(r.codec(), kind);
  const payloadLength = r.binLength();
  const payloadOffset = r.position;
  if (payloadOffset + payloadLength !== bytes.length) {
    throw new FrameError('FRAME_ERR_BAD_LAYOUT', `${bytes.length - payloadOffset - payloadLength} bytes after the payload`);
  }
  if (kind === FrameKind.TEXT) checkText(bytes.subarray(payloadOffset));
  return { channel, seq, timestamp, kind, keyframe, codec, payloadOffset, payloadLength };
}

function checkChannel(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_FRAME_CHANNEL) throw new FrameError('FRAME_ERR_BAD_CHANNEL', String(v));
  return v;
}
function checkSeq(v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_FRAME_SEQ) throw new FrameError('FRAME_ERR_BAD_SEQ', String(v));
  return v;
}
function checkTimestamp(v: unknown): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new FrameError('FRAME_ERR_BAD_TIMESTAMP', String(v));
  return v;
}
function checkKind(v: unknown): FrameKind {
  if (v !== FrameKind.VIDEO && v !== FrameKind.AUDIO && v !== FrameKind.TEXT) throw new FrameError('FRAME_ERR_UNKNOWN_KIND', String(v));
  return v;
}
function checkKeyframe(v: unknown): boolean {
  if (typeof v !== 'boolean') throw new FrameError('FRAME_ERR_BAD_KEYFRAME');
  return v;
}
function checkCodec(v: unknown, kind: FrameKind): Codec {
  if (typeof v !== 'string' || !Object.hasOwn(CODEC_KIND, v)) throw new FrameError('FRAME_ERR_UNKNOWN_CODEC');
  if (CODEC_KIND[v as Codec] !== kind) throw new FrameError('FRAME_ERR_CODEC_KIND', `${v} for kind ${kind}`);
  return v as Codec;
}
function checkText(payload: Uint8Array): void {
  if (payload.length > MAX_TEXT_PAYLOAD_BYTES) throw new FrameError('FRAME_ERR_TEXT_TOO_LARGE', `${payload.length} bytes`);
  try {
    utf8.decode(payload);
  } catch {
    throw new FrameError('FRAME_ERR_BAD_TEXT');
  }
}

// Scratch for float and 64-bit fields; used synchronously within one read, never shared across calls.
const scratch = new DataView(new ArrayBuffer(8));

/** Reads the msgpack values one frame uses, refusing truncation. Only what the layout needs. */
class FieldReader {
  position = 0;
  constructor(private readonly bytes: Uint8Array) {}

  #take(n: number): number {
    const at = this.position;
    if (at + n > this.bytes.length) throw new FrameError('FRAME_ERR_TRUNCATED');
    this.position = at + n;
    return at;
  }

  #uint(n: 1 | 2 | 4): number {
    const at = this.#take(n);
    const b = this.bytes;
    if (n === 1) return b[at]!;
    if (n === 2) return (b[at]! << 8) | b[at + 1]!;
    return b[at]! * 0x100_0000 + ((b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!);
  }

  #scratch(n: 4 | 8): DataView {
    const at = this.#take(n);
    for (let i = 0; i < n; i++) scratch.setUint8(i, this.bytes[at + i]!);
    return scratch;
  }

  arrayLength(): number {
    const t = this.#uint(1);
    if (t >= 0x90 && t <= 0x9f) return t & 0x0f;
    if (t === 0xdc) return this.#uint(2);
    if (t === 0xdd) return this.#uint(4);
    return -1;
  }

  /** Any msgpack integer or float; undefined (nothing consumed) when the next value is not a number. */
  number(): number | undefined {
    const t = this.bytes[this.position];
    if (t === undefined) throw new FrameError('FRAME_ERR_TRUNCATED');
    if (t <= 0x7f) return this.#uint(1);
    if (t >= 0xe0) return this.#uint(1) - 0x100;
    switch (t) {
      case 0xcc: case 0xcd: case 0xce: this.position++; return this.#uint((1 << (t - 0xcc)) as 1 | 2 | 4);
      case 0xd0: this.position++; return (this.#uint(1) << 24) >> 24;
      case 0xd1: this.position++; return (this.#uint(2) << 16) >> 16;
      case 0xd2: this.position++; return this.#uint(4) | 0;
      // Past 2^53 these lose precision and then fail every field's safe-integer check, as in msgpackr.
      case 0xcf: this.position++; return this.#scratch(8).getUint32(0) * 2 ** 32 + scratch.getUint32(4);
      case 0xd3: this.position++; return this.#scratch(8).getInt32(0) * 2 ** 32 + scratch.getUint32(4);
      case 0xca: this.position++; return this.#scratch(4).getFloat32(0);
      case 0xcb: this.position++; return this.#scratch(8).getFloat64(0);
      default: return undefined;
    }
  }

  boolean(): boolean | undefined {
    const t = this.bytes[this.position];
    if (t === undefined) throw new FrameError('FRAME_ERR_TRUNCATED');
    if (t !== 0xc2 && t !== 0xc3) return undefined;
    this.position++;
    return t === 0xc3;
  }

  /** A msgpack string matched against the codec table without decoding it; undefined when unknown. */
  codec(): Codec | undefined {
    const t = this.#uint(1);
    let length: number;
    if (t >= 0xa0 && t <= 0xbf) length = t & 0x1f;
    else if (t === 0xd9) length = this.#uint(1);
    else if (t === 0xda) length = this.#uint(2);
    else if (t === 0xdb) length = this.#uint(4);
    else return undefined;
    const at = this.#take(length);
    for (const [codec, name] of CODEC_BYTES) {
      if (name.length !== length) continue;
      let i = 0;
      while (i < length && this.bytes[at + i] === name[i]) i++;
      if (i === length) return codec;
    }
    return undefined;
  }

  /** The length of a msgpack bin; the position is left at its first byte. */
  binLength(): number {
    const t = this.#uint(1);
    let length: number;
    if (t === 0xc4) length = this.#uint(1);
    else if (t === 0xc5) length = this.#uint(2);
    else if (t === 0xc6) length = this.#uint(4);
    else throw new FrameError('FRAME_ERR_BAD_PAYLOAD');
    if (this.position + length > this.bytes.length) throw new FrameError('FRAME_ERR_TRUNCATED');
    return length;
  }
}
