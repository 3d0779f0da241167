/**
 * The data path of the unit's channels: a frame is written once into its channel's ring and handed
 * to every reader. Caught-up TCP readers are "live": subscribed to the channel's uWS topic, fed by
 * one publish per frame (the loop over sockets in C++). The others — new, behind, UDP, relay
 * children — are pumped from their ring cursor, where the backlog and congestion rules apply.
 * MediaPlane owns the sockets and the channels; this owns what is sent on them.
 */
import type { TemplatedApp } from 'uWebSockets.js';
import { sendInPieces } from '../../protocol/frame-pieces.js';
import { FrameKind, type FrameHeader } from '../../protocol/media-frame.js';
import type { UnitMessage } from '../../protocol/media-messages.js';
import type { LoadMeter } from '../LoadMeter.js';
import type { UnitGroups } from '../UnitGroups.js';
import type { ChannelMedia, ViewerConn } from './ChannelMedia.js';
import { BEHIND_ENTER_MS, BEHIND_EXIT_MS, DRAIN_EVIDENCE_RATIO, DRAIN_MEASURE_MIN_MS, BEHIND_HOLD_MAX_MS, BEHIND_HOLD_MIN_MS, LIVE_ENTER_BOUND, RELAPSE_WINDOW_MS, SLOW_LINK_HOLD_MAX_MS, SLOW_LINK_HOLD_MIN_MS, UNIT_BUSY_LAG_MS, VIEWER_SEND_BOUND } from './limits.js';
import { batchHoldMs } from './FrameCadence.js';
import type { UdpPlane } from './udp/UdpPlane.js';

export type VideoNotice = Extract<UnitMessage, { t: 'video' }>;

export interface FanoutOptions {
  /** the unit's app once the routes are attached (topic publishes go through it) */
  app: () => TemplatedApp | null;
  channels: ReadonlyMap<number, ChannelMedia>;
  groups: UnitGroups;
  meter: LoadMeter;
  udp: UdpPlane;
  /** the most a frame waits for the one due next to share its writes (0: each at once); keyframes never wait */
  batchMs: number;
  /** this process's event-loop lag now */
  loopLagMs: () => number;
  /** a TCP reader's socket is past its hard backpressure cap */
  tooSlow: (viewer: ViewerConn) => void;
  /** the viewer's video is held back or given back (tell it); with `link`, a slow-link verdict */
  videoHeld: (viewer: ViewerConn, notice: VideoNotice, link?: { linkKbps: number; channelKbps: number }) => void;
}

export class Fanout {
  readonly #opts: FanoutOptions;

  constructor(options: FanoutOptions) {
    this.#opts = options;
  }

  /**
   * The one write of a frame on this unit; every viewer and relay child gets these same bytes: the
   * live ones through the channel's uWS topic (one call, the fan-out and the per-socket corking in
   * C++), the others from their ring cursor in JavaScript.
   *
   * With a batch budget a frame is held back only while another is due within it (FrameCadence):
   * audio and video a few ms apart then leave together, one write per socket instead of two, and a
   * frame with nothing due near goes at once. Keyframes never wait.
   */
  writeFrame(media: ChannelMedia, bytes: Uint8Array, header: FrameHeader): void {
    const n = media.ring.write(bytes, header);
    media.ingestBytes += bytes.length;
    const budgetMs = this.#opts.batchMs;
    if (budgetMs <= 0) return this.fanOut(media, n);
    const now = performance.now();
    media.cadence.note(header.kind, header.timestamp, now);
    if (media.unsentFrom < 0) media.batchStartedAt = now;
    const holdMs = header.kind === FrameKind.VIDEO && header.keyframe ? 0 : batchHoldMs(media.cadence, now, media.batchStartedAt, budgetMs);
    if (holdMs <= 0) return this.fanOut(media, n);
    if (media.unsentFrom < 0) media.unsentFrom = n;
    if (media.batchTimer) clearTimeout(media.batchTimer);
    media.batchTimer = setTimeout(() => this.fanOut(media), holdMs);
  }

