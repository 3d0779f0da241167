/**
 * Placement decisions as pure functions over the units' current load (LiveKit's selectors; the
 * paper's load balancer). Load is measured, not guessed: the CSM's exact count of groups and
 * viewers on a unit, and the CPU the unit itself reports, whichever is fuller.
 */
import type { Channel, Presence, Unit } from './model.js';
import { freeGroups } from './model.js';

/** A unit may receive new groups: up (not draining or failed) and its control link connected. */
export function isPlaceable(unit: Unit): boolean {
  return unit.state === 'up' && unit.connected && freeGroups(unit) > 0;
}

/** 0 = idle, 1 = full. */
export function loadScore(unit: Unit): number {
  const groupFill = unit.usedGroups / unit.groupsPerUnit;
  const viewerFill = unit.viewers / (unit.groupsPerUnit * unit.groupSize);
  // Units report cores used. A unit's JavaScript (and uWebSockets.js with it) runs on one thread, so
  // one core busy is a full unit whatever the machine's core count.
  const cpuFill = unit.load.cpu;
  return Math.max(groupFill, viewerFill, cpuFill);
}

function lessLoaded(a: Unit, b: Unit): boolean {
  const sa = loadScore(a);
  const sb = loadScore(b);
  if (sa !== sb) return sa < sb;
  if (a.usedGroups !== b.usedGroups) return a.usedGroups < b.usedGroups;
  return a.id < b.id;
}

/** The least-loaded placeable unit, optionally skipping units that already serve a channel. */
export function leastLoadedUnit(units: Iterable<Unit>, exclude?: (unit: Unit) => boolean): Unit | null {
  let best: Unit | null = null;
  for (const unit of units) {
    if (!isPlaceable(unit) || exclude?.(unit)) continue;
    if (best === null || lessLoaded(unit, best)) best = unit;
  }
  return best;
}

/** Lowest free group index of a unit (the paper's Fig. 4 fills a unit's free groups in order). */
export function lowestFreeIndex(unit: Unit): number {
  const end = Math.min(unit.groupsPerUnit, unit.groups.length);
  for (let i = 0; i < end; i++) if (unit.groups[i] === null) return i;
  return -1;
}

/** Presences of a channel in breadth-first order from the root (shallowest first). */
export function presencesByDepth(channel: Channel): Presence[] {
  const root = channel.root.unit.presences.get(channel.id);
  if (!root) return [];
  const order: Presence[] = [root];
  for (let i = 0; i < order.length; i++) order.push(...order[i]!.children);
  return order;
}

/**
 * Where a channel grows next when no group of its tree has a free slot: a free group in a unit that
 * already serves the channel (shallowest first), else null (the caller then takes a new unit).
 */
export function expansionInServingUnit(channel: Channel): Presence | null {
  for (const presence of presencesByDepth(channel)) if (isPlaceable(presence.unit)) return presence;
  return null;
}

/**
 * The presence a new unit's presence hangs under: the shallowest one with fewer than `maxChildren`
 * relay children whose unit is alive. Filling breadth-first keeps depth ≈ log_maxChildren(units).
 */
export function relayParentFor(channel: Channel, maxChildren: number, skip?: (p: Presence) => boolean): Presence | null {
  for (const presence of presencesByDepth(channel)) {
    if (skip?.(presence)) continue;
    if (presence.unit.state === 'failed') continue;
    if (presence.children.length < maxChildren) return presence;
  }
  return null;
}
