/**
 * One UDP viewer's WebRTC session on the unit: a node-datachannel PeerConnection with no ICE servers
 * (the unit is directly reachable, so its host candidates are enough) and one way for chunks to go,
 * the viewer's `carrier`:
 *   datachannel  one data channel that the unit creates — unordered, no retransmissions (a late frame
 *                is a lost frame); creating it makes libdatachannel negotiate on its own
 *   rtp          one sendonly VP8 video track whose packets each carry a chunk (protocol/chunk-rtp.ts):
 *                SRTP without SCTP, about a third of the unit's cost per packet; nothing queues on the
 *                unit's side (bufferedAmount stays 0), so a congested viewer is known by its reports
 *
 * The offer comes out of `onLocalDescription`, then candidates out of `onLocalCandidate`; both go to
 * the viewer through `signal`, the candidates once the viewer's answer is in. The answer and the
 * viewer's candidates come back through `applyAnswer` and `addCandidate`, which throw a UdpError on
 * anything libdatachannel refuses that is the viewer's doing.
 *
 * `end(reason)` is called at most once, when the session ends by itself (the channel or track closed
 * or failed, the peer connection failed, no open within the signalling timeout). `close()` ends it
 * from outside and calls nothing. node-datachannel calls back from its own threads through the event
 * loop, possibly after close(): every callback checks the state first and never throws into the
 * native side. The Track and DataChannel objects are held here for the session's life: node-datachannel
 * cancels the callbacks of one that JavaScript garbage-collects; both are also held past it, until
 * their close is reported (protocol/native-channels.ts).
 */
import { PeerConnection, Video, type DataChannel, type RtcConfig, type Track } from 'node-datachannel';
import { CHUNK_RTP_MID, CHUNK_RTP_PAYLOAD_TYPE, CHUNK_RTP_SSRC, numberRtpPacket } from '../../../protocol/chunk-rtp.js';
import { holdUntilClosed } from '../../../protocol/native-channels.js';
import type { UdpCarrier, UnitMessage } from '../../../protocol/media-messages.js';
import type { Logger } from '../../../protocol/logger.js';
import { UdpError } from './errors.js';
import type { UdpOptions } from './udp-options.js';

export type UdpSessionState = 'offering' | 'answered' | 'open' | 'closed';

/** Why a session ended by itself. */
export type UdpSessionEnd = 'timeout' | 'failed' | 'closed';

export interface UdpSessionHandlers {
  /** an offer or a candidate for the viewer */
  signal(message: Extract<UnitMessage, { t: 'udp-offer' | 'udp-candidate' }>): void;
  /** the data channel or track is open: frames may go */
  open(): void;
  /** the data channel's buffer fell to the low threshold */
  drain(): void;
  end(reason: UdpSessionEnd, detail: string): void;
}

export const DATA_CHANNEL_LABEL = 'media';

export class UdpSession {
  readonly startedAt = performance.now();
  openedAt: number | null = null;
  #state: UdpSessionState = 'offering';
  readonly #pc: PeerConnection;
  /** the data channel or the track the chunks go on */
  readonly #media: DataChannel | Track;
  readonly #handlers: UdpSessionHandlers;
  readonly #logger: Logger;
  #offerSent = false;
  /**
   * Local candidates, held until the viewer's answer is applied. A viewer that knew them earlier
   * would connect ICE before this side has its answer; libdatachannel then sometimes starts DTLS
   * in that window and the handshake fails its certificate check (seen on loopback, about one
   * session in ten). Holding them costs one round trip of setup.
   */
  #heldCandidates: { candidate: string; mid: string }[] = [];
  #timer: NodeJS.Timeout | null;
  #lingerTimer: NodeJS.Timeout | null = null;
  #released = false;
  chunksSent = 0;
  bytesSent = 0;
  /** packets sent on the track so far: the next one's number (rtp carrier) */
  #rtpPackets = 0;

