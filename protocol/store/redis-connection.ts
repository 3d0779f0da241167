/**
 * The one way OnAir opens a Redis connection for its stores (mirror, channel metadata, event log).
 *
 * Ownership: whoever calls createRedis owns the client and must `quit()` it. The Redis stores only
 * borrow a client handed to their constructor, so several stores can share one connection, and a
 * store's close() never quits it.
 *
 * The options favour failing fast over waiting: a CSM that cannot reach Redis must notice (and report
 * unhealthy) within seconds rather than queue writes for minutes, so a call is retried over at most a
 * couple of reconnect attempts before it rejects. Reconnecting itself never stops; the backoff is
 * capped so the link comes back quickly once Redis does.
 *
 * Production runs Redis with Sentinel: `redis-sentinel://[:password@]host:port[,host:port…]/<master
 * name>` makes ioredis ask those sentinels for the current master and follow a failover to the new
 * one (a form ioredis does not parse itself, hence parseSentinelUrl). `redis://…` is one server.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logger.js';

export interface CreateRedisOptions {
  /** shown in CLIENT LIST, e.g. "csm-a" */
  connectionName?: string;
  /** reconnect attempts a queued or in-flight call survives before it rejects; default 2 */
  maxRetriesPerRequest?: number;
  /** ms a call may wait for its reply before it rejects; default 5000 */
  commandTimeout?: number;
  /** ms to establish a connection; default 3000 */
  connectTimeout?: number;
  /** cap of the reconnect backoff in ms; default 2000 */
  maxReconnectDelay?: number;
  /** receives connection errors; without one they are dropped (ioredis would print them to the console) */
  logger?: Logger;
}

export function createRedis(url: string, opts: CreateRedisOptions = {}): Redis {
  const maxDelay = opts.maxReconnectDelay ?? 2000;
  const options: RedisOptions = {
    lazyConnect: false,
    // Calls made while reconnecting wait in the offline queue, bounded by maxRetriesPerRequest.
    enableOfflineQueue: true,
    maxRetriesPerRequest: opts.maxRetriesPerRequest ?? 2,
    commandTimeout: opts.commandTimeout ?? 5000,
    connectTimeout: opts.connectTimeout ?? 3000,
    retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelay),
    ...(opts.connectionName !== undefined ? { connectionName: opts.connectionName } : {}),
  };
  const sentinel = parseSentinelUrl(url);
  const client = sentinel ? new Redis({ ...options, ...sentinel }) : new Redis(url, options);
  // An 'error' event with no listener makes ioredis log to the console on every reconnect attempt.
  client.on('error', (err: Error) => {
    opts.logger?.warn({ err: err.message }, 'redis connection error');
  });
  return client;
}

export interface SentinelTarget {
  sentinels: { host: string; port: number }[];
  /** the master's name as the sentinels know it */
  name: string;
  password?: string;
}

/** `redis-sentinel://[:password@]host:port[,host:port…]/name` → ioredis's sentinel options; null for any other URL. */
export function parseSentinelUrl(url: string): SentinelTarget | null {
  const match = /^redis-sentinel:\/\/(?:(?:[^:@/]*):([^@/]*)@)?([^/@]+)\/([A-Za-z0-9_.-]+)\/?$/.exec(url);
  if (!url.startsWith('redis-sentinel:')) return null;
  if (!match) throw new Error(`not a sentinel URL (redis-sentinel://[:password@]host:port[,host:port…]/name): ${url}`);
  const sentinels = match[2]!.split(',').map((address) => {
    const hostPort = /^(\[[0-9a-fA-F:]+\]|[^:]+):([0-9]{1,5})$/.exec(address.trim());
    if (!hostPort) throw new Error(`sentinel address must be host:port, got "${address}"`);
    return { host: hostPort[1]!.replace(/^\[|\]$/g, ''), port: Number(hostPort[2]) };
  });
  const password = match[1] ? decodeURIComponent(match[1]) : undefined;
  return { sentinels, name: match[3]!, ...(password ? { password } : {}) };
}
