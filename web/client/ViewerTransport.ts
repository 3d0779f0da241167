/**
 * Where a viewer's frames come from, TCP or UDP, and the rules for moving between them (DESIGN "Data
 * plane"). One per viewer; it lives across the viewer's sockets (a rejoin keeps what it learnt).
 *
 * Each watch socket starts on TCP: the unit sends frames on it at once (a fast first picture). Then,
 * when UDP is wanted, offered by the CSM (`transports`) and an RTCPeerConnection constructor was
 * injected, it sends `udp-start` and answers the unit's offer (UdpLink). Frames move to UDP when the
 * unit says `mode: udp`, and back when it says `mode: tcp`; FrameSequencer keeps them in seq order
 * without duplicates across both switches. On UDP the frames' chunks come on the `carrier` asked for
 * in udp-start: a data channel, or RTP packets on a media track (cheaper for the unit; chunk-rtp.ts).
 * RTP is asked for only when the join says the unit serves it (`udpCarriers`): a unit of before
 * carriers would refuse the field and close the socket, so without that word the data channel is used.
 *
 * Back to TCP (`udp-stop`):
 * - `timeout`: the unit has not switched within `openTimeoutMs` (UDP blocked, NAT): not tried again
 *   on its own — `tryUdp()` does;
 * - `loss`: more than `lossThreshold` of the frames lost over `lossWindowMs` (or chunks arriving and
 *   nothing coming out of them): tried again after a back-off that doubles each time;
 * - `closed`: the data channel, the track or the peer connection died here; `unit`: the unit moved us back
 *   (its side failed); `refused`: the unit answered `mode: tcp` to udp-start (its UDP sessions full,
 *   or UDP off) — these are tried again on the next socket;
 * - `forced`: `forceTcp()`, until `tryUdp()`.
 * A video loss on UDP asks the unit for a keyframe (`keyframe`, at most one per
 * `keyframeRequestIntervalMs`). Every `reportIntervalMs` a `report` {mode, loss, latencyMs, rxKbps} goes to
 * the unit. Timers are the only environment it needs; the WebRTC constructor is injected.
 */
import { backoffDelay } from '../../protocol/backoff.js';
import type { Frame } from '../../protocol/media-frame.js';
import type { ClientMessage, UdpCarrier, UnitMessage } from '../../protocol/media-messages.js';
import { FrameSequencer, type FramePath } from './FrameSequencer.js';
import type { RtcPeerConnectionConstructor } from './rtc.js';
import { legacyRtpTap, type RtpTap } from './rtp-tap.js';
import { UdpLink } from './UdpLink.js';

export type ViewerMode = 'tcp' | 'udp';
export type UdpFallbackReason = 'timeout' | 'loss' | 'closed' | 'unit' | 'refused' | 'forced' | 'failed';

export interface UdpViewerOptions {
  /**
   * the browser's RTCPeerConnection; in Node node-datachannel's polyfill for the data channel,
   * NodeRtpPeerConnection for RTP
   */
  RTCPeerConnection: RtcPeerConnectionConstructor;
  /**
   * how the chunks travel (default `datachannel`); `rtp` needs an encoded transform in a browser, read
   * through `rtpTap`
   */
  carrier?: UdpCarrier;
  /**
   * how the rtp carrier's packets are read (rtp-tap.ts): default `legacyRtpTap`, Chromium's
   * `createEncodedStreams()` (and NodeRtpPeerConnection's); the watch page passes its standard one
   */
  rtpTap?: RtpTap;
  /** merged into `{ iceServers: [] }` (Node: e.g. `{ bindAddress: '127.0.0.1' }`) */
  rtcConfiguration?: Record<string, unknown>;
  /** try UDP as soon as a socket opens (default true); false: only on tryUdp() */
  auto?: boolean;
  /** udp-start → `mode: udp` (default 3000 ms) */
  openTimeoutMs?: number;
  /** share of frames lost that sends the viewer back to TCP (default 0.05) … */
  lossThreshold?: number;
  /** … when measured over this long (default 2000 ms) */
  lossWindowMs?: number;
  /** back-off before UDP is tried again after a loss fallback, doubling each time (default 10 s … 2 min) */
  retryAfterLossMinMs?: number;
  retryAfterLossMaxMs?: number;
  /** how long, after `mode: tcp`, data-channel frames still in flight are waited for (default 250 ms) */
  drainMs?: number;
  /** reassembly window in frames (default 16) */
  windowFrames?: number;
}

