/**
 * How UdpLink reads the rtp carrier's packets (protocol/chunk-rtp.ts): a browser hands a track's
 * packets to JavaScript only through an encoded transform, and there are two of those —
 * - the standard one, `receiver.transform = new RTCRtpScriptTransform(worker)` (Firefox, Safari,
 *   Chromium): the frames are read in a worker. It needs a Worker and a script to run in it, which
 *   this environment-free client does not make: the watch page injects it (pages/watch/ScriptRtpTap.ts);
 * - Chromium's older, non-standard `receiver.createEncodedStreams()`, read where it is called:
 *   `legacyRtpTap`, the default, which NodeRtpPeerConnection also offers in Node.
 *
 * Either way UdpLink gets a reader of encoded frames, `data` = [0x01, chunk…]. Nothing is ever written
 * towards the decoder: the frames are chunks, not video, and the page decodes the reassembled frames
 * itself.
 */
import { CLIENT_ERRORS, type ClientErrorCode } from './errors.js';
import type { RtcEncodedFrameLike, RtcReaderLike, RtcRtpReceiverLike } from './rtc.js';

export interface RtpTap {
  /** merged into the peer connection's configuration: what the tap needs turned on */
  readonly configuration: Readonly<Record<string, unknown>>;
  /**
   * The receiver's encoded frames, from now on. UdpLink calls it synchronously inside `ontrack`: the
   * one moment both taps work whatever the configuration (later, Chromium ignores a script transform
   * set without `encodedInsertableStreams`, pages/watch/ScriptRtpTap.ts, and refuses the legacy call).
   * Throws when this receiver cannot be tapped so; UdpLink then gives up the session.
   */
  open(receiver: RtcRtpReceiverLike): RtcReaderLike<RtcEncodedFrameLike>;
}

/**
 * A tap that cannot serve: `…_UNAVAILABLE`, the receiver lacks what it calls (the legacy tap outside
 * Chromium and NodeRtpPeerConnection); `…_FAILED`, it broke while reading (the standard tap's worker).
 * It never leaves UdpLink, which ends the session with its message as the reason (back to TCP).
 */
export class RtpTapError extends Error {
  constructor(
    readonly code: Extract<ClientErrorCode, 'WEB_ERR_CLIENT_RTP_TAP_UNAVAILABLE' | 'WEB_ERR_CLIENT_RTP_TAP_FAILED'>,
    detail: string,
  ) {
    super(`${CLIENT_ERRORS[code].message}: ${detail}`);
    this.name = 'RtpTapError';
  }
}

/**
 * `receiver.createEncodedStreams()` — Chromium's, deprecated in favour of RTCRtpScriptTransform but
 * the one NodeRtpPeerConnection imitates, hence the default. The peer connection is made with
 * `encodedInsertableStreams: true`, the API's precondition: with it Chromium holds every frame for
 * JavaScript from the start; without it (Chromium 156) the call still works inside `ontrack`, but one
 * task later throws InvalidStateError ("Too late to create encoded streams"). Allowed once per
 * receiver; its `writable` is left alone.
 */
export const legacyRtpTap: RtpTap = {
  configuration: { encodedInsertableStreams: true },
  open(receiver) {
    if (!receiver.createEncodedStreams) throw new RtpTapError('WEB_ERR_CLIENT_RTP_TAP_UNAVAILABLE', 'no createEncodedStreams() (the legacy tap)');
    return receiver.createEncodedStreams().readable.getReader();
  },
};
