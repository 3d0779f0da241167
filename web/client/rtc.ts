/**
 * The slice of WebRTC the viewer uses, as structural types: the browser's RTCPeerConnection,
 * node-datachannel's polyfill (`import { RTCPeerConnection } from 'node-datachannel/polyfill'`, data
 * channels only) and NodeRtpPeerConnection (Node, the RTP carrier only) all fit, and their
 * constructors can be passed as `RtcPeerConnectionConstructor` unchanged. Nothing here needs the DOM
 * typings, so the client builds for Node and bundles for the browser alike.
 */

export interface RtcSessionDescriptionLike {
  type: string;
  sdp?: string;
}

export interface RtcIceCandidateLike {
  candidate: string;
  sdpMid?: string | null;
}

// The handlers take `any` so that the DOM's and the polyfill's event classes both fit; the client
// reads only `data`, `channel` and `candidate` from them.
export interface RtcDataChannelLike {
  binaryType: string;
  readonly readyState: string;
  onopen: ((event: any) => void) | null;
  onclose: ((event: any) => void) | null;
  onerror: ((event: any) => void) | null;
  onmessage: ((event: any) => void) | null;
  close(): void;
}

/**
 * One packet of a media track as an encoded transform hands it over (RTCEncodedVideoFrame): for the
 * chunk carrier, `data` is [0x01, chunk…] (protocol/chunk-rtp.ts).
 */
export interface RtcEncodedFrameLike {
  readonly data: ArrayBuffer;
}

/** A WHATWG ReadableStream and its reader, as much of them as the client uses. */
export interface RtcReadableLike<T> {
  getReader(): RtcReaderLike<T>;
}

export interface RtcReaderLike<T> {
  read(): Promise<{ done: boolean; value?: T }>;
  cancel(reason?: unknown): Promise<void>;
}

/**
 * A track's receiver, as much of it as an RtpTap (rtp-tap.ts) reaches for: the legacy tap calls
 * `createEncodedStreams()` (Chromium's own API, and NodeRtpPeerConnection's); the page's standard tap
 * sets `transform` (an RTCRtpScriptTransform) on the browser's RTCRtpReceiver. Neither is on every
 * receiver, hence both optional.
 */
export interface RtcRtpReceiverLike {
  createEncodedStreams?(): { readable: RtcReadableLike<RtcEncodedFrameLike> };
  transform?: unknown;
}

export interface RtcTrackEventLike {
  readonly receiver: RtcRtpReceiverLike;
}

export interface RtcPeerConnectionLike {
  readonly connectionState: string;
  ondatachannel: ((event: any) => void) | null;
  /** the RTP carrier's track (RtcTrackEventLike); never fires on the data-channel carrier */
  ontrack: ((event: any) => void) | null;
  onicecandidate: ((event: any) => void) | null;
  onconnectionstatechange: ((event: any) => void) | null;
  setRemoteDescription(description: { type: 'offer'; sdp: string }): Promise<void>;
  createAnswer(): Promise<RtcSessionDescriptionLike>;
  setLocalDescription(description: RtcSessionDescriptionLike): Promise<void>;
  addIceCandidate(candidate: { candidate: string; sdpMid: string }): Promise<void>;
  close(): void;
}

/** `configuration`: RTCConfiguration; node-datachannel also reads e.g. `bindAddress` from it. */
export type RtcPeerConnectionConstructor = new (configuration?: any) => RtcPeerConnectionLike;
