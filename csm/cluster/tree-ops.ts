/**
 * Structural changes to a channel tree: adding and releasing groups, adding, removing and
 * re-parenting presences. Each keeps the unit's, channel's and presence's bookkeeping in step and
 * tells the affected units through the effects. Viewer bookkeeping is the caller's (Cluster).
 */
import type { ClusterEffects } from './effects.js';
import type { Channel, Group, Presence, Unit } from './model.js';
import { lowestFreeIndex } from './placement.js';

function relayParentOf(presence: Presence): { unitId: string; address: string } | null {
  return presence.parent ? { unitId: presence.parent.unit.id, address: presence.parent.unit.address } : null;
}

/** Tell a unit where its relay link for the channel comes from (null: it holds the root). */
export function linkRelay(presence: Presence, effects: ClusterEffects): void {
  effects.command(presence.unit, 'csm.linkRelay', { channelId: presence.channel.id, parent: relayParentOf(presence) });
}

function setDepth(presence: Presence, depth: number): void {
  presence.depth = depth;
  for (const child of presence.children) setDepth(child, depth + 1);
}

/** Allocate the unit's lowest free group to the channel. Creates the unit's presence (under `parent`) if it has none. */
export function allocateGroup(
  unit: Unit,
  channel: Channel,
  role: 'root' | 'member',
  parent: Presence | null,
  effects: ClusterEffects,
): Group {
  const index = lowestFreeIndex(unit);
  if (index < 0) throw new Error(`unit ${unit.id} has no free group`);
  const group: Group = { unit, index, channel, role, capacity: unit.groupSize, viewerIds: new Set(), emptySince: null };
  unit.groups[index] = group;
  unit.usedGroups++;
  let presence = unit.presences.get(channel.id);
  const isNewPresence = !presence;
  if (!presence) {
    presence = { unit, channel, groups: [], parent, children: [], depth: parent ? parent.depth + 1 : 1, media: null };
    unit.presences.set(channel.id, presence);
    channel.presences.set(unit.id, presence);
    parent?.children.push(presence);
  }
  // The root group is its presence's head, so the broadcaster's group anchors the whole tree.
  if (role === 'root') presence.groups.unshift(group);
  else presence.groups.push(group);
  channel.openGroups.add(group);
  effects.command(unit, 'csm.createGroup', { channelId: channel.id, groupIndex: index, role });
  if (isNewPresence) linkRelay(presence, effects);
  effects.unitChanged(unit);
  return group;
}

/** Free a group whose viewers the caller has already removed. Drops the presence with its last group. */
export function releaseGroup(group: Group, effects: ClusterEffects, tellUnit = true): void {
  const { unit, channel } = group;
  unit.groups[group.index] = null;
  unit.usedGroups--;
  channel.openGroups.delete(group);
  const presence = unit.presences.get(channel.id);
  if (presence) {
    const at = presence.groups.indexOf(group);
    if (at >= 0) presence.groups.splice(at, 1);
    if (presence.groups.length === 0) removePresence(presence);
  }
  if (tellUnit) effects.command(unit, 'csm.releaseGroup', { channelId: channel.id, groupIndex: group.index });
  effects.unitChanged(unit);
}

/** Detach a presence from its tree. Its children are left parentless for the caller to re-parent. */
export function removePresence(presence: Presence): Presence[] {
  const { unit, channel } = presence;
  unit.presences.delete(channel.id);
  channel.presences.delete(unit.id);
  if (presence.parent) {
    const siblings = presence.parent.children;
    const at = siblings.indexOf(presence);
    if (at >= 0) siblings.splice(at, 1);
  }
  const orphans = presence.children.splice(0);
  for (const orphan of orphans) orphan.parent = null;
  return orphans;
}

/** Hang `presence` (and its subtree) under `parent`, or make it the root presence when parent is null. */
export function reparent(presence: Presence, parent: Presence | null, effects: ClusterEffects): void {
  if (presence.parent) {
    const siblings = presence.parent.children;
    const at = siblings.indexOf(presence);
    if (at >= 0) siblings.splice(at, 1);
  }
  presence.parent = parent;
  parent?.children.push(presence);
  setDepth(presence, parent ? parent.depth + 1 : 1);
  linkRelay(presence, effects);
}

/** True when `candidate` lies in the subtree of `presence` (itself included). */
export function isInSubtree(candidate: Presence, presence: Presence): boolean {
  for (let p: Presence | null = candidate; p; p = p.parent) if (p === presence) return true;
  return false;
}
