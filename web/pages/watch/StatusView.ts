/**
 * The player's status line and numbers in the page: `#status`, `#mode`, `#bitrate`, `#decoded`,
 * `#dropped`, `#latency`. Writes only what changed (these refresh several times a second). The state
 * also goes on `#status` and on the page's root as `data-state`, for the stylesheet (the status
 * pill's colour, a dimmed picture while reconnecting).
 */
import type { UdpCarrier } from '../../../protocol/media-messages.js';
import type { WatchState, WatchStatsHook } from './WatchStats.js';

export interface StatusElements {
  status: HTMLElement;
  mode: HTMLElement;
  bitrate: HTMLElement;
  decoded: HTMLElement;
  dropped: HTMLElement;
  latency: HTMLElement;
}

const CARRIER_NAMES: Record<UdpCarrier, string> = { rtp: 'RTP', datachannel: 'data channel' };

export class StatusView {
  readonly #el: StatusElements;

  constructor(elements: StatusElements) {
    this.#el = elements;
  }

  /** `text`: what #status says — the state's name, or the error for 'error' */
  state(state: WatchState, text: string): void {
    set(this.#el.status, text);
    for (const element of [this.#el.status, document.documentElement]) {
      if (element.dataset['state'] !== state) element.dataset['state'] = state;
    }
  }

  /** `carrier`: said after UDP (`UDP · RTP`), so that a user comparing the two sees which it is */
  mode(mode: 'udp' | 'tcp' | null, carrier: UdpCarrier | null): void {
    set(this.#el.mode, mode === null ? '–' : mode === 'udp' && carrier ? `UDP · ${CARRIER_NAMES[carrier]}` : mode.toUpperCase());
  }

  numbers(stats: WatchStatsHook): void {
    set(this.#el.bitrate, `${stats.bitrateKbps} kbit/s`);
    set(this.#el.decoded, String(stats.framesDecoded));
    set(this.#el.dropped, String(stats.framesDropped));
    set(this.#el.latency, stats.latencyP50Ms === null ? '–' : `${Math.round(stats.latencyP50Ms)} ms`);
  }
}

function set(element: HTMLElement, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}
