/**
 * A viewer: joins a channel through the CSM (`POST /channels/:id/join`), connects to
 * `${unit}/watch/${channelId}?t=${ticket}`, decodes every binary message with decodeFrame (a large
 * frame comes as several, protocol/frame-pieces.ts) and emits `frame(Frame)`. The frame's payload is
 * a view of that message's own buffer (of the joined pieces). Chat lines arrive as
 * `chat(line)`; `sendChat(text)` sends one.
 *
 * On close 4420 MEDIA_REJOIN (or any close whose table says rejoin helps, 4401 ticket expired
 * included) or a lost connection it joins again through the CSM — a fresh ticket, maybe another unit —
 * with bounded exponential backoff, and emits `rejoined(join)` when the new socket opens. It gives up
 * after `maxAttempts` failures in a row (an attempt counts as a success once a frame arrived) or on
 * `close()`. A refusal a fresh ticket cannot fix (a ticket code other than 4401, 4414 replaced, 4423)
 * is final. `closed(code, reason)` is emitted once, at the end.
 *
 * Stats: frames by kind, bytes, the time from `start()` to the first frame, sequence gaps (a
 * discontinuity between two consecutive frames, also across a rejoin: the new unit starts at its
 * newest keyframe), missing frames those gaps skip, the last seq, rejoins, undecodable messages.
 *
 * UDP mode: with `udp` options (an RTCPeerConnection constructor) each socket still starts on TCP,
 * then moves its frames to UDP — a data channel, or RTP packets on a media track (`udp.carrier`) — and
 * back by ViewerTransport's rules (`mode` event, `forceTcp()`, `tryUdp()`, `stats.udp`, `carrier`);
 * frames stay in seq order, without duplicates, across it.
 */
