/**
 * The unit's media plane over WebSocket, on the unit's own uWebSockets.js app (same port as /healthz):
 *
 *   /ingest/:channelId?t=<publish ticket>  the broadcaster. Each binary message is one encoded frame
 *       (protocol/media-frame.ts), validated with peekFrameHeader and written ONCE into the channel's
 *       ring buffer (Fanout.ts hands it out). Only the unit holding the channel's root group accepts
 *       it; a second publisher for the channel replaces the first (a reconnecting page resumes).
 *   /watch/:channelId?t=<view ticket>      a viewer: frames from its RingReader (from the newest
 *       keyframe), on this socket or, once its data channel is open, over UDP (udp/UdpPlane.ts).
 *   /relay/:channelId?u=&ts=&sig=          a child unit's relay link: read like a viewer, not counted as one.
 * Text messages on all three (protocol/media-messages.ts): chat lines (routed to the channel's root
 * unit and fanned out from there), keyframe requests (up to the publisher), UDP signalling, reports.
 *
 * Who may connect is decided at the upgrade and right after open (MediaAdmission.ts); refusals are
 * WebSocket close codes (protocol/media-close-codes.ts, and the ticket codes 4400–4408). Unknown paths
 * stay the app's 404. This unit's own relay links to parents are RelayLinks.ts.
 *
 * When the CSM evacuates or closes a channel, or its last group here goes, every client of the channel
 * is closed with MEDIA_REJOIN and the ring is dropped; a released group closes its own viewers so.
 */
import { sendInPieces } from '../../protocol/frame-pieces.js';
import type { TemplatedApp } from 'uWebSockets.js';
import { MEDIA_CLOSE, type MediaCloseReason } from '../../protocol/media-close-codes.js';
import { encodeMessage, parseClientMessage, parseUnitMessage, type ClientMessage, type UnitMessage, type VideoHoldReason } from '../../protocol/media-messages.js';
import { FrameError, peekFrameHeader, type FrameHeader } from '../../protocol/media-frame.js';
import type { Logger } from '../../protocol/logger.js';
import type { TicketVerifier } from '../../protocol/tickets.js';
import { UnitError } from '../errors.js';
import type { LoadMeter } from '../LoadMeter.js';
import type { Group, UnitGroups, UnitGroupsEvents } from '../UnitGroups.js';
import { ChannelMedia, type MediaConnData, type MediaRoute, type MediaSocket, type ViewerConn } from './ChannelMedia.js';
import { MediaAdmission } from './MediaAdmission.js';
import { ConnectionLimiter } from './ConnectionLimiter.js';
import { DEFAULT_CHAT_RATE, RateLimiter, type Rate } from './RateLimiter.js';
import { IDLE_TIMEOUT_SECONDS, INGEST_MAX_PAYLOAD, KEYFRAME_REQUEST_INTERVAL_MS, LIVE_SWEEP_INTERVAL_MS, MIN_VIEWER_SEND_BOUND, CONGESTION_BUDGET_SECONDS, NO_COMPRESSION, PENDING_BEFORE_ADMISSION_BYTES, VIEWER_MAX_BACKPRESSURE, VIEWER_SEND_BOUND, WATCH_MAX_PAYLOAD } from './limits.js';
import { Fanout } from './Fanout.js';
import { RelayLinks } from './RelayLinks.js';
import type { RingOptionsInput } from './RingBuffer.js';
import { UdpPlane } from './udp/UdpPlane.js';
import type { UdpOptions } from './udp/udp-options.js';

/** the chat sender name of a channel's publisher */
export const BROADCASTER_SENDER = 'broadcaster';

