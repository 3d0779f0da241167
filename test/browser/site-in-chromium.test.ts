/**
 * The site end to end in real Chromium (Debian's, headless, fake camera and microphone): a
 * broadcaster page goes live; two viewer pages in other browser contexts play it, one over UDP (RTP
 * packets on a media track: the carrier the page picks in Chromium) and one forced to TCP; the home page lists the channel with its viewer count; a chat
 * line goes from a viewer to the broadcaster and the other viewer; then the unit the broadcaster
 * publishes to is killed (SIGKILL) mid-stream and every page recovers without a reload. Then a TCP
 * viewer on a link throttled below the channel's bitrate (Chromium's network emulation): sound only,
 * first while it catches up, then judged too slow for video, each said on the page. Screenshots of
 * the pages are saved in test-artifacts/browser/.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import { waitFor } from '../support/processes.js';
import { startSite, type Site } from '../support/site.js';
import { broadcastHook, canvasColours, waitForHook, watchHook, type BroadcastHook } from './site-pages.js';

const ARTIFACTS = 'test-artifacts/browser';

describe('the site in real Chromium', () => {
  let site: Site;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const problems: string[] = [];
  /** the channel the first test broadcasts, still live after it */
  let liveChannel: number | null = null;
  let broadcasterPage: Page | null = null;
  const broadcastHookOf = (channelId: number): Promise<BroadcastHook> => {
    assert.ok(broadcasterPage, `the broadcast page of channel ${channelId}`);
    return broadcastHook(broadcasterPage);
  };

  /** A page in a browser context of its own (separate storage, like another person's browser). */
  async function openPage(path: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('pageerror', (error) => problems.push(`${path}: ${error.message}`));
    await page.goto(`${site.url}${path}`);
    // Set once per document: still there after recovery means the page was never reloaded.
    await page.evaluate(() => ((globalThis as unknown as { loadMarker: number }).loadMarker = 42));
    return page;
  }

  const sameDocument = (page: Page): Promise<boolean> => page.evaluate(() => (globalThis as unknown as { loadMarker?: number }).loadMarker === 42);

  /** frames drawn go on rising: read now, then wait for `more` more */
  async function keepsPlaying(page: Page, more = 20, timeoutMs = 15_000): Promise<void> {
    const drawn = (await watchHook(page)).stats.framesDrawn;
    await waitForHook(page, `onair.stats.framesDrawn >= ${drawn + more} && onair.state === 'playing'`, timeoutMs);
  }

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    site = await startSite(['u1', 'u2']);
    browser = await launchChromium();
  });

  after(async () => {
    for (const context of contexts) await context.close().catch(() => {});
    await browser?.close();
    await site?.stop();
  });

  it('goes live, plays on UDP and TCP, lists, chats, and recovers from a unit killed mid-stream', { timeout: 170_000 }, async () => {
    const broadcaster = await openPage('/broadcast.html?name=Ann&title=Live%20from%20the%20test&preset=360p&codec=vp8&autostart=1');
    await waitForHook(broadcaster, `onair.state === 'live' && onair.stats.videoFrames > 30 && onair.stats.audioFrames > 30`, 30_000);
    broadcasterPage = broadcaster;
    const channelId = (await broadcastHook(broadcaster)).channelId;
    assert.ok(channelId !== null && channelId > 0, 'the broadcast page has a channel');

    const udpViewer = await openPage(`/watch.html?channel=${channelId}`);
    const tcpViewer = await openPage(`/watch.html?channel=${channelId}&transport=tcp`);
    await waitForHook(udpViewer, `onair.state === 'playing' && onair.mode === 'udp' && onair.stats.framesDrawn > 10`, 30_000);
    await waitForHook(tcpViewer, `onair.state === 'playing' && onair.mode === 'tcp' && onair.stats.framesDrawn > 10`, 30_000);
    await keepsPlaying(udpViewer);
    await keepsPlaying(tcpViewer);
    for (const viewer of [udpViewer, tcpViewer]) {
      const hook = await watchHook(viewer);
      assert.ok(hook.stats.audioDecoded > 10, 'audio decoded too');
      assert.ok((await canvasColours(viewer)) > 8, 'the canvas shows a picture, not a blank');
    }
    const udpHook = await watchHook(udpViewer);
    assert.equal(udpHook.mode, 'udp', 'the first viewer stayed on UDP');
    assert.equal(udpHook.carrier, 'rtp', 'over RTP: Chromium has encoded transforms');
    assert.equal(udpHook.rtpTap, 'script', 'read through the standard transform: Chromium has RTCRtpScriptTransform');

    const home = await openPage('/');
    const listed = home.locator(`li.channel[data-channel-id="${channelId}"]`);
    await listed.locator('.viewers', { hasText: /^2$/ }).waitFor({ timeout: 20_000 });
    assert.match(await listed.locator('.title').innerText(), /Live from the test/);
    assert.match(await listed.locator('.broadcaster').innerText(), /Ann/);
    await waitForHook(broadcaster, 'onair.stats.viewers === 2', 20_000);

    const line = `hello from a viewer ${Date.now()}`;
    await udpViewer.locator('#chat .chat-input').fill(line);
    await udpViewer.locator('#chat .chat-send').click();
    await broadcaster.locator('#chat .chat-log', { hasText: line }).waitFor({ timeout: 10_000 });
    await tcpViewer.locator('#chat .chat-log', { hasText: line }).waitFor({ timeout: 10_000 });

    await broadcaster.screenshot({ path: `${ARTIFACTS}/broadcast.png` });
    await udpViewer.screenshot({ path: `${ARTIFACTS}/watch.png` });
    await home.screenshot({ path: `${ARTIFACTS}/home.png` });

    // The broadcaster's unit dies: its page must publish to the unit that takes the root, the viewers
    // must rejoin and play again — all without a reload.
    const rootUnit = await site.rootUnitOf(channelId);
    const reconnectsBefore = (await broadcastHook(broadcaster)).stats.reconnects;
    site.cluster.units.get(rootUnit)!.process.kill('SIGKILL');
    await waitFor(`channel ${channelId} re-homed off ${rootUnit}`, async () => (await site.rootUnitOf(channelId).catch(() => rootUnit)) !== rootUnit, 20_000, 200);
    await waitForHook(broadcaster, `onair.state === 'live' && onair.stats.reconnects > ${reconnectsBefore}`, 30_000);
    const sentAfter = (await broadcastHook(broadcaster)).stats.videoFrames;
    await waitForHook(broadcaster, `onair.stats.videoFrames > ${sentAfter + 30}`, 15_000);
    await keepsPlaying(udpViewer, 30, 40_000);
    await keepsPlaying(tcpViewer, 30, 40_000);
    for (const page of [broadcaster, udpViewer, tcpViewer]) assert.ok(await sameDocument(page), 'recovered without a reload');
    assert.ok((await canvasColours(udpViewer)) > 8, 'a picture again after the recovery');
    await udpViewer.screenshot({ path: `${ARTIFACTS}/watch-after-failover.png` });
    assert.deepEqual(problems, [], 'no uncaught errors in any page');
    liveChannel = channelId;
  });

  it('on a connection slower than the channel, a viewer gets sound only and is told so', { timeout: 120_000 }, async () => {
    assert.ok(liveChannel !== null, 'the broadcast of the test before is live');
    const viewer = await openPage(`/watch.html?channel=${liveChannel}&transport=tcp`);
    await waitForHook(viewer, `onair.state === 'playing' && onair.stats.framesDrawn > 10`, 30_000);
    // The page's link carries 60 % of what the broadcaster sends (Chromium throttles WebSockets too;
    // not UDP, hence TCP): more than the sound alone, so it catches up on sound.
    const sentKbps = (await broadcastHookOf(liveChannel)).stats.bitrateKbps;
    assert.ok(sentKbps > 200, `the broadcast sends ${sentKbps} kbit/s`);
    const cdp = await viewer.context().newCDPSession(viewer);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, uploadThroughput: -1, downloadThroughput: (sentKbps * 1000 * 0.6) / 8 });
    // Behind first (sound only while it catches up), then judged: its link carried less than the channel.
    await waitForHook(viewer, `onair.videoHold === 'behind'`, 45_000);
    await waitForHook(viewer, `onair.videoHold === 'slow-link'`, 60_000);
    await viewer.locator('#status', { hasText: 'your connection is slower than this channel' }).waitFor({ timeout: 5_000 });
    const audio = (await watchHook(viewer)).stats.audioDecoded;
    await waitForHook(viewer, `onair.state === 'playing' && onair.stats.audioDecoded > ${audio + 50}`, 15_000);
    await viewer.screenshot({ path: `${ARTIFACTS}/watch-slow-link.png` });
    assert.deepEqual(problems, [], 'no uncaught errors in any page');
  });
});
