/**
 * The browser benchmark's in-run baseline: web/pages/bench/loopback.ts (capture → encode → decode →
 * draw in one page, no network, no server) bundled with esbuild and served on 127.0.0.1 (a secure
 * context, so the camera and WebCodecs are there), measured in a browser context of its own the way
 * the watch pages are: glass-to-glass samples of the frames drawn in the window.
 */
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { waitForHook, watchHook } from '../../browser/site-pages.js';
import { percentile } from '../random.js';

const ENTRY = fileURLToPath(new URL('../../../../web/pages/bench/loopback.ts', import.meta.url));
const HTML = '<!doctype html><meta charset="utf-8"><title>loopback</title><canvas id="player" width="640" height="360"></canvas><script type="module" src="/loopback.js"></script>';

export interface Baseline {
  p50: number | null;
  p95: number | null;
  samples: number;
}

export async function measureLoopbackBaseline(browser: Browser, options: { seconds: number; preset: string; codec: string }): Promise<Baseline> {
  const bundle = await build({ entryPoints: [ENTRY], bundle: true, format: 'esm', platform: 'browser', target: 'chrome110', write: false, logLevel: 'silent' });
  const script = bundle.outputFiles[0]!.text;
  const server: Server = createServer((req, res) => {
    if (req.url === '/loopback.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
    res.writeHead(200, { 'content-type': 'text/html' }).end(HTML);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  try {
    const page = await context.newPage();
    await page.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/?preset=${options.preset}&codec=${options.codec}`);
    await waitForHook(page, `onair.state === 'playing' && onair.stats.framesDrawn > 60`, 30_000);
    const start = (await watchHook(page)).stats.framesDrawn;
    await page.waitForTimeout(options.seconds * 1000);
    const end = await watchHook(page);
    const drawn = end.stats.framesDrawn - start;
    const samples = Float64Array.from(end.stats.glassToGlassMs.slice(-Math.min(drawn, end.stats.glassToGlassMs.length)));
    return {
      p50: samples.length > 0 ? percentile(samples, samples.length, 50) : null,
      p95: samples.length > 0 ? percentile(samples, samples.length, 95) : null,
      samples: samples.length,
    };
  } finally {
    await context.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
