/**
 * How the watch page takes its chunks on UDP (protocol/chunk-rtp.ts): RTP packets on a media track —
 * cheaper for the unit per packet — when this browser hands a track's packets to JavaScript through
 * an encoded transform, else the data channel. Of the two transforms (web/client/rtp-tap.ts) the
 * standard RTCRtpScriptTransform comes first, Chromium's legacy `createEncodedStreams()` second: the
 * standard one is what Firefox and Safari have, and Chromium deprecates its own.
 *
 * The address may ask (a test, or a user comparing): `&carrier=datachannel` for the data channel,
 * `&rtpTap=legacy` or `&rtpTap=script` for one transform — each within what the browser can do; a
 * transform it lacks gives the other, and neither gives the data channel.
 */
import type { UdpCarrier } from '../../../protocol/media-messages.js';
import type { RtpTapName } from '../../../protocol/page-hooks.js';

export interface UdpPath {
  carrier: UdpCarrier;
  /** how the rtp carrier's packets are read; null on the data channel */
  rtpTap: RtpTapName | null;
}

function scriptTransformSupported(): boolean {
  return typeof RTCRtpScriptTransform === 'function';
}

function encodedStreamsSupported(): boolean {
  return typeof RTCRtpReceiver !== 'undefined' && typeof (RTCRtpReceiver.prototype as { createEncodedStreams?: unknown }).createEncodedStreams === 'function';
}

/** The transforms this browser has, the preferred first. */
function rtpTaps(): RtpTapName[] {
  const taps: RtpTapName[] = [];
  if (scriptTransformSupported()) taps.push('script');
  if (encodedStreamsSupported()) taps.push('legacy');
  return taps;
}

export function chooseUdpPath(askedCarrier: string | null, askedTap: string | null): UdpPath {
  if (askedCarrier === 'datachannel') return { carrier: 'datachannel', rtpTap: null };
  const taps = rtpTaps();
  const rtpTap = taps.find((tap) => tap === askedTap) ?? taps[0] ?? null;
  return rtpTap ? { carrier: 'rtp', rtpTap } : { carrier: 'datachannel', rtpTap: null };
}
