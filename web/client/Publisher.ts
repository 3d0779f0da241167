/**
 * The broadcaster's side of ingest: opens a channel through the CSM (or resumes one with its
 * channelId and publisherKey), connects to `${unit}/ingest/${channelId}?t=${ticket}` and sends each
 * frame as one binary message, encoded once.
 *
 * When the socket goes away (close 4420 MEDIA_REJOIN, 4401 ticket expired, 4409 not the root unit,
 * 4424 unit closing, or a lost connection such as a unit that died) it asks the CSM where to publish
 * now (`POST /channels/:id/publish`, a fresh ticket and possibly another unit) and reconnects, with
 * bounded exponential backoff. A refusal that a fresh ticket cannot fix (another ticket code, a bad
 * frame, 4414 replaced by a newer publisher) or `maxAttempts` failures in a row end it: `closed`.
 *
 * Nothing is buffered while away: `send()` returns false and drops the frame. A decoder cannot start
 * mid-GOP, so **the caller should send a keyframe right after `reconnected`** (request one from the
 * encoder); the new unit's viewers start at the newest keyframe it has.
 *
 * Events: `connected(grant)` (first open), `reconnected(grant)`, `disconnected(code, reason)` (lost;
 * retrying), `closed(code, reason)` (for good), `error(Error)` (a failed attempt or a listener error),
 * `chat(line)`, `keyframeRequested()` (a viewer lost video; send a keyframe soon).
 * `open` fires also for a unit that then refuses at once (units complete the upgrade and close with a
 * code), so a `connected` may be followed by `disconnected`; the failure count resets only after a
 * socket stayed open `stableAfterMs`.
 */
import { encodeFrame, type Frame } from '../../protocol/media-frame.js';
import { encodeMessage, parseUnitMessage, type UnitMessage } from '../../protocol/media-messages.js';
import { backoffDelay, Delay } from '../../protocol/backoff.js';
import { attemptCsm, MediaClientError } from './errors.js';
import type { CsmApi, IngestGrant } from './CsmApi.js';
import { CLOSE_NORMAL, closeQuietly, closeVerdict, mediaUrl, WS_OPEN, type WebSocketConstructor, type WebSocketLike } from './socket.js';
import { TypedEmitter } from './TypedEmitter.js';

export interface PublisherOptions {
  api: CsmApi;
  WebSocket: WebSocketConstructor;
  /** failed (re)connect attempts in a row before giving up (default 10) */
  maxAttempts?: number;
  /** backoff between attempts (default 200 … 3000 ms) */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** a socket open this long counts as a success (default 2000 ms) */
  stableAfterMs?: number;
}

export type PublisherEvents = {
  connected: [IngestGrant];
  reconnected: [IngestGrant];
  disconnected: [number, string];
  closed: [number, string];
  error: [Error];
  /** a chat line of the channel, the broadcaster's own included (from: "broadcaster") */
  chat: [UnitMessage & { t: 'chat' }];
  /** a viewer lost video: send a keyframe soon */
  keyframeRequested: [];
};

export type PublisherState = 'connecting' | 'open' | 'reconnecting' | 'closed';


export class Publisher {
  readonly events: TypedEmitter<PublisherEvents>;
  readonly channelId: number;
  readonly publisherKey: string;
  #state: PublisherState = 'connecting';
  #grant: IngestGrant | null = null;
  #ws: WebSocketLike | null = null;
  #openedAt = 0;
  #everOpen = false;
  #failures = 0;
  #framesSent = 0;
  #bytesSent = 0;
  readonly #delay = new Delay();
  readonly #api: CsmApi;
  readonly #WebSocket: WebSocketConstructor;
  readonly #maxAttempts: number;
  readonly #backoff: { minMs: number; maxMs: number };
  readonly #stableAfterMs: number;

  private constructor(options: PublisherOptions, channelId: number, publisherKey: string) {
    // A listener's throw is reported as `error`, except one from an `error` listener (no loop).
    this.events = new TypedEmitter<PublisherEvents>((error, event) => {
      if (event !== 'error') this.events.safeEmit('error', error instanceof Error ? error : new Error(String(error)));
    });
    this.channelId = channelId;
    this.publisherKey = publisherKey;
    this.#api = options.api;
    this.#WebSocket = options.WebSocket;
    this.#maxAttempts = options.maxAttempts ?? 10;
    this.#backoff = { minMs: options.reconnectMinMs ?? 200, maxMs: options.reconnectMaxMs ?? 3000 };
    this.#stableAfterMs = options.stableAfterMs ?? 2000;
  }

  /** Opens a new channel through the CSM and starts publishing to its root unit. */
  static async open(options: PublisherOptions, channel: { title: string; broadcaster: string }): Promise<Publisher> {
    const opened = await options.api.openChannel(channel.title, channel.broadcaster);
    const publisher = new Publisher(options, opened.channelId, opened.publisherKey);
    publisher.#connect(opened);
    return publisher;
  }

