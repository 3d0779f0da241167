/**
 * ClusterStateMirror on Redis, shared by the active and the backup CSM. Keys (redisKeys()): the epoch
 * in a string, units and channels in two hashes of msgpack records, nextChannelId in a string.
 *
 * Fencing lives in one Lua script: comparing the epoch and applying the changes happen in the same
 * atomic step, so no write of a replaced CSM can slip in between "check" and "set". Write semantics
 * (raising the epoch, deletes before puts) are MemoryClusterStateMirror.ts's.
 *
 * The client is borrowed (see protocol/store/redis-connection.ts): close() never quits it.
 */
import type { Redis } from 'ioredis';
import type { Packr } from 'msgpackr';
import { CodedError } from '../../protocol/control-errors.js';
import { createValuePackr, DEFAULT_REDIS_PREFIX, redisKeys, type RedisKeys } from '../../protocol/store/redis-keys.js';
import { StaleEpochError, type ClusterStateMirror } from './ClusterStateMirror.js';
import { checkWrite, claimedEpoch, sortSnapshot } from './ClusterStateMirror.js';
import { isChannelRecord, isUnitRecord, type ClusterChanges, type ClusterSnapshot } from './records.js';

const WRITE = 'onairMirrorWrite';
const CLAIM = 'onairMirrorClaimEpoch';

// KEYS: epoch. ARGV: the minimum epoch. Sets and returns max(stored + 1, minimum).
const CLAIM_LUA = `
local t = redis.call('TYPE', KEYS[1]).ok
if t ~= 'none' and t ~= 'string' then return redis.error_reply('WRONGTYPE ' .. KEYS[1] .. ' is a ' .. t .. ', expected a string') end
local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
if not stored then return redis.error_reply('the epoch in ' .. KEYS[1] .. ' is not a number') end
local epoch = math.max(stored + 1, tonumber(ARGV[1]))
redis.call('SET', KEYS[1], string.format('%d', epoch))
return epoch
`;

// KEYS: epoch, units, channels, nextChannelId
// ARGV: epoch, nextChannelId ('' = unchanged), #deleteUnits, #deleteChannels, #putUnits, #putChannels,
//       replaceAll ('1' = drop every unit and channel first),
//       then the unit ids to delete, the channel ids to delete, (id, record) pairs of units, of channels.
// Returns {1, epoch} when applied, {0, stored} when refused. Key types are checked before the first
// write because a Lua error halfway would leave the writes before it applied.
const WRITE_LUA = `
local function expectType(key, wanted)
  local t = redis.call('TYPE', key).ok
  if t ~= 'none' and t ~= wanted then
    return redis.error_reply('WRONGTYPE ' .. key .. ' is a ' .. t .. ', expected a ' .. wanted)
  end
end
local bad = expectType(KEYS[1], 'string') or expectType(KEYS[2], 'hash')
  or expectType(KEYS[3], 'hash') or expectType(KEYS[4], 'string')
if bad then return bad end

local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
local epoch = tonumber(ARGV[1])
if epoch < stored then return {0, stored} end
if epoch > stored then redis.call('SET', KEYS[1], ARGV[1]) end
if ARGV[7] == '1' then redis.call('DEL', KEYS[2], KEYS[3]) end

local i = 8
for _ = 1, tonumber(ARGV[3]) do redis.call('HDEL', KEYS[2], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[4]) do redis.call('HDEL', KEYS[3], ARGV[i]); i = i + 1 end
for _ = 1, tonumber(ARGV[5]) do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1]); i = i + 2 end
for _ = 1, tonumber(ARGV[6]) do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]); i = i + 2 end
if ARGV[2] ~= '' then redis.call('SET', KEYS[4], ARGV[2]) end
return {1, epoch}
`;

interface ScriptedClient {
  [WRITE](...args: (string | Buffer)[]): Promise<[number, number]>;
  [CLAIM](key: string, minimum: string): Promise<number>;
}

export class RedisClusterStateMirror implements ClusterStateMirror {
  private readonly keys: RedisKeys;
  private readonly packr: Packr = createValuePackr();
  private closed = false;

