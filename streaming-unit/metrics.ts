/**
 * The unit's Prometheus registry: one per unit (never prom-client's global one, so several units in
 * one process — tests, the lab — do not collide). Gauges read the unit's state when scraped, so
 * nothing has to remember to update them.
 */
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { ChannelReport, UnitLoad } from '../protocol/control-messages.js';
import type { UdpCarrier, VideoHoldReason } from '../protocol/media-messages.js';

export interface UnitMetricSources {
  unitId: string;
  groupsPerUnit: number;
  groupsUsed(): number;
  viewers(): number;
  csmLinked(): boolean;
  epoch(): number;
  load(): UnitLoad;
  loopLagMs(): number;
  /** the channels served here with their media counters (the report's shape) and viewer count */
  channels(): (ChannelReport & { viewers: number })[];
  /** viewers whose video is held back now, by reason */
  videoHolds(): Record<VideoHoldReason, number>;
  /** UDP sessions open now, by carrier */
  udpSessionsOpen(): Record<UdpCarrier, number>;
  /** chunks sent to UDP viewers since start, by carrier */
  udpChunksSent(): Record<UdpCarrier, number>;
}

export function createUnitRegistry(src: UnitMetricSources): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ unit: src.unitId });
  const gauge = (name: string, help: string, read: () => number): void => {
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(read());
      },
    });
  };
  gauge('onair_unit_groups_total', 'groups this unit can hold (groupsPerUnit)', () => src.groupsPerUnit);
  gauge('onair_unit_groups_used', 'groups allocated to a channel', src.groupsUsed);
  gauge('onair_unit_viewers', 'viewers connected to this unit', src.viewers);
  gauge('onair_unit_csm_link_up', '1 while registered with the CSM over a live control link', () => (src.csmLinked() ? 1 : 0));
  gauge('onair_unit_csm_epoch', 'highest CSM epoch this unit has obeyed', src.epoch);
  gauge('onair_unit_egress_bps', 'bits per second sent to viewers and relays, last interval', () => src.load().egressBps);
  gauge('onair_unit_cpu_cores', 'CPU used by the unit process over the last interval, in cores', () => src.load().cpu);
  gauge('onair_unit_event_loop_lag_seconds', 'event-loop lag seen by the health timer', () => src.loopLagMs() / 1000);
  const perChannel = (name: string, help: string, read: (c: ChannelReport & { viewers: number }) => number): void => {
    new Gauge({
      name,
      help,
      labelNames: ['channel'],
      registers: [registry],
      collect() {
        this.reset();
        for (const c of src.channels()) this.set({ channel: String(c.channelId) }, read(c));
      },
    });
  };
  perChannel('onair_unit_channel_bitrate_bps', "the channel's bitrate into this unit (publisher or relay link), last interval", (c) => c.bitrateBps);
  perChannel('onair_unit_channel_backlog_frames', 'frames the furthest-behind reader of the channel has not read yet', (c) => c.backlogFrames);
  perChannel('onair_unit_channel_video_skips', 'video frames skipped for slow or congested readers since the channel came here (monotonic)', (c) => c.videoSkips);
  perChannel('onair_unit_channel_drops', 'times a reader was lapped by the writer and jumped to the newest keyframe (monotonic)', (c) => c.drops);
  perChannel('onair_unit_channel_relay_children', "other units' relay links reading this channel here", (c) => c.relayChildren);
  new Gauge({
    name: 'onair_unit_channel_viewers',
    help: 'viewers of the channel on this unit, by transport mode',
    labelNames: ['channel', 'mode'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of src.channels()) {
        this.set({ channel: String(c.channelId), mode: 'udp' }, c.udpViewerIds.length);
        this.set({ channel: String(c.channelId), mode: 'tcp' }, c.viewers - c.udpViewerIds.length);
      }
    },
  });
  new Gauge({
    name: 'onair_unit_viewers_video_held',
    help: 'viewers getting audio and text only, by reason: behind (catching up) or slow-link (their link carries less than the channel)',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      for (const [reason, count] of Object.entries(src.videoHolds())) this.set({ reason }, count);
    },
  });
  new Gauge({
    name: 'onair_unit_udp_sessions_open',
    help: "UDP viewers' open sessions, by carrier: datachannel (SCTP messages) or rtp (packets on a media track)",
    labelNames: ['carrier'],
    registers: [registry],
    collect() {
      for (const [carrier, count] of Object.entries(src.udpSessionsOpen())) this.set({ carrier }, count);
    },
  });
  new Gauge({
    name: 'onair_unit_udp_chunks_sent',
    help: 'chunks sent to UDP viewers since the unit started, by carrier: data-channel messages or RTP packets (monotonic)',
    labelNames: ['carrier'],
    registers: [registry],
    collect() {
      for (const [carrier, count] of Object.entries(src.udpChunksSent())) this.set({ carrier }, count);
    },
  });
  collectDefaultMetrics({ register: registry });
  return registry;
}