export interface MediaPlaneOptions {
  unitId: string;
  groups: UnitGroups;
  meter: LoadMeter;
  logger: Logger;
  /** null: no ticket key configured, every media connection is refused with MEDIA_DISABLED */
  verifier: TicketVerifier | null;
  /** null: any origin */
  allowedOrigins: ReadonlySet<string> | null;
  maxConnectionsPerIp: number;
  /** signs and checks relay links between units */
  clusterSecret: string;
  ring?: RingOptionsInput;
  /** how often channel bitrate and backlog counters are refreshed */
  statsIntervalMs?: number;
  /**
   * The most a frame is held back so that the frame due next (by the channel's audio and video
   * rhythm) leaves with it: one write per viewer socket instead of two. 0: every frame at once.
   * Frames with nothing due within the budget, and keyframes, go at once.
   */
  batchMs?: number;
  /** this process's event-loop lag now (a busy unit, not a viewer's link, may be what keeps viewers slow) */
  loopLagMs?: () => number;
  /** chat lines per sender (default: a burst of 5, then 1 per second) */
  chatRate?: Rate;
  /** UDP mode (a data channel per viewer): bounds and tuning, defaults in udp/udp-options.ts */
  udp?: Partial<UdpOptions>;
}

export class MediaPlane {
  readonly #opts: MediaPlaneOptions;
  readonly #groups: UnitGroups;
  readonly #logger: Logger;
  readonly #limiter: ConnectionLimiter;
  readonly #admission: MediaAdmission;
  readonly #chatLimiter: RateLimiter;
  readonly #relays: RelayLinks;
  readonly #udp: UdpPlane;
  readonly #fanout: Fanout;
  #app: TemplatedApp | null = null;
  readonly #channels = new Map<number, ChannelMedia>();
  readonly #viewersById = new Map<string, ViewerConn>();
  readonly #listeners: { [K in keyof UnitGroupsEvents]?: (...args: UnitGroupsEvents[K]) => void } = {};
  #timer: NodeJS.Timeout | null = null;
  #sweepTimer: NodeJS.Timeout | null = null;
  #lastTick = performance.now();
  #closed = false;

