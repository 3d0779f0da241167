/**
 * EventLog for the embedded default: a preallocated ring of `capacity` events, trimmed exactly, with
 * the query rules of event-log-rules.ts.
 */
import type { EventLog, EventQuery, LogEvent, NewLogEvent } from './EventLog.js';
import { SCAN_FACTOR, resolveCapacity, resolveLimit, parseEventId, matchesQuery, normalizeEvent, compareParsedIds, copyEvent } from './event-log-rules.js';
import { CodedError } from '../control-errors.js';

export interface MemoryEventLogOptions {
  capacity?: number;
  /** ms since the epoch; injectable so tests can stall or rewind the clock */
  now?: () => number;
}

export class MemoryEventLog implements EventLog {
  private readonly capacity: number;
  private readonly now: () => number;
  private readonly ring: (LogEvent | undefined)[];
  /** slot the next append writes */
  private head = 0;
  private size = 0;
  private lastMs = 0;
  private lastSeq = 0;
  private closed = false;

  constructor(options: MemoryEventLogOptions = {}) {
    this.capacity = resolveCapacity(options.capacity);
    this.now = options.now ?? Date.now;
    this.ring = new Array<LogEvent | undefined>(this.capacity).fill(undefined);
  }

  async append(event: NewLogEvent): Promise<LogEvent> {
    this.assertOpen();
    const stored = normalizeEvent(this.nextId(), event);
    this.ring[this.head] = stored;
    this.head = (this.head + 1) % this.capacity;
    this.size = Math.min(this.size + 1, this.capacity);
    return copyEvent(stored);
  }

  async query(query: EventQuery = {}): Promise<LogEvent[]> {
    this.assertOpen();
    const limit = resolveLimit(query.limit);
    const before = query.beforeId === undefined ? null : parseEventId(query.beforeId);
    let budget = SCAN_FACTOR * limit;
    const found: LogEvent[] = [];
    // Newest first, so once one entry is older than beforeId all the rest are too.
    let older = before === null;
    for (let i = 0; i < this.size && budget > 0 && found.length < limit; i++) {
      const event = this.ring[(this.head - 1 - i + this.capacity) % this.capacity] as LogEvent;
      if (!older && compareParsedIds(parseEventId(event.id), before as readonly [bigint, bigint]) >= 0) continue;
      older = true;
      budget--;
      if (matchesQuery(event, query)) found.push(copyEvent(event));
    }
    return found;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.ring.fill(undefined);
    this.size = 0;
  }

  private nextId(): string {
    const ms = Math.floor(this.now());
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.lastSeq = 0;
    } else {
      this.lastSeq++;
    }
    return `${this.lastMs}-${this.lastSeq}`;
  }

  private assertOpen(): void {
    if (this.closed) throw new CodedError('STORE_ERR_CLOSED', 'the event log is closed');
  }
}
