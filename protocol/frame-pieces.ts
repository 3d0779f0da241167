/**
 * A frame larger than PIECE_BYTES goes to TCP viewers and relay children as several WebSocket
 * messages, consecutive on the socket: a 5-byte announcement — PIECES_MARKER, then the frame's length
 * as a big-endian uint32 — followed by the frame's own bytes in slices of PIECE_BYTES (the last one
 * shorter). The slices are views of the bytes the unit encoded once: nothing is copied or re-encoded
 * per viewer. Frames up to PIECE_BYTES (audio, text, most video) stay one message.
 *
 * Why: uWebSockets.js builds any message that does not fit its 16 KiB cork buffer inside the
 * socket's own backpressure string, and that string keeps its largest capacity for the life of the
 * socket. A 40 KB keyframe thereby pinned ~40 KiB of memory per viewer; published as 8 KiB slices it
 * goes through the shared cork buffer (measured: 41 → 18 KiB per socket, README "Benchmarks").
 *
 * 0xc1 is the one byte msgpack never uses, so no frame (a msgpack array) starts with it.
 */
import { FrameError, MAX_FRAME_BYTES } from './media-frame.js';

export const PIECE_BYTES = 8 * 1024;
export const PIECES_MARKER = 0xc1;
const ANNOUNCEMENT_BYTES = 5;

let lastAnnouncement: Uint8Array | null = null;
let lastAnnouncedLength = -1;

/**
 * The announcement message of a frame of `length` bytes (only for length > PIECE_BYTES). The last
 * one is kept: a frame pumped to many readers shares one announcement instead of one each. Read-only.
 */
export function piecesAnnouncement(length: number): Uint8Array {
  if (length === lastAnnouncedLength && lastAnnouncement) return lastAnnouncement;
  const message = new Uint8Array(ANNOUNCEMENT_BYTES);
  message[0] = PIECES_MARKER;
  new DataView(message.buffer).setUint32(1, length);
  lastAnnouncement = message;
  lastAnnouncedLength = length;
  return message;
}

/**
 * Calls `send` with each message of the frame in order: the frame itself when it is small, else
 * the announcement and the slices. Stops early when `send` returns false (the socket dropped it).
 */
export function sendInPieces(frame: Uint8Array, send: (message: Uint8Array) => boolean): boolean {
  if (frame.length <= PIECE_BYTES) return send(frame);
  if (!send(piecesAnnouncement(frame.length))) return false;
  for (let offset = 0; offset < frame.length; offset += PIECE_BYTES) {
    if (!send(frame.subarray(offset, Math.min(frame.length, offset + PIECE_BYTES)))) return false;
  }
  return true;
}

/**
 * The receiving side, one per socket: feed it every binary message in order; it returns a whole
 * frame's bytes (the message itself, or the slices joined into one new buffer) or null while a
 * pieced frame is still arriving. Throws FrameError FRAME_ERR_BAD_PIECES on an announcement that
 * cannot be right (a frame that would not have been split, one past MAX_FRAME_BYTES, an
 * announcement in the middle of another frame's slices, a slice larger than PIECE_BYTES).
 *
 * With `reuseBuffer` the slices are joined into one buffer kept for the next frame (grown when a
 * larger one comes): no allocation per frame, for a reader that is done with a frame before it
 * pushes the next message (a relay writing into its ring, a load generator counting).
 */
export class PieceJoiner {
  readonly #reuseBuffer: boolean;
  #spare: Uint8Array | null = null;
  #buffer: Uint8Array | null = null;
  #filled = 0;

  constructor(options: { reuseBuffer?: boolean } = {}) {
    this.#reuseBuffer = options.reuseBuffer ?? false;
  }

  push(message: Uint8Array): Uint8Array | null {
    if (this.#buffer) {
      if (message.length > PIECE_BYTES || message.length > this.#buffer.length - this.#filled) {
        this.reset();
        throw new FrameError('FRAME_ERR_BAD_PIECES', `a slice of ${message.length} bytes`);
      }
      this.#buffer.set(message, this.#filled);
      this.#filled += message.length;
      if (this.#filled < this.#buffer.length) return null;
      const frame = this.#buffer;
      this.reset();
      return frame;
    }
    if (message.length === 0 || message[0] !== PIECES_MARKER) return message;
    if (message.length !== ANNOUNCEMENT_BYTES) throw new FrameError('FRAME_ERR_BAD_PIECES', `an announcement of ${message.length} bytes`);
    const length = new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(1);
    if (length <= PIECE_BYTES || length > MAX_FRAME_BYTES) throw new FrameError('FRAME_ERR_BAD_PIECES', `a frame of ${length} bytes announced`);
    if (!this.#reuseBuffer) this.#buffer = new Uint8Array(length);
    else {
      if (!this.#spare || this.#spare.length < length) this.#spare = new Uint8Array(Math.max(length, 2 * (this.#spare?.length ?? 0)));
      this.#buffer = this.#spare.subarray(0, length);
    }
    this.#filled = 0;
    return null;
  }

  /** Forget a partly gathered frame (the socket closed or was replaced). */
  reset(): void {
    this.#buffer = null;
    this.#filled = 0;
  }
}
