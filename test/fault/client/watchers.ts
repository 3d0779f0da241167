/**
 * Viewers of the lab client: web/client Viewers on TCP (the `ws` package), each watched for what a
 * fault test asks: when frames arrived (every gap between two consecutive frames of 30 ms or more is
 * kept with its start and end, so the longest gap in any time window can be read back exactly), when
 * the socket dropped, when the viewer rejoined and on which unit, and when its first frame after a
 * (re)join came. Events print as they happen; `window(from, to)` answers the tests' questions.
 */
import WebSocket from 'ws';
import type { CsmApi } from '../../../web/client/CsmApi.js';
import { Viewer } from '../../../web/client/Viewer.js';
import { Bounded, emit } from './output.js';

/** gaps shorter than this are not kept (the stream sends a frame every 20 ms) */
export const GAP_KEEP_MS = 30;

export interface ViewerWindow {
  viewer: string;
  /** the longest gap between two frames overlapping the window (an open gap up to `to` included); 0: none of GAP_KEEP_MS or more */
  longestGapMs: number;
  longestGapFrom: number | null;
  /**
   * the same, less the time this (the client's) process itself was stalled during each gap: the
   * publisher and the viewers share it, so its stalls pause the stream at the source too
   */
  longestGapLessStallsMs: number;
  framesInWindow: number;
  disconnects: { at: number; code: number; reason: string }[];
  rejoins: { at: number; unitId: string }[];
  /** first frame after each (re)join whose socket opened in the window */
  plays: { at: number; joinedAt: number; unitId: string }[];
  state: string;
  unitId: string | null;
  seqGaps: number;
  /** discontinuities in seq in the window: after which seq, which came (kind, keyframe) */
  seqJumps: { at: number; after: number; seq: number; kind: number; keyframe: boolean }[];
}

export class WatchedViewer {
  readonly viewer: Viewer;
  #frames = 0;
  #lastFrameAt: number | null = null;
  /** arrival times (for frames in a window) */
  readonly #arrivals = new Bounded<number>(200_000);
  readonly #gaps = new Bounded<{ from: number; to: number }>(100_000);
  readonly #disconnects = new Bounded<{ at: number; code: number; reason: string }>(1000);
  readonly #rejoins = new Bounded<{ at: number; unitId: string }>(1000);
  readonly #plays = new Bounded<{ at: number; joinedAt: number; unitId: string }>(1000);
  readonly #seqJumps = new Bounded<{ at: number; after: number; seq: number; kind: number; keyframe: boolean }>(1000);
  #lastSeq: number | null = null;
  #joinedAt: number | null = null;
  #waitingFirstFrame = false;

  constructor(
    readonly name: string,
    api: CsmApi,
    channelId: number,
    backoff: { rejoinMinMs: number; rejoinMaxMs: number },
  ) {
    this.viewer = new Viewer({ api, WebSocket, channelId, maxAttempts: 1000, ...backoff, reportIntervalMs: 2000 });
    const events = this.viewer.events;
    const opened = (ev: 'joined' | 'rejoined', unitId: string): void => {
      const at = Date.now();
      this.#joinedAt = at;
      this.#waitingFirstFrame = true;
      if (ev === 'rejoined') this.#rejoins.push({ at, unitId });
      emit({ t: 'viewer', v: name, ev, unitId });
    };
    events.on('joined', (join) => opened('joined', join.unitId));
    events.on('rejoined', (join) => opened('rejoined', join.unitId));
    events.on('disconnected', (code, reason) => {
      this.#disconnects.push({ at: Date.now(), code, reason });
      emit({ t: 'viewer', v: name, ev: 'disconnected', code, reason, unitId: this.viewer.join?.unitId ?? null });
    });
    events.on('closed', (code, reason) => emit({ t: 'viewer', v: name, ev: 'closed', code, reason }));
    events.on('frame', (frame) => {
      if (this.#lastSeq !== null && frame.seq !== ((this.#lastSeq + 1) >>> 0)) this.#seqJumps.push({ at: Date.now(), after: this.#lastSeq, seq: frame.seq, kind: frame.kind, keyframe: frame.keyframe });
      this.#lastSeq = frame.seq;
      this.#frame();
    });
  }

  start(): void {
    this.viewer.start().catch((error: Error) => emit({ t: 'viewer', v: this.name, ev: 'failed', message: error.message }));
  }

  #frame(): void {
    const at = Date.now();
    this.#frames++;
    this.#arrivals.push(at);
    if (this.#lastFrameAt !== null && at - this.#lastFrameAt >= GAP_KEEP_MS) this.#gaps.push({ from: this.#lastFrameAt, to: at });
    this.#lastFrameAt = at;
    if (this.#waitingFirstFrame) {
      this.#waitingFirstFrame = false;
      const play = { at, joinedAt: this.#joinedAt ?? at, unitId: this.viewer.join?.unitId ?? '' };
      this.#plays.push(play);
      emit({ t: 'viewer', v: this.name, ev: 'play', ...play });
    }
  }

  /** What happened in [from, to] (to defaults to now); `stalls`: when this process's event loop was held. */
  window(from: number, to = Date.now(), stalls: readonly { from: number; to: number }[] = []): ViewerWindow {
    const gaps = this.#gaps.items.filter((gap) => gap.to > from && gap.from < to);
    // a gap still open: no frame since lastFrameAt (or none ever)
    const last = this.#lastFrameAt;
    if (last === null) gaps.push({ from, to });
    else if (last < to && to - last >= GAP_KEEP_MS) gaps.push({ from: last, to });
    let longest = 0;
    let longestFrom: number | null = null;
    let lessStalls = 0;
    for (const gap of gaps) {
      const length = gap.to - gap.from;
      if (length > longest) {
        longest = length;
        longestFrom = gap.from;
      }
      const stalled = stalls.reduce((sum, st) => sum + Math.max(0, Math.min(st.to, gap.to) - Math.max(st.from, gap.from)), 0);
      lessStalls = Math.max(lessStalls, length - stalled);
    }
    const inWindow = <T extends { at: number }>(list: Bounded<T>): T[] => list.items.filter((e) => e.at >= from && e.at <= to);
    return {
      viewer: this.name,
      longestGapMs: longest,
      longestGapFrom: longestFrom,
      longestGapLessStallsMs: lessStalls,
      framesInWindow: this.#arrivals.items.filter((at) => at >= from && at <= to).length,
      disconnects: inWindow(this.#disconnects),
      rejoins: inWindow(this.#rejoins),
      plays: this.#plays.items.filter((p) => p.joinedAt >= from && p.joinedAt <= to),
      state: this.viewer.state,
      unitId: this.viewer.join?.unitId ?? null,
      seqGaps: this.viewer.stats.seqGaps,
      seqJumps: inWindow(this.#seqJumps),
    };
  }

  get summary(): { viewer: string; frames: number; lastFrameAt: number | null; state: string; unitId: string | null; rejoins: number; seqGaps: number } {
    const stats = this.viewer.stats;
    return { viewer: this.name, frames: this.#frames, lastFrameAt: this.#lastFrameAt, state: this.viewer.state, unitId: this.viewer.join?.unitId ?? null, rejoins: stats.rejoins, seqGaps: stats.seqGaps };
  }

  close(): void {
    this.viewer.close();
  }
}
