/**
 * WebChannelStore on Redis, shared by every web server of a site: one hash (webRedisKeys().channels),
 * field = decimal channel id, value = the msgpack record. The read-modify-write operations (observe,
 * end, purge) run as Lua scripts so web servers syncing at the same moment cannot lose each other's
 * peak or end time. cmsgpack (Redis's bundled msgpack) drops nil map values, so a live channel's
 * endedAt is stored absent and read back as null.
 *
 * The client is borrowed (protocol/store/redis-connection.ts): close() stops this store, never the
 * connection. A value that does not decode to a record is skipped by list() (a sync then adopts the
 * channel afresh from the CSM) and reported by get() as STORE_ERR_CORRUPT.
 */
import type { Redis } from 'ioredis';
import type { Packr } from 'msgpackr';
import { CodedError } from '../../../protocol/control-errors.js';
import { createValuePackr } from '../../../protocol/store/redis-keys.js';
import { webRedisKeys } from './web-redis-keys.js';
import { assertValid, isWebChannelRecord, storeClosed, type ChannelObservation, type WebChannelRecord, type WebChannelStore } from './WebChannelStore.js';

const OBSERVE = 'onairWebChannelObserve';
const END = 'onairWebChannelEnd';
const PURGE = 'onairWebChannelPurge';

// ARGV: id, viewers, peakViewers, publisherConnected ("1"/"0"). 1 when updated, 0 when unknown or ended.
const OBSERVE_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local c = cmsgpack.unpack(raw)
if c.endedAt then return 0 end
local viewers = tonumber(ARGV[2])
c.viewers = viewers
c.peakViewers = math.max(tonumber(c.peakViewers) or 0, tonumber(ARGV[3]), viewers)
c.publisherConnected = ARGV[4] == '1'
redis.call('HSET', KEYS[1], ARGV[1], cmsgpack.pack(c))
return 1
`;

// ARGV: id, at. The earliest end time is kept. 1 when the channel exists, 0 when unknown.
const END_LUA = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local c = cmsgpack.unpack(raw)
local at = tonumber(ARGV[2])
if not c.endedAt or at < c.endedAt then
  c.endedAt = at
  redis.call('HSET', KEYS[1], ARGV[1], cmsgpack.pack(c))
end
return 1
`;

// ARGV: before, then candidate ids. Each is checked again here: a channel adopted afresh since the
// caller read it (live again) stays.
const PURGE_LUA = `
local before = tonumber(ARGV[1])
local removed = 0
for i = 2, #ARGV do
  local raw = redis.call('HGET', KEYS[1], ARGV[i])
  if raw then
    local ok, c = pcall(cmsgpack.unpack, raw)
    if ok and type(c) == 'table' and c.endedAt and c.endedAt < before then
      redis.call('HDEL', KEYS[1], ARGV[i])
      removed = removed + 1
    end
  end
end
return removed
`;

interface ScriptedClient {
  [OBSERVE](key: string, id: string, viewers: string, peak: string, connected: string): Promise<number>;
  [END](key: string, id: string, at: string): Promise<number>;
  [PURGE](key: string, before: string, ...ids: string[]): Promise<number>;
}

/** ids per purge script call, so one call never holds Redis for long */
const PURGE_BATCH = 500;

export class RedisWebChannelStore implements WebChannelStore {
  readonly kind = 'redis';
  readonly #key: string;
  readonly #packr: Packr = createValuePackr();
  readonly #scripted: ScriptedClient;
  #closed = false;

  constructor(
    private readonly client: Redis,
    prefix: string,
  ) {
    this.#key = webRedisKeys(prefix).channels;
    // Redefining with the same source is harmless, so stores sharing a client need not coordinate.
    client.defineCommand(OBSERVE, { numberOfKeys: 1, lua: OBSERVE_LUA });
    client.defineCommand(END, { numberOfKeys: 1, lua: END_LUA });
    client.defineCommand(PURGE, { numberOfKeys: 1, lua: PURGE_LUA });
    this.#scripted = client as unknown as ScriptedClient;
  }

  async put(record: WebChannelRecord): Promise<void> {
    this.#assertOpen();
    assertValid.record(record);
    await this.client.hset(this.#key, String(record.channelId), this.#packr.pack(record));
  }

  async get(channelId: number): Promise<WebChannelRecord | null> {
    this.#assertOpen();
    assertValid.channelId(channelId);
    const raw = await this.client.hgetBuffer(this.#key, String(channelId));
    if (!raw) return null;
    const record = this.#decode(String(channelId), raw);
    if (!record) throw new CodedError('STORE_ERR_CORRUPT', `web channel ${channelId} in Redis is not a channel record`);
    return record;
  }

  async list(): Promise<WebChannelRecord[]> {
    this.#assertOpen();
    const all = await this.client.hgetallBuffer(this.#key);
    const records: WebChannelRecord[] = [];
    for (const [field, raw] of Object.entries(all)) {
      const record = this.#decode(field, raw);
      if (record) records.push(record);
    }
    return records.sort((a, b) => a.channelId - b.channelId);
  }

  async observe(channelId: number, observation: ChannelObservation): Promise<boolean> {
    this.#assertOpen();
    assertValid.channelId(channelId);
    assertValid.observation(observation);
    const { viewers, peakViewers, publisherConnected } = observation;
    return (await this.#scripted[OBSERVE](this.#key, String(channelId), String(viewers), String(peakViewers), publisherConnected ? '1' : '0')) === 1;
  }

  async end(channelId: number, at: number): Promise<boolean> {
    this.#assertOpen();
    assertValid.channelId(channelId);
    assertValid.time(at);
    return (await this.#scripted[END](this.#key, String(channelId), String(at))) === 1;
  }

  async purgeEnded(before: number): Promise<number> {
    this.#assertOpen();
    assertValid.time(before);
    const candidates = (await this.list()).filter((r) => r.endedAt !== null && r.endedAt < before).map((r) => String(r.channelId));
    let removed = 0;
    for (let i = 0; i < candidates.length; i += PURGE_BATCH) {
      removed += await this.#scripted[PURGE](this.#key, String(before), ...candidates.slice(i, i + PURGE_BATCH));
    }
    return removed;
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  /** null when the value is not a record of this field's channel */
  #decode(field: string, raw: Buffer): WebChannelRecord | null {
    let value: unknown;
    try {
      value = this.#packr.unpack(raw);
    } catch {
      return null;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const record = { endedAt: null, ...(value as Record<string, unknown>) };
    return isWebChannelRecord(record) && String(record.channelId) === field ? record : null;
  }

  #assertOpen(): void {
    if (this.#closed) throw storeClosed();
  }
}
