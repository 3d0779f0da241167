/**
 * What the browser tests and `bench browser` read from the site's pages: the `window.onair` hooks
 * the broadcast and watch pages keep up to date, and a check that the player's canvas shows a picture.
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
