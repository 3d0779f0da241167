import { CodedError } from '../../protocol/control-errors.js';
import type { ClusterChanges, ClusterSnapshot } from './records.js';

/**
 * The active CSM's memory is authoritative; every change is mirrored here with the CSM's epoch.
 * The epoch is a fencing token: a write carrying an epoch lower than the stored one is refused
 * atomically (StaleEpochError), so a CSM that was replaced can never overwrite its successor.
 */
export interface ClusterStateMirror {
  /**
   * Atomically raise the stored epoch and return it (a CSM becoming active calls this): to the stored
   * epoch + 1, or to `minimum` when that is higher. A backup passes the highest epoch it has seen + 1,
   * so a store that lost its data (a Redis restarted without persistence) cannot hand out an epoch
   * the units have already obeyed.
   */
  claimEpoch(minimum?: number): Promise<number>;
  /** The stored epoch (0 when none was ever claimed). */
  currentEpoch(): Promise<number>;
  /**
   * Apply the changes atomically if `epoch` >= the stored epoch; else reject with StaleEpochError.
   * With `replaceAll`, every stored unit and channel is dropped first: the write is the whole state
   * (the active re-mirrors everything after a store outage).
   */
  write(epoch: number, changes: ClusterChanges): Promise<void>;
  /** Everything stored, with the stored epoch. */
  load(): Promise<ClusterSnapshot>;
  close(): Promise<void>;
}

export class StaleEpochError extends Error {
  readonly code = 'CSM_ERR_STALE_EPOCH';
  constructor(
    readonly attempted: number,
    readonly stored: number,
  ) {
    super(`write with epoch ${attempted} refused: the store is at epoch ${stored}`);
    this.name = 'StaleEpochError';
  }
}

/** Refuses malformed input before anything is compared or written (shared with the Redis mirror). */
export function checkWrite(epoch: number, changes: ClusterChanges): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw badWrite(`epoch must be a non-negative integer, got ${epoch}`);
  if (changes.replaceAll && ((changes.deleteUnits?.length ?? 0) > 0 || (changes.deleteChannels?.length ?? 0) > 0)) {
    throw badWrite('a replaceAll write carries no deletes');
  }
  for (const unit of changes.putUnits ?? []) {
    if (typeof unit.id !== 'string' || unit.id === '') throw badWrite('a unit record has no id');
  }
  for (const id of changes.deleteUnits ?? []) {
    if (typeof id !== 'string' || id === '') throw badWrite('a unit id to delete is empty');
  }
  for (const channel of changes.putChannels ?? []) {
    if (!Number.isSafeInteger(channel.id)) throw badWrite(`channel id must be an integer, got ${channel.id}`);
  }
  for (const id of changes.deleteChannels ?? []) {
    if (!Number.isSafeInteger(id)) throw badWrite(`channel id to delete must be an integer, got ${id}`);
  }
  const next = changes.nextChannelId;
  if (next !== undefined && (!Number.isSafeInteger(next) || next < 1)) {
    throw badWrite(`nextChannelId must be a positive integer, got ${next}`);
  }
}

/** Units by id, channels by id: a deterministic order for both implementations. */
export function sortSnapshot(snapshot: ClusterSnapshot): ClusterSnapshot {
  snapshot.units.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  snapshot.channels.sort((a, b) => a.id - b.id);
  return snapshot;
}

/** The epoch a claim yields: one above the stored epoch, or `minimum` when that is higher. */
export function claimedEpoch(stored: number, minimum = 0): number {
  if (!Number.isSafeInteger(minimum) || minimum < 0) throw new CodedError('STORE_ERR_BAD_ARGUMENT', `minimum epoch must be a non-negative integer, got ${minimum}`);
  return Math.max(stored + 1, minimum);
}

function badWrite(why: string): CodedError {
  return new CodedError('STORE_ERR_BAD_ARGUMENT', `bad mirror write: ${why}`);
}
