/**
 * A tiny WebSocket client for the media tests (RFC 6455 over node:http's upgrade). Node 20 has no
 * global WebSocket without a flag, the `ws` package is not installed, and node-datachannel's client
 * does not report the server's close code — which is what these tests check. It handles what the
 * unit sends: unfragmented binary/text messages, ping (answered with pong) and close.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import type { Socket } from 'node:net';

export interface CloseInfo {
  code: number;
  reason: string;
}

export class TestWs {
  readonly messages: Buffer[] = [];
  readonly texts: string[] = [];
  /** resolves when the connection is gone; code 1006 when it ended without a close frame */
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | null = null;
  #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #resolveClosed!: (info: CloseInfo) => void;
  #waiters: (() => void)[] = [];
  #throttle: { perWindow: number; windowStart: number; used: number } | null = null;

  private constructor(socket: Socket, head: Buffer) {
    this.#socket = socket;
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('close', () => this.#finish({ code: 1006, reason: '' }));
    socket.on('error', () => this.#finish({ code: 1006, reason: '' }));
    if (head.length > 0) this.#onData(head);
  }

  /** Resolves once upgraded; rejects with an Error carrying `status` when the server answers HTTP. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<TestWs> {
    const u = new URL(url.replace(/^ws/, 'http'));
    return new Promise((resolve, reject) => {
      const req = request({
        host: u.hostname,
        port: u.port,
        path: u.pathname + u.search,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), ...headers },
      });
      req.on('upgrade', (_res, socket, head) => resolve(new TestWs(socket, head)));
      req.on('response', (res) => {
        res.resume();
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  sendBinary(bytes: Uint8Array): void {
    this.#send(0x2, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
  }

  sendText(text: string): void {
    this.#send(0x1, Buffer.from(text, 'utf8'));
  }

  /** A clean close from our side. */
  close(code = 1000): void {
    const payload = Buffer.alloc(2);
    payload.writeUInt16BE(code);
    this.#send(0x8, payload);
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** Stops reading: the kernel's buffers fill, then the unit's socket buffers (a slow viewer). */
  pause(): void {
    this.#socket.pause();
  }

  resume(): void {
    this.#throttle = null;
    this.#socket.resume();
  }

  /** Reads at most about `bytesPerSecond` (paused between 50 ms windows once over budget). */
  throttle(bytesPerSecond: number): void {
    this.#throttle = { perWindow: bytesPerSecond / 20, windowStart: performance.now(), used: 0 };
  }

  #throttleChunk(length: number): void {
    const t = this.#throttle;
    if (!t) return;
    const now = performance.now();
    if (now - t.windowStart >= 50) {
      t.windowStart = now;
      t.used = 0;
    }
    t.used += length;
    if (t.used < t.perWindow) return;
    this.#socket.pause();
    setTimeout(() => {
      if (this.#throttle !== t) return;
      t.windowStart = performance.now();
      t.used = 0;
      this.#socket.resume();
    }, 50 - (now - t.windowStart));
  }

  /** Resolves when at least `n` binary messages have arrived; rejects on timeout or close. */
  async waitForMessages(n: number, timeoutMs = 5000): Promise<Buffer[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < n) {
      if (this.closeInfo) throw new Error(`closed (${this.closeInfo.code} ${this.closeInfo.reason}) after ${this.messages.length} of ${n} messages`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${n} messages, got ${this.messages.length}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages.slice(0, n);
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  #finish(info: CloseInfo): void {
    if (this.closeInfo) return;
    this.closeInfo = info;
    this.#resolveClosed(info);
    this.#wake();
  }

  #send(opcode: number, payload: Buffer): void {
    if (this.#socket.destroyed) return;
    const mask = randomBytes(4);
    const n = payload.length;
    const head = n < 126 ? Buffer.alloc(2) : n < 65536 ? Buffer.alloc(4) : Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    if (n < 126) head[1] = 0x80 | n;
    else if (n < 65536) {
      head[1] = 0x80 | 126;
      head.writeUInt16BE(n, 2);
    } else {
      head[1] = 0x80 | 127;
      head.writeBigUInt64BE(BigInt(n), 2);
    }
    const masked = Buffer.alloc(n);
    for (let i = 0; i < n; i++) masked[i] = payload[i]! ^ mask[i & 3]!;
    this.#socket.write(Buffer.concat([head, mask, masked]));
  }

  #onData(chunk: Buffer): void {
    this.#throttleChunk(chunk.length);
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    for (;;) {
      const b = this.#buffer;
      if (b.length < 2) return;
      const opcode = b[0]! & 0x0f;
      let length = b[1]! & 0x7f;
      let at = 2;
      if (length === 126) {
        if (b.length < 4) return;
        length = b.readUInt16BE(2);
        at = 4;
      } else if (length === 127) {
        if (b.length < 10) return;
        length = Number(b.readBigUInt64BE(2));
        at = 10;
      }
      if (b.length < at + length) return;
      const payload = Buffer.from(b.subarray(at, at + length));
      this.#buffer = b.subarray(at + length);
      if (opcode === 0x2) this.messages.push(payload);
      else if (opcode === 0x1) this.texts.push(payload.toString('utf8'));
      else if (opcode === 0x9) this.#send(0xa, payload);
      else if (opcode === 0x8) {
        const info = { code: payload.length >= 2 ? payload.readUInt16BE(0) : 1005, reason: payload.subarray(2).toString('utf8') };
        if (!this.#socket.destroyed) this.#send(0x8, payload.subarray(0, 2));
        this.#socket.end();
        this.#finish(info);
        return;
      }
      this.#wake();
    }
  }
}
