/**
 * The media tests' WebSocket client: the `ws` package, with what the tests read kept in plain
 * fields — binary messages, text messages, the server's close code — and a slow mode that stops
 * reading from the socket (so the kernel's buffers and then the unit's fill, as for a slow viewer).
 */
import WebSocket from 'ws';
import { PieceJoiner } from '../../protocol/frame-pieces.js';

export interface CloseInfo {
  code: number;
  reason: string;
}

/** The unit accepts frames up to 4 MiB + 1 KiB; a test may send more to see it refused. */
const MAX_PAYLOAD = 64 * 1024 * 1024;
const THROTTLE_WINDOW_MS = 50;

export class TestWs {
  readonly messages: Buffer[] = [];
  readonly texts: string[] = [];
  /** resolves when the connection is gone; code 1006 when it ended without a close frame */
  readonly closed: Promise<CloseInfo>;
  closeInfo: CloseInfo | null = null;
  readonly #ws: WebSocket;
  #waiters: (() => void)[] = [];
  #throttle: { perWindow: number; windowStart: number; used: number } | null = null;
  readonly #pieces = new PieceJoiner();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString() };
        resolve(this.closeInfo);
        this.#wake();
      });
    });
    ws.on('error', () => {}); // a close event follows with the code
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      this.#throttled(data.length);
      if (isBinary) {
        // Large frames come in pieces (protocol/frame-pieces.ts): `messages` holds whole frames.
        const frame = this.#pieces.push(data);
        if (frame) this.messages.push(frame === data ? data : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength));
      }
      else this.texts.push(data.toString('utf8'));
      this.#wake();
    });
  }

  /** Resolves once upgraded; rejects with an Error carrying `status` when the server answers HTTP. */
  static connect(url: string, headers: Record<string, string> = {}): Promise<TestWs> {
    const ws = new WebSocket(url, { headers, perMessageDeflate: false, maxPayload: MAX_PAYLOAD });
    return new Promise((resolve, reject) => {
      // Listeners go on inside 'open', before any message event of the socket can run.
      ws.once('open', () => resolve(new TestWs(ws)));
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        ws.terminate();
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode }));
      });
      ws.once('error', reject);
    });
  }

  sendBinary(bytes: Uint8Array): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(bytes, { binary: true });
  }

  sendText(text: string): void {
    if (this.#ws.readyState === WebSocket.OPEN) this.#ws.send(text);
  }

  /** A clean close from our side. */
  close(code = 1000): void {
    this.#ws.close(code);
  }

  destroy(): void {
    this.#ws.terminate();
  }

  /** Stops reading: the kernel's buffers fill, then the unit's socket buffers (a slow viewer). */
  pause(): void {
    this.#ws.pause();
  }

  resume(): void {
    this.#throttle = null;
    this.#ws.resume();
  }

  /** Reads at most about `bytesPerSecond` (paused until the next 50 ms window once over budget). */
  throttle(bytesPerSecond: number): void {
    this.#throttle = { perWindow: bytesPerSecond * (THROTTLE_WINDOW_MS / 1000), windowStart: performance.now(), used: 0 };
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

  #throttled(length: number): void {
    const t = this.#throttle;
    if (!t) return;
    const now = performance.now();
    if (now - t.windowStart >= THROTTLE_WINDOW_MS) {
      t.windowStart = now;
      t.used = 0;
    }
    t.used += length;
    if (t.used < t.perWindow || this.#ws.isPaused) return;
    this.#ws.pause();
    setTimeout(() => {
      if (this.#throttle !== t) return;
      t.windowStart = performance.now();
      t.used = 0;
      this.#ws.resume();
    }, THROTTLE_WINDOW_MS - (now - t.windowStart));
  }
}
