/**
 * The slice of WebRTC the viewer uses, as structural types: the browser's RTCPeerConnection and
 * node-datachannel's polyfill (`import { RTCPeerConnection } from 'node-datachannel/polyfill'`) both
 * fit, and both constructors can be passed as `RtcPeerConnectionConstructor` unchanged. Nothing here
 * needs the DOM typings, so the client builds for Node and bundles for the browser alike.
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

export interface RtcPeerConnectionLike {
  readonly connectionState: string;
  ondatachannel: ((event: any) => void) | null;
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
