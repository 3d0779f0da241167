/**
 * The web server's channel metadata: what the site shows of each channel (title, broadcaster, when
 * it started, current and peak viewers, whether the broadcaster is on, when it ended). In memory for a
 * single web server, in Redis when several serve one site. The CSM's placement state is not here; the
 * web server learns it from the CSM's service API (ChannelSync).
 *
 * Every write is checked against one schema before anything is stored, so bad input is refused with
 * STORE_ERR_BAD_ARGUMENT and what was stored stays as it was.
 */
import Type, { type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { CodedError } from '../../../protocol/control-errors.js';

const Count = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const Millis = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

export const WebChannelRecordSchema = Type.Object(
  {
    channelId: Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 }),
    // The CSM's bounds; a channel it names itself ("Channel 7", broadcaster "") is within them too.
    title: Type.String({ minLength: 1, maxLength: 120 }),
    broadcaster: Type.String({ maxLength: 60 }),
    startedAt: Millis,
    viewers: Count,
    peakViewers: Count,
    publisherConnected: Type.Boolean(),
    /** null while live */
    endedAt: Type.Union([Millis, Type.Null()]),
    /**
     * The web server's clock when the record was opened or adopted. A sync whose list was asked of
     * the CSM before this moment cannot end the channel: the list may simply predate it.
     */
    storedAt: Millis,
  },
  { additionalProperties: false },
);

export type WebChannelRecord = Static<typeof WebChannelRecordSchema>;

/** What the CSM's channel info says of a live channel, applied by observe(). */
export interface ChannelObservation {
  viewers: number;
  peakViewers: number;
  publisherConnected: boolean;
}

export interface WebChannelStore {
  readonly kind: 'memory' | 'redis';
  /** Insert or replace a channel. */
  put(record: WebChannelRecord): Promise<void>;
  get(channelId: number): Promise<WebChannelRecord | null>;
  /** Every stored channel, live and ended, by id ascending. */
  list(): Promise<WebChannelRecord[]>;
  /**
   * Sets viewers and publisherConnected and raises peakViewers to the largest of the stored peak,
   * the given peak and the viewers, atomically (several web servers may observe at once). Returns
   * false, changing nothing, when the channel is unknown or ended.
   */
  observe(channelId: number, observation: ChannelObservation): Promise<boolean>;
  /** Marks the channel ended at `at`; an earlier end time stays. Returns false when unknown. */
  end(channelId: number, at: number): Promise<boolean>;
  /** Removes the channels that ended before `before`; returns how many. */
  purgeEnded(before: number): Promise<number>;
  /** Stops this store; calls after it reject with STORE_ERR_CLOSED. Safe twice. */
  close(): Promise<void>;
}

const recordChecker = Compile(WebChannelRecordSchema);
const observationChecker = Compile(
  Type.Object({ viewers: Count, peakViewers: Count, publisherConnected: Type.Boolean() }, { additionalProperties: false }),
);
const idChecker = Compile(WebChannelRecordSchema.properties.channelId);
const timeChecker = Compile(Millis);

export function isWebChannelRecord(value: unknown): value is WebChannelRecord {
  return recordChecker.Check(value);
}

function refuse(what: string, value: unknown): never {
  const shown = JSON.stringify(value) ?? String(value);
  throw new CodedError('STORE_ERR_BAD_ARGUMENT', `${what} is invalid: ${shown.slice(0, 200)}`);
}

/** Shared by both stores so they refuse exactly the same inputs. */
export const assertValid = {
  record(record: WebChannelRecord): void {
    if (!recordChecker.Check(record)) refuse('channel record', record);
  },
  observation(observation: ChannelObservation): void {
    if (!observationChecker.Check(observation)) refuse('observation', observation);
  },
  channelId(channelId: number): void {
    if (!idChecker.Check(channelId)) refuse('channel id', channelId);
  },
  time(at: number): void {
    if (!timeChecker.Check(at)) refuse('time', at);
  },
};

export function storeClosed(): CodedError {
  return new CodedError('STORE_ERR_CLOSED', 'the web channel store is closed');
}
