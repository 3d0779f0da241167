/**
 * One UDP viewer of the load generator: the watch WebSocket on a raw socket (raw-ws-viewer.ts) for
 * signalling, and a node-datachannel PeerConnection (the native API: no polyfill objects per message)
 * for the frames, as web/client/ViewerTransport.ts and UdpLink.ts do in a page:
 *
 *   socket open → `udp-start` (with the viewer's `carrier`) → unit `udp-offer` → this side's answer
 *   (`udp-answer`), then its candidates → unit `udp-candidate`s → data channel or media track →
 *   unit `{t:"mode",mode:"udp"}`.
 *
 * The carrier (protocol/media-messages.ts) is how the chunks travel: `datachannel`, one message each
 * on the data channel the unit creates; `rtp`, one RTP packet each on the sendonly VP8 track the unit
 * offers, whose chunk `chunkOfRtpPacket` (protocol/chunk-rtp.ts) takes out without a copy. The
 * native Track is held in `#track` for as long as the viewer wants its packets: node-datachannel
 * silently stops calling the onMessage of a Track that is garbage-collected.
 *
 * Frames the WebSocket still delivers before the switch go to `onBinary` (counted as the TCP path
 * counts them, seq gaps included) and are counted in `wsFramesBeforeUdp`. From `mode: udp` on, the
 * chunks of either carrier go through UdpFrameCounter (udp-frames.ts), which starts right after the
 * last WebSocket frame: whole frames to `onUdpFrame`, given-up seqs to `onUdpLost`, every chunk to
 * `onUdpChunk` (an RTP packet that is no chunk counts as a bad one; RTCP is passed over). Chunks that
 * overtake the `mode` message are held (at most MAX_EARLY_CHUNKS) until it comes. A later
 * `mode: tcp` (the unit's side failed) ends the UDP period: what is still undecided is counted lost,
 * and the WebSocket's frames count again. The viewer never asks for TCP itself
 * except when the unit has not switched within UDP_OPEN_TIMEOUT_MS (`udp-stop`, state `failed`).
 *
 * node-datachannel calls back from its own threads through the event loop, possibly after close():
 * every callback checks `#closed` first. The process that made peer connections calls
 * `cleanupPeerConnections()` before it exits.
 */
import { cleanup, PeerConnection, type DataChannel, type Track } from 'node-datachannel';
import { chunkOfRtpPacket } from '../../../protocol/chunk-rtp.js';
import { holdUntilClosed } from '../../../protocol/native-channels.js';
import { peekFrameHeader } from '../../../protocol/media-frame.js';
import { encodeMessage, parseUnitMessage, type ClientMessage, type UdpCarrier } from '../../../protocol/media-messages.js';
import { RawWsViewer } from './raw-ws-viewer.js';
import { UdpFrameCounter } from './udp-frames.js';
import type { UdpState, ViewerConnection, ViewerHandlers } from './viewer-transport.js';

/** udp-start → `mode: udp`: past this the viewer gives up (the unit's own signalling timeout is 10 s) */
export const UDP_OPEN_TIMEOUT_MS = 10_000;
const MAX_EARLY_CHUNKS = 4096;

let peerConnectionsMade = 0;

/** node-datachannel's process-wide cleanup, once every peer connection is closed; only if any was made. */
export function cleanupPeerConnections(): void {
  if (peerConnectionsMade > 0) cleanup();
}

export class UdpViewer implements ViewerConnection {
  readonly #handlers: ViewerHandlers;
  readonly #ws: RawWsViewer;
  readonly #counter: UdpFrameCounter;
  readonly #carrier: UdpCarrier;
  #pc: PeerConnection | null = null;
  #dc: DataChannel | null = null;
  #track: Track | null = null;
  #state: UdpState = 'negotiating';
  #mode: 'tcp' | 'udp' = 'tcp';
  #closed = false;
  #answered = false;
  #heldCandidates: { candidate: string; mid: string }[] = [];
  #early: { bytes: Buffer; readAt: number }[] = [];
  #lastWsSeq = -1;
  #timer: NodeJS.Timeout | null = null;
  wsFramesBeforeUdp = 0;
  /** `mode: tcp` after `mode: udp` */
  fallbacks = 0;

