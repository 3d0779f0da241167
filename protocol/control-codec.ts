/**
 * Wire format of the control link: each message is a 4-byte big-endian length followed by that many
 * bytes of msgpack. Framing this simple is written by hand (no library adds anything over a dozen
 * lines); msgpackr does the encoding. Decoding checks the size before buffering and the envelope's
 * shape before anyone reads it; payload schemas are checked by the ControlChannel.
 */
import { Packr } from 'msgpackr';
import { ControlError, ControlErrorCode } from './control-errors.js';

export const FRAME_HEADER_BYTES = 4;
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

/** Envelope tags: [REQUEST, id, method, params] [RESPONSE, id, true, result] [RESPONSE, id, false, {code,message}] [NOTIFICATION, name, payload] [FATAL, code, message] */
export const EnvelopeTag = { REQUEST: 0, RESPONSE: 1, NOTIFICATION: 2, FATAL: 3 } as const;

export type Envelope =
  | { tag: 0; id: number; method: string; params: unknown }
  | { tag: 1; id: number; ok: true; result: unknown }
  | { tag: 1; id: number; ok: false; code: string; message: string }
  | { tag: 2; name: string; payload: unknown }
  | { tag: 3; code: string; message: string };

// Plain maps and arrays only: no records or extension types from a peer we do not trust.
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });

export function encodeEnvelope(envelope: Envelope): Buffer {
  let body: unknown[];
  switch (envelope.tag) {
    case 0:
      body = [0, envelope.id, envelope.method, envelope.params];
      break;
    case 1:
      body = envelope.ok
        ? [1, envelope.id, true, envelope.result]
        : [1, envelope.id, false, { code: envelope.code, message: envelope.message }];
      break;
    case 2:
      body = [2, envelope.name, envelope.payload];
      break;
    case 3:
      body = [3, envelope.code, envelope.message];
      break;
  }
  const payload = packr.pack(body);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

const isString = (v: unknown, max: number): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;
const isId = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  let body: unknown;
  try {
    body = packr.unpack(bytes);
  } catch (error) {
    throw new ControlError(ControlErrorCode.CONTROL_ERR_UNDECODABLE, (error as Error).message);
  }
  if (!Array.isArray(body)) throw new ControlError(ControlErrorCode.CONTROL_ERR_BAD_ENVELOPE, 'not an array');
  const [tag, a, b, c] = body as unknown[];
  if (tag === 0 && body.length === 4 && isId(a) && isString(b, 64)) return { tag, id: a, method: b, params: c };
  if (tag === 1 && body.length === 4 && isId(a) && b === true) return { tag, id: a, ok: true, result: c };
  if (tag === 1 && body.length === 4 && isId(a) && b === false && c !== null && typeof c === 'object') {
    const { code, message } = c as { code?: unknown; message?: unknown };
    if (isString(code, 64) && typeof message === 'string') return { tag, id: a, ok: false, code, message: message.slice(0, 1024) };
  }
  if (tag === 2 && body.length === 3 && isString(a, 64)) return { tag, name: a, payload: b };
  if (tag === 3 && body.length === 3 && isString(a, 64) && typeof b === 'string') return { tag, code: a, message: b.slice(0, 1024) };
  throw new ControlError(ControlErrorCode.CONTROL_ERR_BAD_ENVELOPE);
}

/**
 * Splits a byte stream into frames. Refuses a frame over `maxFrameBytes` as soon as its header
 * arrives, so a peer cannot make us buffer an arbitrary amount.
 */
export class FrameReader {
  #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES) {}

  /** Feed bytes; returns every complete frame body. Throws ControlError on an oversize frame. */
  push(chunk: Buffer): Buffer[] {
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    const frames: Buffer[] = [];
    while (this.#buffered >= FRAME_HEADER_BYTES) {
      const head = this.#chunks.length === 1 ? this.#chunks[0]! : this.#flatten();
      const length = head.readUInt32BE(0);
      if (length > this.maxFrameBytes) {
        throw new ControlError(ControlErrorCode.CONTROL_ERR_FRAME_TOO_LARGE, `${length} > ${this.maxFrameBytes} bytes`);
      }
      if (this.#buffered < FRAME_HEADER_BYTES + length) break;
      const all = this.#flatten();
      frames.push(all.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length));
      const rest = all.subarray(FRAME_HEADER_BYTES + length);
      this.#chunks = rest.length > 0 ? [rest] : [];
      this.#buffered = rest.length;
    }
    return frames;
  }

  #flatten(): Buffer {
    if (this.#chunks.length > 1) this.#chunks = [Buffer.concat(this.#chunks, this.#buffered)];
    return this.#chunks[0]!;
  }
}
