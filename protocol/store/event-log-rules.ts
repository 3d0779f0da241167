/**
 * The query semantics both event logs share (limits, id order, filters, the bounded scan), so the
 * in-memory log behaves like the Redis stream in every test and in the embedded cluster:
 * - ids have the Redis stream form "ms-seq", strictly increasing even when the clock stalls or steps
 *   back (the sequence carries on under the last millisecond, as Redis does);
 * - a query scans at most SCAN_FACTOR × limit entries (older than beforeId) looking for matches, so a
 *   very selective filter cannot make one request walk the whole log. A page can therefore come back
 *   short, or empty, while older matches still exist beyond that window; callers page on with the
 *   oldest id they received. With limit 1000 the window (20,000) covers a log of default capacity.
 */
import { CodedError } from '../control-errors.js';
import { isEventKind } from '../event-kinds.js';
import type { EventQuery, LogEvent, NewLogEvent } from './EventLog.js';

export const DEFAULT_EVENT_LOG_CAPACITY = 10_000;
export const DEFAULT_QUERY_LIMIT = 100;
export const MAX_QUERY_LIMIT = 1000;
/** a query looks at no more than this many entries per result it may return */
export const SCAN_FACTOR = 20;

export function resolveCapacity(capacity: number | undefined): number {
  const value = capacity ?? DEFAULT_EVENT_LOG_CAPACITY;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new CodedError('STORE_ERR_BAD_ARGUMENT', `event log capacity must be a positive integer, got ${value}`);
  }
  return value;
}

/** Missing → the default; otherwise clamped into 1..MAX_QUERY_LIMIT. */
export function resolveLimit(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_QUERY_LIMIT;
  if (!Number.isFinite(limit)) {
    throw new CodedError('STORE_ERR_BAD_ARGUMENT', `query limit must be a number, got ${limit}`);
  }
  return Math.min(MAX_QUERY_LIMIT, Math.max(1, Math.floor(limit)));
}

/** both halves of a Redis stream id are unsigned 64-bit */
const MAX_ID_PART = (1n << 64n) - 1n;

/** Parses "ms-seq"; a malformed id is the caller's error, not an empty page. */
export function parseEventId(id: string): readonly [bigint, bigint] {
  const match = /^(\d{1,20})-(\d{1,20})$/.exec(id);
  if (!match) throw new CodedError('STORE_ERR_BAD_ARGUMENT', `not an event id ("ms-seq"): ${JSON.stringify(id)}`);
  const parsed = [BigInt(match[1] as string), BigInt(match[2] as string)] as const;
  if (parsed[0] > MAX_ID_PART || parsed[1] > MAX_ID_PART) {
    throw new CodedError('STORE_ERR_BAD_ARGUMENT', `event id out of range: ${JSON.stringify(id)}`);
  }
  return parsed;
}

export function compareEventIds(a: string, b: string): number {
  return compareParsedIds(parseEventId(a), parseEventId(b));
}

export function compareParsedIds(a: readonly [bigint, bigint], b: readonly [bigint, bigint]): number {
  if (a[0] !== b[0]) return a[0] < b[0] ? -1 : 1;
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return 0;
}

/** Every filter given must match; an empty `kinds` list counts as no kinds filter (as `?kinds=` parses). */
export function matchesQuery(event: LogEvent, query: EventQuery): boolean {
  if (query.unitId !== undefined && event.unitId !== query.unitId) return false;
  if (query.channelId !== undefined && event.channelId !== query.channelId) return false;
  if (query.kinds !== undefined && query.kinds.length > 0 && !query.kinds.includes(event.kind)) return false;
  return true;
}

/**
 * The canonical stored form: checked, copied, optional fields present only when given. Both logs store
 * exactly this, so what comes back equals what went in, field for field.
 */
export function normalizeEvent(id: string, event: NewLogEvent): LogEvent {
  if (!Number.isFinite(event.at)) throw badEvent(`at must be a finite number, got ${event.at}`);
  if (!isEventKind(event.kind)) throw badEvent(`unknown kind ${JSON.stringify(event.kind)}`);
  if (typeof event.message !== 'string') throw badEvent('message must be a string');
  if (event.unitId !== undefined && typeof event.unitId !== 'string') throw badEvent('unitId must be a string');
  if (event.actor !== undefined && typeof event.actor !== 'string') throw badEvent('actor must be a string');
  if (event.channelId !== undefined && !Number.isSafeInteger(event.channelId)) {
    throw badEvent(`channelId must be an integer, got ${event.channelId}`);
  }
  const stored: LogEvent = { id, at: event.at, kind: event.kind, message: event.message };
  if (event.unitId !== undefined) stored.unitId = event.unitId;
  if (event.channelId !== undefined) stored.channelId = event.channelId;
  if (event.actor !== undefined) stored.actor = event.actor;
  if (event.data !== undefined) stored.data = copyData(event.data);
  return stored;
}

function copyData(data: NonNullable<LogEvent['data']>): NonNullable<LogEvent['data']> {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw badEvent('data must be an object');
  const copy: NonNullable<LogEvent['data']> = {};
  for (const [key, value] of Object.entries(data)) {
    // A "__proto__" key would set the copy's prototype instead of a field.
    if (key === '__proto__') throw badEvent('data may not have a "__proto__" key');
    const type = typeof value;
    if (value !== null && type !== 'string' && type !== 'number' && type !== 'boolean') {
      throw badEvent(`data.${key} must be a string, number, boolean or null`);
    }
    copy[key] = value;
  }
  return copy;
}

export function copyEvent(event: LogEvent): LogEvent {
  return event.data === undefined ? { ...event } : { ...event, data: { ...event.data } };
}

function badEvent(why: string): CodedError {
  return new CodedError('STORE_ERR_BAD_ARGUMENT', `bad log event: ${why}`);
}