  constructor(options: MediaPlaneOptions) {
    this.#opts = options;
    this.#groups = options.groups;
    this.#logger = options.logger.child({ component: 'media' });
    this.#limiter = new ConnectionLimiter(options.maxConnectionsPerIp);
    this.#chatLimiter = new RateLimiter(options.chatRate ?? DEFAULT_CHAT_RATE);
    this.#udp = new UdpPlane(options.udp ?? {}, {
      logger: this.#logger,
      sendText: (viewer, message) => this.#sendText(viewer.ws, message),
      sendFrame: (viewer, frame) => {
        const d = viewer.ws.getUserData();
        if (d.ending || d.closed) return;
        sendInPieces(frame, (message) => viewer.ws.send(message, true) !== 2);
        this.#opts.meter.addEgressBytes(frame.length);
      },
      modeChanged: (viewer, mode) => this.#groups.setViewerMode(viewer.viewerId, mode),
      refuse: (viewer, reason) => this.#end(viewer.ws, 'MEDIA_BAD_MESSAGE', reason),
      // A live viewer switching to UDP leaves the frame topic first: its reader resumes right after the last frame the topic sent.
      pump: (viewer) => {
        if (viewer.live) this.#fanout.leaveLive(viewer);
        this.#fanout.pump(viewer);
      },
      requestKeyframe: (channelId) => this.#requestKeyframe(channelId),
      countVideoSkips: (viewer, frames) => {
        const counters = this.#groups.counters(viewer.channelId);
        if (counters) counters.videoSkips += frames;
      },
    });
    this.#fanout = new Fanout({
      app: () => this.#app,
      channels: this.#channels,
      groups: this.#groups,
      meter: options.meter,
      udp: this.#udp,
      batchMs: options.batchMs ?? 0,
      loopLagMs: options.loopLagMs ?? (() => 0),
      tooSlow: (viewer) => this.#end(viewer.ws, 'MEDIA_TOO_SLOW'),
      videoHeld: (viewer, notice, link) => {
        if (link) this.#logger.info({ channelId: viewer.channelId, viewerId: viewer.viewerId, linkKbps: Math.round(link.linkKbps), channelKbps: Math.round(link.channelKbps), holdMs: viewer.behindHoldMs }, 'viewer link slower than the channel: audio only');
        this.#sendText(viewer.ws, notice);
      },
    });
    this.#admission = new MediaAdmission({ unitId: options.unitId, verifier: options.verifier, allowedOrigins: options.allowedOrigins, limiter: this.#limiter, logger: this.#logger, clusterSecret: options.clusterSecret });
    this.#relays = new RelayLinks({
      unitId: options.unitId,
      clusterSecret: options.clusterSecret,
      logger: this.#logger,
      onFrame: (channelId, bytes, header) => this.#relayedFrame(channelId, bytes, header),
      onChat: (channelId, line) => this.#chatLine(channelId, line, true),
    });
    this.#listen('relayLinked', (channelId, parent) => this.#relays.link(channelId, parent));
    this.#listen('groupCreated', (g) => this.#ensureChannel(g.channelId));
    this.#listen('groupReleased', (g, reason) => this.#groupReleased(g, reason));
    this.#listen('groupRoleChanged', (g) => this.#rootCheck(g.channelId));
    this.#listen('channelEvacuated', (ch) => this.#closeClients(ch, 'MEDIA_REJOIN'));
    this.#listen('channelClosed', (ch) => this.#closeClients(ch, 'MEDIA_REJOIN'));
    this.#listen('channelDropped', (ch) => this.#dropChannel(ch));
    for (const channelId of this.#groups.channelIds()) {
      this.#ensureChannel(channelId);
      this.#relays.link(channelId, this.#groups.relayParent(channelId));
    }
    this.#timer = setInterval(() => this.#tick(), options.statsIntervalMs ?? 1000);
    this.#timer.unref();
    this.#sweepTimer = setInterval(() => this.#fanout.sweep(), LIVE_SWEEP_INTERVAL_MS);
    this.#sweepTimer.unref();
  }

  /** The channel's ring and clients here, if it is served here (tests, metrics). */
  channel(channelId: number): ChannelMedia | undefined {
    return this.#channels.get(channelId);
  }

  connectionsFrom(ip: string): number {
    return this.#limiter.count(ip);
  }

  /** Viewers whose video is held back now, by reason (for /metrics). */
  videoHolds(): Record<VideoHoldReason, number> {
    const holds = { behind: 0, 'slow-link': 0 };
    for (const media of this.#channels.values()) for (const viewer of media.viewers) if (viewer.videoHold) holds[viewer.videoHold]++;
    return holds;
  }

  /** UDP mode: its sessions and counters (tests, metrics). */
  get udp(): UdpPlane {
    return this.#udp;
  }

  /** Adds the three WebSocket routes (ingest, watch, relay) to the unit's app. */
  attach(app: TemplatedApp): void {
    this.#app = app;
    const guard = <A extends unknown[]>(what: string, fn: (ws: MediaSocket, ...args: A) => void) => (ws: MediaSocket, ...args: A) => {
      try {
        fn(ws, ...args);
      } catch (error) {
        // A bug here must cost one connection, never the process.
        this.#logger.error({ err: error, what }, 'media handler failed');
        this.#end(ws, 'MEDIA_BAD_FRAME');
      }
    };
    const common = { compression: NO_COMPRESSION, idleTimeout: IDLE_TIMEOUT_SECONDS, sendPingsAutomatically: true, closeOnBackpressureLimit: false };
    type OnMessage = (ws: MediaSocket, message: ArrayBuffer, isBinary: boolean) => void;
    // The three routes differ in their limits, what opening does and who reads the messages.
    const route = (name: MediaRoute, limits: { maxPayloadLength: number; maxBackpressure: number }, open: (ws: MediaSocket) => void, onMessage: OnMessage): void => {
      const message = guard(`${name} message`, onMessage);
      app.ws<MediaConnData>(`/${name}/:channelId`, {
        ...common,
        ...limits,
        upgrade: (res, req, context) => this.#admission.upgrade(name, res, req, context, this.#closed),
        open: (ws) => this.#admitThen(ws, guard(`${name} open`, open), message),
        message: guard(`${name} message`, (ws, m: ArrayBuffer, isBinary: boolean) => {
          if (!this.#heldBack(ws, m, isBinary)) onMessage(ws, m, isBinary);
        }),
        drain: guard(`${name} drain`, (ws) => {
          const reader = ws.getUserData().viewer;
          if (reader) this.#fanout.pump(reader);
        }),
        close: (ws) => this.#closed_(ws),
      });
    };
    route('ingest', { maxPayloadLength: INGEST_MAX_PAYLOAD, maxBackpressure: 64 * 1024 }, (w) => this.#openPublisher(w), (w, m, b) => this.#publisherMessage(w, m, b));
    route('watch', { maxPayloadLength: WATCH_MAX_PAYLOAD, maxBackpressure: VIEWER_MAX_BACKPRESSURE }, (w) => this.#openViewer(w), (w, m, b) => this.#viewerMessage(w, m, b));
    route('relay', { maxPayloadLength: WATCH_MAX_PAYLOAD, maxBackpressure: VIEWER_MAX_BACKPRESSURE }, (w) => this.#openRelayChild(w), (w, m, b) => this.#relayChildMessage(w, m, b));
  }

  /** Closes every media client (MEDIA_UNIT_CLOSING) and ring. Call before the app closes. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#timer = this.#sweepTimer = null;
    this.#relays.close();
    this.#udp.close();
    for (const [event, listener] of Object.entries(this.#listeners)) this.#groups.off(event as keyof UnitGroupsEvents, listener as never);
    for (const [channelId, media] of [...this.#channels]) {
      this.#closeClients(channelId, 'MEDIA_UNIT_CLOSING');
      if (media.batchTimer) clearTimeout(media.batchTimer);
      media.ring.close();
    }
    this.#channels.clear();
  }

  #listen<K extends keyof UnitGroupsEvents>(event: K, listener: (...args: UnitGroupsEvents[K]) => void): void {
    (this.#listeners as Record<string, unknown>)[event] = listener;
    this.#groups.on(event, listener);
  }

  // ---- ingest ----

  #openPublisher(ws: MediaSocket): void {
    const d = ws.getUserData();
    if (this.#refused(ws)) return;
    if (!this.#groups.holdsRoot(d.channelId)) return this.#end(ws, 'MEDIA_NOT_ROOT_UNIT');
    const media = this.#ensureChannel(d.channelId);
    const previous = media.publisher;
    media.publisher = ws;
    if (previous) this.#end(previous, 'MEDIA_REPLACED');
    ws.subscribe(media.chatTopic);
    this.#groups.setPublisherConnected(d.channelId, true);
    this.#logger.info({ channelId: d.channelId, ip: d.ip, replaced: previous !== null }, 'publisher connected');
  }

  #publisherMessage(ws: MediaSocket, message: ArrayBuffer, isBinary: boolean): void {
    const d = ws.getUserData();
    if (d.ending) return;
    if (isBinary) return this.#ingest(ws, message);
    const parsed = parseClientMessage(Buffer.from(message).toString('utf8'));
    if (parsed?.t !== 'chat') return this.#end(ws, 'MEDIA_BAD_MESSAGE');
    this.#chat(d.channelId, BROADCASTER_SENDER, parsed.text);
  }

  #ingest(ws: MediaSocket, message: ArrayBuffer): void {
    const d = ws.getUserData();
    const media = this.#channels.get(d.channelId);
    if (!media || media.publisher !== ws) return this.#end(ws, 'MEDIA_REJOIN');
    const bytes = new Uint8Array(message);
    let header;
    try {
      header = peekFrameHeader(bytes);
    } catch (error) {
      if (!(error instanceof FrameError)) throw error;
      this.#logger.warn({ channelId: d.channelId, ip: d.ip, code: error.code, detail: error.message }, 'bad frame from publisher');
      // The reason carries the frame code, e.g. "FRAME_ERR_TRUNCATED", for the page's console.
      return this.#end(ws, 'MEDIA_BAD_FRAME', error.code);
    }
    if (header.channel !== d.channelId) return this.#end(ws, 'MEDIA_FRAME_WRONG_CHANNEL');
    if (bytes.length > media.ring.maxFrameBytes) {
      this.#logger.warn({ channelId: d.channelId, bytes: bytes.length, max: media.ring.maxFrameBytes }, 'frame larger than the ring admits');
      return this.#end(ws, 'MEDIA_FRAME_TOO_LARGE');
    }
    this.#fanout.writeFrame(media, bytes, header);
  }

  /** A frame from the relay parent: into this unit's ring like the publisher's own. */
  #relayedFrame(channelId: number, bytes: Uint8Array, header: FrameHeader): void {
    const media = this.#channels.get(channelId);
    if (!media) return;
    if (bytes.length > media.ring.maxFrameBytes) {
      this.#logger.warn({ channelId, bytes: bytes.length, max: media.ring.maxFrameBytes }, 'relayed frame larger than the ring admits; skipped');
      return;
    }
    this.#fanout.writeFrame(media, bytes, header);
  }

  // ---- relay children (other units reading this unit's ring) ----

  #openRelayChild(ws: MediaSocket): void {
    const d = ws.getUserData();
    if (this.#refused(ws)) return;
    if (!this.#groups.hasChannel(d.channelId)) return this.#end(ws, 'MEDIA_NO_SUCH_GROUP');
    const media = this.#ensureChannel(d.channelId);
    // One link per channel per unit pair: a reconnecting child replaces its old link.
    const key = `${d.viewerId}/${d.channelId}`;
    const previous = this.#viewersById.get(key);
    if (previous) {
      this.#detach(previous);
      this.#end(previous.ws, 'MEDIA_REPLACED');
    }
    this.#addReader(media, ws, 'relay', key, -1);
    this.#logger.info({ channelId: d.channelId, child: d.viewerId }, 'relay child connected');
  }

  /** A child unit sends chat lines of its viewers (stamped there) and keyframe requests up. */
  #relayChildMessage(ws: MediaSocket, message: ArrayBuffer, isBinary: boolean): void {
    const d = ws.getUserData();
    if (d.ending || !d.viewer) return;
    if (isBinary) return this.#end(ws, 'MEDIA_UNEXPECTED_MESSAGE');
    const parsed = parseUnitMessage(Buffer.from(message).toString('utf8'));
    if (parsed?.t === 'chat') return this.#chatLine(d.channelId, parsed);
    if (parsed?.t === 'keyframe') return this.#requestKeyframe(d.channelId);
    this.#end(ws, 'MEDIA_BAD_MESSAGE');
  }

  // ---- viewers ----

  #openViewer(ws: MediaSocket): void {
    const d = ws.getUserData();
    if (this.#refused(ws)) return;
    const group = this.#groups.group(d.groupIndex);
    if (!group || group.channelId !== d.channelId) return this.#end(ws, 'MEDIA_NO_SUCH_GROUP');
    const media = this.#ensureChannel(d.channelId);
    const previous = this.#viewersById.get(d.viewerId);
    if (previous) {
      // The same viewer reconnected (a ticket's id is the viewer id): the new socket takes the slot.
      this.#detach(previous);
      if (previous.groupIndex !== d.groupIndex) this.#groups.removeViewer(previous.viewerId);
      this.#end(previous.ws, 'MEDIA_REPLACED');
    }
    try {
      this.#groups.addViewer(d.channelId, d.groupIndex, d.viewerId);
    } catch (error) {
      if (!(error instanceof UnitError)) throw error;
      this.#logger.info({ channelId: d.channelId, groupIndex: d.groupIndex, viewerId: d.viewerId, code: error.code }, 'viewer refused');
      return this.#end(ws, error.code === 'UNIT_ERR_GROUP_FULL' ? 'MEDIA_GROUP_FULL' : 'MEDIA_NO_SUCH_GROUP');
    }
    this.#addReader(media, ws, 'viewer', d.viewerId, d.groupIndex);
  }

  /** A new reader of the ring (from the newest keyframe) for a viewer or relay child; fed at once. */
  #addReader(media: ChannelMedia, ws: MediaSocket, kind: ViewerConn['kind'], id: string, groupIndex: number): void {
    const viewer: ViewerConn = {
      kind,
      ws,
      channelId: media.channelId,
      groupIndex,
      viewerId: id,
      reader: media.ring.createReader(),
      detached: false,
      mode: 'tcp',
      live: false,
      report: null,
      videoHold: null,
      behindSince: 0,
      caughtUpAt: -Infinity,
      behindHoldMs: 0,
      linkKbps: null,
      bytesSentAtBehind: 0,
      unitLagMaxMs: 0,
      countedSkips: 0,
      countedDrops: 0,
    };
    ws.getUserData().viewer = viewer;
    ws.subscribe(media.chatTopic);
    media.viewers.add(viewer);
    media.pumped.add(viewer);
    this.#viewersById.set(id, viewer);
    this.#fanout.pump(viewer);
  }

  #viewerMessage(ws: MediaSocket, message: ArrayBuffer, isBinary: boolean): void {
    const d = ws.getUserData();
    const viewer = d.viewer;
    if (d.ending || !viewer) return;
    if (isBinary) return this.#end(ws, 'MEDIA_UNEXPECTED_MESSAGE');
    const parsed = parseClientMessage(Buffer.from(message).toString('utf8'));
    if (!parsed) return this.#end(ws, 'MEDIA_BAD_MESSAGE');
    switch (parsed.t) {
      case 'chat':
        return this.#chat(viewer.channelId, viewer.viewerId, parsed.text);
      case 'keyframe':
        return this.#requestKeyframe(viewer.channelId);
      case 'report':
        viewer.report = { loss: parsed.loss, latencyMs: parsed.latencyMs, rxKbps: parsed.rxKbps ?? null, at: Date.now() };
        return this.#fanout.reported(viewer);
      case 'udp-start':
      case 'udp-answer':
      case 'udp-candidate':
      case 'udp-stop':
        return this.#udpSignal(viewer, parsed);
    }
  }

  /** udp-start / udp-answer / udp-candidate / udp-stop: UDP mode (udp/UdpPlane.ts). */
  #udpSignal(viewer: ViewerConn, message: ClientMessage): void {
    this.#udp.signal(viewer, message);
  }

  #sendText(ws: MediaSocket, message: UnitMessage): void {
    const d = ws.getUserData();
    if (d.ending || d.closed) return;
    ws.send(encodeMessage(message), false);
  }

  /**
   * A chat line from a sender connected here. Rate-limited per sender; then stamped and sent to
   * every viewer and the publisher of the channel on this unit (one uWS topic per channel, fanned out
   * in C++). Lines cross units over the relay links.
   */
  #chat(channelId: number, from: string, text: string): void {
    if (!this.#chatLimiter.take(`${channelId}/${from}`)) return;
    this.#chatLine(channelId, { t: 'chat', from, text, at: Date.now() });
  }

  /**
   * Where a chat line goes: the root unit stamps it and sends it to everyone of the channel here,
   * relay children included (they are subscribed to the same topic), who pass it further down;
   * any other unit receiving a line from below sends it up, and one from above fans out here.
   */
  #chatLine(channelId: number, line: UnitMessage & { t: 'chat' }, fromAbove = false): void {
    if (fromAbove || this.#groups.holdsRoot(channelId)) {
      const stamped = fromAbove ? line : { ...line, at: Date.now() };
      const media = this.#channels.get(channelId);
      if (media) this.#app?.publish(media.chatTopic, encodeMessage(stamped), false);
      return;
    }
    if (!this.#relays.sendUp(channelId, line)) this.#logger.debug({ channelId }, 'chat line dropped: no relay link to the root yet');
  }

  /** A viewer lost video: ask the publisher (up the relay links) for a keyframe, at most once per interval per channel and unit. */
  #requestKeyframe(channelId: number): void {
    const media = this.#channels.get(channelId);
    if (!media) return;
    const now = performance.now();
    if (now - media.lastKeyframeRequestAt < KEYFRAME_REQUEST_INTERVAL_MS) return;
    media.lastKeyframeRequestAt = now;
    if (media.publisher) this.#sendText(media.publisher, { t: 'keyframe' });
    else this.#relays.sendUp(channelId, { t: 'keyframe' });
  }

  /** Stops feeding a viewer and forgets it; the caller decides about UnitGroups. */
  #detach(viewer: ViewerConn): void {
    if (viewer.detached) return;
    if (viewer.live) this.#fanout.leaveLive(viewer);
    viewer.detached = true;
    this.#udp.drop(viewer);
    viewer.reader.close();
    const media = this.#channels.get(viewer.channelId);
    media?.viewers.delete(viewer);
    media?.pumped.delete(viewer);
    if (this.#viewersById.get(viewer.viewerId) === viewer) this.#viewersById.delete(viewer.viewerId);
  }

  // ---- both routes ----

  /**
   * Verifies the ticket, then runs `open` and replays what the client sent meanwhile. Runs outside
   * any uWS callback once the verification resolves, so ending or sending there is plain.
   */
  #admitThen(ws: MediaSocket, open: (ws: MediaSocket) => void, onMessage: (ws: MediaSocket, message: ArrayBuffer, isBinary: boolean) => void): void {
    const d = ws.getUserData();
    void this.#admission.admit(d).then(() => {
      if (d.closed) return;
      open(ws);
      const pending = d.pending;
      d.pending = [];
      d.pendingBytes = 0;
      for (const { message, isBinary } of pending) if (!d.ending && !d.closed) onMessage(ws, message, isBinary);
    });
  }

  /** True when the message was kept (or refused) because the ticket is not verified yet. */
  #heldBack(ws: MediaSocket, message: ArrayBuffer, isBinary: boolean): boolean {
    const d = ws.getUserData();
    if (d.admitted) return false;
    if (d.ending || d.refusal) return true;
    d.pendingBytes += message.byteLength;
    if (d.pendingBytes > PENDING_BEFORE_ADMISSION_BYTES) this.#end(ws, 'MEDIA_TOO_EARLY');
    else d.pending.push({ message: message.slice(0), isBinary });
    return true;
  }

  #refused(ws: MediaSocket): boolean {
    const d = ws.getUserData();
    if (d.refusal) {
      this.#endWith(ws, d.refusal.code, d.refusal.message);
      return true;
    }
    if (this.#closed) {
      this.#end(ws, 'MEDIA_UNIT_CLOSING');
      return true;
    }
    return false;
  }

  #end(ws: MediaSocket, reason: MediaCloseReason, detail?: string): void {
    this.#endWith(ws, MEDIA_CLOSE[reason].closeCode, detail ?? MEDIA_CLOSE[reason].message);
  }

  /** Closes with a code once; nothing more is sent to the socket after this. */
  #endWith(ws: MediaSocket, code: number, message: string): void {
    const d = ws.getUserData();
    if (d.ending || d.closed) return;
    d.ending = true;
    ws.end(code, message);
  }

  /** uWS close: the socket is gone (whoever closed it). Never throws. */
  #closed_(ws: MediaSocket): void {
    const d = ws.getUserData();
    d.closed = true;
    try {
      if (d.counted) this.#limiter.release(d.ip);
      d.counted = false;
      const viewer = d.viewer;
      if (viewer && !viewer.detached) {
        this.#detach(viewer);
        if (viewer.kind === 'viewer') this.#groups.removeViewer(viewer.viewerId);
      }
      if (viewer) this.#chatLimiter.forget(`${viewer.channelId}/${viewer.viewerId}`);
      const media = this.#channels.get(d.channelId);
      if (d.route === 'ingest' && media?.publisher === ws) {
        media.publisher = null;
        if (this.#groups.hasChannel(d.channelId)) this.#groups.setPublisherConnected(d.channelId, false);
        this.#logger.info({ channelId: d.channelId }, 'publisher disconnected');
      }
    } catch (error) {
      this.#logger.error({ err: error }, 'media close handler failed');
    }
  }

  // ---- channels, following UnitGroups ----

  #ensureChannel(channelId: number): ChannelMedia {
    let media = this.#channels.get(channelId);
    if (!media) {
      media = new ChannelMedia(channelId, this.#opts.ring ?? {});
      this.#channels.set(channelId, media);
    }
    return media;
  }

  #rootCheck(channelId: number): void {
    const media = this.#channels.get(channelId);
    if (media?.publisher && !this.#groups.holdsRoot(channelId)) this.#end(media.publisher, 'MEDIA_REJOIN');
  }

  #groupReleased(group: Readonly<Group>, reason: string): void {
    const media = this.#channels.get(group.channelId);
    if (!media || reason === 'merged') return; // merged viewers stay connected: same ring
    for (const viewer of [...media.viewers]) {
      if (viewer.groupIndex !== group.index) continue;
      this.#detach(viewer);
      this.#end(viewer.ws, 'MEDIA_REJOIN');
    }
    this.#rootCheck(group.channelId);
  }

  /** Closes the channel's viewers and publisher; UnitGroups already accounts for them (no removeViewer). */
  #closeClients(channelId: number, reason: MediaCloseReason): void {
    const media = this.#channels.get(channelId);
    if (!media) return;
    for (const viewer of [...media.viewers]) {
      this.#detach(viewer);
      this.#end(viewer.ws, reason);
    }
    const publisher = media.publisher;
    if (publisher) {
      media.publisher = null;
      this.#end(publisher, reason);
    }
  }

  #dropChannel(channelId: number): void {
    this.#relays.unlink(channelId);
    const batch = this.#channels.get(channelId)?.batchTimer;
    if (batch) clearTimeout(batch);
    this.#closeClients(channelId, 'MEDIA_REJOIN');
    this.#channels.get(channelId)?.ring.close();
    this.#channels.delete(channelId);
  }

  /** Per channel: ingest bitrate over the interval, and the largest viewer backlog in frames. */
  #tick(): void {
    const now = performance.now();
    const elapsedMs = now - this.#lastTick;
    this.#lastTick = now;
    if (elapsedMs <= 0) return;
    for (const media of this.#channels.values()) {
      const counters = this.#groups.counters(media.channelId);
      if (!counters) continue;
      counters.bitrateBps = (media.ingestBytes * 8 * 1000) / elapsedMs;
      if (counters.bitrateBps > 0) media.sendBound = Math.min(VIEWER_SEND_BOUND, Math.max(MIN_VIEWER_SEND_BOUND, (counters.bitrateBps / 8) * CONGESTION_BUDGET_SECONDS));
      media.ingestBytes = 0;
      let backlog = 0;
      let relayChildren = 0;
      for (const viewer of media.viewers) {
        if (!viewer.live) backlog = Math.max(backlog, viewer.reader.stats().lagFrames);
        if (viewer.kind === 'relay') relayChildren++;
      }
      counters.backlogFrames = backlog;
      counters.relayChildren = relayChildren;
    }
  }
}
