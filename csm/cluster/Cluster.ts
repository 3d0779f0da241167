/**
 * The CSM's authoritative state, in one place: units and their groups, channels and their trees,
 * admitted viewers. Every operation is synchronous and does no I/O; what it causes outside (commands
 * to units, log events, store writes) goes to the ClusterEffects. The benchmark drives this same class
 * with simulated units.
 */
import type { ChannelReport, GroupReport, UnitLoad } from '../../protocol/control-messages.js';
import { EventKind } from '../../protocol/event-kinds.js';
import { CsmError } from '../errors.js';
import type { ClusterEffects } from './effects.js';
import type { Channel, Group, Unit, Viewer } from './model.js';
import { groupKey } from './model.js';
import { expansionInServingUnit, leastLoadedUnit, relayParentFor } from './placement.js';
import { allocateGroup, releaseGroup } from './tree-ops.js';
import type { UdpCarrier } from '../../protocol/media-messages.js';

export interface ClusterOptions {
  /** relay links one unit may feed for one channel; bounds fan-out so depth grows like log(units) */
  maxRelayChildren: number;
  /** an empty non-root group is released after this long */
  emptyGroupGraceMs: number;
  /** an admitted viewer who has not connected to its unit by then loses the slot */
  reservationTtlMs: number;
  /** merge under-filled groups of a channel inside a unit (seed 002's minimum load) */
  consolidate: boolean;
  /** prefix of viewer ids, unique per CSM epoch so ids never repeat across a takeover */
  viewerIdPrefix: string;
  /**
   * a channel whose broadcaster stays away this long (never connected after opening, left, or lost
   * with its unit and not back) is closed; within it viewers wait ("reconnecting"), not "ended"
   */
  publisherGraceMs: number;
}

export const defaultClusterOptions: ClusterOptions = {
  maxRelayChildren: 8,
  emptyGroupGraceMs: 30_000,
  reservationTtlMs: 65_000,
  consolidate: true,
  viewerIdPrefix: 'v',
  publisherGraceMs: 20_000,
};

export interface UnitRegistration {
  id: string;
  address: string;
  groupsPerUnit: number;
  groupSize: number;
  load: UnitLoad;
  /** the UDP carriers it serves; none named (a unit from before carriers): the data channel */
  udpCarriers?: UdpCarrier[];
}

const DATA_CHANNEL_ONLY: readonly UdpCarrier[] = ['datachannel'];

export class Cluster {
  readonly units = new Map<string, Unit>();
  readonly channels = new Map<number, Channel>();
  readonly viewers = new Map<string, Viewer>();
  nextChannelId = 1;
  #viewerSeq = 0;
  /** admitted, unconfirmed viewers in admission order (TTL is constant, so also deadline order) */
  #reservations: Viewer[] = [];
  #reservationHead = 0;
  /** groups that became empty, in the order they did */
  #emptied: { group: Group; since: number }[] = [];
  #emptiedHead = 0;
  /** channels that lost viewers since the last consolidation pass */
  readonly #thinned = new Set<Channel>();
  #viewerIdPrefix: string;

  constructor(
    readonly options: ClusterOptions,
    readonly effects: ClusterEffects,
    readonly now: () => number = Date.now,
  ) {
    this.#viewerIdPrefix = options.viewerIdPrefix;
  }

  /**
   * Forget everything, for a CSM that rebuilds its state from the store (restore.ts): a backup's view
   * reloaded from the mirror, or a promotion. `viewerIdPrefix` replaces the option (it carries the
   * new epoch, so viewer ids never repeat across CSM generations). Nothing goes to the effects.
   */
  reset(viewerIdPrefix: string): void {
    this.units.clear();
    this.channels.clear();
    this.viewers.clear();
    this.nextChannelId = 1;
    this.#viewerSeq = 0;
    this.#reservations = [];
    this.#reservationHead = 0;
    this.#emptied = [];
    this.#emptiedHead = 0;
    this.#thinned.clear();
    this.#viewerIdPrefix = viewerIdPrefix;
  }

  // ── units ────────────────────────────────────────────────────────────────────────────────────

  unit(id: string): Unit {
    const unit = this.units.get(id);
    if (!unit) throw new CsmError('CSM_ERR_NO_SUCH_UNIT', id);
    return unit;
  }

