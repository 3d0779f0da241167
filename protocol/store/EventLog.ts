import type { EventKind } from '../event-kinds.js';

/** One entry of the cluster's event log (register, fail, join, leave, expand, shrink, re-home, operator action…). */
export interface LogEvent {
  /** Assigned by the log on append; strictly increasing in append order (Redis stream id form "ms-seq"). */
  id: string;
  /** ms since the epoch */
  at: number;
  kind: EventKind;
  unitId?: string;
  channelId?: number;
  /** who caused it: an operator's name for operator actions, else the raising process ("csm", a unit id) */
  actor?: string;
  message: string;
  data?: Record<string, string | number | boolean | null>;
}

export type NewLogEvent = Omit<LogEvent, 'id'>;

export interface EventQuery {
  /** at most this many, newest first; default 100, capped at 1000 */
  limit?: number;
  /** only events strictly older than this id (for paging) */
  beforeId?: string;
  unitId?: string;
  channelId?: number;
  kinds?: readonly EventKind[];
}

/** A capped log: appending past `capacity` drops the oldest entries. */
export interface EventLog {
  append(event: NewLogEvent): Promise<LogEvent>;
  /** Newest first, filtered; every filter given must match. */
  query(query?: EventQuery): Promise<LogEvent[]>;
  close(): Promise<void>;
}
