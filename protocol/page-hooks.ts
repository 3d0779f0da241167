/**
 * `window.onair` of the broadcast and watch pages: the live objects the pages keep up to date and the
 * end-to-end tests and `onair bench browser` read (page.evaluate). Declared once for both sides.
 */
import type { UdpCarrier, VideoHoldReason } from './media-messages.js';

export type BroadcastPageState = 'ready' | 'connecting' | 'live' | 'reconnecting' | 'ended' | 'error';

export interface BroadcastHookStats {
  /** frames the Publisher accepted, every kind */
  framesSent: number;
  videoFrames: number;
  audioFrames: number;
  /** video keyframes sent */
  keyframes: number;
  /** raw frames dropped before an encoder, and encoded frames not sent (away, waiting for a keyframe) */
  droppedFrames: number;
  /** bits sent over the last 2 s, in kbit/s */
  bitrateKbps: number;
  /** viewers of the channel, from the API */
  viewers: number;
  /** times the Publisher reconnected after losing its unit */
  reconnects: number;
}

export interface BroadcastHook {
  state: BroadcastPageState;
  channelId: number | null;
  stats: BroadcastHookStats;
}

export type WatchState = 'joining' | 'playing' | 'reconnecting' | 'ended' | 'error';

/**
 * How the watch page reads the rtp carrier's packets (web/pages/watch/udp-carrier.ts): `script`, the
 * standard encoded transform (RTCRtpScriptTransform, a worker); `legacy`, Chromium's
 * `receiver.createEncodedStreams()`.
 */
export type RtpTapName = 'script' | 'legacy';

export interface WatchHookStats {
  framesDecoded: number;
  framesDrawn: number;
  framesDropped: number;
  audioDecoded: number;
  bitrateKbps: number;
  rejoins: number;
  /** navigation start → first picture drawn, ms */
  firstPictureMs: number | null;
  /** every drawn picture: draw time − capture stamp, ms; the last 3000 */
  glassToGlassMs: number[];
  /** median of the samples of the last 2 s */
  latencyP50Ms: number | null;
}

export interface WatchHook {
  state: WatchState;
  /** null before the first join */
  mode: 'udp' | 'tcp' | null;
  /**
   * how the chunks travel while mode is 'udp': RTP packets on a media track where the browser has
   * encoded transforms, else a data channel (or as `&carrier=` asked); null on a page with no channel
   */
  carrier: UdpCarrier | null;
  /**
   * how the page reads the rtp carrier's packets: the standard transform where the browser has it,
   * else the legacy one (or as `&rtpTap=` asked); null when the carrier is not rtp
   */
  rtpTap: RtpTapName | null;
  viewerId: string | null;
  /** the unit holds the video back (audio goes on): why; null while video flows */
  videoHold: VideoHoldReason | null;
  stats: WatchHookStats;
}
