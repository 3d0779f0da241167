/**
 * How OnAir lays out its shared state in Redis: every key name, declared once, and the value codec.
 * The CSM (mirror, channel metadata, event log) and the web server (channel metadata) both read this
 * file, so a rename here moves every reader and writer together.
 *
 * All keys live under one prefix so several clusters (or test runs) can share a Redis. The mirror's
 * write script touches epoch, units, channels and nextChannelId in one call; on a Redis Cluster those
 * keys must share a hash slot, so give a hash-tagged prefix there (e.g. "{onair}:").
 */
import { Packr } from 'msgpackr';

export const DEFAULT_REDIS_PREFIX = 'onair:';

export interface RedisKeys {
  /** string: the CSM fencing epoch, an integer raised by INCR when a CSM becomes active (absent = 0) */
  readonly epoch: string;
  /** hash: unit id → msgpack UnitRecord (csm/store/records.ts) */
  readonly units: string;
  /** hash: decimal channel id → msgpack ChannelRecord (placement state: groups, tree, publisher key) */
  readonly channels: string;
  /** string: the next channel id the CSM will hand out (absent = 1) */
  readonly nextChannelId: string;
  /** hash: decimal channel id → msgpack ChannelMeta (title, broadcaster, viewers, peak), read by the web */
  readonly channelMeta: string;
  /** stream: the capped event log; entry ids are the LogEvent ids */
  readonly events: string;
}

export function redisKeys(prefix: string = DEFAULT_REDIS_PREFIX): RedisKeys {
  return Object.freeze({
    epoch: `${prefix}epoch`,
    units: `${prefix}units`,
    channels: `${prefix}channels`,
    nextChannelId: `${prefix}nextChannelId`,
    channelMeta: `${prefix}channelMeta`,
    events: `${prefix}events`,
  });
}

/**
 * The codec for every msgpack value the stores keep in Redis. Plain maps and arrays only: no msgpackr
 * records or extension types, because Lua's cmsgpack reads and rewrites some of these values
 * (RedisChannelStore's setViewers) and must see ordinary msgpack. One instance per store, not a
 * module singleton, since a Packr carries internal buffers.
 */
export function createValuePackr(): Packr {
  return new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' });
}
