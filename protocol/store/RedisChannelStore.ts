/**
 * ChannelStore on Redis: one hash (redisKeys().channelMeta), field = decimal channel id, value = the
 * msgpack ChannelMeta. The CSM writes it and any number of web servers read it.
 *
 * The client is borrowed (see redis-connection.ts): close() stops this store, never the connection.
 */
import type { Redis } from 'ioredis';
import type { Packr } from 'msgpackr';
import { CodedError } from '../control-errors.js';
import type { ChannelMeta, ChannelStore } from './ChannelStore.js';
import { assertViewerCount } from './ChannelStore.js';
import { createValuePackr, DEFAULT_REDIS_PREFIX, redisKeys } from './redis-keys.js';

const SET_VIEWERS = 'onairChannelSetViewers';

// Read-modify-write inside Redis so two reporters cannot lose each other's peak. cmsgpack is Redis's
// bundled msgpack; HGET first so an unknown id creates nothing. Returns 1 when updated, 0 when unknown.
const SET_VIEWERS_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local meta = cmsgpack.unpack(raw)
local viewers = tonumber(ARGV[2])
meta.viewers = viewers
if viewers > (tonumber(meta.peakViewers) or 0) then meta.peakViewers = viewers end
redis.call('HSET', KEYS[1], ARGV[1], cmsgpack.pack(meta))
return 1
`;

interface ScriptedClient {
  [SET_VIEWERS](key: string, id: string, viewers: string): Promise<number>;
}

export class RedisChannelStore implements ChannelStore {
  private readonly key: string;
  private readonly packr: Packr = createValuePackr();
  private closed = false;

  constructor(
    private readonly client: Redis,
    prefix: string = DEFAULT_REDIS_PREFIX,
  ) {
    this.key = redisKeys(prefix).channelMeta;
    // Redefining with the same source is harmless, so stores sharing a client need not coordinate.
    client.defineCommand(SET_VIEWERS, { numberOfKeys: 1, lua: SET_VIEWERS_LUA });
  }

  async put(meta: ChannelMeta): Promise<void> {
    this.assertOpen();
    await this.client.hset(this.key, String(meta.id), this.packr.pack(meta));
  }

  async get(id: number): Promise<ChannelMeta | null> {
    this.assertOpen();
    const raw = await this.client.hgetBuffer(this.key, String(id));
    return raw ? this.decode(String(id), raw) : null;
  }

  async list(): Promise<ChannelMeta[]> {
    this.assertOpen();
    const all = await this.client.hgetallBuffer(this.key);
    return Object.entries(all)
      .map(([field, raw]) => this.decode(field, raw))
      .sort((a, b) => a.id - b.id);
  }

  async setViewers(id: number, viewers: number): Promise<boolean> {
    this.assertOpen();
    assertViewerCount(viewers);
    const scripted = this.client as unknown as ScriptedClient;
    return (await scripted[SET_VIEWERS](this.key, String(id), String(viewers))) === 1;
  }

  async delete(id: number): Promise<boolean> {
    this.assertOpen();
    return (await this.client.hdel(this.key, String(id))) === 1;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private decode(field: string, raw: Buffer): ChannelMeta {
    let value: unknown;
    try {
      value = this.packr.unpack(raw);
    } catch (err) {
      throw corrupt(field, `not msgpack (${(err as Error).message})`);
    }
    if (!isChannelMeta(value) || String(value.id) !== field) throw corrupt(field, 'not a ChannelMeta');
    return value;
  }

  private assertOpen(): void {
    if (this.closed) throw new CodedError('STORE_ERR_CLOSED', 'the channel store is closed');
  }
}

function corrupt(field: string, why: string): CodedError {
  return new CodedError('STORE_ERR_CORRUPT', `channel metadata ${field} in Redis is ${why}`);
}

function isChannelMeta(value: unknown): value is ChannelMeta {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.id === 'number' &&
    typeof v.title === 'string' &&
    typeof v.broadcaster === 'string' &&
    typeof v.createdAt === 'number' &&
    typeof v.viewers === 'number' &&
    typeof v.peakViewers === 'number'
  );
}
