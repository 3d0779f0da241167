/**
 * `onair bench browser`: latency as a person sees it, in real Chromium on loopback. A broadcaster page
 * captures the fake camera and microphone, encodes with WebCodecs and publishes through the whole site
 * (web server, CSM, a unit); watch pages in other browser contexts play it over UDP on the carrier
 * the page picks (`rtp` in Chromium: chunks in RTP packets read through encoded transforms), over UDP
 * on a data channel (`udp-dc`: `&carrier=datachannel`), and forced to TCP. One JSON line per mode on
 * stdout (`mode` the transport, `carrier` the UDP carrier the page ended on, `rtpTap` the encoded
 * transform it read RTP with), logs on stderr:
 * - glass-to-glass: the broadcast page stamps each frame with the shared clock when the raw frame
 *   leaves the camera track (web/pages/shared/capture-clock.ts); the watch page reads the same clock
 *   when it draws the frame. Every drawn frame in the window is one sample.
 * - first picture: from a watch page's navigation start to its first drawn frame, over fresh page
 *   opens (each in a new browser context).
 * - baseline: the same capture → encode → decode → draw in one page with no network and no server
 *   (loopback-page.ts), in the same run: `glassToGlassRatio` is the site's p50 over it.
 */
import { parseArgs } from 'node:util';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { broadcastHook, waitForHook, watchHook } from '../../browser/site-pages.js';
import { launchChromium } from '../../support/chromium.js';
import { startSite, type Site } from '../../support/site.js';
import { percentile } from '../random.js';
import { measureLoopbackBaseline } from './loopback-baseline.js';

const log = (message: string): void => void process.stderr.write(`[bench browser] ${message}\n`);
const round = (v: number | null): number | null => (v === null ? null : Number(v.toFixed(1)));

const TARGETS = { udp: { glassToGlassP50Ms: 150 }, tcp: { glassToGlassP50Ms: 250 }, firstPictureP50Ms: 1000 };
/** each run's watch-page query: the page's own UDP carrier, UDP on a data channel, TCP */
const QUERIES = { udp: '', 'udp-dc': '&carrier=datachannel', tcp: '&transport=tcp' } as const;

const usage = `usage: onair bench browser [options]

  --modes LIST     of udp, udp-dc, tcp (default all three)
  --seconds N      glass-to-glass window per mode (default 15)
  --opens N        watch page opens per mode for the time to first picture (default 5)
  --preset P       broadcast preset: 360p | 720p | 1080p (default 720p)
  --codec C        vp8 | h264 | vp9 | av1 (default vp8)
  -h, --help       this text`;

function stats(samples: number[]): { p50: number | null; p95: number | null } {
  if (samples.length === 0) return { p50: null, p95: null };
  const values = Float64Array.from(samples);
  return { p50: percentile(values, values.length, 50), p95: percentile(values, values.length, 95) };
}

