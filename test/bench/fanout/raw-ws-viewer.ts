/**
 * One viewer of the load generator: a raw TCP socket (node:net) that does the WebSocket handshake by
 * hand and parses server frames minimally, so that the generator spends its CPU on reading bytes and
 * not on a WebSocket library. Server frames are unmasked (RFC 6455 §5.1); only what a unit or the
 * naive server sends is handled: unfragmented binary and text messages, ping (answered with a masked
 * pong), pong, close. Text messages go to `onText` when given (a UDP viewer's signalling), and
 * `sendText` sends one (masked, as a client must). Every viewer of a process reads into one shared
 * buffer (net's `onread`: no allocation per read; with a thousand sockets the allocations were the
 * generator's own GC pauses). A message lying wholly in one read is handed on as a view of it, one
 * that spans reads is gathered into this viewer's reusable buffer, a frame sent in pieces is joined
 * into another. Either way the view is valid only during the `onBinary` call.
 *
 * Slow mode reads at most `slowBytesPerSec`: the socket is paused when its byte budget is spent and
 * resumed when a timer has refilled it, so the kernel's buffers fill and the server sees backpressure.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { PieceJoiner } from '../../../protocol/frame-pieces.js';

export interface RawWsHandlers {
  /** a binary message and the time its last byte was read (performance.now() ms) */
  onBinary(message: Buffer, readAtMs: number): void;
  /** the 101 arrived */
  onOpen(): void;
  /** the server's close code (1005 without one, 1006 for a lost connection, -status for a refused upgrade) */
  onClose(code: number, reason: string): void;
  /** a text message (the unit's signalling and mode messages); ignored without it */
  onText?(text: string): void;
}

const MAX_MESSAGE_BYTES = 8 * 1024 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');
const SLOW_REFILL_MS = 50;
/** what one read may take; shared by the process's viewers (reads are handled one at a time) */
const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
/**
 * A slow viewer reads in small steps of its own, so its pace holds within a step (a 256 KB read
 * would spend ten seconds of its budget at once) and the kernel does not grow its receive buffer
 * for a reader that takes big bites.
 */
const SLOW_READ_BYTES = 4096;

const enum State {
  HANDSHAKE,
  HEADER,
  PAYLOAD,
  CLOSED,
}

export class RawWsViewer {
  readonly #url: URL;
  readonly #handlers: RawWsHandlers;
  readonly #slowBytesPerSec: number;
  #socket: Socket | null = null;
  #state = State.HANDSHAKE;
  #handshake: Buffer = Buffer.alloc(0);
  readonly #header = Buffer.alloc(14);
  #headerLength = 0;
  #opcode = 0;
  #messageLength = 0;
  #copied = 0;
  #gather: Buffer | null = null;
  #budget = 0;
  #refill: NodeJS.Timeout | null = null;
  #paused = false;
  readonly #pieces = new PieceJoiner({ reuseBuffer: true });
  /** socket bytes read, headers included */
  bytesRead = 0;

  constructor(url: string, handlers: RawWsHandlers, slowBytesPerSec = 0) {
    this.#url = new URL(url);
    this.#handlers = handlers;
    this.#slowBytesPerSec = slowBytesPerSec;
  }

