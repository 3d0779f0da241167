/**
 * EventLog on a Redis stream (redisKeys().events). Each entry keeps the event's scalar fields as
 * plain stream fields, readable with redis-cli, and `data` as one msgpack field; the stream entry id
 * is the event id.
 *
 * Trimming is XADD MAXLEN ~ capacity: Redis drops only whole internal nodes, which is much cheaper
 * than exact trimming, so the stream can hold up to `stream-node-max-entries` (default 100) entries
 * more than `capacity`. Queries read newest first with XREVRANGE in bounded batches and filter here;
 * the scan bound and other query semantics are MemoryEventLog.ts's. Needs Redis >= 6.2 (exclusive
 * ranges).
 *
 * The client is borrowed (see redis-connection.ts): close() stops this log, never the connection.
 */
import type { Redis } from 'ioredis';
import type { Packr } from 'msgpackr';
import { CodedError } from '../control-errors.js';
import { isEventKind } from '../event-kinds.js';
import type { EventLog, EventQuery, LogEvent, NewLogEvent } from './EventLog.js';
import {
  matchesQuery,
  normalizeEvent,
  parseEventId,
  resolveCapacity,
  resolveLimit,
  SCAN_FACTOR,
} from './event-log-rules.js';
import { createValuePackr, DEFAULT_REDIS_PREFIX, redisKeys } from './redis-keys.js';

export interface RedisEventLogOptions {
  /** entries kept (approximately, see above); default 10,000 */
  capacity?: number;
}

/** upper bound of one XREVRANGE reply, so a single round trip stays small */
const MAX_BATCH = 500;
/** a filtered query reads at least this many per round trip, since most entries may not match */
const MIN_FILTERED_BATCH = 100;

export class RedisEventLog implements EventLog {
  private readonly key: string;
  private readonly capacity: number;
  private readonly packr: Packr = createValuePackr();
  private closed = false;

  constructor(
    private readonly client: Redis,
    prefix: string = DEFAULT_REDIS_PREFIX,
    options: RedisEventLogOptions = {},
  ) {
    this.key = redisKeys(prefix).events;
    this.capacity = resolveCapacity(options.capacity);
  }

  async append(event: NewLogEvent): Promise<LogEvent> {
    this.assertOpen();
    // Validated and canonical before it is written; the real id comes from Redis.
    const stored = normalizeEvent('0-0', event);
    const fields: (string | Buffer)[] = ['at', String(stored.at), 'kind', stored.kind, 'message', stored.message];
    if (stored.unitId !== undefined) fields.push('unitId', stored.unitId);
    if (stored.channelId !== undefined) fields.push('channelId', String(stored.channelId));
    if (stored.actor !== undefined) fields.push('actor', stored.actor);
    if (stored.data !== undefined) fields.push('data', this.packr.pack(stored.data));
    const id = await this.client.xadd(this.key, 'MAXLEN', '~', String(this.capacity), '*', ...fields);
    if (id === null) throw new CodedError('STORE_ERR_UNEXPECTED_REPLY', 'XADD returned no id');
    stored.id = id;
    return stored;
  }

  async query(query: EventQuery = {}): Promise<LogEvent[]> {
    this.assertOpen();
    const limit = resolveLimit(query.limit);
    let end = '+';
    if (query.beforeId !== undefined) {
      const [ms, seq] = parseEventId(query.beforeId);
      // Nothing precedes 0-0, and Redis rejects the exclusive range "(0-0".
      if (ms === 0n && seq === 0n) return [];
      end = `(${query.beforeId}`;
    }
    const filtered = query.unitId !== undefined || query.channelId !== undefined || (query.kinds?.length ?? 0) > 0;
    let budget = SCAN_FACTOR * limit;
    const found: LogEvent[] = [];
    while (budget > 0 && found.length < limit) {
      const wanted = filtered ? Math.max(limit, MIN_FILTERED_BATCH) : limit - found.length;
      const count = Math.min(budget, wanted, MAX_BATCH);
      const entries = await this.client.xrevrangeBuffer(this.key, end, '-', 'COUNT', count);
      for (const [rawId, fields] of entries) {
        budget--;
        const event = this.decode(rawId.toString('latin1'), fields);
        if (matchesQuery(event, query)) found.push(event);
        if (found.length === limit) break;
      }
      const last = entries[entries.length - 1];
      if (entries.length < count || last === undefined) break;
      end = `(${last[0].toString('latin1')}`;
    }
    return found;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private decode(id: string, flat: Buffer[]): LogEvent {
    const fields = new Map<string, Buffer>();
    for (let i = 0; i + 1 < flat.length; i += 2) fields.set((flat[i] as Buffer).toString(), flat[i + 1] as Buffer);
    const text = (name: string): string | undefined => fields.get(name)?.toString('utf8');

    const at = Number(text('at'));
    const kind = text('kind');
    const message = text('message');
    if (!Number.isFinite(at) || !isEventKind(kind) || message === undefined) throw corrupt(id, 'lacks at, kind or message');
    const event: LogEvent = { id, at, kind, message };
    const unitId = text('unitId');
    if (unitId !== undefined) event.unitId = unitId;
    const channelId = text('channelId');
    if (channelId !== undefined) {
      event.channelId = Number(channelId);
      if (!Number.isSafeInteger(event.channelId)) throw corrupt(id, `has channelId ${JSON.stringify(channelId)}`);
    }
    const actor = text('actor');
    if (actor !== undefined) event.actor = actor;
    const data = fields.get('data');
    if (data !== undefined) event.data = this.decodeData(id, data);
    return event;
  }

  private decodeData(id: string, raw: Buffer): NonNullable<LogEvent['data']> {
    let value: unknown;
    try {
      value = this.packr.unpack(raw);
    } catch (err) {
      throw corrupt(id, `has undecodable data (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw corrupt(id, 'has non-object data');
    return value as NonNullable<LogEvent['data']>;
  }

  private assertOpen(): void {
    if (this.closed) throw new CodedError('STORE_ERR_CLOSED', 'the event log is closed');
  }
}

function corrupt(id: string, why: string): CodedError {
  return new CodedError('STORE_ERR_CORRUPT', `event ${id} in Redis ${why}`);
}