export async function runBrowserBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      modes: { type: 'string', default: 'udp,udp-dc,tcp' },
      seconds: { type: 'string', default: '15' },
      opens: { type: 'string', default: '5' },
      preset: { type: 'string', default: '720p' },
      codec: { type: 'string', default: 'vp8' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return void process.stdout.write(`${usage}\n`);
  const modes = values.modes.split(',').map((m) => m.trim());
  if (modes.some((m) => !Object.hasOwn(QUERIES, m))) throw new Error('--modes takes udp, udp-dc and/or tcp');
  const seconds = Number(values.seconds);
  const opens = Number(values.opens);
  if (!(seconds >= 2 && seconds <= 300) || !Number.isInteger(opens) || opens < 1 || opens > 50) throw new Error('--seconds 2..300, --opens 1..50');

  let site: Site | null = null;
  let browser: Browser | null = null;
  const contexts: BrowserContext[] = [];
  const openPage = async (path: string): Promise<{ page: Page; context: BrowserContext }> => {
    const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => log(`${path}: page error ${error.message}`));
    await page.goto(`${site!.url}${path}`);
    return { page, context };
  };
  try {
    site = await startSite(['u1']);
    browser = await launchChromium();
    const baseline = await measureLoopbackBaseline(browser, { seconds: Math.min(seconds, 10), preset: values.preset, codec: values.codec });
    log(`baseline (capture → encode → decode → draw in one page): p50 ${round(baseline.p50)} ms over ${baseline.samples} frames`);

    const { page: broadcaster } = await openPage(`/broadcast.html?name=bench&title=bench&preset=${values.preset}&codec=${values.codec}&autostart=1`);
    await waitForHook(broadcaster, `onair.state === 'live' && onair.stats.videoFrames > 30`, 30_000);
    const channelId = (await broadcastHook(broadcaster)).channelId;
    log(`live on channel ${channelId}`);

    for (const run of modes) {
      const query = `/watch.html?channel=${channelId}${QUERIES[run as keyof typeof QUERIES]}`;
      const mode: 'udp' | 'tcp' = run === 'tcp' ? 'tcp' : 'udp';
      const firstPictures: number[] = [];
      for (let i = 0; i < opens; i++) {
        const { page, context } = await openPage(query);
        await waitForHook(page, `onair.stats.firstPictureMs !== null`, 20_000);
        firstPictures.push((await watchHook(page)).stats.firstPictureMs!);
        await context.close();
        contexts.splice(contexts.indexOf(context), 1);
      }
      const { page } = await openPage(query);
      await waitForHook(page, `onair.state === 'playing' && onair.mode === '${mode}' && onair.stats.framesDrawn > 30`, 30_000);
      const start = await watchHook(page);
      await page.waitForTimeout(seconds * 1000);
      const end = await watchHook(page);
      const drawnInWindow = end.stats.framesDrawn - start.stats.framesDrawn;
      // The hook keeps the last 3,000 samples: the window's are the newest `drawnInWindow`.
      const samples = end.stats.glassToGlassMs.slice(-Math.min(drawnInWindow, end.stats.glassToGlassMs.length));
      const g2g = stats(samples);
      const first = stats(firstPictures);
      const sender = await broadcastHook(broadcaster);
      const target = TARGETS[mode];
      process.stdout.write(
        `${JSON.stringify({
          bench: 'browser',
          mode,
          glassToGlassP50Ms: round(g2g.p50),
          glassToGlassP95Ms: round(g2g.p95),
          firstPictureP50Ms: round(first.p50),
          firstPictureP95Ms: round(first.p95),
          baselineGlassToGlassP50Ms: round(baseline.p50),
          glassToGlassRatio: g2g.p50 !== null && baseline.p50 ? round(g2g.p50 / baseline.p50) : null,
          samples: samples.length,
          pageOpens: opens,
          carrier: mode === 'udp' ? end.carrier : null,
          rtpTap: end.rtpTap,
          modeAtEnd: end.mode,
          framesDrawn: drawnInWindow,
          framesDropped: end.stats.framesDropped - start.stats.framesDropped,
          drawnFps: round(drawnInWindow / seconds),
          rejoins: end.stats.rejoins,
          senderDroppedFrames: sender.stats.droppedFrames,
          preset: values.preset,
          codec: values.codec,
          windowSeconds: seconds,
          targets: { glassToGlassP50Ms: target.glassToGlassP50Ms, firstPictureP50Ms: TARGETS.firstPictureP50Ms },
          met: {
            glassToGlassP50Ms: g2g.p50 !== null && g2g.p50 <= target.glassToGlassP50Ms,
            firstPictureP50Ms: first.p50 !== null && first.p50 <= TARGETS.firstPictureP50Ms,
          },
          definitions: {
            glassToGlass: "the broadcast page's clock when the raw frame left the camera track → the watch page's same clock when it drew the frame (one machine, one clock)",
            firstPicture: "a fresh watch page's navigation start → its first drawn frame (each open in a new browser context)",
            baseline: 'capture → encode → decode → draw in one page, no network, no server, same codec and preset, same run',
          },
        })}\n`,
      );
      await page.close();
    }
  } finally {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close().catch(() => {});
    await site?.stop();
  }
}
