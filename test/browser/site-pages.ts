/**
 * What the browser tests and `bench browser` read from the site's pages: the `window.onair` hooks
 * the broadcast and watch pages keep up to date, a check that the player's canvas shows a picture,
 * and the browser's own count of the RTP video it received and decoded.
 */
import type { Page } from 'playwright-core';
import type { BroadcastHook, WatchHook } from '../../protocol/page-hooks.js';

export type { BroadcastHook, WatchHook };

export function broadcastHook(page: Page): Promise<BroadcastHook> {
  return page.evaluate(() => (globalThis as unknown as { onair: BroadcastHook }).onair);
}

export function watchHook(page: Page): Promise<WatchHook> {
  return page.evaluate(() => (globalThis as unknown as { onair: WatchHook }).onair);
}

/** Waits until `check(hook)` holds on the page (polled in the page, no fixed sleeps). */
export async function waitForHook(page: Page, check: string, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction(`(() => { const onair = globalThis.onair; return !!onair && (${check}); })()`, undefined, { timeout: timeoutMs, polling: 100 });
}

/**
 * How many distinct colours (coarsely quantised) a sample of the canvas holds: a blank or
 * single-colour canvas gives 1–2, the fake camera's moving picture many more.
 */
export function canvasColours(page: Page, selector = 'canvas#player'): Promise<number> {
  return page.evaluate((selector) => {
    const canvas = (globalThis as unknown as { document: { querySelector(s: string): unknown } }).document.querySelector(selector) as {
      width: number;
      height: number;
      getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray } } | null;
    } | null;
    if (!canvas || canvas.width === 0 || canvas.height === 0) return 0;
    const context = canvas.getContext('2d');
    if (!context) return 0;
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    const colours = new Set<number>();
    const step = Math.max(4, Math.floor(data.length / 4 / 20_000) * 4);
    for (let i = 0; i + 3 < data.length; i += step) colours.add(((data[i]! >> 4) << 8) | ((data[i + 1]! >> 4) << 4) | (data[i + 2]! >> 4));
    return colours.size;
  }, selector);
}

/**
 * Makes the page keep every RTCPeerConnection it creates, for `inboundVideo`: the page's own
 * constructor is wrapped before any of its scripts run. Call before the page's first navigation.
 */
export async function recordPeerConnections(page: Page): Promise<void> {
  await page.addInitScript(() => {
    type Pc = { getStats(): Promise<Map<string, Record<string, unknown>>> };
    const w = globalThis as unknown as { RTCPeerConnection: new (...args: unknown[]) => Pc; peerConnections: Pc[] };
    const Native = w.RTCPeerConnection;
    const made: Pc[] = (w.peerConnections = []);
    w.RTCPeerConnection = class extends Native {
      constructor(...args: unknown[]) {
        super(...args);
        made.push(this);
      }
    };
  });
}

/**
 * The page's received RTP video over every peer connection it made (recordPeerConnections): packets
 * that arrived, and frames the browser itself decoded from them — none, when an encoded transform
 * takes every frame (the rtp carrier's chunks are not video).
 */
export function inboundVideo(page: Page): Promise<{ packetsReceived: number; framesDecoded: number }> {
  return page.evaluate(async () => {
    type Pc = { getStats(): Promise<Map<string, Record<string, unknown>>> };
    const total = { packetsReceived: 0, framesDecoded: 0 };
    for (const pc of (globalThis as unknown as { peerConnections: Pc[] }).peerConnections) {
      // A closed peer connection (an earlier session) has no stats to give.
      const stats = await pc.getStats().catch(() => null);
      for (const report of stats?.values() ?? []) {
        if (report['type'] !== 'inbound-rtp' || report['kind'] !== 'video') continue;
        total.packetsReceived += Number(report['packetsReceived'] ?? 0);
        total.framesDecoded += Number(report['framesDecoded'] ?? 0);
      }
    }
    return total;
  });
}