  constructor(url: string, handlers: ViewerHandlers, carrier: UdpCarrier) {
    this.#handlers = handlers;
    this.#carrier = carrier;
    this.#counter = new UdpFrameCounter({
      frame: (bytes, readAt) => this.#handlers.onUdpFrame(bytes, readAt),
      lost: (frames) => this.#handlers.onUdpLost(frames),
      chunk: (bytes, outcome) => this.#handlers.onUdpChunk(bytes, outcome),
    });
    this.#ws = new RawWsViewer(url, {
      onOpen: () => {
        this.#handlers.onOpen();
        this.#send({ t: 'udp-start', carrier: this.#carrier });
        this.#timer = setTimeout(() => this.#openTimedOut(), UDP_OPEN_TIMEOUT_MS);
      },
      onBinary: (message, readAt) => this.#wsFrame(message, readAt),
      onText: (text) => this.#text(text),
      onClose: (code, reason) => {
        this.#closed = true;
        this.#closePeer();
        this.#handlers.onClose(code, reason);
      },
    });
  }

  get localPort(): number | undefined {
    return this.#ws.localPort;
  }

  get udpState(): UdpState {
    return this.#state;
  }

  get mode(): 'tcp' | 'udp' {
    return this.#mode;
  }

  open(): void {
    this.#ws.open();
  }

  close(): void {
    this.#closed = true;
    this.#closePeer();
    this.#ws.close();
  }

  #wsFrame(message: Buffer, readAt: number): void {
    if (this.#mode === 'tcp') {
      try {
        this.#lastWsSeq = peekFrameHeader(message).seq;
      } catch {
        // counted as a bad frame by the handler
      }
      if (this.#state === 'negotiating') this.wsFramesBeforeUdp++;
    }
    this.#handlers.onBinary(message, readAt);
  }

  #text(text: string): void {
    if (this.#closed) return;
    const message = parseUnitMessage(text);
    if (!message) return;
    switch (message.t) {
      case 'udp-offer':
        return this.#offer(message.sdp);
      case 'udp-candidate':
        if (message.candidate === '' || !this.#pc) return;
        try {
          this.#pc.addRemoteCandidate(message.candidate, message.mid);
        } catch {
          // a transport that just failed refuses candidates: its state change follows
        }
        return;
      case 'mode':
        return message.mode === 'udp' ? this.#toUdp() : this.#toTcp();
      default:
        return;
    }
  }

  #offer(sdp: string): void {
    if (this.#pc || this.#state !== 'negotiating') return;
    let pc: PeerConnection;
    try {
      pc = new PeerConnection('bench-viewer', { iceServers: [], bindAddress: '127.0.0.1' });
    } catch {
      return this.#fail();
    }
    peerConnectionsMade++;
    this.#pc = pc;
    pc.onLocalDescription((answer, type) => {
      if (this.#closed || this.#answered || type !== 'answer') return;
      this.#answered = true;
      this.#send({ t: 'udp-answer', sdp: answer });
      for (const c of this.#heldCandidates.splice(0)) this.#send({ t: 'udp-candidate', ...c });
    });
    pc.onLocalCandidate((candidate, mid) => {
      if (this.#closed) return;
      if (this.#answered) this.#send({ t: 'udp-candidate', candidate, mid });
      else this.#heldCandidates.push({ candidate, mid });
    });
    if (this.#carrier === 'rtp') {
      pc.onTrack((track) => {
        // Held past its close too: a Track collected before that crashes node-datachannel's cleanup().
        holdUntilClosed(track);
        if (this.#closed || this.#track) return;
        this.#track = track;
        track.onMessage((packet) => {
          if (this.#closed) return;
          const chunk = chunkOfRtpPacket(packet);
          if (chunk) this.#chunk(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), performance.now());
          else if (!isRtcp(packet)) this.#handlers.onUdpChunk(packet.length, 'bad');
        });
      });
    } else {
      pc.onDataChannel((dc) => {
        if (this.#closed || this.#dc) return;
        this.#dc = dc;
        dc.onMessage((message) => {
          if (this.#closed || typeof message === 'string') return;
          this.#chunk(Buffer.isBuffer(message) ? message : Buffer.from(message), performance.now());
        });
      });
    }
    try {
      // libdatachannel answers by itself (onLocalDescription) once the offer is applied.
      pc.setRemoteDescription(sdp, 'offer');
    } catch {
      this.#fail();
    }
  }

  /** One chunk off either carrier: counted once in UDP mode, held until then. */
  #chunk(bytes: Buffer, readAt: number): void {
    if (this.#mode === 'udp') this.#counter.chunk(bytes, readAt);
    else if (this.#state === 'negotiating' && this.#early.length < MAX_EARLY_CHUNKS) this.#early.push({ bytes, readAt });
  }

  #toUdp(): void {
    if (this.#state !== 'negotiating') return;
    this.#clearTimer();
    this.#state = 'udp';
    this.#mode = 'udp';
    if (this.#lastWsSeq >= 0) this.#counter.startAt(this.#lastWsSeq + 1);
    this.#handlers.onMode('udp', performance.now());
    for (const { bytes, readAt } of this.#early.splice(0)) this.#counter.chunk(bytes, readAt);
  }

  #toTcp(): void {
    this.#clearTimer();
    this.#early = [];
    if (this.#state === 'negotiating') this.#state = 'refused';
    else if (this.#state === 'udp') {
      this.#state = 'fallback';
      this.fallbacks++;
    }
    if (this.#mode === 'udp') {
      this.#mode = 'tcp';
      this.#counter.flush();
      this.#handlers.onMode('tcp', performance.now());
    }
    this.#closePeer();
  }

  #openTimedOut(): void {
    this.#timer = null;
    if (this.#closed || this.#state !== 'negotiating') return;
    this.#send({ t: 'udp-stop' });
    this.#fail();
  }

  #fail(): void {
    this.#clearTimer();
    if (this.#state === 'negotiating') this.#state = 'failed';
    this.#closePeer();
  }

  #send(message: ClientMessage): void {
    this.#ws.sendText(encodeMessage(message));
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Ends the peer connection's side, data channel or track (not the socket). Safe twice. */
  #closePeer(): void {
    this.#clearTimer();
    const pc = this.#pc;
    const dc = this.#dc;
    const track = this.#track;
    this.#pc = null;
    this.#dc = null;
    this.#track = null;
    try {
      dc?.close();
      track?.close();
      pc?.close();
    } catch {
      // already closed
    }
  }
}

/** An RTCP packet on the track's transport (RFC 5761 §4: its second byte is 192–223). */
function isRtcp(packet: Buffer): boolean {
  const second = packet[1] ?? 0;
  return second >= 192 && second <= 223;
}
