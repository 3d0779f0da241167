/**
 * What the broadcaster sees of the broadcast: the status line, the figures, the share link, the
 * buttons, and the preview's LIVE mark. Only writes to the DOM; broadcast.ts decides what happens.
 * The figures the tests read (#viewers, #bitrate, #frames-sent, #dropped, #keyframes) hold the bare
 * number; their units and labels are beside them.
 */
import { byId, setText } from '../shared/dom.js';
import { formatDuration, formatKbps } from '../shared/format.js';
import type { BroadcastStatsFields } from './BroadcastStats.js';
import type { PageState } from './hooks.js';

const STATUS_TEXT: Record<Exclude<PageState, 'error'>, string> = {
  ready: 'ready',
  connecting: 'connecting',
  live: 'live',
  reconnecting: 'reconnecting',
  ended: 'ended',
};

const HEADINGS: Record<PageState, string> = {
  ready: 'Go live',
  connecting: 'Going live…',
  live: 'You are live',
  reconnecting: 'You are live',
  ended: 'Broadcast ended',
  error: 'Go live',
};

export class LiveView {
  readonly goLive = byId('go-live', HTMLButtonElement);
  readonly end = byId('end', HTMLButtonElement);
  readonly copyLink = byId('copy-link', HTMLButtonElement);
  readonly preview = byId('preview', HTMLVideoElement);
  readonly #stage = byId('stage', HTMLElement);
  readonly #heading = byId('setup-title', HTMLElement);
  readonly #summary = byId('live-summary', HTMLElement);
  readonly #status = byId('status', HTMLElement);
  readonly #message = byId('message', HTMLElement);
  readonly #uptime = byId('uptime', HTMLElement);
  readonly #videoInfo = byId('video-info', HTMLElement);
  readonly #share = byId('share', HTMLElement);
  readonly #watchLink = byId('watch-link', HTMLAnchorElement);
  readonly #figures = {
    viewers: byId('viewers', HTMLElement),
    bitrate: byId('bitrate', HTMLElement),
    framesSent: byId('frames-sent', HTMLElement),
    dropped: byId('dropped', HTMLElement),
    keyframes: byId('keyframes', HTMLElement),
  };
  #liveSince = 0;

  constructor() {
    this.copyLink.addEventListener('click', () => {
      void navigator.clipboard?.writeText(this.#watchLink.href).then(
        () => this.#flash(this.copyLink, 'Copied'),
        () => this.#flash(this.copyLink, 'Copy failed'),
      );
    });
  }

  /** The page state; for `error` the message is the status text. */
  showState(state: PageState, errorMessage = ''): void {
    setText(this.#status, state === 'error' ? errorMessage || 'error' : STATUS_TEXT[state]);
    this.#status.dataset['state'] = state;
    this.#stage.dataset['state'] = state;
    document.body.dataset['state'] = state;
    const onAir = state === 'connecting' || state === 'live' || state === 'reconnecting';
    this.#summary.hidden = !onAir;
    this.goLive.hidden = onAir;
    this.end.hidden = !onAir;
    this.end.disabled = !onAir;
    this.goLive.textContent = state === 'ended' ? 'Go live again' : 'Go live';
    setText(this.#heading, HEADINGS[state]);
    // The error is the status line now: not twice on the page.
    if (state === 'error' && this.#message.textContent === errorMessage) this.showMessage('');
    if (state === 'live' && this.#liveSince === 0) this.#liveSince = Date.now();
    if (!onAir) this.#liveSince = 0;
  }

  /** A longer explanation under the preview (a permission to give, a browser to change); '' hides it. */
  showMessage(text: string, kind: 'error' | 'info' = 'error'): void {
    setText(this.#message, text);
    this.#message.dataset['kind'] = kind;
    this.#message.hidden = text === '';
  }

  /** The broadcast's title and name, shown in place of their (locked) fields while on air. */
  showSummary(title: string, broadcaster: string): void {
    const name = document.createElement('b');
    name.textContent = title;
    this.#summary.replaceChildren(name, ` · by ${broadcaster}`);
  }

  /** Whether the preview has a camera picture (else the preview says so). */
  showCamera(on: boolean): void {
    this.#stage.dataset['camera'] = on ? 'on' : 'off';
  }

  showChannel(channelId: number | null): void {
    this.#share.hidden = channelId === null;
    if (channelId === null) return;
    this.#watchLink.href = `/watch.html?channel=${channelId}`;
    setText(this.#watchLink, `${location.host}/watch.html?channel=${channelId}`);
  }

  showVideo(config: VideoEncoderConfig | null, codecLabel: string): void {
    setText(this.#videoInfo, config ? `${config.width}×${config.height} · ${codecLabel} · ${formatKbps((config.bitrate ?? 0) / 1000)}` : '');
  }

  showStats(stats: BroadcastStatsFields): void {
    setText(this.#figures.viewers, String(stats.viewers));
    setText(this.#figures.bitrate, String(stats.bitrateKbps));
    setText(this.#figures.framesSent, String(stats.framesSent));
    setText(this.#figures.dropped, String(stats.droppedFrames));
    setText(this.#figures.keyframes, String(stats.keyframes));
    setText(this.#uptime, this.#liveSince ? formatDuration(Date.now() - this.#liveSince) : '');
  }

  #flash(button: HTMLButtonElement, text: string): void {
    const before = button.textContent;
    button.textContent = text;
    setTimeout(() => (button.textContent = before), 1500);
  }
}
