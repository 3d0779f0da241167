/**
 * The CSM's channel metadata on Redis, fenced like the state mirror: every write carries the CSM's
 * epoch and one Lua script compares it with the stored epoch and writes in the same atomic step, so a
 * CSM that was replaced (resumed after SIGSTOP, or cut off and back) cannot overwrite its successor's
 * titles or viewer counts. A refused write rejects with StaleEpochError, as the mirror's do.
 *
 * Reads, the key and the value layout are RedisChannelStore's (protocol/store/): this class only
 * replaces its writes. Unlike the mirror, a write above the stored epoch does not raise it.
 */
import type { Redis } from 'ioredis';
import type { Packr } from 'msgpackr';
import { assertViewerCount, type ChannelMeta, type ChannelStore } from '../../protocol/store/ChannelStore.js';
import { RedisChannelStore } from '../../protocol/store/RedisChannelStore.js';
import { createValuePackr, redisKeys, type RedisKeys } from '../../protocol/store/redis-keys.js';
import { StaleEpochError } from './ClusterStateMirror.js';

const PUT = 'onairFencedMetaPut';
const SET_VIEWERS = 'onairFencedMetaSetViewers';
const DELETE = 'onairFencedMetaDelete';

// Every script: KEYS[1] the epoch, KEYS[2] the metadata hash; ARGV[1] the writer's epoch.
// Each returns {0, stored} when refused, else {1, result}.
const FENCE = `
local stored = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) < stored then return {0, stored} end
`;

const PUT_LUA = `${FENCE}
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return {1, 1}
`;

// RedisChannelStore's read-modify-write (peak kept atomically), behind the fence.
const SET_VIEWERS_LUA = `${FENCE}
local raw = redis.call('HGET', KEYS[2], ARGV[2])
if not raw then return {1, 0} end
local meta = cmsgpack.unpack(raw)
local viewers = tonumber(ARGV[3])
meta.viewers = viewers
if viewers > (tonumber(meta.peakViewers) or 0) then meta.peakViewers = viewers end
redis.call('HSET', KEYS[2], ARGV[2], cmsgpack.pack(meta))
return {1, 1}
`;

const DELETE_LUA = `${FENCE}
return {1, redis.call('HDEL', KEYS[2], ARGV[2])}
`;

type Fenced = Promise<[number, number]>;
interface ScriptedClient {
  [PUT](epochKey: string, metaKey: string, epoch: string, id: string, value: Buffer): Fenced;
  [SET_VIEWERS](epochKey: string, metaKey: string, epoch: string, id: string, viewers: string): Fenced;
  [DELETE](epochKey: string, metaKey: string, epoch: string, id: string): Fenced;
}

export class FencedRedisChannelStore implements ChannelStore {
  readonly #reads: RedisChannelStore;
  readonly #keys: RedisKeys;
  readonly #packr: Packr = createValuePackr();
  readonly #client: ScriptedClient;

  constructor(
    client: Redis,
    prefix: string,
    /** the epoch this CSM writes with (0 before it was ever active: every write is refused) */
    readonly epoch: () => number,
  ) {
    this.#reads = new RedisChannelStore(client, prefix);
    this.#keys = redisKeys(prefix);
    client.defineCommand(PUT, { numberOfKeys: 2, lua: PUT_LUA });
    client.defineCommand(SET_VIEWERS, { numberOfKeys: 2, lua: SET_VIEWERS_LUA });
    client.defineCommand(DELETE, { numberOfKeys: 2, lua: DELETE_LUA });
    this.#client = client as unknown as ScriptedClient;
  }

  get(id: number): Promise<ChannelMeta | null> {
    return this.#reads.get(id);
  }

  list(): Promise<ChannelMeta[]> {
    return this.#reads.list();
  }

  async put(meta: ChannelMeta): Promise<void> {
    await this.#fenced((epoch) => this.#client[PUT](this.#keys.epoch, this.#keys.channelMeta, epoch, String(meta.id), this.#packr.pack(meta)));
  }

  async setViewers(id: number, viewers: number): Promise<boolean> {
    assertViewerCount(viewers);
    return (await this.#fenced((epoch) => this.#client[SET_VIEWERS](this.#keys.epoch, this.#keys.channelMeta, epoch, String(id), String(viewers)))) === 1;
  }

  async delete(id: number): Promise<boolean> {
    return (await this.#fenced((epoch) => this.#client[DELETE](this.#keys.epoch, this.#keys.channelMeta, epoch, String(id)))) === 1;
  }

  close(): Promise<void> {
    return this.#reads.close();
  }

  async #fenced(run: (epoch: string) => Fenced): Promise<number> {
    const epoch = this.epoch();
    const [applied, value] = await run(String(epoch));
    if (applied !== 1) throw new StaleEpochError(epoch, value);
    return value;
  }
}