  /** A unit (re)connects. A failed unit comes back empty-handed: its channels were moved while it was away. */
  registerUnit(info: UnitRegistration): Unit {
    const now = this.now();
    let unit = this.units.get(info.id);
    if (!unit) {
      unit = {
        id: info.id,
        address: info.address,
        groupsPerUnit: info.groupsPerUnit,
        groupSize: info.groupSize,
        udpCarriers: [...(info.udpCarriers ?? DATA_CHANNEL_ONLY)],
        operatorCapacity: null,
        state: 'up',
        registeredAt: now,
        connected: true,
        admitUntil: 0,
        lastHeartbeatAt: now,
        load: info.load,
        groups: new Array<Group | null>(info.groupsPerUnit).fill(null),
        usedGroups: 0,
        viewers: 0,
        presences: new Map(),
      };
      this.units.set(unit.id, unit);
      this.effects.event({ at: now, kind: EventKind.UNIT_REGISTERED, unitId: unit.id, actor: 'csm', message: `unit ${unit.id} registered at ${unit.address} (${unit.groupsPerUnit} groups × ${unit.groupSize})` });
    } else {
      const wasFailed = unit.state === 'failed';
      unit.address = info.address;
      unit.udpCarriers = [...(info.udpCarriers ?? DATA_CHANNEL_ONLY)];
      // An operator's capacity holds over what a restarted unit registers with (reapplyOperatorCapacity tells it).
      unit.groupsPerUnit = unit.operatorCapacity?.groupsPerUnit ?? info.groupsPerUnit;
      unit.groupSize = unit.operatorCapacity?.groupSize ?? info.groupSize;
      while (unit.groups.length < unit.groupsPerUnit) unit.groups.push(null);
      if (wasFailed) unit.state = 'up';
      unit.connected = true;
      unit.lastHeartbeatAt = now;
      unit.load = info.load;
      this.effects.event({ at: now, kind: EventKind.UNIT_RECONNECTED, unitId: unit.id, actor: 'csm', message: wasFailed ? `failed unit ${unit.id} is back, empty` : `unit ${unit.id} reconnected` });
    }
    this.refreshOpenGroups(unit);
    this.effects.unitChanged(unit);
    return unit;
  }

  /**
   * After a registration reply: a unit that registered with other values than an operator gave it
   * (it restarted with its configuration) is told the operator's capacity again. true when it was.
   */
  reapplyOperatorCapacity(unit: Unit, registered: { groupsPerUnit: number; groupSize: number }): boolean {
    const capacity = unit.operatorCapacity;
    if (!capacity || (capacity.groupsPerUnit === registered.groupsPerUnit && capacity.groupSize === registered.groupSize)) return false;
    this.effects.command(unit, 'csm.setCapacity', { ...capacity });
    this.effects.event({
      at: this.now(),
      kind: EventKind.UNIT_CAPACITY_CHANGED,
      unitId: unit.id,
      actor: 'csm',
      message: `unit ${unit.id} registered with ${registered.groupsPerUnit} groups × ${registered.groupSize}; the operator's ${capacity.groupsPerUnit} groups × ${capacity.groupSize} applied again`,
      data: { ...capacity },
    });
    return true;
  }

  heartbeat(unit: Unit, load: UnitLoad): void {
    unit.lastHeartbeatAt = this.now();
    unit.load = load;
  }

  linkLost(unit: Unit): void {
    if (!unit.connected) return;
    unit.connected = false;
    this.refreshOpenGroups(unit);
    this.effects.event({ at: this.now(), kind: EventKind.UNIT_LINK_LOST, unitId: unit.id, actor: 'csm', message: `control link to unit ${unit.id} lost; it keeps serving until declared failed` });
    this.effects.unitChanged(unit);
  }

  /** Units whose heartbeats are older than `failAfterMs`: the caller fails them. */
  silentUnits(failAfterMs: number): Unit[] {
    const deadline = this.now() - failAfterMs;
    const silent: Unit[] = [];
    for (const unit of this.units.values()) if (unit.state !== 'failed' && unit.lastHeartbeatAt < deadline) silent.push(unit);
    return silent;
  }

