/**
 * Moving channels off a unit (paper §4, Fig. 8): when a unit fails, or when an operator evacuates it.
 * Every channel with groups there loses those groups and their viewers (who rejoin through the CSM);
 * if the root was there the root moves — to a unit already serving the channel when one can take it,
 * so its viewers keep watching — and orphaned relay subtrees are re-parented. Lost viewer groups are
 * reallocated so the rejoining viewers find free slots.
 */
import { EventKind } from '../../protocol/event-kinds.js';
import type { Cluster } from './Cluster.js';
import type { Presence, Unit } from './model.js';
import { groupKey } from './model.js';
import { isPlaceable, leastLoadedUnit, relayParentFor } from './placement.js';
import { allocateGroup, isInSubtree, removePresence, reparent } from './tree-ops.js';
import { CsmError } from '../errors.js';

export type RehomeReason = 'failed' | 'evacuated';

export function failUnit(cluster: Cluster, unit: Unit, reason: RehomeReason, actor: string): number[] {
  const now = cluster.now();
  unit.state = reason === 'failed' ? 'failed' : 'draining';
  cluster.refreshOpenGroups(unit);
  const channelIds = [...unit.presences.keys()];
  if (reason === 'evacuated' && channelIds.length > 0) cluster.effects.command(unit, 'csm.evacuate', { channelIds });
  for (const presence of [...unit.presences.values()]) rehomePresence(cluster, presence);
  cluster.effects.event({
    at: now,
    kind: reason === 'failed' ? EventKind.UNIT_FAILED : EventKind.UNIT_EVACUATED,
    unitId: unit.id,
    actor,
    message: reason === 'failed' ? `unit ${unit.id} missed its heartbeats; ${channelIds.length} channel(s) re-homed` : `unit ${unit.id} evacuated by ${actor}; ${channelIds.length} channel(s) moved`,
  });
  cluster.effects.unitChanged(unit);
  return channelIds;
}

function rehomePresence(cluster: Cluster, presence: Presence): void {
  const { channel, unit } = presence;
  const wasRoot = channel.root.unit === unit;
  const orphans = removePresence(presence);
  let lostViewers = 0;
  for (const group of [...presence.groups]) lostViewers += cluster.dropGroup(group, false);

  if (wasRoot) {
    const heir = orphans.find((o) => cluster.admissible(o.unit));
    if (heir) {
      orphans.splice(orphans.indexOf(heir), 1);
      reparent(heir, null, cluster.effects);
      if (isPlaceable(heir.unit)) {
        channel.root = allocateGroup(heir.unit, channel, 'root', null, cluster.effects);
      } else {
        // No free group there: the heir's head group becomes the root and keeps its viewers.
        const head = heir.groups[0]!;
        head.role = 'root';
        channel.root = head;
        cluster.effects.command(heir.unit, 'csm.createGroup', { channelId: channel.id, groupIndex: head.index, role: 'root' });
      }
    } else {
      const target = leastLoadedUnit(cluster.units.values(), (u) => u === unit);
      if (!target) {
        // Nowhere to put the broadcaster: end the channel rather than leave viewers on a headless tree.
        cluster.closeChannel(channel, 'csm');
        return;
      }
      channel.root = allocateGroup(target, channel, 'root', null, cluster.effects);
    }
    channel.rehomedAt = cluster.now();
    channel.publisherConnected = false;
    cluster.effects.event({ at: channel.rehomedAt, kind: EventKind.CHANNEL_REHOMED, channelId: channel.id, unitId: channel.root.unit.id, actor: 'csm', message: `channel ${channel.id} root moved from unit ${unit.id} to ${groupKey(channel.root)}; the broadcaster reconnects there` });
  }

  const root = channel.root.unit.presences.get(channel.id)!;
  for (const orphan of orphans) {
    const parent = relayParentFor(channel, cluster.options.maxRelayChildren, (p) => isInSubtree(p, orphan)) ?? root;
    reparent(orphan, parent, cluster.effects);
  }

  // Rejoining viewers need slots: grow the tree until its free slots cover those who were dropped.
  let free = 0;
  for (const group of channel.openGroups) free += group.capacity - group.viewerIds.size;
  while (free < lostViewers) {
    try {
      const group = cluster.expand(channel);
      free += group.capacity;
    } catch (error) {
      if (error instanceof CsmError && error.csmCode === 'CSM_ERR_NO_CAPACITY') break;
      throw error;
    }
  }
  cluster.effects.channelChanged(channel);
}


