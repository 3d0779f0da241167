/**
 * The player's numbers, kept in `window.onair` — one live object the end-to-end tests and the browser
 * benchmark read (its shape is a contract: change it only together with them):
 *
 *   window.onair = {
 *     state: 'joining' | 'playing' | 'reconnecting' | 'ended' | 'error',
 *     mode: 'udp' | 'tcp' | null,            // null before the first join
 *     carrier: 'rtp' | 'datachannel' | null, // how UDP's chunks travel (when mode is udp); null: no channel
 *     rtpTap: 'script' | 'legacy' | null,    // how the rtp carrier's packets are read; null: not rtp
 *     viewerId: string | null,
 *     stats: {
 *       framesDecoded, framesDrawn, framesDropped, audioDecoded, bitrateKbps, rejoins,
 *       firstPictureMs: number | null,        // navigation start → first picture drawn
 *       glassToGlassMs: number[],             // every drawn picture: draw time − capture stamp; the last 3000
 *       latencyP50Ms: number | null,          // median of the samples of the last 2 s
 *     },
 *   }
 *
 * Glass-to-glass: the broadcaster stamps each frame with epochMicros() at capture; drawn here at
 * epochMillis(), on one machine the difference is the whole path (capture, encode, network, unit,
 * decode, buffer). First picture counts from `performance.timeOrigin`, the page's navigation start;
 * the steps towards it are User Timing marks (`watch:start`, `watch:joined`, `watch:first-frame`,
 * `watch:first-picture`) for whoever wants to see where the time went.
 */
import type { WatchHook, WatchHookStats, WatchState } from '../../../protocol/page-hooks.js';
import { epochMillis } from '../shared/capture-clock.js';

export type { WatchState };
export type WatchStatsHook = WatchHookStats;
export type OnairHook = WatchHook;

/**
 * Puts the hook on `window.onair`. Through a cast rather than a global `Window` declaration: every
 * page's script is type-checked in one program, and each page's hook has its own shape.
 */
export function installHook(hook: OnairHook): void {
  (window as unknown as { onair: OnairHook }).onair = hook;
}

/** the hook of a page that cannot start (no channel in the address) */
export function emptyHook(state: WatchState): OnairHook {
  const hook = new WatchStats().hook;
  hook.state = state;
  return hook;
}

const MAX_SAMPLES = 3000;
/** bitrate and latency p50 are over this window */
const WINDOW_MS = 2000;

export class WatchStats {
  readonly hook: OnairHook = {
    state: 'joining',
    mode: null,
    carrier: null,
    rtpTap: null,
    viewerId: null,
    videoHold: null,
    stats: {
      framesDecoded: 0,
      framesDrawn: 0,
      framesDropped: 0,
      audioDecoded: 0,
      bitrateKbps: 0,
      rejoins: 0,
      firstPictureMs: null,
      glassToGlassMs: [],
      latencyP50Ms: null,
    },
  };
  /** performance.now() of each glass-to-glass sample, same order */
  readonly #sampleAt: number[] = [];
  /** [performance.now(), bytes received so far] every refresh, the last WINDOW_MS of them */
  readonly #bytes: [number, number][] = [];

  get stats(): WatchStatsHook {
    return this.hook.stats;
  }

  videoDecoded(): void {
    this.stats.framesDecoded++;
  }

  audioDecoded(): void {
    this.stats.audioDecoded++;
  }

  dropped(count: number): void {
    this.stats.framesDropped += count;
  }

  drawn(timestampUs: number): void {
    const s = this.stats;
    const now = performance.now();
    s.framesDrawn++;
    if (s.firstPictureMs === null) {
      s.firstPictureMs = Math.round(now);
      performance.mark('watch:first-picture');
    }
    s.glassToGlassMs.push(Math.round((epochMillis() - timestampUs / 1000) * 10) / 10);
    this.#sampleAt.push(now);
    if (s.glassToGlassMs.length > MAX_SAMPLES) {
      s.glassToGlassMs.shift();
      this.#sampleAt.shift();
    }
  }

  /** Called a few times a second: bitrate from the viewer's byte count, the latency median. */
  refresh(bytesReceived: number, rejoins: number): void {
    const s = this.stats;
    const now = performance.now();
    s.rejoins = rejoins;
    this.#bytes.push([now, bytesReceived]);
    while (this.#bytes.length > 2 && this.#bytes[1]![0] <= now - WINDOW_MS) this.#bytes.shift();
    const [since, bytesThen] = this.#bytes[0]!;
    s.bitrateKbps = now > since ? Math.round(((bytesReceived - bytesThen) * 8) / (now - since)) : 0;
    s.latencyP50Ms = this.#recentMedian(now - WINDOW_MS);
  }

  #recentMedian(since: number): number | null {
    const samples = this.stats.glassToGlassMs;
    let i = this.#sampleAt.length;
    while (i > 0 && this.#sampleAt[i - 1]! > since) i--;
    if (i === samples.length) return null;
    const recent = samples.slice(i).sort((a, b) => a - b);
    return recent[Math.floor(recent.length / 2)]!;
  }
}
