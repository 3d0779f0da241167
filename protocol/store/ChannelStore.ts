import { CodedError } from '../control-errors.js';

/**
 * Channel metadata shared by the CSM (which opens and closes channels) and the web server (which lists
 * them): title, broadcaster, start time, current and peak viewers. In-memory in the embedded default,
 * Redis in a cluster. Placement state does not live here; see csm/store/ClusterStateMirror.ts.
 */
export interface ChannelMeta {
  id: number;
  title: string;
  broadcaster: string;
  /** ms since the epoch */
  createdAt: number;
  viewers: number;
  peakViewers: number;
}

export interface ChannelStore {
  /** Insert or replace a channel's metadata. */
  put(meta: ChannelMeta): Promise<void>;
  get(id: number): Promise<ChannelMeta | null>;
  /** Every stored channel, ordered by id ascending. */
  list(): Promise<ChannelMeta[]>;
  /**
   * Set the current viewer count and raise peakViewers if it is exceeded, atomically.
   * Returns false when the channel is unknown (nothing is created).
   */
  setViewers(id: number, viewers: number): Promise<boolean>;
  /** Returns true when the channel existed. */
  delete(id: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Shared with RedisChannelStore so both refuse the same inputs (a Lua script would turn NaN into an error reply). */
export function assertViewerCount(viewers: number): void {
  if (!Number.isSafeInteger(viewers) || viewers < 0) {
    throw new CodedError('STORE_ERR_BAD_ARGUMENT', `viewer count must be a non-negative integer, got ${viewers}`);
  }
}