  /** Resumes publishing an open channel (a page reload): asks the CSM where, then connects. */
  static resume(options: PublisherOptions, channel: { channelId: number; publisherKey: string }): Publisher {
    const publisher = new Publisher(options, channel.channelId, channel.publisherKey);
    void publisher.#reconnect(0, 'resume');
    return publisher;
  }

  get state(): PublisherState {
    return this.#state;
  }
  /** the unit currently (or last) published to */
  get grant(): IngestGrant | null {
    return this.#grant;
  }
  get stats(): { framesSent: number; bytesSent: number; failures: number } {
    return { framesSent: this.#framesSent, bytesSent: this.#bytesSent, failures: this.#failures };
  }

  /** Encodes the frame once and sends it; false (frame dropped) while not connected. Throws FrameError on an invalid frame. */
  send(frame: Frame): boolean {
    if (frame.channel !== this.channelId) throw new RangeError(`frame for channel ${frame.channel}, publishing ${this.channelId}`);
    if (!this.#isOpen()) return false;
    return this.sendEncoded(encodeFrame(frame));
  }

  /** Sends bytes already made by encodeFrame; false while not connected. */
  sendEncoded(bytes: Uint8Array): boolean {
    const ws = this.#ws;
    if (!ws || !this.#isOpen()) return false;
    ws.send(bytes);
    this.#framesSent++;
    this.#bytesSent += bytes.byteLength;
    return true;
  }

  /** Sends a chat line to the channel's viewers; false while not connected. */
  sendChat(text: string): boolean {
    const ws = this.#ws;
    if (!ws || !this.#isOpen()) return false;
    ws.send(encodeMessage({ t: 'chat', text }));
    return true;
  }

  /** Ends the channel at the CSM (its viewers are told) and closes. */
  async end(): Promise<void> {
    this.close();
    await this.#api.endChannel(this.channelId, this.publisherKey);
  }

  /** Stops publishing without ending the channel (it can be resumed). Safe to call twice. */
  close(): void {
    this.#finish(CLOSE_NORMAL, 'closed by the caller');
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #isOpen(): boolean {
    return this.#state === 'open' && this.#ws?.readyState === WS_OPEN;
  }

  #connect(grant: IngestGrant): void {
    if (this.#state === 'closed') return;
    this.#grant = grant;
    const ws = new this.#WebSocket(mediaUrl(grant.url, 'ingest', this.channelId, grant.ticket));
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    this.#openedAt = 0;
    ws.onopen = () => {
      if (ws !== this.#ws || this.#state === 'closed') return;
      this.#openedAt = Date.now();
      this.#state = 'open';
      const event = this.#everOpen ? 'reconnected' : 'connected';
      this.#everOpen = true;
      this.events.safeEmit(event, grant);
    };
    ws.onmessage = (event: { data?: unknown }) => {
      if (ws !== this.#ws || typeof event.data !== 'string') return;
      const message = parseUnitMessage(event.data);
      if (message?.t === 'chat') this.events.safeEmit('chat', message);
      else if (message?.t === 'keyframe') this.events.safeEmit('keyframeRequested');
    };
    ws.onerror = () => {}; // a close event follows with the code
    ws.onclose = (event: { code?: number; reason?: string }) => {
      if (ws !== this.#ws) return;
      this.#ws = null;
      this.#lost(event.code ?? 1006, String(event.reason ?? ''));
    };
  }

  #lost(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    if (this.#openedAt && Date.now() - this.#openedAt >= this.#stableAfterMs) this.#failures = 0;
    if (closeVerdict(code) === 'final') {
      this.events.safeEmit('error', new MediaClientError('WEB_ERR_CLIENT_REFUSED', `ingest closed with ${code} ${reason}`, code));
      this.#finish(code, reason);
      return;
    }
    this.#state = 'reconnecting';
    this.events.safeEmit('disconnected', code, reason);
    void this.#reconnect(code, reason);
  }

  /** Asks the CSM where to publish now and connects there, retrying with backoff. */
  async #reconnect(code: number, reason: string): Promise<void> {
    for (;;) {
      if (this.#state === 'closed') return;
      this.#failures++;
      if (this.#failures > this.#maxAttempts) {
        this.events.safeEmit('error', new MediaClientError('WEB_ERR_CLIENT_GAVE_UP', `${this.#maxAttempts} attempts to publish channel ${this.channelId}`, code));
        this.#finish(code, reason || 'gave up');
        return;
      }
      // The first attempt after a loss waits too: the CSM needs a moment to notice a failed unit.
      if (!(await this.#delay.wait(backoffDelay(this.#failures - 1, this.#backoff))) || this.#state !== 'reconnecting' && this.#state !== 'connecting') return;
      const attempt = await attemptCsm(() => this.#api.resumePublisher(this.channelId, this.publisherKey), (e) => {
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

  #finish(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#delay.cancel();
    closeQuietly(this.#ws, 'publisher closed');
    this.#ws = null;
    this.events.safeEmit('closed', code, reason);
  }
}
