/**
 * What must hold of the cluster's state after any sequence of operations. Tests and the control
 * benchmark call this after every phase; it returns the violations found (none when all is well).
 */
import type { Cluster } from './Cluster.js';
import type { Presence } from './model.js';
import { groupKey } from './model.js';

export function checkInvariants(cluster: Cluster, limit = 20): string[] {
  const problems: string[] = [];
  const report = (problem: string): boolean => problems.push(problem) >= limit;
  let groupedViewers = 0;

  for (const unit of cluster.units.values()) {
    let used = 0;
    let viewers = 0;
    for (const group of unit.groups) {
      if (!group) continue;
      used++;
      viewers += group.viewerIds.size;
      if (group.viewerIds.size > group.capacity && report(`group ${groupKey(group)} over capacity: ${group.viewerIds.size} > ${group.capacity}`)) return problems;
      if (unit.state === 'failed' && report(`failed unit ${unit.id} still holds group ${groupKey(group)}`)) return problems;
      if (!cluster.channels.has(group.channel.id) && report(`group ${groupKey(group)} belongs to closed channel ${group.channel.id}`)) return problems;
      const presence = unit.presences.get(group.channel.id);
      if ((!presence || !presence.groups.includes(group)) && report(`group ${groupKey(group)} missing from its presence`)) return problems;
    }
    if (used !== unit.usedGroups && report(`unit ${unit.id} counts ${unit.usedGroups} groups, holds ${used}`)) return problems;
    if (viewers !== unit.viewers && report(`unit ${unit.id} counts ${unit.viewers} viewers, holds ${viewers}`)) return problems;
    groupedViewers += viewers;
  }

  for (const viewer of cluster.viewers.values()) {
    const g = viewer.group;
    if ((g.unit.groups[g.index] !== g || !g.viewerIds.has(viewer.id)) && report(`viewer ${viewer.id} not in the group it points to`)) return problems;
  }
  if (groupedViewers !== cluster.viewers.size) report(`groups hold ${groupedViewers} viewers, the CSM admitted ${cluster.viewers.size}`);

  for (const channel of cluster.channels.values()) {
    const root = channel.root;
    if (root.role !== 'root' || root.unit.groups[root.index] !== root) report(`channel ${channel.id}: root group not allocated`);
    const rootPresence = root.unit.presences.get(channel.id);
    if (!rootPresence || rootPresence.parent !== null || rootPresence.groups[0] !== root) report(`channel ${channel.id}: root presence malformed`);
    let viewers = 0;
    let reached = 0;
    const visit = (p: Presence, depth: number): void => {
      reached++;
      if (p.depth !== depth) report(`channel ${channel.id}: presence on ${p.unit.id} has depth ${p.depth}, expected ${depth}`);
      if (p.children.length > cluster.options.maxRelayChildren) report(`channel ${channel.id}: unit ${p.unit.id} feeds ${p.children.length} relays`);
      if (p.groups.length === 0) report(`channel ${channel.id}: presence on ${p.unit.id} has no group`);
      for (const g of p.groups) viewers += g.viewerIds.size;
      for (const child of p.children) {
        if (child.parent !== p) report(`channel ${channel.id}: child ${child.unit.id} does not point back to ${p.unit.id}`);
        if (child.unit === p.unit) report(`channel ${channel.id}: unit ${p.unit.id} relays to itself`);
        visit(child, depth + 1);
      }
    };
    if (rootPresence) visit(rootPresence, 1);
    if (reached !== channel.presences.size) report(`channel ${channel.id}: ${channel.presences.size} presences, ${reached} reachable from the root`);
    if (viewers !== channel.viewers) report(`channel ${channel.id}: counts ${channel.viewers} viewers, holds ${viewers}`);
    for (const g of channel.openGroups) {
      if (g.viewerIds.size >= g.capacity || g.unit.groups[g.index] !== g) report(`channel ${channel.id}: ${groupKey(g)} listed open but is full or released`);
    }
    if (problems.length >= limit) return problems;
  }
  return problems;
}

export function maxTreeDepth(cluster: Cluster): number {
  let max = 0;
  for (const channel of cluster.channels.values()) {
    for (const presence of channel.presences.values()) if (presence.depth > max) max = presence.depth;
  }
  return max;
}
