/**
 * The home page: who is live now, refreshed every 2 s from `GET /api/v1/channels`, each a link to
 * its watch page, and the way to go live yourself.
 *
 * Cards are kept by channel id and updated in place (not rebuilt), so a card under the pointer or
 * keyboard focus stays put while its figures change. Uptimes tick every second from `startedAt`.
 * When the API is unreachable the last list stays, an error line says so, and polling goes on.
 */
import { byId, make, setText } from './shared/dom.js';
import { formatDuration } from './shared/format.js';
import { readChannelList, type WebChannel } from './shared/web-channels.js';

const REFRESH_MS = 2000;
const REQUEST_TIMEOUT_MS = 5000;

const list = byId('channels', HTMLUListElement);
const empty = byId('empty', HTMLElement);
const error = byId('list-error', HTMLElement);
const count = byId('live-count', HTMLElement);

/** The card of each channel shown, and its start time for the ticking uptime. */
const cards = new Map<number, { item: HTMLLIElement; startedAt: number }>();
let loaded = false;

async function refresh(): Promise<void> {
  try {
    const response = await fetch('/api/v1/channels', { cache: 'no-store', signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!response.ok) throw new Error(`the server answered ${response.status}`);
    render(readChannelList(await response.json()));
    error.hidden = true;
  } catch (cause) {
    console.warn('channel list:', cause);
    setText(error, 'Cannot reach OnAir right now — retrying…');
    error.hidden = false;
  } finally {
    setTimeout(() => void refresh(), REFRESH_MS);
  }
}

function render(channels: WebChannel[]): void {
  loaded = true;
  // Most watched first; among equals, the newest.
  channels.sort((a, b) => b.viewers - a.viewers || b.startedAt - a.startedAt);
  const seen = new Set<number>();
  channels.forEach((channel, index) => {
    seen.add(channel.channelId);
    let card = cards.get(channel.channelId);
    if (!card) {
      card = { item: createCard(channel.channelId), startedAt: channel.startedAt };
      cards.set(channel.channelId, card);
    }
    card.startedAt = channel.startedAt;
    updateCard(card.item, channel);
    if (list.children[index] !== card.item) list.insertBefore(card.item, list.children[index] ?? null);
  });
  for (const [id, card] of cards) {
    if (seen.has(id)) continue;
    card.item.remove();
    cards.delete(id);
  }
  empty.hidden = channels.length > 0;
  setText(count, channels.length === 0 ? '' : channels.length === 1 ? '1 channel' : `${channels.length} channels`);
  tick();
}

function createCard(channelId: number): HTMLLIElement {
  const item = make('li', 'channel');
  item.dataset['channelId'] = String(channelId);
  const link = make('a', 'channel-link');
  link.href = `/watch.html?channel=${channelId}`;
  const thumb = make('div', 'thumb');
  // A colour per channel, so cards are told apart at a glance without a picture.
  thumb.style.setProperty('--hue', String((channelId * 137) % 360));
  const avatar = make('span', 'avatar');
  avatar.setAttribute('aria-hidden', 'true');
  const live = make('span', 'badge live', 'Live');
  const reconnecting = make('span', 'badge reconnecting', 'reconnecting');
  reconnecting.hidden = true;
  const uptime = make('span', 'uptime');
  uptime.title = 'live for';
  thumb.append(avatar, live, reconnecting, uptime);
  const info = make('div', 'info');
  const title = make('h3', 'title');
  const broadcaster = make('p', 'broadcaster');
  const meta = make('p', 'meta');
  meta.append(make('span', 'viewers', '0'), ' ', make('span', 'viewers-label', 'watching'));
  info.append(title, broadcaster, meta);
  link.append(thumb, info);
  item.append(link);
  return item;
}

function updateCard(item: HTMLLIElement, channel: WebChannel): void {
  const q = (selector: string): HTMLElement => item.querySelector<HTMLElement>(selector)!;
  setText(q('.title'), channel.title);
  setText(q('.broadcaster'), channel.broadcaster);
  setText(q('.avatar'), (channel.broadcaster.trim()[0] ?? '?').toUpperCase());
  setText(q('.viewers'), String(channel.viewers));
  q('.reconnecting').hidden = channel.publisherConnected;
  item.classList.toggle('away', !channel.publisherConnected);
  item.querySelector('a')!.setAttribute('aria-label', `${channel.title} by ${channel.broadcaster}, ${channel.viewers} watching${channel.publisherConnected ? '' : ', reconnecting'}`);
}

/** Every card's uptime, from its start time. */
function tick(): void {
  const now = Date.now();
  for (const { item, startedAt } of cards.values()) setText(item.querySelector('.uptime')!, formatDuration(now - startedAt));
}

empty.hidden = true;
setInterval(() => {
  if (loaded) tick();
}, 1000);
void refresh();
