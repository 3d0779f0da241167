/**
 * The watch page's entry (`/watch.html?channel=N`, `&transport=tcp` to start on TCP,
 * `&carrier=datachannel` for UDP over a data channel even where RTP could carry it, `&rtpTap=legacy`
 * or `script` for one encoded transform: watch/udp-carrier.ts): finds the page's elements and starts a
 * WatchPage (watch/WatchPage.ts) on the channel in the address.
 */
import { WatchPage, type WatchElements } from './watch/WatchPage.js';
import { emptyHook, installHook } from './watch/WatchStats.js';
import { chooseUdpPath } from './watch/udp-carrier.js';

function element<T extends HTMLElement>(selector: string): T {
  const found = document.querySelector<T>(selector);
  if (!found) throw new Error(`watch page: ${selector} missing`);
  return found;
}

const params = new URLSearchParams(location.search);
const channelId = Number(params.get('channel'));
const elements: WatchElements = {
  canvas: element<HTMLCanvasElement>('canvas#player'),
  title: element('#title'),
  broadcaster: element('#broadcaster'),
  status: element('#status'),
  mode: element('#mode'),
  bitrate: element('#bitrate'),
  decoded: element('#decoded'),
  dropped: element('#dropped'),
  latency: element('#latency'),
  unmute: element<HTMLButtonElement>('button#unmute'),
  forceTcp: element<HTMLInputElement>('input#force-tcp'),
  chat: element('section#chat'),
};

if (!Number.isInteger(channelId) || channelId < 1) {
  // The hook still exists, so a test sees the refusal rather than a missing object.
  installHook(emptyHook('error'));
  elements.title.textContent = 'No channel';
  elements.broadcaster.textContent = '—';
  elements.status.textContent = 'error: no channel in the address (watch.html?channel=N)';
  elements.status.dataset['state'] = document.documentElement.dataset['state'] = 'error';
} else {
  const page = new WatchPage(elements, {
    channelId,
    forceTcp: params.get('transport') === 'tcp',
    udp: chooseUdpPath(params.get('carrier'), params.get('rtpTap')),
    // The standard tap's worker: its own bundle beside this page's (bin/build-pages.ts).
    rtpTapWorker: new URL('rtp-tap-worker.js', import.meta.url),
  });
  page.start();
  addEventListener('pagehide', () => page.close());
}
