/**
 * The one branch between a single web server and a site of several (LiveKit's LocalStore/RedisStore):
 * the in-memory store when no Redis URL is given, else the Redis one on a connection opened here and
 * quit by close().
 */
import type { Logger } from '../../../protocol/logger.js';
import { createRedis } from '../../../protocol/store/redis-connection.js';
import { MemoryWebChannelStore } from './MemoryWebChannelStore.js';
import { RedisWebChannelStore } from './RedisWebChannelStore.js';
import type { WebChannelStore } from './WebChannelStore.js';

export interface WebStores {
  channels: WebChannelStore;
  /** closes the store and the connection it uses */
  close(): Promise<void>;
}

export function createWebStores(options: { redisUrl: string; redisPrefix: string; webId: string }, logger: Logger): WebStores {
  if (!options.redisUrl) {
    const channels = new MemoryWebChannelStore();
    return { channels, close: () => channels.close() };
  }
  const redis = createRedis(options.redisUrl, { connectionName: `onair-${options.webId}`, logger });
  const channels = new RedisWebChannelStore(redis, options.redisPrefix);
  return {
    channels,
    close: async () => {
      await channels.close();
      // QUIT would wait in the offline queue for a Redis that is away; then there is nothing to flush.
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    },
  };
}
