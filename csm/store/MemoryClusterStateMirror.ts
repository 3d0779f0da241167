/**
 * ClusterStateMirror for the embedded default (one process, no backup CSM). Records are deep-copied
 * in and out: the CSM keeps mutating its live objects, and the mirror must hold what was written.
 *
 * This file also holds the write semantics both implementations share:
 * - an epoch must be a non-negative integer; a write below the stored epoch is refused whole;
 * - a write above the stored epoch raises the stored epoch to it, so a store that lost its data
 *   (a Redis restarted without persistence) re-learns the fence from the active CSM's first write
 *   instead of letting any older CSM write too;
 * - within one write, deletes are applied before puts, so an id both deleted and put ends up put;
 * - a replaceAll write drops every unit and channel first (after the epoch check), then puts.
 */
import { CodedError } from '../../protocol/control-errors.js';
import { checkWrite, claimedEpoch, sortSnapshot, StaleEpochError, type ClusterStateMirror } from './ClusterStateMirror.js';
import type { ChannelRecord, ClusterChanges, ClusterSnapshot, UnitRecord } from './records.js';

export class MemoryClusterStateMirror implements ClusterStateMirror {
  private epoch = 0;
  private nextChannelId = 1;
  private readonly units = new Map<string, UnitRecord>();
  private readonly channels = new Map<number, ChannelRecord>();
  private closed = false;

  async claimEpoch(minimum = 0): Promise<number> {
    this.assertOpen();
    this.epoch = claimedEpoch(this.epoch, minimum);
    return this.epoch;
  }

  async currentEpoch(): Promise<number> {
    this.assertOpen();
    return this.epoch;
  }

  async write(epoch: number, changes: ClusterChanges): Promise<void> {
    this.assertOpen();
    checkWrite(epoch, changes);
    if (epoch < this.epoch) throw new StaleEpochError(epoch, this.epoch);
    this.epoch = epoch;
    if (changes.replaceAll) {
      this.units.clear();
      this.channels.clear();
    }
    for (const id of changes.deleteUnits ?? []) this.units.delete(id);
    for (const id of changes.deleteChannels ?? []) this.channels.delete(id);
    for (const unit of changes.putUnits ?? []) this.units.set(unit.id, structuredClone(unit));
    for (const channel of changes.putChannels ?? []) this.channels.set(channel.id, structuredClone(channel));
    if (changes.nextChannelId !== undefined) this.nextChannelId = changes.nextChannelId;
  }

  async load(): Promise<ClusterSnapshot> {
    this.assertOpen();
    return sortSnapshot({
      epoch: this.epoch,
      units: [...this.units.values()].map((unit) => structuredClone(unit)),
      channels: [...this.channels.values()].map((channel) => structuredClone(channel)),
      nextChannelId: this.nextChannelId,
    });
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new CodedError('STORE_ERR_CLOSED', 'the cluster state mirror is closed');
  }
}