  constructor(
    private readonly client: Redis,
    prefix: string = DEFAULT_REDIS_PREFIX,
  ) {
    this.keys = redisKeys(prefix);
    // Redefining with the same source is harmless, so mirrors sharing a client need not coordinate.
    client.defineCommand(WRITE, { numberOfKeys: 4, lua: WRITE_LUA });
    client.defineCommand(CLAIM, { numberOfKeys: 1, lua: CLAIM_LUA });
  }

  async claimEpoch(minimum = 0): Promise<number> {
    this.assertOpen();
    claimedEpoch(0, minimum); // validates minimum
    return Number(await (this.client as unknown as ScriptedClient)[CLAIM](this.keys.epoch, String(minimum)));
  }

  async currentEpoch(): Promise<number> {
    this.assertOpen();
    return parseCounter(await this.client.get(this.keys.epoch), 0, 'epoch');
  }

  async write(epoch: number, changes: ClusterChanges): Promise<void> {
    this.assertOpen();
    checkWrite(epoch, changes);
    const deleteUnits = changes.deleteUnits ?? [];
    const deleteChannels = changes.deleteChannels ?? [];
    const putUnits = changes.putUnits ?? [];
    const putChannels = changes.putChannels ?? [];
    const args: (string | Buffer)[] = [
      this.keys.epoch,
      this.keys.units,
      this.keys.channels,
      this.keys.nextChannelId,
      String(epoch),
      changes.nextChannelId === undefined ? '' : String(changes.nextChannelId),
      String(deleteUnits.length),
      String(deleteChannels.length),
      String(putUnits.length),
      String(putChannels.length),
      changes.replaceAll ? '1' : '0',
      ...deleteUnits,
      ...deleteChannels.map(String),
    ];
    for (const unit of putUnits) args.push(unit.id, this.packr.pack(unit));
    for (const channel of putChannels) args.push(String(channel.id), this.packr.pack(channel));
    const [applied, stored] = await (this.client as unknown as ScriptedClient)[WRITE](...args);
    if (applied !== 1) throw new StaleEpochError(epoch, stored);
  }

  async load(): Promise<ClusterSnapshot> {
    this.assertOpen();
    // One MULTI so the four reads see the same moment, never half of a write.
    const replies = await this.client
      .multi()
      .get(this.keys.epoch)
      .hgetallBuffer(this.keys.units)
      .hgetallBuffer(this.keys.channels)
      .get(this.keys.nextChannelId)
      .exec();
    if (!replies) throw new CodedError('STORE_ERR_UNEXPECTED_REPLY', 'the load transaction was aborted');
    const results = replies.map(([err, value]) => {
      if (err) throw err;
      return value;
    });
    const [epoch, units, channels, next] = results as [string | null, Record<string, Buffer>, Record<string, Buffer>, string | null];
    return sortSnapshot({
      epoch: parseCounter(epoch, 0, 'epoch'),
      units: Object.entries(units).map(([id, raw]) => this.decode(`unit ${id}`, raw, isUnitRecord, id)),
      channels: Object.entries(channels).map(([id, raw]) => this.decode(`channel ${id}`, raw, isChannelRecord, id)),
      nextChannelId: parseCounter(next, 1, 'nextChannelId'),
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private decode<T extends { id: string | number }>(
    what: string,
    raw: Buffer,
    isRecord: (value: unknown) => value is T,
    field: string,
  ): T {
    let value: unknown;
    try {
      value = this.packr.unpack(raw);
    } catch (err) {
      throw corrupt(`${what} is not msgpack (${(err as Error).message})`);
    }
    if (!isRecord(value) || String(value.id) !== field) throw corrupt(`${what} does not have the record's shape`);
    return value;
  }

  private assertOpen(): void {
    if (this.closed) throw new CodedError('STORE_ERR_CLOSED', 'the cluster state mirror is closed');
  }
}

function parseCounter(raw: string | null, absent: number, what: string): number {
  if (raw === null) return absent;
  const value = Number(raw);
  if (!Number.isSafeInteger(value)) throw corrupt(`${what} is ${JSON.stringify(raw)}`);
  return value;
}

function corrupt(why: string): CodedError {
  return new CodedError('STORE_ERR_CORRUPT', `cluster state in Redis: ${why}`);
}

