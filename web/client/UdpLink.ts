/**
 * The viewer's side of one UDP session with its unit: the unit offers, this answers.
 * `offer(sdp)` applies the unit's offer and produces the answer; the unit's candidates go through
 * `remoteCandidate`. Everything to send to the unit comes out of `signal`: the answer first, then this
 * side's candidates (held until the answer is out — the unit refuses a candidate before the answer).
 * The unit's candidates are held until its offer is applied, for the same reason here.
 *
 * The chunks come on one of two carriers (`udp-start`'s `carrier`, protocol/chunk-rtp.ts):
 * - `datachannel`: the unit creates a data channel; it arrives through `ondatachannel`, each message
 *   a chunk; open when the channel is;
 * - `rtp`: the unit offers one sendonly video track, each RTP packet a chunk. A browser hands a
 *   track's packets to JavaScript only through an encoded transform: the injected RtpTap (rtp-tap.ts;
 *   default Chromium's legacy `createEncodedStreams()`, the watch page's standard
 *   RTCRtpScriptTransform) turns the track's receiver, inside `ontrack`, into a reader of encoded
 *   frames ([0x01, chunk…]); nothing goes on to a decoder. Open when the connection is connected
 *   (DTLS-SRTP up) and the track has arrived.
 * Chunks are handed on as bytes (`chunk`); `open` and `closed` report the session's life. `close()`
 * ends it quietly. Environment-free: the RTCPeerConnection constructor and the tap are injected (rtc.ts;
 * in Node, node-datachannel's polyfill for data channels, NodeRtpPeerConnection for RTP).
 */
import { chunkOfEncodedFrame } from '../../protocol/chunk-rtp.js';
import type { ClientMessage, UdpCarrier } from '../../protocol/media-messages.js';
import type { RtcDataChannelLike, RtcEncodedFrameLike, RtcPeerConnectionConstructor, RtcPeerConnectionLike, RtcReaderLike, RtcTrackEventLike } from './rtc.js';
import { legacyRtpTap, type RtpTap } from './rtp-tap.js';
import { messageBytes } from './socket.js';

export interface UdpLinkOptions {
  RTCPeerConnection: RtcPeerConnectionConstructor;
  /** merged into `{ iceServers: [] }` */
  configuration: Record<string, unknown>;
  carrier: UdpCarrier;
  /** how the rtp carrier's packets are read (default legacyRtpTap); unused on the data channel */
  rtpTap?: RtpTap;
}

export interface UdpLinkHandlers {
  signal(message: Extract<ClientMessage, { t: 'udp-answer' | 'udp-candidate' }>): void;
  chunk(bytes: Uint8Array): void;
  open(): void;
  /** the data channel closed, the track's frames ended or the peer connection failed (not after close()) */
  closed(why: string): void;
}

export class UdpLink {
  readonly #pc: RtcPeerConnectionLike;
  readonly #handlers: UdpLinkHandlers;
  readonly #tap: RtpTap;
  readonly carrier: UdpCarrier;
  #dc: RtcDataChannelLike | null = null;
  /** the RTP carrier's frames, once its track arrived */
  #frames: RtcReaderLike<RtcEncodedFrameLike> | null = null;
  #closed = false;
  #opened = false;
  #answerSent = false;
  #offerApplied = false;
  #localCandidates: { candidate: string; mid: string }[] = [];
  #remoteCandidates: { candidate: string; sdpMid: string }[] = [];