  /**
   * Hands the frames written since the last fan-out to every reader. Published inside one turn, uWS
   * merges a batch's frames into one write per live socket (its topic queue drains once per loop
   * iteration); pumped readers take theirs in one corked write.
   */
  fanOut(media: ChannelMedia, written = -1): void {
    if (media.batchTimer) clearTimeout(media.batchTimer);
    media.batchTimer = null;
    const from = media.unsentFrom >= 0 ? media.unsentFrom : written;
    media.unsentFrom = -1;
    if (from < 0 || media.ring.closed) return;
    const app = this.#opts.app();
    if (media.live > 0 && app) {
      const topic = media.frameTopic;
      // publish's boolean says nothing about this frame's later pieces: every piece goes to the topic.
      const publish = (message: Uint8Array): boolean => (app.publish(topic, message, true), true);
      for (let n = from, view = media.ring.frameView(n); view; view = media.ring.frameView(++n)) {
        sendInPieces(view, publish);
        this.#opts.meter.addEgressBytes(view.length * media.live);
      }
    }
    for (const viewer of media.pumped) this.pump(viewer);
  }

  /**
   * Sends the reader's frames, the exact ring bytes (a large frame in pieces), corked into one write.
   * While the socket buffers more than the bound the reader is congested: video is skipped, audio and
   * text go on (so a slow viewer keeps its sound and keeps up with the writer instead of being
   * lapped); video comes back at the next keyframe once the socket drains. A TCP reader that has
   * caught up (at the writer, video flowing) joins the channel's topic and is fed by uWS from then on.
   *
   * Not stopped at the kernel's first refusal (leaving the rest in the ring until `drain`), though
   * that would keep uWS's per-socket buffer small: a new connection's kernel buffer starts small, and
   * a catch-up then costs a JavaScript pump per frame per viewer — measured, 4,000 viewers joining
   * stalled the unit past its heartbeats.
   */
  pump(viewer: ViewerConn): void {
    if (viewer.detached || viewer.live) return;
    const ws = viewer.ws;
    const d = ws.getUserData();
    if (d.ending || d.closed) return;
    let bytes = 0;
    let dropped = false;
    // uWS copies each view before returning, so the ring may overwrite it afterwards.
    const send = (message: Uint8Array): boolean => ws.send(message, true) !== 2;
    const reader = viewer.reader;
    const bound = this.#opts.channels.get(viewer.channelId)?.sendBound ?? VIEWER_SEND_BOUND;
    if (viewer.mode === 'udp') bytes = this.#opts.udp.pump(viewer);
    else ws.cork(() => {
      for (;;) {
        const congested = viewer.videoHold !== null || ws.getBufferedAmount() >= bound;
        if (congested !== reader.congested) reader.setCongested(congested);
        const frame = reader.next();
        if (!frame) break;
        bytes += frame.length;
        if (!sendInPieces(frame, send)) {
          dropped = true;
          break;
        }
      }
    });
    if (bytes > 0) this.#opts.meter.addEgressBytes(bytes);
    if (!dropped && viewer.mode === 'tcp' && viewer.videoHold === null && reader.caughtUp && reader.mode === 'full' && !reader.waitingForKeyframe && ws.getBufferedAmount() < LIVE_ENTER_BOUND) {
      this.#goLive(viewer);
    }
    const { videoSkipped, drops } = viewer.reader;
    if (videoSkipped !== viewer.countedSkips || drops !== viewer.countedDrops) {
      const counters = this.#opts.groups.counters(viewer.channelId);
      if (counters) {
        counters.videoSkips += videoSkipped - viewer.countedSkips;
        counters.drops += drops - viewer.countedDrops;
      }
      viewer.countedSkips = videoSkipped;
      viewer.countedDrops = drops;
    }
    if (dropped) this.#opts.tooSlow(viewer);
  }