export interface ViewerTransportOptions {
  udp: UdpViewerOptions | null;
  /** `report` period (default 2000 ms; 0: none) */
  reportIntervalMs?: number;
  keyframeRequestIntervalMs?: number;
  /** the viewer's latency estimate for a frame it just got (publisher send → play), ms; default: unknown */
  latencyMs?: (frame: Frame) => number | null;
  now: () => number;
}

export interface UdpStats {
  /** where frames come from now */
  mode: ViewerMode;
  /**
   * how the chunks travel on this socket's UDP: the `carrier` option, or the data channel when the
   * join did not list it among the unit's `udpCarriers`; null without UDP options
   */
  carrier: UdpCarrier | null;
  attempts: number;
  opened: number;
  fallbacks: Record<UdpFallbackReason, number>;
  lastFallback: UdpFallbackReason | null;
  /** ms from udp-start to `mode: udp`, last time */
  openMs: number | null;
  chunksReceived: number;
  framesOverUdp: number;
  /** frames UDP lost (or the unit skipped for congestion: the viewer cannot tell them apart) */
  framesLost: number;
  videoDroppedAwaitingKeyframe: number;
  /** loss share over the last loss window on UDP, 0 on TCP */
  lossShare: number;
  duplicates: number;
  keyframeRequests: number;
}

export interface ViewerTransportHandlers {
  deliver(frame: Frame, bytes: number, path: FramePath): void;
  modeChanged(mode: ViewerMode, why: string): void;
  error(error: Error): void;
}

type Attempt = 'idle' | 'negotiating' | 'on' | 'stopping';

/** ticks of the loss check and the report */
const TICK_MS = 250;
/** a udp-stop the unit never answered: give up waiting */
const STOP_TIMEOUT_MS = 5000;
const ZERO_FALLBACKS: Record<UdpFallbackReason, number> = { timeout: 0, loss: 0, closed: 0, unit: 0, refused: 0, forced: 0, failed: 0 };

interface LossSample {
  at: number;
  lost: number;
  delivered: number;
  chunks: number;
}

