/**
 * The client in a real browser: Debian's Chromium (playwright-core, headless) loads the esbuild bundle
 * of web/client and watches a channel of a real unit with the browser's own WebSocket and
 * RTCPeerConnection — frames first on TCP, then over UDP, every frame in order — once on each
 * carrier: a data channel, and RTP packets on a media track read through encoded transforms. The
 * same Viewer runs in Node in the other tests.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../support/chromium.js';
import type { JoinResult } from '../../protocol/service-api.js';
import { CARRIERS, startHarness, type Harness, UNIT_ID } from '../udp/udp-harness.js';

async function bundle(): Promise<string> {
  const entry = fileURLToPath(new URL('../../../test/browser/browser-entry.ts', import.meta.url));
  const result = await build({ entryPoints: [entry], bundle: true, format: 'iife', platform: 'browser', target: 'chrome120', write: false, logLevel: 'silent' });
  return result.outputFiles[0]!.text;
}

describe('the web client in real Chromium', () => {
  let h: Harness;
  let browser: Browser | undefined;
  let page: Server | undefined;
  let pageUrl = '';

  before(async () => {
    const script = await bundle();
    page = createServer((req, res) => {
      if (req.url === '/client.js') {
        res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>viewer</title><script src="/client.js"></script>');
    });
    await new Promise<void>((resolve) => page!.listen(0, '127.0.0.1', resolve));
    pageUrl = `http://127.0.0.1:${(page.address() as { port: number }).port}/`;
    h = await startHarness();
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await h?.shutdown();
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()));
  });

  for (const [index, carrier] of CARRIERS.entries()) {
    it(`plays a channel over TCP, then over UDP (${carrier}), every frame in order`, { timeout: 60_000 }, async () => {
      const channelId = 31 + index;
      const viewerId = `chromium-${carrier}`;
      h.unit.groups.createGroup(channelId, index, 'root');
      const publisher = await h.publisher(channelId, 10);
      const ticket = await h.viewTicket(channelId, index, viewerId);
      const join: JoinResult = { channelId, viewerId, unitId: UNIT_ID, url: `ws://127.0.0.1:${h.unit.port}`, group: `${UNIT_ID}/${index}`, groupIndex: index, ticket, expiresAt: Date.now() + 60_000, transports: ['udp', 'tcp'], udpCarriers: ['datachannel', 'rtp'] };
      const tab = await browser!.newPage();
      const problems: string[] = [];
      tab.on('pageerror', (error) => problems.push(error.message));
      await tab.goto(pageUrl);
      // These callbacks run in the page (no DOM types here: its globals are reached through globalThis).
      await tab.evaluate(({ join, carrier }) => {
        const w = globalThis as unknown as Record<string, never>;
        const got = { frames: 0, udpFrames: 0, seqs: [] as number[], modes: [] as string[] };
        (w as Record<string, unknown>).got = got;
        const viewer = new OnAirTest.Viewer({
          api: { join: async () => join },
          WebSocket: w.WebSocket as never,
          channelId: join.channelId,
          udp: { RTCPeerConnection: w.RTCPeerConnection as never, carrier },
        });
        (w as Record<string, unknown>).viewer = viewer;
        viewer.events.on('frame', (frame, path) => {
          got.frames++;
          if (path === 'udp') got.udpFrames++;
          got.seqs.push(frame.seq);
        });
        viewer.events.on('mode', (mode) => got.modes.push(mode));
        void viewer.start();
      }, { join, carrier });

      type Got = { frames: number; udpFrames: number; seqs: number[]; modes: string[] };
      const read = (): Promise<Got> => tab.evaluate(() => (globalThis as unknown as { got: Got }).got);
      await tab.waitForFunction(() => ((globalThis as unknown as { got: Got }).got.udpFrames >= 200), undefined, { timeout: 30_000, polling: 100 });
      publisher.stop();
      const got = await read();
      assert.deepEqual(problems, []);
      assert.equal(got.modes.at(-1), 'udp', 'the browser is on UDP');
      assert.ok(got.frames > got.udpFrames, 'the first frames came over TCP');
      for (let i = 1; i < got.seqs.length; i++) assert.equal(got.seqs[i], got.seqs[i - 1]! + 1, `in order, nothing missing, at ${i}`);
      const session = h.unit.media.udp.session(viewerId);
      assert.equal(session?.state, 'open', "the unit's peer connection to the browser is open");
      assert.equal(session.carrier, carrier, 'on the carrier the browser asked for');
      await tab.evaluate(() => (globalThis as unknown as { viewer: { close(): void } }).viewer.close());
      await tab.close();
    });
  }
});
