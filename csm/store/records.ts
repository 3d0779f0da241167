/**
 * What the active CSM mirrors to its store, and what a CSM that takes over loads back. Viewer ids are
 * not mirrored: units report who is connected, and the new active adopts them from those reports.
 */
export type UnitState = 'up' | 'draining' | 'failed';

export interface UnitRecord {
  id: string;
  /** base URL of the unit's client-facing endpoint, e.g. ws://127.0.0.1:7101 */
  address: string;
  groupsPerUnit: number;
  groupSize: number;
  state: UnitState;
  registeredAt: number;
}

export interface GroupRecord {
  unitId: string;
  index: number;
  role: 'root' | 'member';
  /** the group this one hangs under in the channel tree ("unitId/index"), null for the root */
  parent: string | null;
  viewers: number;
}

export interface ChannelRecord {
  id: number;
  createdAt: number;
  /** sha256 hex of the broadcaster's resume key */
  publisherKeyHash: string;
  groups: GroupRecord[];
  peakViewers: number;
}

export interface ClusterSnapshot {
  epoch: number;
  units: UnitRecord[];
  channels: ChannelRecord[];
  nextChannelId: number;
}

export interface ClusterChanges {
  putUnits?: UnitRecord[];
  deleteUnits?: string[];
  putChannels?: ChannelRecord[];
  deleteChannels?: number[];
  nextChannelId?: number;
}
