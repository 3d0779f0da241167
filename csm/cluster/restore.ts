/**
 * Rebuild the Cluster from what the store mirrored, when a CSM starts on a store that already holds
 * a cluster (a restart with Redis, or a takeover). Units come back as not connected, with a full
 * failure window to reconnect; groups come back empty and fill from the units' reports, which also
 * correct anything the mirror missed. Nothing is sent to units here: their registration reconciles.
 *
 * With `mirroredViewers`, each group is filled instead with as many placeholder viewers as the mirror
 * counted there (ids `mirrored:<unit>/<index>/<n>`, marked connected): a backup's view then shows the
 * viewers the active had, and after a takeover the counts hold until each unit's registration
 * replaces the placeholders with the viewers it really has (Cluster.syncViewers). The placeholders'
 * units are not connected, so nobody is placed next to them in the meantime.
 */
import type { ChannelRecord, ClusterSnapshot, UnitRecord } from '../store/records.js';
import type { Cluster } from './Cluster.js';
import type { Channel, Group, Presence, Unit } from './model.js';

export interface RestoreResult {
  units: number;
  channels: number;
  /** channels dropped because their records no longer make a tree (e.g. the root's unit is gone) */
  skipped: number[];
}

export interface RestoreOptions {
  /** fill groups with placeholder viewers to the mirrored counts (see above) */
  mirroredViewers?: boolean;
}

export const MIRRORED_VIEWER_PREFIX = 'mirrored:';

export function restoreCluster(cluster: Cluster, snapshot: ClusterSnapshot, options: RestoreOptions = {}): RestoreResult {
  const now = cluster.now();
  for (const record of snapshot.units) cluster.units.set(record.id, restoredUnit(record, now));
  const skipped: number[] = [];
  for (const record of snapshot.channels) {
    if (!restoreChannel(cluster, record)) skipped.push(record.id);
    else if (options.mirroredViewers) addMirroredViewers(cluster, record);
  }
  cluster.nextChannelId = Math.max(cluster.nextChannelId, snapshot.nextChannelId);
  return { units: snapshot.units.length, channels: cluster.channels.size, skipped };
}

function restoredUnit(record: UnitRecord, now: number): Unit {
  return {
    id: record.id,
    address: record.address,
    groupsPerUnit: record.groupsPerUnit,
    groupSize: record.groupSize,
    udpCarriers: ['datachannel'],
    operatorCapacity: record.operatorCapacity ? { ...record.operatorCapacity } : null,
    state: record.state,
    registeredAt: record.registeredAt,
    connected: false,
    admitUntil: 0,
    // The failure detector gives every restored unit a full window to reconnect.
    lastHeartbeatAt: now,
    load: { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 },
    groups: new Array<Group | null>(record.groupsPerUnit).fill(null),
    usedGroups: 0,
    viewers: 0,
    presences: new Map(),
  };
}

function restoreChannel(cluster: Cluster, record: ChannelRecord): boolean {
  const rootRecord = record.groups.find((g) => g.role === 'root');
  const usable = record.groups.every((g) => {
    const unit = cluster.units.get(g.unitId);
    return unit && unit.state !== 'failed' && g.index < unit.groups.length && unit.groups[g.index] === null;
  });
  if (!rootRecord || !usable) return false;
  // Each unit's presence hangs under the unit of its head group's parent.
  const parentUnitOf = new Map<string, string | null>();
  for (const g of record.groups) {
    const parentUnit = g.parent === null ? null : g.parent.slice(0, g.parent.lastIndexOf('/'));
    if (parentUnit !== g.unitId) parentUnitOf.set(g.unitId, parentUnit);
  }
  if (parentUnitOf.get(rootRecord.unitId) !== null) return false;

  const channel: Channel = {
    id: record.id,
    createdAt: record.createdAt,
    publisherKeyHash: record.publisherKeyHash,
    root: undefined as unknown as Group,
    presences: new Map(),
    openGroups: new Set(),
    viewers: 0,
    peakViewers: record.peakViewers,
    publisherConnected: false,
    publisherAwaySince: 0,
    rehomedAt: 0,
  };
  const presenceOf = (unitId: string, trail: Set<string>): Presence | null => {
    const existing = channel.presences.get(unitId);
    if (existing) return existing;
    if (trail.has(unitId) || !parentUnitOf.has(unitId)) return null;
    trail.add(unitId);
    const parentUnitId = parentUnitOf.get(unitId)!;
    const parent = parentUnitId === null ? null : presenceOf(parentUnitId, trail);
    if (parentUnitId !== null && !parent) return null;
    const unit = cluster.units.get(unitId)!;
    const presence: Presence = { unit, channel, groups: [], parent, children: [], depth: parent ? parent.depth + 1 : 1, media: null };
    parent?.children.push(presence);
    channel.presences.set(unitId, presence);
    unit.presences.set(channel.id, presence);
    return presence;
  };
  const created: Group[] = [];
  for (const g of record.groups) {
    const presence = presenceOf(g.unitId, new Set());
    if (!presence) {
      undo(channel, created);
      return false;
    }
    const unit = presence.unit;
    const group: Group = { unit, index: g.index, channel, role: g.role, capacity: unit.groupSize, viewerIds: new Set(), emptySince: null };
    unit.groups[g.index] = group;
    unit.usedGroups++;
    created.push(group);
    // The head (root, or the group hanging under another unit) leads its presence.
    const isHead = g.role === 'root' || (g.parent !== null && !g.parent.startsWith(`${g.unitId}/`));
    if (isHead) presence.groups.unshift(group);
    else presence.groups.push(group);
    if (g.role === 'root') channel.root = group;
  }
  cluster.channels.set(channel.id, channel);
  for (const presence of channel.presences.values()) cluster.refreshOpenGroups(presence.unit);
  return true;
}

function addMirroredViewers(cluster: Cluster, record: ChannelRecord): void {
  for (const g of record.groups) {
    const group = cluster.units.get(g.unitId)?.groups[g.index];
    if (!group || group.channel.id !== record.id) continue;
    const count = Math.min(g.viewers, group.capacity);
    for (let n = 0; n < count; n++) {
      const viewer = { id: `${MIRRORED_VIEWER_PREFIX}${g.unitId}/${g.index}/${n}`, group, connected: true, expiresAt: 0 };
      cluster.viewers.set(viewer.id, viewer);
      cluster.attachViewer(viewer, group);
    }
  }
}

function undo(channel: Channel, created: Group[]): void {
  for (const group of created) {
    group.unit.groups[group.index] = null;
    group.unit.usedGroups--;
  }
  for (const presence of channel.presences.values()) presence.unit.presences.delete(channel.id);
}