  constructor(options: UdpLinkOptions, handlers: UdpLinkHandlers) {
    this.#handlers = handlers;
    this.carrier = options.carrier;
    this.#tap = options.rtpTap ?? legacyRtpTap;
    const rtp = options.carrier === 'rtp';
    const pc = new options.RTCPeerConnection({ iceServers: [], ...options.configuration, ...(rtp ? this.#tap.configuration : {}) });
    this.#pc = pc;
    pc.onicecandidate = (event: { candidate?: { candidate?: string; sdpMid?: string | null } | null }) => {
      const c = event.candidate;
      // A null or empty candidate marks the end of gathering: nothing to send.
      if (this.#closed || !c?.candidate) return;
      const local = { candidate: c.candidate, mid: c.sdpMid ?? '0' };
      if (this.#answerSent) this.#handlers.signal({ t: 'udp-candidate', ...local });
      else this.#localCandidates.push(local);
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      if (state === 'failed' || state === 'closed') this.#lost(`peer connection ${state}`);
      else if (state === 'connected' && this.#frames) this.#open();
    };
    if (rtp) pc.ontrack = (event: RtcTrackEventLike) => this.#track(event);
    else pc.ondatachannel = (event: { channel: RtcDataChannelLike }) => this.#channel(event.channel);
  }

  get isOpen(): boolean {
    return this.#opened && !this.#closed;
  }

  /** Applies the unit's offer and sends the answer. Rejects when the browser refuses the offer. */
  async offer(sdp: string): Promise<void> {
    if (this.#closed) return;
    await this.#pc.setRemoteDescription({ type: 'offer', sdp });
    this.#offerApplied = true;
    for (const c of this.#remoteCandidates.splice(0)) await this.#addRemote(c);
    const answer = await this.#pc.createAnswer();
    if (this.#closed) return;
    await this.#pc.setLocalDescription(answer);
    if (this.#closed || !answer.sdp) return;
    this.#handlers.signal({ t: 'udp-answer', sdp: answer.sdp });
    this.#answerSent = true;
    for (const c of this.#localCandidates.splice(0)) this.#handlers.signal({ t: 'udp-candidate', ...c });
  }

  async remoteCandidate(candidate: string, mid: string): Promise<void> {
    if (this.#closed || candidate === '') return;
    const c = { candidate, sdpMid: mid };
    if (!this.#offerApplied) this.#remoteCandidates.push(c);
    else await this.#addRemote(c);
  }

  /** Ends the session without reporting it. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const dc = this.#dc;
    if (dc) dc.onopen = dc.onclose = dc.onerror = dc.onmessage = null;
    this.#pc.onicecandidate = this.#pc.onconnectionstatechange = this.#pc.ondatachannel = this.#pc.ontrack = null;
    // The reader's pending read resolves as done; its loop sees #closed and reports nothing.
    this.#frames?.cancel().catch(() => {});
    try {
      dc?.close();
      this.#pc.close();
    } catch {
      // already closed
    }
  }

  async #addRemote(c: { candidate: string; sdpMid: string }): Promise<void> {
    if (this.#closed) return;
    await this.#pc.addIceCandidate(c);
  }

  #channel(dc: RtcDataChannelLike): void {
    if (this.#closed || this.#dc) return;
    this.#dc = dc;
    dc.binaryType = 'arraybuffer';
    dc.onmessage = (event: { data?: unknown }) => {
      if (this.#closed) return;
      const bytes = messageBytes(event.data);
      if (bytes) this.#handlers.chunk(bytes);
    };
    dc.onopen = () => this.#open();
    dc.onclose = () => this.#lost('data channel closed');
    dc.onerror = () => this.#lost('data channel error');
    // node-datachannel hands the channel over already open, and fires no open event after.
    if (dc.readyState === 'open') this.#open();
  }

  #track(event: RtcTrackEventLike): void {
    if (this.#closed || this.#frames) return;
    let reader: RtcReaderLike<RtcEncodedFrameLike>;
    try {
      // Synchronously, inside ontrack: later, Chromium ignores a script transform or refuses
      // createEncodedStreams() (rtp-tap.ts).
      reader = this.#tap.open(event.receiver);
    } catch (error) {
      return this.#lost(`rtp tap failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    this.#frames = reader;
    void this.#readFrames(reader);
    if (this.#pc.connectionState === 'connected') this.#open();
  }

  async #readFrames(reader: RtcReaderLike<RtcEncodedFrameLike>): Promise<void> {
    for (;;) {
      let next: { done: boolean; value?: RtcEncodedFrameLike };
      try {
        next = await reader.read();
      } catch {
        return this.#lost('track error');
      }
      if (next.done) return this.#lost('track ended');
      if (this.#closed) return;
      // A frame not shaped as a chunk packet is skipped, as a stray datagram would be.
      const chunk = next.value ? chunkOfEncodedFrame(new Uint8Array(next.value.data)) : null;
      if (chunk) this.#handlers.chunk(chunk);
    }
  }

  #open(): void {
    if (this.#closed || this.#opened) return;
    this.#opened = true;
    this.#handlers.open();
  }

  #lost(why: string): void {
    if (this.#closed) return;
    this.close();
    this.#handlers.closed(why);
  }
}
