/**
 * The RTP carrier for the client in Node: an RtcPeerConnectionLike over node-datachannel's native
 * PeerConnection (its polyfill RTCPeerConnection has no tracks), shaped like the browser's so that
 * UdpLink's RTP code is the same in both. The track's receiver offers `createEncodedStreams()`, whose
 * readable gives each RTP packet as the encoded frame Chromium's VP8 depacketizer would hand over:
 * [0x01, chunk…] (protocol/chunk-rtp.ts). Answer side only — the unit always offers.
 *
 * Node only (it loads the native addon): tests and tools pass it as `udp.RTCPeerConnection` with
 * `carrier: 'rtp'`; the pages never import it. `configuration` is node-datachannel's RtcConfig
 * (`iceServers` as URL strings, `bindAddress`, …); `encodedInsertableStreams` is accepted and needs
 * nothing here.
 */
import { randomUUID } from 'node:crypto';
import { ReadableStream, type ReadableStreamDefaultController } from 'node:stream/web';
import { PeerConnection, type RtcConfig, type Track } from 'node-datachannel';
import { chunkOfRtpPacket } from '../../protocol/chunk-rtp.js';
import { holdUntilClosed } from '../../protocol/native-channels.js';
import type { RtcEncodedFrameLike, RtcPeerConnectionLike, RtcSessionDescriptionLike, RtcTrackEventLike } from './rtc.js';

/**
 * Packets the readable holds for a reader that is behind; more are dropped, as a full socket buffer
 * drops datagrams (the client counts the frames lost and asks for a keyframe).
 */
const QUEUED_FRAMES_MAX = 4096;

export class NodeRtpPeerConnection implements RtcPeerConnectionLike {
  connectionState = 'new';
  ondatachannel: ((event: unknown) => void) | null = null;
  ontrack: ((event: RtcTrackEventLike) => void) | null = null;
  onicecandidate: ((event: { candidate: { candidate: string; sdpMid: string } | null }) => void) | null = null;
  onconnectionstatechange: ((event: unknown) => void) | null = null;
  readonly #pc: PeerConnection;
  readonly #answer: Promise<RtcSessionDescriptionLike>;
  /**
   * Every track the peer connection handed over, held for its life. node-datachannel cancels a
   * Track's callbacks silently when the JavaScript object is garbage-collected: with no reference
   * here, packets stop arriving after a few thousand, with no error and no close.
   */
  readonly #tracks: Track[] = [];
  readonly #streams: ReadableStreamDefaultController<RtcEncodedFrameLike>[] = [];
  #closed = false;

  constructor(configuration: Partial<RtcConfig> & { encodedInsertableStreams?: boolean } = {}) {
    const { encodedInsertableStreams: _, ...config } = configuration;
    this.#pc = new PeerConnection(`onair-rtp-${randomUUID()}`, { iceServers: [], ...config });
    this.#answer = new Promise((resolve) => {
      this.#pc.onLocalDescription((sdp, type) => {
        if (type === 'answer') resolve({ type, sdp });
      });
    });
    this.#pc.onLocalCandidate((candidate, mid) => {
      // libdatachannel writes the SDP line ("a=candidate:…"); a browser's candidate has no "a=".
      if (!this.#closed) this.onicecandidate?.({ candidate: { candidate: candidate.replace(/^a=/, ''), sdpMid: mid } });
    });
    this.#pc.onStateChange((state) => {
      if (this.#closed) return;
      this.connectionState = state;
      this.onconnectionstatechange?.({});
    });
    this.#pc.onTrack((track) => this.#track(track));
  }

  /** libdatachannel answers an offer by itself: the answer comes out of onLocalDescription. */
  async setRemoteDescription(description: { type: 'offer'; sdp: string }): Promise<void> {
    this.#pc.setRemoteDescription(description.sdp, description.type);
  }

  createAnswer(): Promise<RtcSessionDescriptionLike> {
    return this.#answer;
  }

  /** The answer is already the local description (libdatachannel set it). */
  async setLocalDescription(): Promise<void> {}

  async addIceCandidate(candidate: { candidate: string; sdpMid: string }): Promise<void> {
    this.#pc.addRemoteCandidate(candidate.candidate, candidate.sdpMid);
  }

  /** Safe twice. The tracks stay held until their close is reported (protocol/native-channels.ts). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.connectionState = 'closed';
    for (const stream of this.#streams.splice(0)) closeQuietly(stream);
    for (const track of this.#tracks.splice(0)) track.close();
    this.#pc.close();
  }

  #track(track: Track): void {
    // Its close ends the stream made of it, if any (#frames); held until then, whatever happens here.
    let stream: ReadableStreamDefaultController<RtcEncodedFrameLike> | null = null;
    holdUntilClosed(track, () => stream && closeQuietly(stream));
    if (this.#closed) {
      track.close();
      return;
    }
    this.#tracks.push(track);
    let opened = false;
    const receiver = {
      createEncodedStreams: () => {
        // As Chromium does (InvalidStateError): a second call would break the pages, so it breaks here too.
        if (opened) throw new Error('createEncodedStreams: already called for this receiver');
        opened = true;
        const { readable, controller } = this.#frames(track);
        stream = controller;
        return { readable };
      },
    };
    this.ontrack?.({ receiver });
  }

  /** The track's packets as encoded frames, from the moment this is called. */
  #frames(track: Track): { readable: ReadableStream<RtcEncodedFrameLike>; controller: ReadableStreamDefaultController<RtcEncodedFrameLike> } {
    let controller!: ReadableStreamDefaultController<RtcEncodedFrameLike>;
    const readable = new ReadableStream<RtcEncodedFrameLike>({ start: (c) => void (controller = c) }, { highWaterMark: QUEUED_FRAMES_MAX });
    this.#streams.push(controller);
    track.onMessage((packet) => {
      const chunk = chunkOfRtpPacket(packet);
      if (!chunk || this.#closed || (controller.desiredSize ?? 0) <= 0) return;
      // From the VP8 frame tag (the byte before the chunk) to the end, copied: what Chromium's depacketizer gives.
      const from = chunk.byteOffset - packet.byteOffset - 1;
      controller.enqueue({ data: new Uint8Array(packet.subarray(from, from + 1 + chunk.byteLength)).buffer });
    });
    return { readable, controller };
  }
}

function closeQuietly(controller: ReadableStreamDefaultController<unknown>): void {
  try {
    controller.close();
  } catch {
    // already closed, or cancelled by its reader
  }
}
