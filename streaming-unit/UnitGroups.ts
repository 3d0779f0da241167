/**
 * The unit's own state, in one place: which channel each group index serves and in which role, the
 * viewers of each group, and per channel the relay parent, the publisher flag and the media counters.
 * Operations are synchronous, do no I/O and throw UnitError; what changed goes out as typed events
 * that the CSM link forwards and the data plane acts on.
 *
 * Viewer notifications (viewerJoined/viewerLeft) come only from addViewer/removeViewer, i.e. from the
 * data plane. Groups dropped by a CSM command (release, merge, evacuate, close) emit group/channel
 * events instead: the CSM issued the command and has already accounted for those viewers, so
 * echoing a viewerLeft for each would only make it remove viewers it has moved (merge) or dropped.
 */
import type { ChannelReport, GroupReport, RelayParent } from '../protocol/control-messages.js';
import { TypedEmitter } from '../protocol/typed-emitter.js';
import { UnitError } from './errors.js';

export type GroupRole = 'root' | 'member';

export interface Group {
  readonly index: number;
  readonly channelId: number;
  role: GroupRole;
  /** viewer slots; fixed when the group is created (a capacity change applies to new groups) */
  readonly capacity: number;
  readonly viewerIds: Set<string>;
}

/** Live media counters of one channel on this unit; the data plane writes them, reports read them. */
export interface ChannelCounters {
  bitrateBps: number;
  backlogFrames: number;
  videoSkips: number;
  drops: number;
  /** child units' relay links reading this unit's ring */
  relayChildren: number;
}

interface ChannelState {
  relayParent: RelayParent | null;
  publisherConnected: boolean;
  readonly counters: ChannelCounters;
  /** viewers whose frames go over their data channel now */
  readonly udpViewerIds: Set<string>;
  readonly groupIndexes: Set<number>;
}

export type GroupDropReason = 'released' | 'merged' | 'evacuated' | 'closed';

export type UnitGroupsEvents = {
  groupCreated: [group: Readonly<Group>];
  /** an existing group changed role (createGroup is an upsert; the CSM promotes a member to root on re-homing) */
  groupRoleChanged: [group: Readonly<Group>];
  /** the group is free again; `group.viewerIds` still lists who was in it, for the data plane to disconnect */
  groupReleased: [group: Readonly<Group>, reason: GroupDropReason];
  /** the viewers of group `from` now count in `into`; they stay connected (same ring buffer) */
  groupMerged: [channelId: number, from: number, into: Readonly<Group>, movedViewerIds: readonly string[]];
  relayLinked: [channelId: number, parent: RelayParent | null];
  /** the CSM moves the channel off this unit: tell these viewers (and the publisher) to rejoin through the CSM; its groups are dropped right after */
  channelEvacuated: [channelId: number, viewerIds: readonly string[]];
  /** the channel ended: tell these viewers it is over; its groups are dropped right after */
  channelClosed: [channelId: number, viewerIds: readonly string[]];
  /** the channel's last group here is gone; its relay link and ring buffer can go */
  channelDropped: [channelId: number];
  viewerJoined: [channelId: number, groupIndex: number, viewerId: string];
  viewerLeft: [channelId: number, groupIndex: number, viewerId: string];
  publisherChanged: [channelId: number, connected: boolean];
};

export class UnitGroups extends TypedEmitter<UnitGroupsEvents> {
  #groups: (Group | null)[];
  readonly #channels = new Map<number, ChannelState>();
  /** viewerId → group index, so a leaving viewer is found without a scan */
  readonly #viewerIndex = new Map<string, number>();
  #used = 0;

  #groupsPerUnit: number;
  #groupSize: number;

  constructor(groupsPerUnit: number, groupSize: number) {
    super();
    this.#groupsPerUnit = groupsPerUnit;
    this.#groupSize = groupSize;
    this.#groups = new Array<Group | null>(groupsPerUnit).fill(null);
  }

  /** groups this unit holds (its configuration, or what the operator set through the CSM since it started) */
  get groupsPerUnit(): number {
    return this.#groupsPerUnit;
  }

  /** viewer slots of groups created from now on */
  get groupSize(): number {
    return this.#groupSize;
  }

