/**
 * Read-only views of the cluster for the admin API, the web's channel info and the store mirror.
 * The live objects never leave the Cluster; these plain copies do.
 */
import type { GroupView, UnitView } from '../../protocol/admin-api.js';
import type { ChannelRecord, UnitRecord } from '../store/records.js';

export type { GroupView, UnitView };
import type { Channel, Group, Presence, PresenceMedia, Unit } from './model.js';
import { groupKey, parentGroupOf } from './model.js';



export interface TreeNodeView {
  unitId: string;
  address: string;
  depth: number;
  groups: string[];
  viewers: number;
  children: TreeNodeView[];
}

export interface ChannelView {
  id: number;
  createdAt: number;
  viewers: number;
  peakViewers: number;
  maxViewers: number;
  groups: number;
  units: string[];
  depth: number;
  publisherConnected: boolean;
  rehomedAt: number;
  root: { group: string; unitId: string; address: string };
  /** per unit serving the channel, its last media report (units that have not reported yet are absent) */
  media: (PresenceMedia & { unitId: string; tcpViewers: number })[];
}

export function groupView(group: Group): GroupView {
  const parent = parentGroupOf(group);
  return {
    key: groupKey(group),
    unitId: group.unit.id,
    index: group.index,
    channelId: group.channel.id,
    role: group.role,
    parent: parent ? groupKey(parent) : null,
    viewers: group.viewerIds.size,
    capacity: group.capacity,
  };
}

export function unitView(unit: Unit): UnitView {
  return {
    id: unit.id,
    address: unit.address,
    state: unit.state,
    connected: unit.connected,
    lastHeartbeatAt: unit.lastHeartbeatAt,
    groupsPerUnit: unit.groupsPerUnit,
    groupSize: unit.groupSize,
    usedGroups: unit.usedGroups,
    viewers: unit.viewers,
    load: { ...unit.load },
    channels: [...unit.presences.keys()],
  };
}

export function channelView(channel: Channel): ChannelView {
  let groups = 0;
  let maxViewers = 0;
  let depth = 0;
  for (const presence of channel.presences.values()) {
    groups += presence.groups.length;
    for (const g of presence.groups) maxViewers += g.capacity;
    if (presence.depth > depth) depth = presence.depth;
  }
  return {
    id: channel.id,
    createdAt: channel.createdAt,
    viewers: channel.viewers,
    peakViewers: channel.peakViewers,
    maxViewers,
    groups,
    units: [...channel.presences.keys()],
    depth,
    publisherConnected: channel.publisherConnected,
    rehomedAt: channel.rehomedAt,
    root: { group: groupKey(channel.root), unitId: channel.root.unit.id, address: channel.root.unit.address },
    media: [...channel.presences.values()].flatMap((p) => {
      if (!p.media) return [];
      let viewers = 0;
      for (const g of p.groups) viewers += g.viewerIds.size;
      return [{ unitId: p.unit.id, ...p.media, tcpViewers: Math.max(0, viewers - p.media.udpViewers) }];
    }),
  };
}

export function treeView(channel: Channel): TreeNodeView | null {
  const root = channel.root.unit.presences.get(channel.id);
  const node = (p: Presence): TreeNodeView => ({
    unitId: p.unit.id,
    address: p.unit.address,
    depth: p.depth,
    groups: p.groups.map(groupKey),
    viewers: p.groups.reduce((n, g) => n + g.viewerIds.size, 0),
    children: p.children.map(node),
  });
  return root ? node(root) : null;
}

export function channelGroups(channel: Channel): GroupView[] {
  const views: GroupView[] = [];
  for (const presence of channel.presences.values()) for (const g of presence.groups) views.push(groupView(g));
  return views;
}

export function unitRecord(unit: Unit): UnitRecord {
  const record: UnitRecord = { id: unit.id, address: unit.address, groupsPerUnit: unit.groupsPerUnit, groupSize: unit.groupSize, state: unit.state, registeredAt: unit.registeredAt };
  if (unit.operatorCapacity) record.operatorCapacity = { ...unit.operatorCapacity };
  return record;
}

export function channelRecord(channel: Channel): ChannelRecord {
  return {
    id: channel.id,
    createdAt: channel.createdAt,
    publisherKeyHash: channel.publisherKeyHash,
    peakViewers: channel.peakViewers,
    groups: channelGroups(channel).map((g) => ({ unitId: g.unitId, index: g.index, role: g.role, parent: g.parent, viewers: g.viewers })),
  };
}
