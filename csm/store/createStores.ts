/**
 * The one branch between the embedded default and a cluster (LiveKit's LocalStore/RedisStore):
 * in-memory stores when no Redis URL is given, else all three on one shared Redis connection. On
 * Redis the channel metadata is written through FencedRedisChannelStore with the CSM's epoch; in
 * memory there is only ever one CSM, so nothing needs fencing.
 */
import type { ChannelStore } from '../../protocol/store/ChannelStore.js';
import type { EventLog } from '../../protocol/store/EventLog.js';
import { MemoryChannelStore } from '../../protocol/store/MemoryChannelStore.js';
import { MemoryEventLog } from '../../protocol/store/MemoryEventLog.js';
import { RedisEventLog } from '../../protocol/store/RedisEventLog.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import type { ClusterStateMirror } from './ClusterStateMirror.js';
import { FencedRedisChannelStore } from './FencedRedisChannelStore.js';
import { MemoryClusterStateMirror } from './MemoryClusterStateMirror.js';
import { RedisClusterStateMirror } from './RedisClusterStateMirror.js';

export interface CsmStores {
  kind: 'memory' | 'redis';
  mirror: ClusterStateMirror;
  channelStore: ChannelStore;
  eventLog: EventLog;
  close(): Promise<void>;
}

export interface CreateStoresOptions {
  redisUrl: string;
  redisPrefix: string;
  eventLogCapacity: number;
  /** the epoch the CSM writes with, for the fenced metadata writes; default 0 (every such write refused once an epoch was claimed) */
  epoch?: () => number;
}

export function createStores(options: CreateStoresOptions): CsmStores {
  if (!options.redisUrl) {
    const stores = { mirror: new MemoryClusterStateMirror(), channelStore: new MemoryChannelStore(), eventLog: new MemoryEventLog({ capacity: options.eventLogCapacity }) };
    return { kind: 'memory', ...stores, close: async () => {} };
  }
  const redis = createRedis(options.redisUrl);
  const stores = {
    mirror: new RedisClusterStateMirror(redis, options.redisPrefix),
    channelStore: new FencedRedisChannelStore(redis, options.redisPrefix, options.epoch ?? (() => 0)),
    eventLog: new RedisEventLog(redis, options.redisPrefix, { capacity: options.eventLogCapacity }),
  };
  return {
    kind: 'redis',
    ...stores,
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
