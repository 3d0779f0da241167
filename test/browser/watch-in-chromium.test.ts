/**
 * The watch page's UDP carriers in real Chromium, against a unit in this process (so that its UDP
 * sessions can be read): the broadcast page goes live with the fake camera (VP8); a watch page plays
 * it over RTP packets on a media track — the carrier it picks where the browser has encoded transforms
 * — and one with `&carrier=datachannel` over a data channel. Each must decode and draw frames that came
 * over UDP, and the unit must send on the carrier the page says it uses.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { UdpCarrier } from '../../protocol/media-messages.js';
import { launchChromium } from '../support/chromium.js';
import { startHarness, type Harness } from '../udp/udp-harness.js';
import { servePagesOnHarness, type PagesOnHarness } from './pages-on-harness.js';
import { broadcastHook, canvasColours, waitForHook, watchHook } from './site-pages.js';

describe('the watch page on each UDP carrier in real Chromium', () => {
  let h: Harness;
  let pages: PagesOnHarness | undefined;
  let browser: Browser | undefined;
  const problems: string[] = [];

  async function openPage(path: string): Promise<Page> {
    const page = await browser!.newPage();
    page.on('pageerror', (error) => problems.push(`${path}: ${error.message}`));
    await page.goto(`${pages!.url}${path}`);
    return page;
  }

  before(async () => {
    h = await startHarness();
    pages = await servePagesOnHarness(h);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
    await h?.shutdown();
  });

  it('plays over RTP where the browser has encoded transforms, and over a data channel when asked', { timeout: 90_000 }, async () => {
    const broadcaster = await openPage('/broadcast.html?name=Ann&title=Carriers&preset=360p&codec=vp8&autostart=1');
    await waitForHook(broadcaster, `onair.state === 'live' && onair.stats.videoFrames > 30`, 30_000);
    const channelId = (await broadcastHook(broadcaster)).channelId;
    assert.ok(channelId !== null);

    const cases: [string, UdpCarrier, string][] = [
      ['', 'rtp', 'UDP · RTP'],
      ['&carrier=datachannel', 'datachannel', 'UDP · data channel'],
    ];
    for (const [query, carrier, shown] of cases) {
      const viewer = await openPage(`/watch.html?channel=${channelId}${query}`);
      await waitForHook(viewer, `onair.state === 'playing' && onair.mode === 'udp' && onair.stats.framesDrawn > 10`, 30_000);
      // Decoded and drawn from what came over UDP: more frames while the page stays on it.
      const { stats, viewerId } = await watchHook(viewer);
      await waitForHook(viewer, `onair.mode === 'udp' && onair.stats.framesDecoded > ${stats.framesDecoded + 30} && onair.stats.framesDrawn > ${stats.framesDrawn + 30}`, 20_000);
      const hook = await watchHook(viewer);
      assert.equal(hook.carrier, carrier, `the page ${query || 'by default'} uses ${carrier}`);
      assert.equal(hook.mode, 'udp', 'still on UDP');
      assert.equal(await viewer.locator('#mode').textContent(), shown);
      assert.ok((await canvasColours(viewer)) > 8, 'the canvas shows a picture');
      const session = h.unit.media.udp.session(viewerId!);
      assert.equal(session?.state, 'open', `the unit's session with ${viewerId} is open`);
      assert.equal(session.carrier, carrier, 'the unit sends on the carrier the page asked for');
      assert.ok(session.framesSent > 30, `${session.framesSent} frames sent over UDP`);
      await viewer.close();
    }
    assert.deepEqual(problems, [], 'no uncaught errors in any page');
  });
});
