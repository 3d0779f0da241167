/**
 * The types the RoleManager shares with its host (Csm) and with the role API: what a CSM rebuilds
 * itself from, what it needs from its host, and the status it reports.
 */
import type { ChannelMeta, ChannelStore } from '../../protocol/store/ChannelStore.js';
import type { NewLogEvent } from '../../protocol/store/EventLog.js';
import type { CsmRole } from '../config.js';
import type { ClusterStateMirror } from '../store/ClusterStateMirror.js';
import type { MirrorWriter } from '../store/MirrorWriter.js';
import type { ClusterSnapshot } from '../store/records.js';

/** What a CSM rebuilds itself from: the mirrored cluster and the channels' titles. */
export interface MirroredState {
  snapshot: ClusterSnapshot;
  titles: ChannelMeta[];
}

export interface RoleHost {
  readonly csmId: string;
  readonly storeKind: 'memory' | 'redis';
  readonly mirror: ClusterStateMirror;
  readonly channelStore: ChannelStore;
  readonly mirrorWriter: MirrorWriter;
  /** rebuild the cluster from the store: a read-only view (`epoch` null) or the state to serve with `epoch` */
  install(state: MirroredState, epoch: number | null): void;
  /** end every unit control link */
  dropLinks(): void;
  /** append to the event log even though this CSM is not serving (its own role changes) */
  roleEvent(event: NewLogEvent): void;
}

export interface RoleOptions {
  followIntervalMs: number;
  epochCheckMs: number;
  fencedHoldMs: number;
}

export interface RoleStatus {
  csmId: string;
  /** what this CSM does now: 'active' only while it serves (not while suspended) */
  role: CsmRole;
  /** the epoch this CSM holds (0 before it was ever active) */
  epoch: number;
  /** the newest epoch seen in the store */
  storeEpoch: number;
  /** a promotion was asked for and waits for the store */
  promoting: boolean;
  /** active, but waiting for the store to confirm the epoch after the event loop stalled */
  suspended: boolean;
  /** stepped down for a newer epoch within `fencedHoldMs` (health fails meanwhile) */
  fenced: boolean;
  /** a backup: when its view was last reloaded from the store (ms), null before the first */
  followedAt: number | null;
  /** the last store error seen by following, promoting or the epoch check; null once the store answers */
  storeError: string | null;
  /** set by promote and demote: whether the call changed the role */
  changed?: boolean;
}
