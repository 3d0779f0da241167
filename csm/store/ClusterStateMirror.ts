import type { ClusterChanges, ClusterSnapshot } from './records.js';

/**
 * The active CSM's memory is authoritative; every change is mirrored here with the CSM's epoch.
 * The epoch is a fencing token: a write carrying an epoch lower than the stored one is refused
 * atomically (StaleEpochError), so a CSM that was replaced can never overwrite its successor.
 */
export interface ClusterStateMirror {
  /** Atomically raise the stored epoch by one and return it (a CSM becoming active calls this). */
  claimEpoch(): Promise<number>;
  /** The stored epoch (0 when none was ever claimed). */
  currentEpoch(): Promise<number>;
  /** Apply the changes atomically if `epoch` >= the stored epoch; else reject with StaleEpochError. */
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