  open(): void {
    const socket = connect({
      host: this.#url.hostname,
      port: Number(this.#url.port || 80),
      onread: { buffer: this.#slowBytesPerSec > 0 ? Buffer.allocUnsafe(SLOW_READ_BYTES) : READ_BUFFER, callback: (n: number, buffer: Uint8Array) => (this.#data(buffer.subarray(0, n) as Buffer), true) },
    });
    this.#socket = socket;
    socket.setNoDelay(true);
    socket.on('connect', () => {
      const key = randomBytes(16).toString('base64');
      socket.write(
        `GET ${this.#url.pathname}${this.#url.search} HTTP/1.1\r\nHost: ${this.#url.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('error', () => {}); // 'close' follows
    socket.on('close', () => this.#closed(1006, 'connection lost'));
    if (this.#slowBytesPerSec > 0) {
      this.#budget = this.#slowBytesPerSec * (SLOW_REFILL_MS / 1000);
      this.#refill = setInterval(() => {
        // At most a fifth of a second of budget banked: the reader stays slow after a pause.
        this.#budget = Math.min(this.#budget + this.#slowBytesPerSec * (SLOW_REFILL_MS / 1000), this.#slowBytesPerSec / 5);
        if (this.#paused && this.#budget > 0) {
          this.#paused = false;
          this.#socket?.resume();
        }
      }, SLOW_REFILL_MS);
    }
  }

  close(): void {
    this.#closed(1000, 'closed by the generator');
  }

  /** Sends a text message (after the 101; dropped before it or once closed). */
  sendText(text: string): void {
    if (this.#state === State.HANDSHAKE || this.#state === State.CLOSED) return;
    this.#sendMasked(0x1, Buffer.from(text, 'utf8'));
  }

  /** this end's port, to find the server's side of the connection in /proc/net/tcp */
  get localPort(): number | undefined {
    return this.#socket?.localPort;
  }

  #closed(code: number, reason: string): void {
    if (this.#state === State.CLOSED) return;
    this.#state = State.CLOSED;
    if (this.#refill) clearInterval(this.#refill);
    this.#refill = null;
    this.#gather = null;
    this.#socket?.destroy();
    this.#handlers.onClose(code, reason);
  }

  #data(chunk: Buffer): void {
    const readAt = performance.now();
    this.bytesRead += chunk.length;
    if (this.#slowBytesPerSec > 0) {
      this.#budget -= chunk.length;
      if (this.#budget <= 0 && !this.#paused) {
        this.#paused = true;
        this.#socket?.pause();
      }
    }
    let at = 0;
    if (this.#state === State.HANDSHAKE) {
      at = this.#handshakeData(chunk);
      if (at < 0) return;
    }
    this.#frames(chunk, at, readAt);
  }

  /** Where the frames start in `chunk`, or -1 (headers incomplete, or refused). */
  #handshakeData(chunk: Buffer): number {
    const previous = this.#handshake.length;
    // A copy: the read buffer is shared and reused.
    this.#handshake = Buffer.concat([this.#handshake, chunk]);
    const end = this.#handshake.indexOf(HEADER_END);
    if (end < 0) {
      if (this.#handshake.length > 16_384) this.#closed(-1, 'handshake too long');
      return -1;
    }
    const status = /^HTTP\/1\.1 (\d{3})/.exec(this.#handshake.subarray(0, Math.min(end, 64)).toString('latin1'));
    this.#handshake = Buffer.alloc(0);
    if (status?.[1] !== '101') {
      this.#closed(-Number(status?.[1] ?? 0), 'upgrade refused');
      return -1;
    }
    this.#state = State.HEADER;
    this.#handlers.onOpen();
    return end + HEADER_END.length - previous;
  }

  #frames(chunk: Buffer, start: number, readAt: number): void {
    let at = start;
    const length = chunk.length;
    while (at < length) {
      if (this.#state === State.HEADER) {
        const header = this.#header;
        while (this.#headerLength < 2 && at < length) header[this.#headerLength++] = chunk[at++]!;
        if (this.#headerLength < 2) return;
        const short = header[1]! & 0x7f;
        const need = 2 + (short === 126 ? 2 : short === 127 ? 8 : 0) + (header[1]! & 0x80 ? 4 : 0);
        while (this.#headerLength < need && at < length) header[this.#headerLength++] = chunk[at++]!;
        if (this.#headerLength < need) return;
        this.#headerLength = 0;
        if ((header[0]! & 0x80) === 0 || (header[0]! & 0x0f) === 0) return this.#closed(-2, 'fragmented message (not expected from these servers)');
        if (header[1]! & 0x80) return this.#closed(-3, 'masked server frame');
        this.#opcode = header[0]! & 0x0f;
        const size = short < 126 ? short : short === 126 ? header.readUInt16BE(2) : header.readUInt32BE(2) * 2 ** 32 + header.readUInt32BE(6);
        if (size > MAX_MESSAGE_BYTES) return this.#closed(-4, `message of ${size} bytes`);
        this.#messageLength = size;
        if (length - at >= size) {
          // The whole message is in this read: a view, no copy.
          const message = chunk.subarray(at, at + size);
          at += size;
          this.#message(message, readAt);
          if (this.#isClosed()) return;
          continue;
        }
        if (this.#gather === null || this.#gather.length < size) this.#gather = Buffer.allocUnsafe(Math.max(65_536, 2 ** Math.ceil(Math.log2(size))));
        this.#copied = 0;
        this.#state = State.PAYLOAD;
      }
      if (this.#state === State.PAYLOAD) {
        const n = Math.min(this.#messageLength - this.#copied, length - at);
        chunk.copy(this.#gather!, this.#copied, at, at + n);
        this.#copied += n;
        at += n;
        if (this.#copied === this.#messageLength) {
          this.#state = State.HEADER;
          this.#message(this.#gather!.subarray(0, this.#messageLength), readAt);
        }
      }
      if (this.#isClosed()) return;
    }
  }

  /** A method, not an inline test: a handler called above may have closed the viewer. */
  #isClosed(): boolean {
    return this.#state === State.CLOSED;
  }

  #message(message: Buffer, readAt: number): void {
    switch (this.#opcode) {
      case 0x2: {
        // A unit sends large frames in pieces (protocol/frame-pieces.ts); the frame counts when its last piece is read.
        const frame = this.#pieces.push(message);
        if (frame) this.#handlers.onBinary(frame === message ? message : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), readAt);
        return;
      }
      case 0x1: // text: chat lines, mode and signalling messages; not media
        return this.#handlers.onText?.(message.toString('utf8'));
      case 0xa: // pong
        return;
      case 0x9:
        return this.#pong(message);
      case 0x8: {
        const code = message.length >= 2 ? message.readUInt16BE(0) : 1005;
        return this.#closed(code, message.subarray(2).toString('utf8'));
      }
      default:
        return this.#closed(-5, `opcode ${this.#opcode}`);
    }
  }

  /** Client frames must be masked (RFC 6455 §5.3). */
  #pong(payload: Buffer): void {
    if (payload.length > 125) return;
    this.#sendMasked(0xa, payload);
  }

  /** One unfragmented, masked client frame. */
  #sendMasked(opcode: number, payload: Buffer): void {
    const socket = this.#socket;
    if (!socket) return;
    const n = payload.length;
    const lengthBytes = n < 126 ? 0 : n < 65_536 ? 2 : 8;
    const at = 2 + lengthBytes;
    const frame = Buffer.allocUnsafe(at + 4 + n);
    frame[0] = 0x80 | opcode;
    if (n < 126) frame[1] = 0x80 | n;
    else if (n < 65_536) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(n, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeUInt32BE(Math.floor(n / 2 ** 32), 2);
      frame.writeUInt32BE(n >>> 0, 6);
    }
    const mask = randomBytes(4);
    mask.copy(frame, at);
    for (let i = 0; i < n; i++) frame[at + 4 + i] = payload[i]! ^ mask[i & 3]!;
    socket.write(frame);
  }
}