  /** `port`: the unit's one UDP port, shared by every session (ICE UDP mux) */
  constructor(
    name: string,
    readonly carrier: UdpCarrier,
    options: Readonly<UdpOptions>,
    port: number,
    handlers: UdpSessionHandlers,
    logger: Logger,
  ) {
    this.#handlers = handlers;
    this.#logger = logger;
    const config: RtcConfig = { iceServers: [], enableIceUdpMux: true, portRangeBegin: port, portRangeEnd: port };
    if (options.bindAddress) config.bindAddress = options.bindAddress;
    this.#pc = new PeerConnection(name, config);
    this.#pc.onLocalDescription((sdp, type) => this.#guard('local description', () => this.#localDescription(sdp, type)));
    this.#pc.onLocalCandidate((candidate, mid) => this.#guard('local candidate', () => this.#localCandidate(candidate, mid)));
    this.#pc.onStateChange((state) =>
      this.#guard('state', () => {
        // libdatachannel has no ICE restart: disconnected does not come back, and failing over to
        // TCP at once beats a frozen picture while it makes up its mind.
        if (state === 'failed' || state === 'disconnected' || state === 'closed') this.#end('failed', `peer connection ${state}`);
      }),
    );
    try {
      this.#media = carrier === 'rtp' ? this.#addTrack() : this.#pc.createDataChannel(DATA_CHANNEL_LABEL, { unordered: true, maxRetransmits: 0 });
    } catch (error) {
      this.#pc.close();
      throw error;
    }
    const media = this.#media;
    media.onOpen(() =>
      this.#guard('open', () => {
        if (this.#state === 'closed') return;
        this.#state = 'open';
        this.openedAt = performance.now();
        this.#clearTimer();
        this.#handlers.open();
      }),
    );
    const closed = (): void => this.#guard('closed', () => this.#end('closed', `${this.#what} closed`));
    holdUntilClosed(media, closed);
    media.onError((message) => this.#guard('error', () => this.#end('failed', `${this.#what} error: ${message}`)));
    if (carrier === 'datachannel') {
      // node-datachannel's Track has neither (its typings say otherwise): nothing queues on a track.
      const dc = media as DataChannel;
      dc.setBufferedAmountLowThreshold(Math.floor(options.sendBound / 2));
      dc.onBufferedAmountLow(() =>
        this.#guard('drain', () => {
          if (this.#state === 'open') this.#handlers.drain();
        }),
      );
    }
    // A track, unlike a data channel, does not start the negotiation by itself.
    if (carrier === 'rtp')
      try {
        this.#pc.setLocalDescription();
      } catch (error) {
        this.#pc.close();
        throw error;
      }
    this.#timer = setTimeout(() => this.#end('timeout', `not open after ${options.signallingTimeoutMs} ms`), options.signallingTimeoutMs);
    this.#timer.unref();
  }

  get state(): UdpSessionState {
    return this.#state;
  }

  /** the peer connection is closed for good (after any linger) */
  get released(): boolean {
    return this.#released;
  }

  get isOpen(): boolean {
    return this.#state === 'open';
  }

  /**
   * The data channel takes messages now. Asked before each frame: the channel may have closed on
   * libdatachannel's thread while its close event is still queued for this one.
   */
  writable(): boolean {
    return this.#state === 'open' && this.#media.isOpen();
  }

  /** Closes the peer connection the way a network failure would: the close events that follow end the session. */
  closePeerConnection(): void {
    if (this.#state !== 'closed') this.#pc.close();
  }

  /** bytes accepted by the data channel and not sent yet; 0 once closed, and always on a track (nothing queues) */
  bufferedAmount(): number {
    return this.#state === 'open' && this.carrier === 'datachannel' ? this.#media.bufferedAmount() : 0;
  }

  /** the viewer's SDP answer */
  applyAnswer(sdp: string): void {
    if (this.#state !== 'offering') throw new UdpError('UDP_ERR_ANSWER_TWICE');
    try {
      this.#pc.setRemoteDescription(sdp, 'answer');
    } catch (error) {
      throw new UdpError('UDP_ERR_BAD_ANSWER', nativeMessage(error));
    }
    this.#state = 'answered';
    const held = this.#heldCandidates;
    this.#heldCandidates = [];
    for (const c of held) this.#handlers.signal({ t: 'udp-candidate', ...c });
  }

  /** one of the viewer's ICE candidates; an empty one (end of candidates) is ignored */
  addCandidate(candidate: string, mid: string): void {
    if (this.#state === 'offering') throw new UdpError('UDP_ERR_CANDIDATE_BEFORE_ANSWER');
    if (candidate === '' || this.#state === 'closed') return;
    try {
      this.#pc.addRemoteCandidate(candidate, mid);
    } catch (error) {
      // A transport that just failed (its event still queued) refuses candidates too: not the viewer's doing.
      if (!/invalid candidate/i.test(nativeMessage(error))) {
        this.#logger.debug({ err: error }, 'remote candidate not applied');
        return;
      }
      throw new UdpError('UDP_ERR_BAD_CANDIDATE', nativeMessage(error));
    }
  }

  /**
   * Sends a frame's chunks, one message or RTP packet each (ChunkCache made them for this carrier).
   * node-datachannel copies each (so the caller's buffers may change afterwards); a data channel
   * returns false when it queued rather than sent at once, which is not a failure. Throws when the
   * channel or track is not open.
   */
  send(messages: readonly Buffer[], bytes: number): void {
    const media = this.#media;
    if (this.carrier === 'rtp')
      for (const packet of messages) {
        // The shared packet numbered for this viewer, then copied by the send: see chunk-rtp.ts.
        numberRtpPacket(packet, this.#rtpPackets++);
        media.sendMessageBinary(packet);
      }
    else for (const message of messages) media.sendMessageBinary(message);
    this.chunksSent += messages.length;
    this.bytesSent += bytes;
  }

  /**
   * Ends the session from outside: no `end` callback. Safe twice. With `lingerMs` the peer connection
   * stays up that long first (nothing more is sent): what the data channel still queues then reaches
   * the viewer instead of dying with the association.
   */
  close(lingerMs = 0): void {
    if (this.#state === 'closed') {
      if (lingerMs === 0 && this.#lingerTimer) this.#release();
      return;
    }
    this.#state = 'closed';
    this.#clearTimer();
    if (lingerMs <= 0) return this.#release();
    this.#lingerTimer = setTimeout(() => this.#release(), lingerMs);
    this.#lingerTimer.unref();
  }

  #localDescription(sdp: string, type: string): void {
    if (this.#state === 'closed' || type !== 'offer' || this.#offerSent) return;
    this.#offerSent = true;
    this.#handlers.signal({ t: 'udp-offer', sdp });
  }

  #localCandidate(line: string, mid: string): void {
    if (this.#state === 'closed') return;
    // libdatachannel writes the SDP attribute line ("a=candidate:…"); browsers' addIceCandidate wants the bare "candidate:…".
    const candidate = line.startsWith('a=') ? line.slice(2) : line;
    if (this.#state === 'offering') this.#heldCandidates.push({ candidate, mid });
    else this.#handlers.signal({ t: 'udp-candidate', candidate, mid });
  }

  #end(reason: UdpSessionEnd, detail: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#release();
    this.#handlers.end(reason, detail);
  }

  #release(): void {
    this.#clearTimer();
    if (this.#lingerTimer) clearTimeout(this.#lingerTimer);
    this.#lingerTimer = null;
    if (this.#released) return;
    this.#released = true;
    try {
      this.#media.close();
      this.#pc.close();
    } catch (error) {
      this.#logger.warn({ err: error }, 'closing a peer connection failed');
    }
  }

  /** The sendonly VP8 track of the rtp carrier; the viewer's browser takes its packets through an encoded transform. */
  #addTrack(): Track {
    const video = new Video(CHUNK_RTP_MID, 'SendOnly');
    video.addVP8Codec(CHUNK_RTP_PAYLOAD_TYPE);
    video.addSSRC(CHUNK_RTP_SSRC, 'onair', 'onair', CHUNK_RTP_MID);
    return this.#pc.addTrack(video);
  }

  get #what(): string {
    return this.carrier === 'rtp' ? 'track' : 'data channel';
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A callback from node-datachannel: a throw here would surface as an uncaught exception. */
  #guard(what: string, fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.#logger.error({ err: error, what }, 'UDP session callback failed');
    }
  }
}

/** libdatachannel's errors read "libdatachannel error while …: <reason>"; the reason is what a viewer can act on. */
function nativeMessage(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  const at = text.lastIndexOf(': ');
  return (at >= 0 ? text.slice(at + 2) : text).slice(0, 80);
}
