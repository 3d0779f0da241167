/**
 * Which carrier the watch page asks its unit for on UDP (protocol/chunk-rtp.ts): RTP packets on a
 * media track — cheaper for the unit per packet — when this browser hands a track's packets to
 * JavaScript (encoded transforms, `RTCRtpReceiver.prototype.createEncodedStreams`: Chromium), else
 * the data channel. `asked` (the address's `&carrier=`) overrides the choice, within what the
 * browser can do: a test or a user comparing the two.
 */
import type { UdpCarrier } from '../../../protocol/media-messages.js';

export function encodedStreamsSupported(): boolean {
  return typeof RTCRtpReceiver !== 'undefined' && typeof (RTCRtpReceiver.prototype as { createEncodedStreams?: unknown }).createEncodedStreams === 'function';
}

export function chooseUdpCarrier(asked: string | null): UdpCarrier {
  if (asked === 'datachannel') return 'datachannel';
  return encodedStreamsSupported() ? 'rtp' : 'datachannel';
}