  /**
   * Make the CSM's view of a unit's groups and the unit's own agree: groups the unit reports that the
   * CSM did not give it are released, groups the CSM gave it that it lacks are created, relay links are
   * restated, and connected viewers are adopted from the report.
   */
  reconcileUnit(unit: Unit, reported: readonly GroupReport[], channels: readonly ChannelReport[]): void {
    const byIndex = new Map<number, GroupReport>();
    for (const report of reported) {
      const group = unit.groups[report.index];
      if (!group || group.channel.id !== report.channelId) {
        this.effects.command(unit, 'csm.releaseGroup', { channelId: report.channelId, groupIndex: report.index });
      } else {
        byIndex.set(report.index, report);
      }
    }
    for (const group of unit.groups) {
      if (!group) continue;
      const report = byIndex.get(group.index);
      if (!report || report.role !== group.role) {
        this.effects.command(unit, 'csm.createGroup', { channelId: group.channel.id, groupIndex: group.index, role: group.role });
      }
      this.syncViewers(group, report?.viewerIds ?? []);
    }
    const at = this.now();
    for (const c of channels) {
      const presence = unit.presences.get(c.channelId);
      if (presence) {
        presence.media = { reportedAt: at, bitrateBps: c.bitrateBps, backlogFrames: c.backlogFrames, videoSkips: c.videoSkips, drops: c.drops, udpViewers: c.udpViewerIds.length, relayChildren: c.relayChildren };
      }
    }
    // Restate a relay link only where the unit's report disagrees, so steady reports cost no commands.
    const reportedParent = new Map(channels.map((c) => [c.channelId, c.relayParent]));
    for (const presence of unit.presences.values()) {
      const parent = presence.parent ? { unitId: presence.parent.unit.id, address: presence.parent.unit.address } : null;
      if (reportedParent.get(presence.channel.id) !== (parent?.unitId ?? null)) {
        this.effects.command(unit, 'csm.linkRelay', { channelId: presence.channel.id, parent });
      }
    }
  }

  // ── channels ─────────────────────────────────────────────────────────────────────────────────

  channel(id: number): Channel {
    const channel = this.channels.get(id);
    if (!channel) throw new CsmError('CSM_ERR_NO_SUCH_CHANNEL', String(id));
    return channel;
  }

  /** Open a channel: its root group goes to the least-loaded healthy unit with a free group. */
  openChannel(publisherKeyHash: string): Channel {
    const unit = leastLoadedUnit(this.units.values());
    if (!unit) throw new CsmError('CSM_ERR_NO_CAPACITY', 'no unit can take a new channel');
    const now = this.now();
    const channel: Channel = {
      id: this.nextChannelId++,
      createdAt: now,
      publisherKeyHash,
      root: undefined as unknown as Group,
      presences: new Map(),
      openGroups: new Set(),
      viewers: 0,
      peakViewers: 0,
      publisherConnected: false,
      publisherAwaySince: now,
      rehomedAt: 0,
    };
    channel.root = allocateGroup(unit, channel, 'root', null, this.effects);
    this.channels.set(channel.id, channel);
    this.effects.event({ at: now, kind: EventKind.CHANNEL_OPENED, channelId: channel.id, unitId: unit.id, actor: 'csm', message: `channel ${channel.id} opened on ${groupKey(channel.root)}` });
    this.effects.channelChanged(channel);
    return channel;
  }

  closeChannel(channel: Channel, actor: string, why = ''): void {
    for (const presence of [...channel.presences.values()]) {
      for (const group of [...presence.groups]) this.dropGroup(group, false);
      this.effects.command(presence.unit, 'csm.closeChannel', { channelId: channel.id });
    }
    this.channels.delete(channel.id);
    this.#thinned.delete(channel);
    this.effects.event({ at: this.now(), kind: EventKind.CHANNEL_CLOSED, channelId: channel.id, actor, message: `channel ${channel.id} closed${why ? `: ${why}` : ''}` });
    this.effects.channelRemoved(channel.id);
  }

  /**
   * Grow a channel by one group: a free group in a unit already serving it (shallowest first), else
   * the least-loaded other unit, hung under the shallowest presence with spare relay capacity.
   */
  expand(channel: Channel, actor = 'csm'): Group {
    let group: Group;
    const serving = expansionInServingUnit(channel);
    if (serving) {
      group = allocateGroup(serving.unit, channel, 'member', serving.parent, this.effects);
    } else {
      const unit = leastLoadedUnit(this.units.values(), (u) => u.presences.has(channel.id));
      if (!unit) throw new CsmError('CSM_ERR_NO_CAPACITY', `channel ${channel.id} cannot grow`);
      const parent = relayParentFor(channel, this.options.maxRelayChildren);
      if (!parent) throw new CsmError('CSM_ERR_NO_CAPACITY', `channel ${channel.id} has no relay capacity left`);
      group = allocateGroup(unit, channel, 'member', parent, this.effects);
    }
    this.effects.event({ at: this.now(), kind: EventKind.CHANNEL_EXPANDED, channelId: channel.id, unitId: group.unit.id, actor, message: `channel ${channel.id} expanded to ${groupKey(group)}` });
    this.effects.channelChanged(channel);
    return group;
  }

