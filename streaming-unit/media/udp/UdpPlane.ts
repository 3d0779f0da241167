/**
 * UDP mode for the unit's viewers (DESIGN "Data plane"): a WebRTC session per viewer, beside its
 * watch WebSocket, which stays open for chat and signalling. Its chunks go on the carrier the viewer
 * asked for in udp-start: a data channel (the default), or RTP packets on a media track (`rtp`,
 * protocol/chunk-rtp.ts), which costs this unit about a third as much per packet.
 *
 * Signalling (protocol/media-messages.ts), over the viewer's WebSocket:
 *   viewer: udp-start → unit: udp-offer, udp-candidate… → viewer: udp-answer, udp-candidate…
 *   data channel open → unit: mode udp (frames now go over the data channel)
 *   udp-stop, or the channel closes / fails, or no open within the signalling timeout → unit: mode tcp
 * Bad signalling (an answer or candidate without udp-start, a second answer, SDP or a candidate that
 * libdatachannel refuses) closes that viewer with MEDIA_BAD_MESSAGE and the UDP_ERR_* code as reason.
 *
 * The switch either way happens between two frames: the viewer keeps its RingReader, MediaPlane's
 * pump hands a viewer in mode 'udp' to `pump` here, and JavaScript runs one pump at a time; the mode
 * message goes on the WebSocket after the last frame sent on it. So no frame is skipped or sent twice
 * by the switch itself. What was still in flight on the data channel: after udp-stop the peer
 * connection lingers so it arrives; after a failure the frames of the last `resendWindowMs` are sent
 * again on the WebSocket, and the viewer keeps each seq once.
 *
 * Sending: each frame is split once per channel and carrier into ~1.1 KB chunks (ChunkCache), one
 * data-channel message or RTP packet each. The data channel's bufferedAmount is the viewer's send
 * queue (a track queues nothing on this side: there the viewer's own reports of being behind or
 * losing frames move it to audio only or back to TCP): at `sendBound` video is
 * skipped (read from the ring and dropped, counted) while audio and text still go; video comes back at
 * a keyframe, asked of the publisher through the viewer keyframe path. At `hardBound` nothing is read
 * until the channel drains (bufferedAmountLow): the ring's own backlog rules then apply.
 *
 * MediaPlane owns the sockets and calls signal, pump, drop and close (tests and operators also
 * session(s) and failSession); this class reaches MediaPlane back through UdpHost.
 */
import { setSctpSettings } from 'node-datachannel';
import { FrameKind } from '../../../protocol/media-frame.js';
import type { ClientMessage, UdpCarrier, UnitMessage } from '../../../protocol/media-messages.js';
import type { Logger } from '../../../protocol/logger.js';
import type { ViewerConn } from '../ChannelMedia.js';
import { ChunkCache } from './ChunkCache.js';
import { SentLog } from './SentLog.js';
import { UdpError } from './errors.js';
import { resolveUdpOptions, type UdpOptions } from './udp-options.js';
import { RateLimiter, type Rate } from '../RateLimiter.js';
import { UdpSession, type UdpSessionEnd } from './UdpSession.js';

/** What the UDP mode needs from MediaPlane. */
export interface UdpHost {
  logger: Logger;
  /** a text message on the viewer's WebSocket (dropped when the socket is ending) */
  sendText(viewer: ViewerConn, message: UnitMessage): void;
  /** an encoded frame on the viewer's WebSocket (a resend after its data channel failed) */
  sendFrame(viewer: ViewerConn, frame: Uint8Array): void;
  /** where the viewer's frames go now, for the unit's reports */
  modeChanged(viewer: ViewerConn, mode: 'tcp' | 'udp'): void;
  /** closes the viewer's WebSocket with MEDIA_BAD_MESSAGE and this reason */
  refuse(viewer: ViewerConn, reason: string): void;
  /** MediaPlane's pump for the viewer: frames go wherever `viewer.mode` says */
  pump(viewer: ViewerConn): void;
  /** ask the channel's publisher for a keyframe (rate-limited per channel by MediaPlane) */
  requestKeyframe(channelId: number): void;
  /** video frames this plane skipped for a congested viewer, for the channel's counters */
  countVideoSkips(viewer: ViewerConn, frames: number): void;
}

