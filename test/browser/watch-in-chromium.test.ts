/**
 * The watch page's UDP carriers in real Chromium, against a unit in this process (so that its UDP
 * sessions can be read): the broadcast page goes live with the fake camera (VP8); watch pages play it
 * over RTP packets on a media track — the carrier it picks where the browser has an encoded transform
 * — read through the standard RTCRtpScriptTransform (its default: Chromium has it), through Chromium's
 * legacy createEncodedStreams() with `&rtpTap=legacy`, and over a data channel with
 * `&carrier=datachannel`. Each must decode and draw frames that came over UDP, the unit must send on
 * the carrier the page says it uses, and on RTP Chromium's own decoder must get none of the packets.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import type { UdpCarrier } from '../../protocol/media-messages.js';
import type { RtpTapName } from '../../protocol/page-hooks.js';
import { launchChromium } from '../support/chromium.js';
import { startHarness, type Harness } from '../udp/udp-harness.js';
import { servePagesOnHarness, type PagesOnHarness } from './pages-on-harness.js';
import { broadcastHook, canvasColours, inboundVideo, recordPeerConnections, waitForHook, watchHook } from './site-pages.js';

interface Case {
  query: string;
  carrier: UdpCarrier;
  rtpTap: RtpTapName | null;
  shown: string;
}

const CASES: Case[] = [
  { query: '', carrier: 'rtp', rtpTap: 'script', shown: 'UDP · RTP' },
  { query: '&rtpTap=legacy', carrier: 'rtp', rtpTap: 'legacy', shown: 'UDP · RTP' },
  { query: '&carrier=datachannel', carrier: 'datachannel', rtpTap: null, shown: 'UDP · data channel' },
];

describe('the watch page on each UDP carrier in real Chromium', () => {
  let h: Harness;
  let pages: PagesOnHarness | undefined;
  let browser: Browser | undefined;
  let channelId = 0;
  const problems: string[] = [];

  async function openPage(path: string): Promise<Page> {
    const page = await browser!.newPage();
    page.on('pageerror', (error) => problems.push(`${path}: ${error.message}`));
    await recordPeerConnections(page);
    await page.goto(`${pages!.url}${path}`);
    return page;
  }

  before(async () => {
    h = await startHarness();
    pages = await servePagesOnHarness(h);
    browser = await launchChromium();
    const broadcaster = await openPage('/broadcast.html?name=Ann&title=Carriers&preset=360p&codec=vp8&autostart=1');
    await waitForHook(broadcaster, `onair.state === 'live' && onair.stats.videoFrames > 30`, 30_000);
    channelId = (await broadcastHook(broadcaster)).channelId ?? 0;
    assert.ok(channelId > 0, 'the broadcast page has a channel');
  });

  after(async () => {
    await browser?.close();
    await pages?.close();
    await h?.shutdown();
  });

  for (const { query, carrier, rtpTap, shown } of CASES) {
    const name = query ? `with ${query.slice(1)}` : 'by default';
    it(`plays over ${carrier}${rtpTap ? ` (${rtpTap} tap)` : ''} ${name}`, { timeout: 60_000 }, async () => {
      const viewer = await openPage(`/watch.html?channel=${channelId}${query}`);
      await waitForHook(viewer, `onair.state === 'playing' && onair.mode === 'udp' && onair.stats.framesDrawn > 10`, 30_000);
      // Decoded and drawn from what came over UDP: more frames while the page stays on it.
      const { stats, viewerId } = await watchHook(viewer);
      await waitForHook(viewer, `onair.mode === 'udp' && onair.stats.framesDecoded > ${stats.framesDecoded + 30} && onair.stats.framesDrawn > ${stats.framesDrawn + 30}`, 20_000);
      const hook = await watchHook(viewer);
      assert.equal(hook.carrier, carrier, `the page ${name} uses ${carrier}`);
      assert.equal(hook.rtpTap, rtpTap, `the page ${name} reads RTP with ${rtpTap ?? 'no tap'}`);
      assert.equal(hook.mode, 'udp', 'still on UDP');
      assert.equal(await viewer.locator('#mode').textContent(), shown);
      assert.ok((await canvasColours(viewer)) > 8, 'the canvas shows a picture');
      const session = h.unit.media.udp.session(viewerId!);
      assert.equal(session?.state, 'open', `the unit's session with ${viewerId} is open`);
      assert.equal(session.carrier, carrier, 'the unit sends on the carrier the page asked for');
      assert.ok(session.framesSent > 30, `${session.framesSent} frames sent over UDP`);
      const inbound = await inboundVideo(viewer);
      if (carrier === 'rtp') assert.ok(inbound.packetsReceived > 30, `${inbound.packetsReceived} RTP packets received`);
      assert.equal(inbound.framesDecoded, 0, "none of them reached Chromium's decoder");
      await viewer.close();
      assert.deepEqual(problems, [], 'no uncaught errors in any page');
    });
  }
});