import { PieceJoiner } from '../../protocol/frame-pieces.js';
import { decodeFrame, FrameKind, type Frame } from '../../protocol/media-frame.js';
import { encodeMessage, parseUnitMessage, type ClientMessage, type UdpCarrier, type UnitMessage, type VideoHoldReason } from '../../protocol/media-messages.js';
import { backoffDelay, Delay } from '../../protocol/backoff.js';
import { attemptCsm, MediaClientError } from './errors.js';
import type { CsmApi, JoinResult } from './CsmApi.js';
import { CLOSE_NORMAL, closeQuietly, closeVerdict, mediaUrl, messageBytes, WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import { DelayTracker, type DelayStats } from './DelayTracker.js';
import { TypedEmitter } from './TypedEmitter.js';
import type { FramePath } from './FrameSequencer.js';
import { ViewerTransport, type UdpStats, type UdpViewerOptions, type ViewerMode } from './ViewerTransport.js';

export interface ViewerOptions {
  /** where to join (the CsmApi, or anything that hands out join results the same way) */
  api: Pick<CsmApi, 'join'>;
  WebSocket: WebSocketConstructor;
  channelId: number;
  /** failed (re)join attempts in a row before giving up (default 10) */
  maxAttempts?: number;
  /** backoff between attempts (default 200 … 3000 ms) */
  rejoinMinMs?: number;
  rejoinMaxMs?: number;
  /** clock for stats (default Date.now; performance.now works too) */
  now?: () => number;
  /** UDP mode (a data channel or an RTP track, `carrier`); without it the viewer stays on TCP */
  udp?: UdpViewerOptions;
  /** how often a `report` goes to the unit (default 2000 ms; 0: never) */
  reportIntervalMs?: number;
  /** the viewer's latency estimate for a frame it just got (publisher send → play), for reports */
  latencyMs?: (frame: Frame) => number | null;
}

export type ViewerEvents = {
  joined: [JoinResult];
  rejoined: [JoinResult];
  /** a frame, in seq order, and the path it came over */
  frame: [Frame, FramePath];
  /** a chat line of the channel (from any unit, stamped by the root) */
  chat: [UnitMessage & { t: 'chat' }];
  disconnected: [number, string];
  closed: [number, string];
  error: [Error];
  /** frames now come over this path (the unit switched), and why */
  mode: [ViewerMode, string];
  /** the unit holds the video back (audio goes on), or gives it back (null) */
  video: [VideoHold | null];
};

/** Why the unit holds this viewer's video back, as it said, and when it tries video again (`now()` clock; null: once caught up). */
export interface VideoHold {
  reason: VideoHoldReason;
  retryAt: number | null;
}

export interface ViewerStats {
  frames: { video: number; audio: number; text: number };
  bytes: number;
  /** ms from start() to the first frame, null before it */
  firstFrameMs: number | null;
  seqGaps: number;
  missingFrames: number;
  lastSeq: number | null;
  rejoins: number;
  badMessages: number;
  /** the UDP side: mode, attempts, fallbacks, chunks, loss */
  udp: UdpStats;
  /** each frame's delay over the fastest one seen (DelayTracker): queueing on the way, ms */
  delay: DelayStats;
}

export type ViewerState = 'idle' | 'joining' | 'open' | 'rejoining' | 'closed';

const KIND_NAME = { [FrameKind.VIDEO]: 'video', [FrameKind.AUDIO]: 'audio', [FrameKind.TEXT]: 'text' } as const;

export class Viewer {
  readonly events: TypedEmitter<ViewerEvents>;
  readonly channelId: number;
  #state: ViewerState = 'idle';
  #join: JoinResult | null = null;
  #ws: WebSocketLike | null = null;
  #everOpen = false;
  #failures = 0;
  #framesThisSocket = 0;
  #startedAt = 0;
  #videoHold: VideoHold | null = null;
  readonly #stats: Omit<ViewerStats, 'udp' | 'delay'> = {
    frames: { video: 0, audio: 0, text: 0 },
    bytes: 0,
    firstFrameMs: null,
    seqGaps: 0,
    missingFrames: 0,
    lastSeq: null,
    rejoins: 0,
    badMessages: 0,
  };
  readonly #delay = new Delay();
  readonly #frameDelay = new DelayTracker();
  readonly #api: Pick<CsmApi, 'join'>;
  readonly #WebSocket: WebSocketConstructor;
  readonly #maxAttempts: number;
  readonly #backoff: { minMs: number; maxMs: number };
  readonly #now: () => number;
  readonly #transport: ViewerTransport;
  /** large frames arrive in pieces on the socket (protocol/frame-pieces.ts) */
  readonly #pieces = new PieceJoiner();

  constructor(options: ViewerOptions) {
    this.events = new TypedEmitter<ViewerEvents>((error, event) => {
      if (event !== 'error') this.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
    });
    this.channelId = options.channelId;
    this.#api = options.api;
    this.#WebSocket = options.WebSocket;
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#backoff = { minMs: options.rejoinMinMs ?? 200, maxMs: options.rejoinMaxMs ?? 3000 };
    this.#now = options.now ?? Date.now;
    // Without a better estimate from the page, reports carry the delay over the best case.
    const latencyMs = options.latencyMs ?? (() => this.#frameDelay.lastMs);
    const transportOptions = { udp: options.udp ?? null, now: this.#now, reportIntervalMs: options.reportIntervalMs, latencyMs };
    this.#transport = new ViewerTransport(transportOptions, {
      deliver: (frame, bytes, path) => this.#deliver(frame, bytes, path),
      modeChanged: (mode, why) => this.events.safeEmit('mode', mode, why),
      error: (error) => this.events.safeEmit('error', error),
    });
  }

  get state(): ViewerState {
    return this.#state;
  }
  /** the current (or last) admission */
  get join(): JoinResult | null {
    return this.#join;
  }
  /** a snapshot */
  get stats(): ViewerStats {
    return { ...this.#stats, frames: { ...this.#stats.frames }, udp: this.#transport.stats, delay: this.#frameDelay.stats() };
  }

  /** the unit holds the video back (audio and text go on), as it last said on this socket */
  get videoHold(): VideoHold | null {
    return this.#videoHold;
  }

  /** where frames come from now: the WebSocket (tcp) or UDP (udp) */
  get mode(): ViewerMode {
    return this.#transport.mode;
  }

  /** how the chunks travel while `mode` is udp: the `udp.carrier` option; null without UDP */
  get carrier(): UdpCarrier | null {
    return this.#transport.carrier;
  }

  /** Back to TCP now, and no UDP until tryUdp(). */
  forceTcp(): void {
    this.#transport.forceTcp();
  }

  /** Try UDP now (and on later sockets); needs the `udp` option. */
  tryUdp(): void {
    this.#transport.tryUdp();
  }

  /**
   * Joins and connects. Resolves once the first socket is open; rejects (and the viewer is closed)
   * when the first join fails for good. Later losses are handled by rejoining on its own.
   */
  async start(): Promise<JoinResult> {
    if (this.#state !== 'idle') throw new Error(`viewer already ${this.#state}`);
    this.#state = 'joining';
    this.#startedAt = this.#now();
    return new Promise<JoinResult>((resolve, reject) => {
      const onJoined = (join: JoinResult): void => {
        this.events.off('closed', onClosed);
        resolve(join);
      };
      const onClosed = (code: number, reason: string): void => {
        this.events.off('joined', onJoined);
        reject(new MediaClientError('WEB_ERR_CLIENT_REFUSED', `viewer of channel ${this.channelId} closed before joining: ${code} ${reason}`, code));
      };
      this.events.once('joined', onJoined).once('closed', onClosed);
      void this.#rejoin(0, 'start', true);
    });
  }

  /** Stops watching. Safe to call twice. */
  close(): void {
    this.#finish(CLOSE_NORMAL, 'closed by the caller');
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  async #rejoin(code: number, reason: string, first: boolean): Promise<void> {
    for (;;) {
      if (this.#isClosed()) return;
      if (this.#failures >= this.#maxAttempts) {
        this.events.safeEmit('error', new MediaClientError('WEB_ERR_CLIENT_GAVE_UP', `${this.#maxAttempts} attempts to watch channel ${this.channelId}`, code));
        this.#finish(code, reason || 'gave up');
        return;
      }
      if (this.#failures > 0 || !first) {
        if (!(await this.#delay.wait(backoffDelay(Math.max(0, this.#failures - 1), this.#backoff))) || this.#isClosed()) return;
      }
      this.#failures++;
      const attempt = await attemptCsm(() => this.#api.join(this.channelId), (e) => {
        if (!this.#isClosed()) this.events.safeEmit('error', e);
      });
      if (this.#isClosed()) return;
      if (!attempt.ok) {
        if (attempt.final !== null) return this.#finish(code, attempt.final);
        continue;
      }
      this.#connect(attempt.value);
      return;
    }
  }

  #connect(join: JoinResult): void {
    this.#join = join;
    this.#framesThisSocket = 0;
    this.#pieces.reset();
    const ws = new this.#WebSocket(mediaUrl(join.url, 'watch', this.channelId, join.ticket));
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    ws.onopen = () => {
      if (ws !== this.#ws || this.#isClosed()) return;
      this.#state = 'open';
      if (this.#everOpen) {
        this.#stats.rejoins++;
        this.events.safeEmit('rejoined', join);
      } else {
        this.#everOpen = true;
        this.events.safeEmit('joined', join);
      }
      this.#transport.socketOpened((message) => ws.send(encodeMessage(message)), join.transports?.includes('udp') ?? true, join.udpCarriers);
    };
    ws.onmessage = (event: { data?: unknown }) => {
      if (ws !== this.#ws || this.#isClosed()) return;
      this.#onMessage(event.data);
    };
    ws.onerror = () => {}; // a close event follows with the code
    ws.onclose = (event: { code?: number; reason?: string }) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#lost(event.code ?? 1006, String(event.reason ?? ''));
    };
  }

  /** Sends a chat line to the channel; false when not connected. */
  sendChat(text: string): boolean {
    return this.#send({ t: 'chat', text });
  }

  /** Asks for a keyframe (the player's decoder lost its state); the unit passes it up to the publisher. */
  requestKeyframe(): boolean {
    return this.#send({ t: 'keyframe' });
  }

  #send(message: ClientMessage): boolean {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WS_OPEN) return false;
    ws.send(encodeMessage(message));
    return true;
  }

  #onMessage(data: unknown): void {
    if (typeof data === 'string') {
      const message = parseUnitMessage(data);
      if (message?.t === 'chat') this.events.safeEmit('chat', message);
      else if (message?.t === 'video') this.#setVideoHold(message.held ? { reason: message.reason ?? 'behind', retryAt: message.retryInMs === undefined ? null : this.#now() + message.retryInMs } : null);
      else if (!message) this.#stats.badMessages++;
      else this.#transport.unitMessage(message);
      return;
    }
    const bytes = messageBytes(data);
    if (!bytes) {
      this.#stats.badMessages++;
      return;
    }
    let frame: Frame;
    let whole: Uint8Array | null;
    try {
      whole = this.#pieces.push(bytes);
      if (!whole) return; // more pieces of a large frame to come
      frame = decodeFrame(whole);
    } catch (error) {
      this.#stats.badMessages++;
      this.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.#framesThisSocket++ === 0) this.#failures = 0; // the unit serves: this attempt worked
    this.#transport.tcpFrame(frame, whole.byteLength);
  }

  /** A frame in seq order, from either path. */
  #deliver(frame: Frame, bytes: number, path: FramePath): void {
    const s = this.#stats;
    s.frames[KIND_NAME[frame.kind]]++;
    s.bytes += bytes;
    if (s.firstFrameMs === null) s.firstFrameMs = this.#now() - this.#startedAt;
    if (s.lastSeq !== null && frame.seq !== ((s.lastSeq + 1) >>> 0)) {
      s.seqGaps++;
      const skipped = (frame.seq - s.lastSeq - 1) >>> 0;
      if (skipped < 2 ** 31) s.missingFrames += skipped;
    }
    s.lastSeq = frame.seq;
    this.#frameDelay.add(this.#now(), frame.timestamp);
    this.events.safeEmit('frame', frame, path);
  }

  #setVideoHold(hold: VideoHold | null): void {
    if (hold === null && this.#videoHold === null) return;
    this.#videoHold = hold;
    this.events.safeEmit('video', hold);
  }

  #lost(code: number, reason: string): void {
    if (this.#isClosed()) return;
    this.#transport.socketClosed();
    // A unit's hold is for its socket: the next one starts with video.
    this.#setVideoHold(null);
    if (closeVerdict(code) === 'final') {
      this.events.safeEmit('error', new MediaClientError('WEB_ERR_CLIENT_REFUSED', `watch closed with ${code} ${reason}`, code));
      this.#finish(code, reason);
      return;
    }
    this.#state = this.#everOpen ? 'rejoining' : 'joining';
    this.events.safeEmit('disconnected', code, reason);
    void this.#rejoin(code, reason, false);
  }

  #finish(code: number, reason: string): void {
    if (this.#isClosed()) return;
    this.#state = 'closed';
    this.#delay.cancel();
    this.#transport.close();
    closeQuietly(this.#ws, 'viewer closed');
    this.#ws = null;
    this.events.safeEmit('closed', code, reason);
  }
}