/** Why a session is over, as logged and counted. */
export type UdpEndReason = UdpSessionEnd | 'stopped' | 'replaced' | 'refused' | 'left' | 'unit-closing' | 'send-failed';

interface Entry {
  readonly session: UdpSession;
  /** video waits for a keyframe (after skipping for congestion) */
  awaitingKeyframe: boolean;
  keyframeAsked: boolean;
  /** stopped reading at hardBound; the next drain resumes */
  stalled: boolean;
  videoSkipped: number;
  framesSent: number;
  readonly sent: SentLog;
}

/** Ends of an open session after which frames may have died on the data channel. */
const FAILURES: ReadonlySet<UdpEndReason> = new Set(['failed', 'closed', 'send-failed']);

/** A session as tests and metrics see it. */
export interface UdpSessionInfo {
  viewerId: string;
  channelId: number;
  carrier: UdpCarrier;
  state: UdpSession['state'];
  bufferedAmount: number;
  framesSent: number;
  chunksSent: number;
  bytesSent: number;
  /** video frames skipped because the data channel was over `sendBound` (or waiting for the keyframe after) */
  videoSkipped: number;
  /** ms from udp-start to open, null before */
  openMs: number | null;
}

export interface UdpPlaneCounters {
  started: number;
  opened: number;
  /** of `opened`, by carrier */
  openedOn: Record<UdpCarrier, number>;
  /** chunks handed to a data channel or a track since start, by carrier (what the network may still lose) */
  chunksSentOn: Record<UdpCarrier, number>;
  /** udp-start answered `mode: tcp` because `maxSessions` were open */
  refusedFull: number;
  /** udp-start ignored: over UDP_START_RATE for that viewer */
  refusedTooOften: number;
  badSignalling: number;
  ended: Record<UdpEndReason, number>;
}

/** a viewer's udp-starts: a few at once (switching back and forth by hand), then one per two seconds */
export const UDP_START_RATE: Rate = { burst: 5, perSecond: 0.5 };

export class UdpPlane {
  readonly options: Readonly<UdpOptions>;
  readonly counters: UdpPlaneCounters = {
    started: 0,
    opened: 0,
    openedOn: { datachannel: 0, rtp: 0 },
    chunksSentOn: { datachannel: 0, rtp: 0 },
    refusedFull: 0,
    refusedTooOften: 0,
    badSignalling: 0,
    ended: { timeout: 0, failed: 0, closed: 0, stopped: 0, replaced: 0, refused: 0, left: 0, 'unit-closing': 0, 'send-failed': 0 },
  };
  readonly #host: UdpHost;
  readonly #logger: Logger;
  readonly #sessions = new Map<ViewerConn, Entry>();
  /** viewers that sent udp-start once: their late answers and candidates are stale, not bad */
  readonly #started = new WeakSet<ViewerConn>();
  readonly #startLimiter = new RateLimiter(UDP_START_RATE);
  /** per channel, one per carrier in use */
  readonly #caches = new Map<number, Partial<Record<UdpCarrier, ChunkCache>>>();
  /** sessions per channel: a channel's chunk caches go with its last session */
  readonly #perChannel = new Map<number, number>();
  /** sessions ended by udp-stop whose peer connection still lingers */
  readonly #lingering = new Set<UdpSession>();
  #closed = false;
  #port: number;

  constructor(options: Partial<UdpOptions>, host: UdpHost) {
    this.options = resolveUdpOptions(options);
    this.#port = this.options.port;
    this.#host = host;
    this.#logger = host.logger.child({ component: 'udp' });
    if (this.options.sctpSendBufferBytes !== null) setSctpSettings({ sendBufferSize: this.options.sctpSendBufferBytes });
  }

  /** The unit's one UDP port, once it knows it (options.port 0: the media port's number, after listening). */
  usePort(port: number): void {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UdpError('UDP_ERR_BAD_OPTIONS', `UDP port ${port} is not in 1…65535`);
    this.#port = port;
  }

