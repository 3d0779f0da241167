/**
 * The CSM's state model, held in one place (Cluster). Units hold groups; a channel is a tree of
 * "presences" — one per unit that serves the channel — and each presence holds that unit's groups of
 * the channel. Groups inside one unit share the unit's ring buffer, so only presences form relay
 * hops: a presence hangs under a parent presence on another unit (one relay link per channel per unit
 * pair), and tree depth is counted in presences (the root presence has depth 1).
 */
import type { UnitLoad } from '../../protocol/control-messages.js';
import type { UnitState } from '../store/records.js';
import type { UdpCarrier } from '../../protocol/media-messages.js';

export type { UnitState };

export interface Unit {
  readonly id: string;
  address: string;
  groupsPerUnit: number;
  groupSize: number;
  /**
   * the UDP carriers its viewers may ask for, as it registered them (joins pass them on). Not
   * mirrored: a unit restored by a takeover counts as data-channel only until it registers again,
   * which it does at once through the VIP
   */
  udpCarriers: UdpCarrier[];
  /** set by an operator (POST /admin/v1/units/:id/capacity); outlives the unit's restarts, which register its configured values */
  operatorCapacity: { groupsPerUnit: number; groupSize: number } | null;
  state: UnitState;
  registeredAt: number;
  /** the control link is up */
  connected: boolean;
  /**
   * Until then (ms) its groups take viewers although its link is not up: a unit restored by a takeover
   * still serves its viewers and is reconnecting through the VIP. 0: only while connected.
   */
  admitUntil: number;
  lastHeartbeatAt: number;
  /** what the unit measured and reported last */
  load: UnitLoad;
  /** index → group, or null when free */
  groups: (Group | null)[];
  usedGroups: number;
  /** viewers admitted to this unit's groups (reserved or connected), as the CSM counts them */
  viewers: number;
  /** channelId → this unit's presence in that channel's tree */
  presences: Map<number, Presence>;
}

export interface Group {
  readonly unit: Unit;
  readonly index: number;
  readonly channel: Channel;
  role: 'root' | 'member';
  /** viewer slots of this group; fixed when the group is created (capacity changes apply to new groups) */
  readonly capacity: number;
  readonly viewerIds: Set<string>;
  /** when it last became empty (ms), null while it has viewers */
  emptySince: number | null;
}

export interface Presence {
  readonly unit: Unit;
  readonly channel: Channel;
  /** groups[0] is the head: the other groups hang under it, and child presences under it too */
  readonly groups: Group[];
  parent: Presence | null;
  readonly children: Presence[];
  depth: number;
  /** the unit's last media figures for the channel (its periodic report); null before the first */
  media: PresenceMedia | null;
}

/** What a unit last reported about a channel's media there (protocol ChannelReport, summarised). */
export interface PresenceMedia {
  reportedAt: number;
  bitrateBps: number;
  backlogFrames: number;
  videoSkips: number;
  drops: number;
  udpViewers: number;
  relayChildren: number;
}

export interface Channel {
  readonly id: number;
  readonly createdAt: number;
  publisherKeyHash: string;
  root: Group;
  /** unitId → presence, in the order presences were added */
  readonly presences: Map<string, Presence>;
  /** groups with a free slot; the first is filled first */
  readonly openGroups: Set<Group>;
  viewers: number;
  peakViewers: number;
  publisherConnected: boolean;
  /** since when (ms) the broadcaster has been away; 0 while connected (Cluster sweeps it) */
  publisherAwaySince: number;
  /** when the channel last moved its root (ms), 0 if never */
  rehomedAt: number;
}

export interface Viewer {
  readonly id: string;
  group: Group;
  connected: boolean;
  /** a reservation not confirmed by the unit by then is released */
  expiresAt: number;
}

export function groupKey(group: Pick<Group, 'unit' | 'index'>): string {
  return `${group.unit.id}/${group.index}`;
}

/** The group a group hangs under in the channel tree (derived, never stored). */
export function parentGroupOf(group: Group): Group | null {
  const presence = group.unit.presences.get(group.channel.id);
  if (!presence) return null;
  const head = presence.groups[0];
  if (head !== group) return head ?? null;
  return presence.parent?.groups[0] ?? null;
}

export function freeGroups(unit: Unit): number {
  return unit.groupsPerUnit - unit.usedGroups;
}