  /**
   * A viewer's report: far behind by its own measure, it leaves the topic and gets audio and text
   * only, so the queues ahead of it (which the unit cannot see) drain, until it reports having caught up.
   * While it drains older data (it receives more than the unit now hands it), what it reports
   * receiving is what its link carries; a link that carried less
   * than the channel's bitrate cannot take the video, so it stays on audio (which then arrives live)
   * for a long hold before video is tried again, instead of refilling those queues at every keyframe.
   * Not while this unit's own loop lagged meanwhile: then the unit may be what kept the viewer slow
   * (and holding every viewer on audio would move them all to the JavaScript pump).
   */
  reported(viewer: ViewerConn, now = performance.now()): void {
    const report = viewer.report;
    const delay = report?.latencyMs ?? null;
    if (delay === null) return;
    if (viewer.videoHold === null && delay > BEHIND_ENTER_MS) {
      viewer.videoHold = 'behind';
      viewer.behindSince = now;
      viewer.linkKbps = null;
      viewer.bytesSentAtBehind = viewer.reader.bytesSent;
      viewer.unitLagMaxMs = this.#opts.loopLagMs();
      // Behind again soon after catching up: video is more than this viewer can take; try it less often.
      viewer.behindHoldMs = now - viewer.caughtUpAt < RELAPSE_WINDOW_MS ? Math.min(BEHIND_HOLD_MAX_MS, Math.max(BEHIND_HOLD_MIN_MS, viewer.behindHoldMs * 2)) : 0;
      if (viewer.live) this.leaveLive(viewer);
      this.pump(viewer);
      this.#opts.videoHeld(viewer, { t: 'video', held: true, reason: 'behind' });
      return;
    }
    if (viewer.videoHold === null) return;
    viewer.unitLagMaxMs = Math.max(viewer.unitLagMaxMs, this.#opts.loopLagMs());
    const spellMs = now - viewer.behindSince;
    if (delay >= BEHIND_EXIT_MS && report?.rxKbps != null && spellMs >= DRAIN_MEASURE_MIN_MS) {
      const sentKbps = ((viewer.reader.bytesSent - viewer.bytesSentAtBehind) * 8) / spellMs;
      if (report.rxKbps >= sentKbps * DRAIN_EVIDENCE_RATIO) viewer.linkKbps = Math.max(viewer.linkKbps ?? 0, report.rxKbps);
    }
    if (delay >= BEHIND_EXIT_MS || spellMs < viewer.behindHoldMs) return;
    const channelKbps = (this.#opts.groups.counters(viewer.channelId)?.bitrateBps ?? 0) / 1000;
    if (viewer.linkKbps !== null && channelKbps > 0 && viewer.linkKbps < channelKbps && viewer.unitLagMaxMs < UNIT_BUSY_LAG_MS) {
      viewer.behindSince = now;
      viewer.bytesSentAtBehind = viewer.reader.bytesSent;
      viewer.behindHoldMs = Math.min(SLOW_LINK_HOLD_MAX_MS, Math.max(SLOW_LINK_HOLD_MIN_MS, viewer.behindHoldMs * 2));
      viewer.videoHold = 'slow-link';
      this.#opts.videoHeld(viewer, { t: 'video', held: true, reason: 'slow-link', retryInMs: viewer.behindHoldMs }, { linkKbps: viewer.linkKbps, channelKbps });
      // Measured again only by the next try: caught up on audio alone, its reports show no backlog.
      viewer.linkKbps = null;
      return;
    }
    viewer.videoHold = null;
    viewer.caughtUpAt = now;
    this.pump(viewer);
    this.#opts.videoHeld(viewer, { t: 'video', held: false });
  }

  #goLive(viewer: ViewerConn): void {
    const media = this.#opts.channels.get(viewer.channelId);
    // Frames of an unsent batch are already in its reader's past: the topic would send them twice.
    if (!media || viewer.live || media.unsentFrom >= 0) return;
    viewer.ws.subscribe(media.frameTopic);
    viewer.live = true;
    media.live++;
    media.pumped.delete(viewer);
  }

  /** Back to the ring cursor, continuing right after the last frame the topic gave it. */
  leaveLive(viewer: ViewerConn): void {
    const media = this.#opts.channels.get(viewer.channelId);
    if (!viewer.live) return;
    viewer.live = false;
    if (media) {
      media.live--;
      if (!viewer.detached) media.pumped.add(viewer);
    }
    const d = viewer.ws.getUserData();
    // Without the channel nothing is published on its topic any more: nothing to leave.
    if (!d.closed && media) viewer.ws.unsubscribe(media.frameTopic);
    viewer.reader.resumeAtHead();
  }

  /**
   * Live viewers whose socket buffers more than the bound leave the topic and go back to their
   * ring cursor, where the backlog rules (audio only, keyframe jumps) apply. Timed, not per frame, so
   * the per-frame work stays independent of the number of viewers.
   */
  sweep(): void {
    for (const media of this.#opts.channels.values()) {
      if (media.live === 0) continue;
      for (const viewer of media.viewers) {
        if (viewer.live && viewer.ws.getBufferedAmount() > media.sendBound) this.leaveLive(viewer);
      }
    }
  }
}
