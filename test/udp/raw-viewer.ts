/** A watch WebSocket driven by hand, for the UDP tests that speak the protocol themselves. */
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { MEDIA_CLOSE } from '../../protocol/media-close-codes.js';
import { parseUnitMessage, type ClientMessage, type UnitMessage } from '../../protocol/media-messages.js';
import { until } from './checks.js';
import type { Harness } from './udp-harness.js';

/** A viewer socket driven by hand: sends what the test says, keeps what the unit says. */
export class RawViewer {
  readonly messages: UnitMessage[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = parseUnitMessage(String(data));
      if (message) this.messages.push(message);
    });
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static async open(h: Harness, channelId: number, groupIndex: number, viewerId: string): Promise<RawViewer> {
    const ws = new WebSocket(`ws://127.0.0.1:${h.unit.port}/watch/${channelId}?t=${encodeURIComponent(await h.viewTicket(channelId, groupIndex, viewerId))}`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new RawViewer(ws);
  }

  send(message: ClientMessage | { t: string; [key: string]: unknown }): void {
    this.ws.send(typeof message === 'object' ? JSON.stringify(message) : message);
  }

  async next<T extends UnitMessage['t']>(t: T): Promise<Extract<UnitMessage, { t: T }>> {
    await until(() => this.messages.some((m) => m.t === t), `a ${t} message`);
    return this.messages.find((m) => m.t === t) as Extract<UnitMessage, { t: T }>;
  }

  async expectRefused(code: string): Promise<void> {
    const info = await Promise.race([this.closed, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not closed, expected ${code}`)), 5000))]);
    assert.equal(info.code, MEDIA_CLOSE.MEDIA_BAD_MESSAGE.closeCode, `closed with ${info.code} "${info.reason}"`);
    assert.ok(info.reason.startsWith(code), `reason "${info.reason}" should start with ${code}`);
  }

  close(): void {
    this.ws.terminate();
  }
}