export class ViewerTransport {
  readonly #udp: Required<Omit<UdpViewerOptions, 'rtcConfiguration'>> & { rtcConfiguration: Record<string, unknown> } | null;
  readonly #reportIntervalMs: number;
  readonly #keyframeIntervalMs: number;
  readonly #latency: (frame: Frame) => number | null;
  readonly #now: () => number;
  readonly #handlers: ViewerTransportHandlers;
  readonly #stats: UdpStats = {
    mode: 'tcp',
    carrier: null,
    attempts: 0,
    opened: 0,
    fallbacks: { ...ZERO_FALLBACKS },
    lastFallback: null,
    openMs: null,
    chunksReceived: 0,
    framesOverUdp: 0,
    framesLost: 0,
    videoDroppedAwaitingKeyframe: 0,
    lossShare: 0,
    duplicates: 0,
    keyframeRequests: 0,
  };
  /** UDP is wanted (option `auto`; false after forceTcp() or an open timeout, true after tryUdp()) */
  #wanted: boolean;
  #lossFallbacks = 0;
  #retryTimer: ReturnType<typeof setTimeout> | null = null;

  // ---- per socket ----
  #send: ((message: ClientMessage) => void) | null = null;
  #udpAllowed = false;
  #sequencer: FrameSequencer | null = null;
  /** sequencer counters of earlier sockets */
  readonly #pastSockets = { chunks: 0, udpFrames: 0, lost: 0, delivered: 0, dropped: 0, duplicates: 0 };
  #link: UdpLink | null = null;
  /** the link of the last UDP period while its in-flight frames drain */
  #drainLink: UdpLink | null = null;
  #attempt: Attempt = 'idle';
  #attemptStartedAt = 0;
  /** when the current UDP period began */
  #onSince = 0;
  #openTimer: ReturnType<typeof setTimeout> | null = null;
  #stopTimer: ReturnType<typeof setTimeout> | null = null;
  #drainTimer: ReturnType<typeof setTimeout> | null = null;
  #tickTimer: ReturnType<typeof setInterval> | null = null;
  #lossSamples: LossSample[] = [];
  #lastKeyframeRequest = -Infinity;
  #lostSeen = 0;
  #droppedSeen = 0;
  // report interval counters
  #lastReportAt = 0;
  #reportDelivered = 0;
  #reportMissing = 0;
  /** frame bytes received since the last report: what the link carried (the unit's slow-link rule) */
  #reportBytes = 0;
  #reportUdpBase = { lost: 0, delivered: 0 };
  #lastDeliveredSeq: number | null = null;
  #lastFrame: Frame | null = null;

  constructor(options: ViewerTransportOptions, handlers: ViewerTransportHandlers) {
    const udp = options.udp;
    this.#udp = udp
      ? {
          RTCPeerConnection: udp.RTCPeerConnection,
          carrier: udp.carrier ?? 'datachannel',
          rtpTap: udp.rtpTap ?? legacyRtpTap,
          rtcConfiguration: udp.rtcConfiguration ?? {},
          auto: udp.auto ?? true,
          openTimeoutMs: udp.openTimeoutMs ?? 3000,
          lossThreshold: udp.lossThreshold ?? 0.05,
          lossWindowMs: udp.lossWindowMs ?? 2000,
          retryAfterLossMinMs: udp.retryAfterLossMinMs ?? 10_000,
          retryAfterLossMaxMs: udp.retryAfterLossMaxMs ?? 120_000,
          drainMs: udp.drainMs ?? 250,
          windowFrames: udp.windowFrames ?? 16,
        }
      : null;
    this.#wanted = this.#udp?.auto ?? false;
    this.#stats.carrier = this.#udp?.carrier ?? null;
    this.#reportIntervalMs = options.reportIntervalMs ?? 2000;
    this.#keyframeIntervalMs = options.keyframeRequestIntervalMs ?? 500;
    this.#latency = options.latencyMs ?? (() => null);
    this.#now = options.now;
    this.#handlers = handlers;
  }

  get mode(): ViewerMode {
    return this.#stats.mode;
  }

  get carrier(): UdpCarrier | null {
    return this.#stats.carrier;
  }

  get stats(): UdpStats {
    const s = this.#stats;
    const seq = this.#sequencer;
    const loss = seq?.udpLoss;
    const p = this.#pastSockets;
    return {
      ...s,
      fallbacks: { ...s.fallbacks },
      chunksReceived: p.chunks + (seq?.stats.chunksReceived ?? 0),
      framesOverUdp: p.udpFrames + (seq?.stats.udpFrames ?? 0),
      framesLost: p.lost + (loss?.framesLost ?? 0),
      videoDroppedAwaitingKeyframe: p.dropped + (loss?.videoDroppedAwaitingKeyframe ?? 0),
      duplicates: p.duplicates + (seq?.stats.duplicates ?? 0),
    };
  }

  /**
   * A watch socket opened; `udpAllowed`: the CSM lists udp among the join's transports; `unitCarriers`:
   * the join's `udpCarriers` (absent: the data channel only is sure).
   */
  socketOpened(send: (message: ClientMessage) => void, udpAllowed: boolean, unitCarriers?: readonly UdpCarrier[]): void {
    this.socketClosed();
    this.#send = send;
    this.#udpAllowed = udpAllowed;
    const wanted = this.#udp?.carrier;
    if (wanted) this.#stats.carrier = wanted === 'rtp' && !unitCarriers?.includes('rtp') ? 'datachannel' : wanted;
    this.#sequencer = new FrameSequencer((frame, bytes, path) => this.#delivered(frame, bytes, path), this.#udp?.windowFrames ?? 16);
    this.#lastReportAt = this.#now();
    this.#reportDelivered = this.#reportMissing = this.#reportBytes = 0;
    this.#reportUdpBase = { lost: 0, delivered: 0 };
    this.#lastDeliveredSeq = null;
    this.#lossSamples = [];
    this.#lostSeen = this.#droppedSeen = 0;
    this.#tickTimer = setInterval(() => this.#tick(), TICK_MS);
    if (this.#wanted) this.#startAttempt();
  }

  /** The socket is gone: its UDP session too. Safe twice. */
  socketClosed(): void {
    const seq = this.#sequencer;
    if (seq) {
      const loss = seq.udpLoss;
      const p = this.#pastSockets;
      p.chunks += seq.stats.chunksReceived;
      p.udpFrames += seq.stats.udpFrames;
      p.lost += loss.framesLost;
      p.delivered += loss.framesDelivered;
      p.dropped += loss.videoDroppedAwaitingKeyframe;
      p.duplicates += seq.stats.duplicates;
    }
    this.#sequencer = null;
    this.#send = null;
    this.#endAttempt();
    if (this.#tickTimer) clearInterval(this.#tickTimer);
    this.#tickTimer = null;
    this.#setMode('tcp', 'socket closed');
  }

  /** Ends everything, timers included. */
  close(): void {
    this.socketClosed();
    this.#cancelRetry();
  }

  /** A frame from the WebSocket. */
  tcpFrame(frame: Frame, bytes: number): void {
    this.#sequencer?.tcpFrame(frame, bytes);
  }

  /** A text message of the unit (chat and the rest are not for this class). */
  unitMessage(message: UnitMessage): void {
    switch (message.t) {
      case 'udp-offer':
        if (this.#attempt !== 'negotiating' || !this.#link) return;
        this.#link.offer(message.sdp).catch((error: unknown) => this.#linkFailed(this.#link, error));
        return;
      case 'udp-candidate':
        this.#link?.remoteCandidate(message.candidate, message.mid).catch((error: unknown) => this.#handlers.error(asError(error)));
        return;
      case 'mode':
        return message.mode === 'udp' ? this.#unitUdp() : this.#unitTcp();
      default:
        return;
    }
  }

  /** Back to TCP now, and stay there until tryUdp(). */
  forceTcp(): void {
    this.#wanted = false;
    this.#cancelRetry();
    if (this.#attempt === 'negotiating' || this.#attempt === 'on') this.#fallBack('forced');
  }

  /** Try UDP now (if the socket is open, the CSM allows it, and it is not already on), and keep wanting it. */
  tryUdp(): void {
    if (!this.#udp) return;
    this.#wanted = true;
    this.#cancelRetry();
    this.#startAttempt();
  }

  #startAttempt(): void {
    const udp = this.#udp;
    const send = this.#send;
    if (!udp || !send || !this.#udpAllowed || this.#attempt !== 'idle') return;
    const carrier = this.#stats.carrier ?? 'datachannel';
    let link: UdpLink;
    try {
      link = new UdpLink({ RTCPeerConnection: udp.RTCPeerConnection, configuration: udp.rtcConfiguration, carrier, rtpTap: udp.rtpTap }, {
        signal: (message) => this.#post(message),
        chunk: (bytes) => this.#chunk(bytes),
        open: () => {},
        closed: () => this.#linkLost(link),
      });
    } catch (error) {
      this.#handlers.error(asError(error));
      this.#recordFallback('failed');
      return;
    }
    this.#link = link;
    this.#attempt = 'negotiating';
    this.#attemptStartedAt = this.#now();
    this.#stats.attempts++;
    // The data channel is asked for without a carrier, as before carriers: a unit of before them
    // refuses an unknown field (and closes the socket), and takes the bare udp-start.
    this.#post(carrier === 'datachannel' ? { t: 'udp-start' } : { t: 'udp-start', carrier });
    this.#openTimer = setTimeout(() => {
      this.#openTimer = null;
      if (this.#attempt !== 'negotiating') return;
      // The path cannot be set up from here: stop asking until the page says otherwise.
      this.#wanted = false;
      this.#fallBack('timeout');
    }, udp.openTimeoutMs);
  }

  #unitUdp(): void {
    // A drain of the previous UDP period still pending ends here, before the new period starts: its
    // timer firing later would otherwise end the new period's reassembly.
    if (this.#drainTimer || this.#drainLink) this.#finishDrainNow();
    this.#sequencer?.unitMode('udp');
    this.#clearOpenTimer();
    if (this.#attempt === 'negotiating') {
      this.#attempt = 'on';
      this.#stats.opened++;
      this.#onSince = this.#now();
      this.#stats.openMs = this.#onSince - this.#attemptStartedAt;
      // The window's baseline is the switch itself: a loss before the first tick still counts.
      this.#lossSamples = [];
      this.#sampleLoss(this.#now());
    } else if (this.#attempt === 'idle') {
      // Not ours (a stale session): the unit should not send here; tell it so.
      this.#post({ t: 'udp-stop' });
    }
    this.#setMode('udp', 'unit switched to UDP');
  }

  #unitTcp(): void {
    const seq = this.#sequencer;
    seq?.unitMode('tcp');
    if (this.#attempt === 'negotiating') this.#recordFallback('refused');
    else if (this.#attempt === 'on') this.#recordFallback('unit');
    if (this.#attempt !== 'idle') {
      const link = this.#link;
      this.#link = null;
      this.#attempt = 'idle';
      this.#clearOpenTimer();
      this.#clearStopTimer();
      if (seq?.draining && this.#udp) {
        // Frames sent on UDP before the switch may still be on their way: let them in, briefly.
        this.#drainTimer = setTimeout(() => this.#finishDrainNow(), this.#udp.drainMs);
        this.#drainLink = link;
      } else {
        link?.close();
      }
    }
    this.#setMode('tcp', 'unit switched to TCP');
  }

  #chunk(bytes: Uint8Array): void {
    const seq = this.#sequencer;
    if (!seq) return;
    seq.udpChunk(bytes);
    const lost = seq.udpLoss.framesLost;
    if (lost > this.#lostSeen) {
      this.#lostSeen = lost;
      this.#requestKeyframe();
    }
  }

  #linkLost(link: UdpLink): void {
    if (link === this.#drainLink) {
      this.#finishDrainNow();
      return;
    }
    if (link !== this.#link) return;
    this.#sequencer?.udpClosed();
    if (this.#attempt === 'negotiating' || this.#attempt === 'on') this.#fallBack('closed');
  }

  #linkFailed(link: UdpLink | null, error: unknown): void {
    this.#handlers.error(asError(error));
    if (link !== this.#link || (this.#attempt !== 'negotiating' && this.#attempt !== 'on')) return;
    this.#fallBack('failed');
  }

  /** Asks the unit for TCP; the UDP link stays until the unit's `mode: tcp` (frames may be on it until then). */
  #fallBack(reason: UdpFallbackReason): void {
    this.#recordFallback(reason);
    this.#attempt = 'stopping';
    this.#clearOpenTimer();
    this.#post({ t: 'udp-stop' });
    this.#stopTimer = setTimeout(() => {
      this.#stopTimer = null;
      if (this.#attempt !== 'stopping') return;
      this.#handlers.error(new Error(`the unit did not answer udp-stop within ${STOP_TIMEOUT_MS} ms`));
      this.#endAttempt();
    }, STOP_TIMEOUT_MS);
    if (reason === 'loss') this.#scheduleRetry();
  }

  #recordFallback(reason: UdpFallbackReason): void {
    this.#stats.fallbacks[reason]++;
    this.#stats.lastFallback = reason;
  }

  #scheduleRetry(): void {
    const udp = this.#udp;
    if (!udp) return;
    this.#cancelRetry();
    const delay = backoffDelay(this.#lossFallbacks++, { minMs: udp.retryAfterLossMinMs, maxMs: udp.retryAfterLossMaxMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      if (this.#wanted) this.#startAttempt();
    }, delay);
  }

  #cancelRetry(): void {
    if (this.#retryTimer) clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
  }

  /** Drops the attempt and its link at once (socket gone, or an unanswered stop). */
  #endAttempt(): void {
    this.#clearOpenTimer();
    this.#clearStopTimer();
    this.#finishDrainNow();
    this.#link?.close();
    this.#link = null;
    this.#attempt = 'idle';
  }

  #finishDrainNow(): void {
    if (this.#drainTimer) clearTimeout(this.#drainTimer);
    this.#drainTimer = null;
    this.#drainLink?.close();
    this.#drainLink = null;
    this.#sequencer?.finishDrain();
  }

  #delivered(frame: Frame, bytes: number, path: FramePath): void {
    const previous = this.#lastDeliveredSeq;
    if (previous !== null) {
      const skipped = (frame.seq - previous - 1) >>> 0;
      if (skipped > 0 && skipped < 2 ** 31) this.#reportMissing += skipped;
    }
    this.#lastDeliveredSeq = frame.seq;
    this.#reportDelivered++;
    this.#reportBytes += bytes;
    this.#lastFrame = frame;
    this.#handlers.deliver(frame, bytes, path);
  }

  #tick(): void {
    const seq = this.#sequencer;
    if (!seq) return;
    const now = this.#now();
    const loss = seq.udpLoss;
    if (this.#attempt === 'on' && this.#udp) {
      this.#sampleLoss(now);
      while (this.#lossSamples.length > 2 && now - this.#lossSamples[1]!.at >= this.#udp.lossWindowMs) this.#lossSamples.shift();
      const first = this.#lossSamples[0]!;
      const lost = loss.framesLost - first.lost;
      const delivered = loss.framesDelivered + loss.videoDroppedAwaitingKeyframe - first.delivered;
      this.#stats.lossShare = lost + delivered > 0 ? lost / (lost + delivered) : 0;
      const stalled = lost + delivered === 0 && seq.stats.chunksReceived - first.chunks > 0;
      if (now - first.at >= this.#udp.lossWindowMs && (this.#stats.lossShare > this.#udp.lossThreshold || stalled)) this.#fallBack('loss');
      // A UDP period as long as the longest back-off went well: the next loss starts the back-off over.
      else if (now - this.#onSince >= this.#udp.retryAfterLossMaxMs) this.#lossFallbacks = 0;
    } else {
      this.#stats.lossShare = 0;
    }
    // Still waiting for a keyframe (the last request may have been lost or rate-limited): ask again.
    if (loss.videoDroppedAwaitingKeyframe > this.#droppedSeen) {
      this.#droppedSeen = loss.videoDroppedAwaitingKeyframe;
      this.#requestKeyframe();
    }
    if (this.#reportIntervalMs > 0 && now - this.#lastReportAt >= this.#reportIntervalMs) this.#report(now, loss);
  }

  #sampleLoss(now: number): void {
    const seq = this.#sequencer;
    if (!seq) return;
    const loss = seq.udpLoss;
    this.#lossSamples.push({ at: now, lost: loss.framesLost, delivered: loss.framesDelivered + loss.videoDroppedAwaitingKeyframe, chunks: seq.stats.chunksReceived });
  }

  #report(now: number, loss: { framesLost: number; framesDelivered: number }): void {
    let share: number;
    if (this.#stats.mode === 'udp') {
      const lost = loss.framesLost - this.#reportUdpBase.lost;
      const delivered = loss.framesDelivered - this.#reportUdpBase.delivered;
      share = lost + delivered > 0 ? lost / (lost + delivered) : 0;
    } else {
      const expected = this.#reportDelivered + this.#reportMissing;
      share = expected > 0 ? this.#reportMissing / expected : 0;
    }
    const intervalMs = now - this.#lastReportAt;
    const rxKbps = intervalMs > 0 ? Math.round((this.#reportBytes * 8) / intervalMs) : 0;
    this.#reportUdpBase = { lost: loss.framesLost, delivered: loss.framesDelivered };
    this.#reportDelivered = this.#reportMissing = this.#reportBytes = 0;
    this.#lastReportAt = now;
    const latency = this.#lastFrame ? this.#latency(this.#lastFrame) : null;
    const latencyMs = latency === null || !Number.isFinite(latency) ? null : Math.min(600_000, Math.max(0, Math.round(latency)));
    this.#post({ t: 'report', mode: this.#stats.mode, loss: Math.min(1, Math.max(0, share)), latencyMs, rxKbps });
  }

  #requestKeyframe(): void {
    const now = this.#now();
    if (now - this.#lastKeyframeRequest < this.#keyframeIntervalMs) return;
    this.#lastKeyframeRequest = now;
    this.#stats.keyframeRequests++;
    this.#post({ t: 'keyframe' });
  }

  #setMode(mode: ViewerMode, why: string): void {
    if (this.#stats.mode === mode) return;
    this.#stats.mode = mode;
    this.#handlers.modeChanged(mode, why);
  }

  #post(message: ClientMessage): void {
    try {
      this.#send?.(message);
    } catch (error) {
      this.#handlers.error(asError(error));
    }
  }

  #clearOpenTimer(): void {
    if (this.#openTimer) clearTimeout(this.#openTimer);
    this.#openTimer = null;
  }

  #clearStopTimer(): void {
    if (this.#stopTimer) clearTimeout(this.#stopTimer);
    this.#stopTimer = null;
  }
}

function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