  /** Release every empty non-root group of a channel now (operator shrink); returns how many. */
  shrink(channel: Channel, actor: string): number {
    let released = 0;
    for (const presence of [...channel.presences.values()]) {
      for (const group of [...presence.groups]) {
        if (this.releasable(group)) {
          releaseGroup(group, this.effects);
          released++;
        }
      }
    }
    if (released > 0) {
      this.effects.event({ at: this.now(), kind: EventKind.CHANNEL_SHRUNK, channelId: channel.id, actor, message: `channel ${channel.id} released ${released} empty group(s)` });
      this.effects.channelChanged(channel);
    }
    return released;
  }

  /** An empty member group may go unless it is the last group of a presence that feeds relays. */
  releasable(group: Group): boolean {
    if (group.role === 'root' || group.viewerIds.size > 0) return false;
    if (group.unit.groups[group.index] !== group) return false;
    const presence = group.unit.presences.get(group.channel.id);
    return !presence || presence.groups.length > 1 || presence.children.length === 0;
  }

  // ── viewers ──────────────────────────────────────────────────────────────────────────────────

  /** Admit a viewer: a free slot in the channel's tree, expanding the channel when none is left. */
  admitViewer(channel: Channel): Viewer {
    let group: Group | undefined = channel.openGroups.values().next().value;
    if (!group) group = this.expand(channel);
    const viewer: Viewer = {
      id: `${this.#viewerIdPrefix}${(++this.#viewerSeq).toString(36)}`,
      group,
      connected: false,
      expiresAt: this.now() + this.options.reservationTtlMs,
    };
    this.viewers.set(viewer.id, viewer);
    this.attachViewer(viewer, group);
    this.#reservations.push(viewer);
    this.effects.channelChanged(channel);
    return viewer;
  }

  /** The unit says a viewer connected. Unknown viewers in a known group are adopted (e.g. after a takeover). */
  viewerJoined(unit: Unit, channelId: number, groupIndex: number, viewerId: string): boolean {
    const group = unit.groups[groupIndex];
    if (!group || group.channel.id !== channelId) return false;
    let viewer = this.viewers.get(viewerId);
    if (viewer && viewer.group !== group) {
      this.detachViewer(viewer);
      viewer.group = group;
      this.attachViewer(viewer, group);
    } else if (!viewer) {
      viewer = { id: viewerId, group, connected: true, expiresAt: 0 };
      this.viewers.set(viewerId, viewer);
      this.attachViewer(viewer, group);
    }
    viewer.connected = true;
    this.effects.channelChanged(group.channel);
    return true;
  }

  viewerLeft(unit: Unit, viewerId: string): boolean {
    const viewer = this.viewers.get(viewerId);
    if (!viewer || viewer.group.unit !== unit) return false;
    this.removeViewer(viewer);
    return true;
  }

  removeViewer(viewer: Viewer): void {
    this.viewers.delete(viewer.id);
    this.detachViewer(viewer);
    this.effects.channelChanged(viewer.group.channel);
  }

  // ── bookkeeping shared with the other cluster modules ───────────────────────────────────────

  attachViewer(viewer: Viewer, group: Group): void {
    group.viewerIds.add(viewer.id);
    group.emptySince = null;
    group.unit.viewers++;
    const channel = group.channel;
    channel.viewers++;
    if (channel.viewers > channel.peakViewers) channel.peakViewers = channel.viewers;
    if (group.viewerIds.size >= group.capacity) channel.openGroups.delete(group);
  }

  detachViewer(viewer: Viewer): void {
    const group = viewer.group;
    if (!group.viewerIds.delete(viewer.id)) return;
    group.unit.viewers--;
    const channel = group.channel;
    channel.viewers--;
    if (group.unit.groups[group.index] === group && this.admissible(group.unit)) channel.openGroups.add(group);
    if (group.viewerIds.size === 0 && group.role === 'member') {
      const since = this.now();
      group.emptySince = since;
      this.#emptied.push({ group, since });
    }
    this.#thinned.add(channel);
  }

