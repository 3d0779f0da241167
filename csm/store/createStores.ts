/**
 * The one branch between the embedded default and a cluster (LiveKit's LocalStore/RedisStore):
 * in-memory stores when no Redis URL is given, else all three on one shared Redis connection.
 */
import type { ChannelStore } from '../../protocol/store/ChannelStore.js';
import type { EventLog } from '../../protocol/store/EventLog.js';
import { MemoryChannelStore } from '../../protocol/store/MemoryChannelStore.js';
import { MemoryEventLog } from '../../protocol/store/MemoryEventLog.js';
import { RedisChannelStore } from '../../protocol/store/RedisChannelStore.js';
import { RedisEventLog } from '../../protocol/store/RedisEventLog.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import type { ClusterStateMirror } from './ClusterStateMirror.js';
import { MemoryClusterStateMirror } from './MemoryClusterStateMirror.js';
import { RedisClusterStateMirror } from './RedisClusterStateMirror.js';

export interface CsmStores {
  kind: 'memory' | 'redis';
  mirror: ClusterStateMirror;
  channelStore: ChannelStore;
  eventLog: EventLog;
  close(): Promise<void>;
}

export function createStores(options: { redisUrl: string; redisPrefix: string; eventLogCapacity: number }): CsmStores {
  if (!options.redisUrl) {
    const stores = { mirror: new MemoryClusterStateMirror(), channelStore: new MemoryChannelStore(), eventLog: new MemoryEventLog({ capacity: options.eventLogCapacity }) };
    return { kind: 'memory', ...stores, close: async () => {} };
  }
  const redis = createRedis(options.redisUrl);
  const stores = {
    mirror: new RedisClusterStateMirror(redis, options.redisPrefix),
    channelStore: new RedisChannelStore(redis, options.redisPrefix),
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