  /**
   * The operator changed this unit's capacity (csm.setCapacity). Groups created from now on get
   * `groupSize` slots; existing groups keep theirs. Refused when a group at or above `groupsPerUnit`
   * is in use. Not persisted here: a restarted unit registers with its configuration, and the CSM
   * (which keeps the operator's values) sends it again.
   */
  setCapacity(groupsPerUnit: number, groupSize: number): void {
    if (!Number.isInteger(groupsPerUnit) || groupsPerUnit < 1) throw new UnitError('UNIT_ERR_GROUP_INDEX', `groupsPerUnit ${groupsPerUnit}`);
    if (!Number.isInteger(groupSize) || groupSize < 1) throw new UnitError('UNIT_ERR_GROUP_INDEX', `groupSize ${groupSize}`);
    for (let i = groupsPerUnit; i < this.#groups.length; i++) {
      if (this.#groups[i]) throw new UnitError('UNIT_ERR_CAPACITY_IN_USE', `group ${i} serves channel ${this.#groups[i]!.channelId}; groupsPerUnit must be at least ${i + 1}`);
    }
    const groups = this.#groups.slice(0, groupsPerUnit);
    while (groups.length < groupsPerUnit) groups.push(null);
    this.#groups = groups;
    this.#groupsPerUnit = groupsPerUnit;
    this.#groupSize = groupSize;
  }

  get groupsUsed(): number {
    return this.#used;
  }

  get viewerCount(): number {
    return this.#viewerIndex.size;
  }

  /** This unit holds the channel's root group (the publisher connects here). */
  holdsRoot(channelId: number): boolean {
    const channel = this.#channels.get(channelId);
    if (channel) for (const index of channel.groupIndexes) if (this.#groups[index]!.role === 'root') return true;
    return false;
  }

  /** Viewers of one channel here (all its groups). */
  viewerCountOf(channelId: number): number {
    const channel = this.#channels.get(channelId);
    let n = 0;
    if (channel) for (const index of channel.groupIndexes) n += this.#groups[index]!.viewerIds.size;
    return n;
  }

  group(index: number): Readonly<Group> | null {
    return this.#groups[index] ?? null;
  }

  groups(): Readonly<Group>[] {
    return this.#groups.filter((g): g is Group => g !== null);
  }

  channelIds(): number[] {
    return [...this.#channels.keys()];
  }

  hasChannel(channelId: number): boolean {
    return this.#channels.has(channelId);
  }

  relayParent(channelId: number): RelayParent | null {
    return this.#channels.get(channelId)?.relayParent ?? null;
  }

  publisherConnected(channelId: number): boolean {
    return this.#channels.get(channelId)?.publisherConnected ?? false;
  }

  /** The channel's mutable counters (the data plane updates them in place), undefined if not served here. */
  counters(channelId: number): ChannelCounters | undefined {
    return this.#channels.get(channelId)?.counters;
  }

  /** Allocate `index` to the channel, or set the role if the channel already holds it. Returns true when created. */
  createGroup(channelId: number, index: number, role: GroupRole): boolean {
    this.#checkIndex(index);
    const existing = this.#groups[index];
    if (existing) {
      if (existing.channelId !== channelId) throw new UnitError('UNIT_ERR_GROUP_TAKEN', `group ${index} serves channel ${existing.channelId}, not ${channelId}`);
      if (existing.role !== role) {
        existing.role = role;
        this.safeEmit('groupRoleChanged', existing);
      }
      return false;
    }
    const group: Group = { index, channelId, role, capacity: this.#groupSize, viewerIds: new Set() };
    this.#groups[index] = group;
    this.#used++;
    let channel = this.#channels.get(channelId);
    if (!channel) {
      channel = { relayParent: null, publisherConnected: false, counters: { bitrateBps: 0, backlogFrames: 0, videoSkips: 0, drops: 0, relayChildren: 0 }, udpViewerIds: new Set(), groupIndexes: new Set() };
      this.#channels.set(channelId, channel);
    }
    channel.groupIndexes.add(index);
    this.safeEmit('groupCreated', group);
    return true;
  }

  releaseGroup(channelId: number, index: number): void {
    this.#drop(this.#channelGroup(channelId, index), 'released');
  }

  /** Consolidation: the viewers of `from` move to `into` (same channel), and `from` is freed. */
  mergeGroup(channelId: number, from: number, into: number): void {
    if (from === into) throw new UnitError('UNIT_ERR_MERGE_INVALID', `group ${from} into itself`);
    const source = this.#channelGroup(channelId, from);
    const target = this.#channelGroup(channelId, into);
    // The root holds the broadcaster; merging it away would leave the channel without its root here.
    if (source.role === 'root') throw new UnitError('UNIT_ERR_MERGE_INVALID', `group ${from} is the channel's root`);
    if (target.viewerIds.size + source.viewerIds.size > target.capacity) {
      throw new UnitError('UNIT_ERR_GROUP_FULL', `${source.viewerIds.size} + ${target.viewerIds.size} viewers exceed ${target.capacity}`);
    }
    const moved = [...source.viewerIds];
    for (const viewerId of moved) {
      target.viewerIds.add(viewerId);
      this.#viewerIndex.set(viewerId, into);
    }
    source.viewerIds.clear();
    this.safeEmit('groupMerged', channelId, from, target, moved);
    this.#drop(source, 'merged');
  }

  /** Set (or clear, for the root unit) where this unit's relay link for the channel comes from. */
  linkRelay(channelId: number, parent: RelayParent | null): void {
    const channel = this.#channels.get(channelId);
    if (!channel) throw new UnitError('UNIT_ERR_NO_SUCH_CHANNEL', `channel ${channelId}`);
    const same = parent === null ? channel.relayParent === null : channel.relayParent?.unitId === parent.unitId && channel.relayParent.address === parent.address;
    if (same) return;
    channel.relayParent = parent ? { unitId: parent.unitId, address: parent.address } : null;
    this.safeEmit('relayLinked', channelId, channel.relayParent);
  }

  /** Drop every group of these channels; channels not served here are skipped. Returns the ones dropped. */
  evacuate(channelIds: readonly number[]): number[] {
    const done: number[] = [];
    for (const channelId of channelIds) {
      const viewerIds = this.#viewersOf(channelId);
      if (!viewerIds) continue;
      done.push(channelId);
      // Announce first, while the groups still exist, so the data plane can tell its clients to rejoin.
      this.safeEmit('channelEvacuated', channelId, viewerIds);
      this.#dropChannel(channelId, 'evacuated');
    }
    return done;
  }

  /** Drop every group of the channel. Idempotent: false when the channel is not served here. */
  closeChannel(channelId: number): boolean {
    const viewerIds = this.#viewersOf(channelId);
    if (!viewerIds) return false;
    this.safeEmit('channelClosed', channelId, viewerIds);
    this.#dropChannel(channelId, 'closed');
    return true;
  }

  /** A viewer connected to a group (data plane). Idempotent for the same group; false when it was already there. */
  addViewer(channelId: number, index: number, viewerId: string): boolean {
    // A bad id in a report would fail the CSM's schema check and cost the whole control link.
    if (typeof viewerId !== 'string' || viewerId.length < 1 || viewerId.length > 64) throw new UnitError('UNIT_ERR_VIEWER_ID');
    const group = this.#channelGroup(channelId, index);
    const current = this.#viewerIndex.get(viewerId);
    if (current === index) return false;
    if (current !== undefined) throw new UnitError('UNIT_ERR_VIEWER_EXISTS', `${viewerId} is in group ${current}`);
    if (group.viewerIds.size >= group.capacity) throw new UnitError('UNIT_ERR_GROUP_FULL', `group ${index} has ${group.capacity} viewers`);
    group.viewerIds.add(viewerId);
    this.#viewerIndex.set(viewerId, index);
    this.safeEmit('viewerJoined', channelId, index, viewerId);
    return true;
  }

  /** A viewer disconnected (data plane). False when it was not here (already dropped with its group). */
  removeViewer(viewerId: string): boolean {
    const index = this.#viewerIndex.get(viewerId);
    if (index === undefined) return false;
    const group = this.#groups[index]!;
    group.viewerIds.delete(viewerId);
    this.#viewerIndex.delete(viewerId);
    this.#channels.get(group.channelId)?.udpViewerIds.delete(viewerId);
    this.safeEmit('viewerLeft', group.channelId, index, viewerId);
    return true;
  }

  /** Where a viewer's frames go now (data plane), for the reports. Unknown viewers are ignored. */
  setViewerMode(viewerId: string, mode: 'udp' | 'tcp'): void {
    const index = this.#viewerIndex.get(viewerId);
    if (index === undefined) return;
    const udp = this.#channels.get(this.#groups[index]!.channelId)?.udpViewerIds;
    if (mode === 'udp') udp?.add(viewerId);
    else udp?.delete(viewerId);
  }

  /** Viewers of the channel here on UDP (data channel) now. */
  udpViewerCount(channelId: number): number {
    return this.#channels.get(channelId)?.udpViewerIds.size ?? 0;
  }

  /** The broadcaster of a channel connected or went away (data plane). */
  setPublisherConnected(channelId: number, connected: boolean): void {
    const channel = this.#channels.get(channelId);
    if (!channel) throw new UnitError('UNIT_ERR_NO_SUCH_CHANNEL', `channel ${channelId}`);
    if (channel.publisherConnected === connected) return;
    channel.publisherConnected = connected;
    this.safeEmit('publisherChanged', channelId, connected);
  }

  /** The unit's state in the shapes of protocol/control-messages.ts (register and periodic report). */
  report(): { groups: GroupReport[]; channels: ChannelReport[] } {
    const groups: GroupReport[] = this.groups().map((g) => ({ index: g.index, channelId: g.channelId, role: g.role, viewerIds: [...g.viewerIds] }));
    const channels: ChannelReport[] = [];
    for (const [channelId, c] of this.#channels) {
      channels.push({
        channelId,
        relayParent: c.relayParent?.unitId ?? null,
        publisherConnected: c.publisherConnected,
        bitrateBps: Math.max(0, c.counters.bitrateBps),
        backlogFrames: Math.max(0, Math.trunc(c.counters.backlogFrames)),
        videoSkips: Math.max(0, Math.trunc(c.counters.videoSkips)),
        drops: Math.max(0, Math.trunc(c.counters.drops)),
        // Viewers dropped with their group (no removeViewer) may linger in the set: report only those here.
        udpViewerIds: [...c.udpViewerIds].filter((id) => this.#viewerIndex.has(id)),
        relayChildren: Math.max(0, Math.trunc(c.counters.relayChildren)),
      });
    }
    return { groups, channels };
  }

  #checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.groupsPerUnit) {
      throw new UnitError('UNIT_ERR_GROUP_INDEX', `${index} not in 0..${this.groupsPerUnit - 1}`);
    }
  }

  #channelGroup(channelId: number, index: number): Group {
    this.#checkIndex(index);
    const group = this.#groups[index];
    if (!group) throw new UnitError('UNIT_ERR_NO_SUCH_GROUP', `group ${index}`);
    if (group.channelId !== channelId) throw new UnitError('UNIT_ERR_CHANNEL_MISMATCH', `group ${index} serves channel ${group.channelId}, not ${channelId}`);
    return group;
  }

  /** The viewers of every group of a channel, or null when the channel is not served here. */
  #viewersOf(channelId: number): string[] | null {
    const channel = this.#channels.get(channelId);
    if (!channel) return null;
    const viewerIds: string[] = [];
    for (const index of channel.groupIndexes) viewerIds.push(...this.#groups[index]!.viewerIds);
    return viewerIds;
  }

  #dropChannel(channelId: number, reason: GroupDropReason): void {
    const channel = this.#channels.get(channelId);
    if (!channel) return;
    for (const index of [...channel.groupIndexes]) this.#drop(this.#groups[index]!, reason);
  }

  #drop(group: Group, reason: GroupDropReason): void {
    this.#groups[group.index] = null;
    this.#used--;
    for (const viewerId of group.viewerIds) this.#viewerIndex.delete(viewerId);
    const channel = this.#channels.get(group.channelId)!;
    channel.groupIndexes.delete(group.index);
    this.safeEmit('groupReleased', group, reason);
    // The relay link and counters belong to the channel's presence here, which ends with its last group.
    if (channel.groupIndexes.size === 0) {
      this.#channels.delete(group.channelId);
      this.safeEmit('channelDropped', group.channelId);
    }
  }
}