  /** Drop a group with its viewers (they must rejoin). `tellUnit` false when the unit is gone or was told otherwise. */
  dropGroup(group: Group, tellUnit: boolean): number {
    const lost = group.viewerIds.size;
    for (const id of group.viewerIds) this.viewers.delete(id);
    group.viewerIds.clear();
    group.unit.viewers -= lost;
    group.channel.viewers -= lost;
    releaseGroup(group, this.effects, tellUnit);
    return lost;
  }

  /** New viewers may be placed on this unit's existing groups. */
  admissible(unit: Unit): boolean {
    return unit.state === 'up' && (unit.connected || this.now() < unit.admitUntil);
  }

  /** Keep a unit's groups in (or out of) their channels' open sets after its state changed. */
  refreshOpenGroups(unit: Unit): void {
    const open = this.admissible(unit);
    for (const group of unit.groups) {
      if (!group) continue;
      if (open && group.viewerIds.size < group.capacity) group.channel.openGroups.add(group);
      else group.channel.openGroups.delete(group);
    }
  }

  syncViewers(group: Group, reportedIds: readonly string[]): void {
    const reported = new Set(reportedIds);
    for (const id of [...group.viewerIds]) {
      const viewer = this.viewers.get(id);
      if (viewer?.connected && !reported.has(id)) this.removeViewer(viewer);
    }
    for (const id of reported) this.viewerJoined(group.unit, group.channel.id, group.index, id);
  }

  /** Periodic housekeeping: expired reservations, empty groups past their grace, abandoned channels, consolidation. */
  sweep(consolidate: (channel: Channel) => void): void {
    const now = this.now();
    this.#closeAbandoned(now);
    while (this.#reservationHead < this.#reservations.length) {
      const viewer = this.#reservations[this.#reservationHead]!;
      if (viewer.expiresAt > now) break;
      this.#reservationHead++;
      if (!viewer.connected && this.viewers.get(viewer.id) === viewer) this.removeViewer(viewer);
    }
    this.#reservations = compact(this.#reservations, this.#reservationHead, (h) => (this.#reservationHead = h));
    const deadline = now - this.options.emptyGroupGraceMs;
    while (this.#emptiedHead < this.#emptied.length) {
      const entry = this.#emptied[this.#emptiedHead]!;
      if (entry.since > deadline) break;
      this.#emptiedHead++;
      const { group } = entry;
      if (group.emptySince === entry.since && this.releasable(group)) {
        releaseGroup(group, this.effects);
        this.effects.event({ at: now, kind: EventKind.CHANNEL_SHRUNK, channelId: group.channel.id, unitId: group.unit.id, actor: 'csm', message: `released empty group ${groupKey(group)} of channel ${group.channel.id}` });
        this.effects.channelChanged(group.channel);
      }
    }
    this.#emptied = compact(this.#emptied, this.#emptiedHead, (h) => (this.#emptiedHead = h));
    if (this.options.consolidate) {
      for (const channel of this.#thinned) if (this.channels.get(channel.id) === channel) consolidate(channel);
    }
    this.#thinned.clear();
  }

  /**
   * Channels whose broadcaster has been away longer than the grace are closed. Away is noticed here
   * (every sweep) rather than where the flag changes — opening, unit reports, re-homing, a restore —
   * so each of those only keeps `publisherConnected` true to the units' word.
   */
  #closeAbandoned(now: number): void {
    const deadline = now - this.options.publisherGraceMs;
    for (const channel of [...this.channels.values()]) {
      if (channel.publisherConnected) channel.publisherAwaySince = 0;
      else if (channel.publisherAwaySince === 0) channel.publisherAwaySince = now;
      else if (channel.publisherAwaySince <= deadline) {
        this.closeChannel(channel, 'csm', `no broadcaster for ${Math.round((now - channel.publisherAwaySince) / 1000)} s`);
      }
    }
  }
}

/** Drop the consumed head of a FIFO array once it is most of the array, so it does not grow forever. */
function compact<T>(items: T[], head: number, setHead: (h: number) => void): T[] {
  if (head < 1024 || head * 2 < items.length) return items;
  setHead(0);
  return items.slice(head);
}