  get port(): number {
    return this.#port;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }

  /** Sessions open now, by carrier (for /metrics). */
  openByCarrier(): Record<UdpCarrier, number> {
    const open = { datachannel: 0, rtp: 0 };
    for (const { session } of this.#sessions.values()) if (session.isOpen) open[session.carrier]++;
    return open;
  }

  /** The viewer's session, if it has one. */
  session(viewerId: string): UdpSessionInfo | null {
    for (const [viewer, entry] of this.#sessions) if (viewer.viewerId === viewerId) return this.#info(viewer, entry);
    return null;
  }

  sessions(): UdpSessionInfo[] {
    return [...this.#sessions].map(([viewer, entry]) => this.#info(viewer, entry));
  }

  /**
   * Closes a viewer's peer connection as a network failure would (operators, tests): the close events
   * that follow bring the viewer back to TCP. Returns false when it has no session.
   */
  failSession(viewerId: string): boolean {
    for (const [viewer, entry] of this.#sessions) {
      if (viewer.viewerId === viewerId) {
        entry.session.closePeerConnection();
        return true;
      }
    }
    return false;
  }

  /** A viewer's udp-* message. */
  signal(viewer: ViewerConn, message: ClientMessage): void {
    switch (message.t) {
      case 'udp-start':
        return this.#start(viewer, message.carrier ?? 'datachannel');
      case 'udp-stop':
        if (this.#sessions.has(viewer)) this.#end(viewer, 'stopped', 'udp-stop');
        else this.#host.sendText(viewer, { t: 'mode', mode: 'tcp' });
        return;
      case 'udp-answer':
        return this.#apply(viewer, (session) => session.applyAnswer(message.sdp));
      case 'udp-candidate':
        return this.#apply(viewer, (session) => session.addCandidate(message.candidate, message.mid));
      default:
        return;
    }
  }

  /**
   * Sends a viewer in mode 'udp' what its reader has, within the bounds; returns the bytes sent
   * (chunk headers included) for the load meter. MediaPlane calls it on every ring write and drain.
   */
  pump(viewer: ViewerConn): number {
    const entry = this.#sessions.get(viewer);
    if (!entry?.session.isOpen) return 0;
    const { session } = entry;
    const reader = viewer.reader;
    const { sendBound, hardBound } = this.options;
    const cache = this.#cache(viewer.channelId, session.carrier);
    // Far behind by the viewer's own reports (queues the unit cannot see): the reader skips video,
    // audio and text go on, video again from a keyframe once it caught up — as on TCP.
    const behind = viewer.videoHold !== null;
    if (reader.congested !== behind) reader.setCongested(behind);
    let bytes = 0;
    let skipped = 0;
    for (;;) {
      if (!session.writable()) {
        // Closed on libdatachannel's side, its event still queued: back to TCP before taking a frame.
        this.#end(viewer, 'closed', 'data channel no longer open');
        break;
      }
      const buffered = session.bufferedAmount();
      if (buffered >= hardBound) {
        entry.stalled = true;
        break;
      }
      const frame = reader.next();
      if (!frame) break;
      const kind = reader.lastKind as FrameKind;
      const keyframe = reader.lastKeyframe;
      if (kind === FrameKind.VIDEO) {
        if (buffered >= sendBound) {
          skipped++;
          entry.awaitingKeyframe = true;
          continue;
        }
        if (entry.awaitingKeyframe) {
          if (!keyframe) {
            skipped++;
            if (!entry.keyframeAsked) {
              entry.keyframeAsked = true;
              this.#host.requestKeyframe(viewer.channelId);
            }
            continue;
          }
          entry.awaitingKeyframe = false;
          entry.keyframeAsked = false;
        }
      }
      const { messages, bytes: frameBytes } = cache.messagesOf(frame, reader.lastSeq, kind, keyframe, reader.lastTimestamp);
      // Logged first: if the send fails, this frame goes again over TCP with the others of the window.
      entry.sent.add(reader.lastSeq, reader.lastTimestamp, performance.now());
      try {
        session.send(messages, frameBytes);
      } catch (error) {
        // The channel closed under us (its close event is on its way): back to TCP from here.
        this.#logger.info({ viewerId: viewer.viewerId, err: error }, 'data channel send failed');
        this.#end(viewer, 'send-failed', 'send failed');
        break;
      }
      bytes += frameBytes;
      entry.framesSent++;
      this.counters.chunksSentOn[session.carrier] += messages.length;
    }
    if (skipped > 0) {
      entry.videoSkipped += skipped;
      this.#host.countVideoSkips(viewer, skipped);
    }
    return bytes;
  }

  /** The viewer left or was dropped: its peer connection is closed, nothing is sent to it. */
  drop(viewer: ViewerConn): void {
    this.#startLimiter.forget(viewer.viewerId);
    if (this.#sessions.has(viewer)) this.#end(viewer, 'left', 'viewer gone');
  }

  /** The unit is closing: every peer connection is closed. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const viewer of [...this.#sessions.keys()]) this.#end(viewer, 'unit-closing', 'unit closing');
    for (const session of this.#lingering) session.close();
    this.#lingering.clear();
    this.#caches.clear();
  }

  #start(viewer: ViewerConn, carrier: UdpCarrier): void {
    this.#started.add(viewer);
    // Each start costs a peer connection and a DTLS handshake: a client looping udp-start stays on TCP.
    if (!this.#startLimiter.take(viewer.viewerId)) {
      this.counters.refusedTooOften++;
      if (!this.#sessions.has(viewer)) this.#host.sendText(viewer, { t: 'mode', mode: 'tcp' });
      return;
    }
    if (this.#sessions.has(viewer)) this.#end(viewer, 'replaced', 'a new udp-start');
    if (this.#closed || this.#port === 0 || this.#sessions.size >= this.options.maxSessions) {
      if (!this.#closed) {
        this.counters.refusedFull++;
        this.#logger.info({ viewerId: viewer.viewerId, sessions: this.#sessions.size }, 'UDP sessions at their bound: the viewer stays on TCP');
      }
      this.#host.sendText(viewer, { t: 'mode', mode: 'tcp' });
      return;
    }
    let session: UdpSession;
    try {
      session = new UdpSession(
        `viewer:${viewer.viewerId}`,
        carrier,
        this.options,
        this.#port,
        {
          signal: (message) => this.#host.sendText(viewer, message),
          open: () => this.#opened(viewer),
          drain: () => this.#drained(viewer),
          end: (reason, detail) => this.#ended(viewer, session, reason, detail),
        },
        this.#logger,
      );
    } catch (error) {
      // A native failure (no socket, the UDP port taken): this viewer simply stays on TCP.
      this.#logger.error({ err: error, viewerId: viewer.viewerId }, 'could not create a peer connection');
      this.#host.sendText(viewer, { t: 'mode', mode: 'tcp' });
      return;
    }
    this.#sessions.set(viewer, { session, awaitingKeyframe: false, keyframeAsked: false, stalled: false, videoSkipped: 0, framesSent: 0, sent: new SentLog() });
    this.#perChannel.set(viewer.channelId, (this.#perChannel.get(viewer.channelId) ?? 0) + 1);
    this.counters.started++;
  }

  #apply(viewer: ViewerConn, step: (session: UdpSession) => void): void {
    const entry = this.#sessions.get(viewer);
    if (!entry) {
      // After udp-stop or a failure the viewer's last candidates may still be on their way: harmless.
      if (this.#started.has(viewer)) return;
      return this.#refuse(viewer, new UdpError('UDP_ERR_NO_SESSION'));
    }
    try {
      step(entry.session);
    } catch (error) {
      if (!(error instanceof UdpError)) throw error;
      this.#refuse(viewer, error);
    }
  }

  #refuse(viewer: ViewerConn, error: UdpError): void {
    this.counters.badSignalling++;
    this.#logger.info({ viewerId: viewer.viewerId, code: error.code, detail: error.message }, 'bad UDP signalling');
    if (this.#sessions.has(viewer)) this.#end(viewer, 'refused', error.code);
    this.#host.refuse(viewer, closeReason(`${error.code}: ${error.message}`));
  }

  #opened(viewer: ViewerConn): void {
    const entry = this.#sessions.get(viewer);
    if (!entry || viewer.detached) return;
    this.counters.opened++;
    this.counters.openedOn[entry.session.carrier]++;
    viewer.mode = 'udp';
    // Congestion of the WebSocket (the reader's flag, set by the TCP pump) says nothing about the data
    // channel, whose own bound applies from now on; left set, it would skip this viewer's video for
    // good. Only the viewer's own reports of being far behind carry over.
    viewer.reader.setCongested(viewer.videoHold !== null);
    if (viewer.reader.waitingForKeyframe) this.#host.requestKeyframe(viewer.channelId);
    this.#host.modeChanged(viewer, 'udp');
    this.#host.sendText(viewer, { t: 'mode', mode: 'udp' });
    this.#logger.debug({ viewerId: viewer.viewerId, openMs: Math.round(performance.now() - entry.session.startedAt) }, 'viewer on UDP');
    this.#host.pump(viewer);
  }

  #drained(viewer: ViewerConn): void {
    const entry = this.#sessions.get(viewer);
    if (!entry) return;
    entry.stalled = false;
    this.#host.pump(viewer);
  }

  #ended(viewer: ViewerConn, session: UdpSession, reason: UdpSessionEnd, detail: string): void {
    if (this.#sessions.get(viewer)?.session !== session) return;
    this.#end(viewer, reason, detail);
  }

  /** Removes the session, closes it, and moves the viewer back to TCP at this frame boundary. */
  #end(viewer: ViewerConn, reason: UdpEndReason, detail: string): void {
    const entry = this.#sessions.get(viewer);
    if (!entry) return;
    this.#sessions.delete(viewer);
    const wasOpen = viewer.mode === 'udp';
    const linger = wasOpen && (reason === 'stopped' || reason === 'replaced') ? this.options.stopLingerMs : 0;
    for (const old of this.#lingering) if (old.released) this.#lingering.delete(old);
    entry.session.close(linger);
    if (linger > 0) this.#lingering.add(entry.session);
    this.counters.ended[reason]++;
    viewer.mode = 'tcp';
    if (wasOpen) this.#host.modeChanged(viewer, 'tcp');
    this.#logger.debug({ viewerId: viewer.viewerId, reason, detail, wasOpen, videoSkipped: entry.videoSkipped }, 'UDP session ended');
    if (!viewer.detached && reason !== 'left' && reason !== 'unit-closing' && reason !== 'refused') {
      // A replaced session that never opened changed nothing the viewer needs to hear about.
      if (reason !== 'replaced' || wasOpen) this.#host.sendText(viewer, { t: 'mode', mode: 'tcp' });
      if (wasOpen && FAILURES.has(reason)) this.#resend(viewer, entry);
    }
    const left = (this.#perChannel.get(viewer.channelId) ?? 1) - 1;
    if (left > 0) this.#perChannel.set(viewer.channelId, left);
    else {
      this.#perChannel.delete(viewer.channelId);
      this.#caches.delete(viewer.channelId);
    }
    // Not from here: #end may run inside MediaPlane's pump of this very viewer. A microtask still
    // runs before the next ring write, so TCP resumes right after the last frame the channel took.
    if (wasOpen) queueMicrotask(() => this.#host.pump(viewer));
  }

  /** After `mode: tcp`: the frames sent within the resend window, oldest first, again on the WebSocket. */
  #resend(viewer: ViewerConn, entry: Entry): void {
    const window = this.options.resendWindowMs;
    const cache = this.#caches.get(viewer.channelId)?.[entry.session.carrier];
    if (window <= 0 || !cache) return;
    let frames = 0;
    for (const { seq, timestamp } of entry.sent.since(performance.now() - window)) {
      const frame = cache.frame(seq, timestamp);
      if (!frame) continue;
      this.#host.sendFrame(viewer, frame);
      frames++;
    }
    this.#logger.debug({ viewerId: viewer.viewerId, frames }, 'frames sent again over TCP');
  }

  #cache(channelId: number, carrier: UdpCarrier): ChunkCache {
    let caches = this.#caches.get(channelId);
    if (!caches) this.#caches.set(channelId, (caches = {}));
    return (caches[carrier] ??= new ChunkCache(carrier, carrier === 'rtp' ? this.options.rtpChunkPayload : this.options.chunkPayload));
  }

  #info(viewer: ViewerConn, entry: Entry): UdpSessionInfo {
    const s = entry.session;
    return {
      viewerId: viewer.viewerId,
      channelId: viewer.channelId,
      carrier: s.carrier,
      state: s.state,
      bufferedAmount: s.bufferedAmount(),
      framesSent: entry.framesSent,
      chunksSent: s.chunksSent,
      bytesSent: s.bytesSent,
      videoSkipped: entry.videoSkipped,
      openMs: s.openedAt === null ? null : Math.round(s.openedAt - s.startedAt),
    };
  }
}

/** A WebSocket close reason holds at most 123 bytes of UTF-8; these messages are ASCII. */
function closeReason(text: string): string {
  return text.length <= 123 ? text : `${text.slice(0, 120)}...`;
}
