/**
 * Minimum load (seed 002): a channel whose viewers left spreads them thinly over many groups. Inside
 * one unit, groups of a channel share the unit's ring buffer, so merging an under-filled group into a
 * fuller one moves no media and makes no viewer reconnect; it frees a group for other channels.
 */
import { EventKind } from '../../protocol/event-kinds.js';
import type { Cluster } from './Cluster.js';
import type { Channel, Group } from './model.js';
import { groupKey } from './model.js';
import { releaseGroup } from './tree-ops.js';

/** A group under this share of its capacity is a candidate to be merged away. */
export const UNDER_FILLED_SHARE = 0.5;

export function consolidateChannel(cluster: Cluster, channel: Channel): number {
  let merged = 0;
  for (const presence of channel.presences.values()) {
    if (presence.groups.length < 2 || !cluster.admissible(presence.unit)) continue;
    // Emptiest first; the root never moves (it holds the broadcaster), the head only if others remain.
    const candidates = presence.groups
      .filter((g) => g.role === 'member' && g.viewerIds.size > 0 && g.viewerIds.size < g.capacity * UNDER_FILLED_SHARE)
      .sort((a, b) => a.viewerIds.size - b.viewerIds.size);
    for (const from of candidates) {
      if (presence.groups.length < 2 || from.unit.groups[from.index] !== from) continue;
      const into = fullestThatFits(presence.groups, from);
      if (!into) continue;
      moveViewers(cluster, from, into);
      cluster.effects.command(from.unit, 'csm.mergeGroup', { channelId: channel.id, from: from.index, into: into.index });
      releaseGroup(from, cluster.effects, false);
      cluster.effects.event({ at: cluster.now(), kind: EventKind.CHANNEL_CONSOLIDATED, channelId: channel.id, unitId: from.unit.id, actor: 'csm', message: `merged ${groupKey(from)} into ${groupKey(into)}` });
      merged++;
    }
  }
  if (merged > 0) cluster.effects.channelChanged(channel);
  return merged;
}

function fullestThatFits(groups: readonly Group[], from: Group): Group | null {
  let best: Group | null = null;
  for (const g of groups) {
    if (g === from || g.viewerIds.size + from.viewerIds.size > g.capacity) continue;
    if (!best || g.viewerIds.size > best.viewerIds.size) best = g;
  }
  return best;
}

function moveViewers(cluster: Cluster, from: Group, into: Group): void {
  for (const id of [...from.viewerIds]) {
    const viewer = cluster.viewers.get(id);
    if (!viewer) continue;
    cluster.detachViewer(viewer);
    viewer.group = into;
    cluster.attachViewer(viewer, into);
  }
}
