/**
 * The web server's keys in Redis, under the same prefix as the CSM's (protocol/store/redis-keys.ts),
 * so one Redis and one prefix hold a whole site. Declared here until they join the CSM's key block in
 * protocol/store/redis-keys.ts, which the web server may not change yet.
 */
export interface WebRedisKeys {
  /** hash: decimal channel id → msgpack WebChannelRecord (endedAt absent while live), shared by every web server */
  readonly channels: string;
}

export function webRedisKeys(prefix: string): WebRedisKeys {
  return Object.freeze({ channels: `${prefix}webChannels` });
}
