/**
 * What the CSM offers over HTTP, as plain async methods: the service API the web server calls (open a
 * channel, join, resume publishing, end) and the operator API (units, channels, trees, failover,
 * drain, expand, shrink, close, event log). It reads and changes the Cluster and signs tickets; the
 * HTTP layer only validates, authenticates and maps errors.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventKind } from '../protocol/event-kinds.js';
import type { ChannelStore } from '../protocol/store/ChannelStore.js';
import type { EventLog, EventQuery, LogEvent } from '../protocol/store/EventLog.js';
import type { TicketSigner } from '../protocol/tickets.js';
import type { Cluster } from './cluster/Cluster.js';
import { failUnit } from './cluster/rehome.js';
import { channelGroups, channelView, groupView, treeView, unitView, type ChannelView, type GroupView, type TreeNodeView, type UnitView } from './cluster/views.js';
import { groupKey, type Channel } from './cluster/model.js';
import { CsmError } from './errors.js';
import type { IngestGrant, JoinResult, OpenChannelResult } from '../protocol/service-api.js';

export type { IngestGrant, JoinResult, OpenChannelResult };

export interface ChannelInfo extends ChannelView {
  title: string;
  broadcaster: string;
}

export interface ClusterSummary {
  csmId: string;
  role: 'active' | 'backup';
  epoch: number;
  units: { total: number; up: number; draining: number; failed: number };
  channels: number;
  viewers: number;
  groupsUsed: number;
  groupsTotal: number;
}

interface ChannelTitle {
  title: string;
  broadcaster: string;
}

export interface CsmServiceDeps {
  csmId: string;
  cluster: Cluster;
  signer: TicketSigner;
  ticketTtlSeconds: number;
  channelStore: ChannelStore;
  eventLog: EventLog;
  epoch: () => number;
  role: () => 'active' | 'backup';
  /** called after every change made through the service (tests use it to observe effects) */
  changed: () => void;
  /** a metadata write failed; the channel itself stands (the CSM's memory is authoritative) */
  storeFailed?: (error: Error) => void;
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

export class CsmService {
  readonly #titles = new Map<number, ChannelTitle>();

  constructor(readonly deps: CsmServiceDeps) {}

  get cluster(): Cluster {
    return this.deps.cluster;
  }

  // ── service API (the web server) ────────────────────────────────────────────────────────────

  async openChannel(title: string, broadcaster: string): Promise<OpenChannelResult> {
    this.#mustBeActive();
    const publisherKey = randomBytes(24).toString('base64url');
    const channel = this.cluster.openChannel(sha256(publisherKey));
    this.#titles.set(channel.id, { title, broadcaster });
    this.deps.changed();
    await this.deps.channelStore
      .put({ id: channel.id, title, broadcaster, createdAt: channel.createdAt, viewers: 0, peakViewers: 0 })
      .catch((error: Error) => this.deps.storeFailed?.(error));
    return { ...(await this.#ingestGrant(channel)), publisherKey };
  }

  async joinChannel(channelId: number): Promise<JoinResult> {
    this.#mustBeActive();
    const channel = this.cluster.channel(channelId);
    const viewer = this.cluster.admitViewer(channel);
    this.deps.changed();
    const { group } = viewer;
    const ttl = this.deps.ticketTtlSeconds;
    const ticket = await this.deps.signer.sign({ role: 'view', channel: channel.id, unit: group.unit.id, group: group.index, id: viewer.id }, { ttlSeconds: ttl });
    return {
      channelId: channel.id,
      viewerId: viewer.id,
      unitId: group.unit.id,
      url: group.unit.address,
      group: groupKey(group),
      groupIndex: group.index,
      ticket,
      expiresAt: this.cluster.now() + ttl * 1000,
      transports: ['udp', 'tcp'],
      udpCarriers: [...group.unit.udpCarriers],
    };
  }

  /** Where the broadcaster publishes now (it moves when the root unit fails), with a fresh ticket. */
  async resumePublisher(channelId: number, publisherKey: string): Promise<IngestGrant> {
    this.#mustBeActive();
    const channel = this.#ownedChannel(channelId, publisherKey);
    return this.#ingestGrant(channel);
  }

  async endChannel(channelId: number, publisherKey: string): Promise<void> {
    this.#mustBeActive();
    const channel = this.#ownedChannel(channelId, publisherKey);
    await this.#close(channel, 'broadcaster');
  }

  listChannels(): ChannelInfo[] {
    return [...this.cluster.channels.values()].map((c) => this.#info(c));
  }

  getChannel(channelId: number): ChannelInfo {
    return this.#info(this.cluster.channel(channelId));
  }

  // ── operator API ────────────────────────────────────────────────────────────────────────────

  summary(): ClusterSummary {
    const units = { total: 0, up: 0, draining: 0, failed: 0 };
    let groupsUsed = 0;
    let groupsTotal = 0;
    for (const unit of this.cluster.units.values()) {
      units.total++;
      units[unit.state]++;
      groupsUsed += unit.usedGroups;
      if (unit.state !== 'failed') groupsTotal += unit.groupsPerUnit;
    }
    return { csmId: this.deps.csmId, role: this.deps.role(), epoch: this.deps.epoch(), units, channels: this.cluster.channels.size, viewers: this.cluster.viewers.size, groupsUsed, groupsTotal };
  }

  listUnits(): UnitView[] {
    return [...this.cluster.units.values()].map(unitView);
  }

  getUnit(unitId: string): UnitView & { groups: (GroupView | null)[] } {
    const unit = this.cluster.unit(unitId);
    return { ...unitView(unit), groups: unit.groups.slice(0, unit.groupsPerUnit).map((g) => (g ? groupView(g) : null)) };
  }

  evacuateUnit(unitId: string, actor: string): { moved: number[] } {
    this.#mustBeActive();
    const unit = this.cluster.unit(unitId);
    if (unit.state === 'failed') throw new CsmError('CSM_ERR_UNIT_STATE', `unit ${unitId} has failed; its channels were already moved`);
    const moved = failUnit(this.cluster, unit, 'evacuated', actor);
    this.deps.changed();
    return { moved };
  }

  drainUnit(unitId: string, actor: string): UnitView {
    return this.#setUnitState(unitId, 'up', 'draining', actor, EventKind.UNIT_DRAINING, 'drained: no new groups will be placed there');
  }

  resumeUnit(unitId: string, actor: string): UnitView {
    return this.#setUnitState(unitId, 'draining', 'up', actor, EventKind.UNIT_RESUMED, 'back in placement');
  }

  /**
   * The operator changes a unit's capacity for new placements: groupsPerUnit may not leave out a group
   * in use (409 naming the highest index), groupSize applies to groups created from now on. The unit
   * is told (csm.setCapacity), and told again whenever it registers with other values (a restart
   * brings back its configuration); the operator's values are mirrored with the unit.
   */
  setUnitCapacity(unitId: string, change: { groupsPerUnit?: number; groupSize?: number }, actor: string): UnitView {
    this.#mustBeActive();
    const unit = this.cluster.unit(unitId);
    const groupsPerUnit = change.groupsPerUnit ?? unit.groupsPerUnit;
    const groupSize = change.groupSize ?? unit.groupSize;
    let highest = -1;
    unit.groups.forEach((g, i) => {
      if (g !== null) highest = i;
    });
    if (groupsPerUnit < highest + 1) {
      throw new CsmError('CSM_ERR_UNIT_STATE', `unit ${unitId} uses group index ${highest}; groupsPerUnit must be at least ${highest + 1}`);
    }
    const before = `${unit.groupsPerUnit} groups × ${unit.groupSize}`;
    unit.groupsPerUnit = groupsPerUnit;
    unit.groupSize = groupSize;
    unit.operatorCapacity = { groupsPerUnit, groupSize };
    unit.groups.length = Math.min(unit.groups.length, groupsPerUnit);
    while (unit.groups.length < groupsPerUnit) unit.groups.push(null);
    this.cluster.refreshOpenGroups(unit);
    this.cluster.effects.command(unit, 'csm.setCapacity', { groupsPerUnit, groupSize });
    this.cluster.effects.unitChanged(unit);
    this.cluster.effects.event({
      at: this.cluster.now(),
      kind: EventKind.UNIT_CAPACITY_CHANGED,
      unitId,
      actor,
      message: `unit ${unitId} capacity ${before} → ${groupsPerUnit} groups × ${groupSize} (by ${actor})`,
      data: { groupsPerUnit, groupSize },
    });
    this.deps.changed();
    return unitView(unit);
  }

  removeUnit(unitId: string, actor: string): void {
    this.#mustBeActive();
    const unit = this.cluster.unit(unitId);
    if (unit.usedGroups > 0) throw new CsmError('CSM_ERR_UNIT_NOT_EMPTY', `unit ${unitId} holds ${unit.usedGroups} group(s)`);
    this.cluster.effects.command(unit, 'csm.removeUnit', {});
    this.cluster.units.delete(unit.id);
    this.cluster.effects.unitRemoved(unit.id);
    this.cluster.effects.event({ at: this.cluster.now(), kind: EventKind.UNIT_REMOVED, unitId, actor, message: `unit ${unitId} removed by ${actor}` });
    this.deps.changed();
  }

  channelTree(channelId: number): TreeNodeView | null {
    return treeView(this.cluster.channel(channelId));
  }

  channelGroups(channelId: number): GroupView[] {
    return channelGroups(this.cluster.channel(channelId));
  }

  expandChannel(channelId: number, groups: number, actor: string): GroupView[] {
    this.#mustBeActive();
    const channel = this.cluster.channel(channelId);
    const added: GroupView[] = [];
    try {
      for (let i = 0; i < groups; i++) added.push(groupView(this.cluster.expand(channel, actor)));
    } finally {
      this.#operatorEvent(actor, `expand channel ${channelId} by ${groups} group(s): ${added.length} added`, { channelId });
      this.deps.changed();
    }
    return added;
  }

  shrinkChannel(channelId: number, actor: string): { released: number } {
    this.#mustBeActive();
    const released = this.cluster.shrink(this.cluster.channel(channelId), actor);
    this.#operatorEvent(actor, `shrink channel ${channelId}: ${released} empty group(s) released`, { channelId });
    this.deps.changed();
    return { released };
  }

  async closeChannel(channelId: number, actor: string): Promise<void> {
    this.#mustBeActive();
    await this.#close(this.cluster.channel(channelId), actor);
  }

  events(query: EventQuery): Promise<LogEvent[]> {
    return this.deps.eventLog.query(query);
  }

  /** Title and broadcaster of a channel restored from the store (after a takeover). */
  rememberTitle(channelId: number, title: string, broadcaster: string): void {
    this.#titles.set(channelId, { title, broadcaster });
  }

  /** Every title at once, from the store, after the cluster was rebuilt from it (a reload or a promotion). */
  replaceTitles(metas: Iterable<{ id: number; title: string; broadcaster: string }>): void {
    this.#titles.clear();
    for (const meta of metas) if (this.cluster.channels.has(meta.id)) this.#titles.set(meta.id, { title: meta.title, broadcaster: meta.broadcaster });
  }

  // ── helpers ─────────────────────────────────────────────────────────────────────────────────

  #mustBeActive(): void {
    if (this.deps.role() !== 'active') throw new CsmError('CSM_ERR_NOT_ACTIVE');
  }

  #ownedChannel(channelId: number, publisherKey: string): Channel {
    const channel = this.cluster.channel(channelId);
    const given = Buffer.from(sha256(publisherKey), 'hex');
    const stored = Buffer.from(channel.publisherKeyHash, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) throw new CsmError('CSM_ERR_BAD_PUBLISHER_KEY');
    return channel;
  }

  async #ingestGrant(channel: Channel): Promise<IngestGrant> {
    const ttl = this.deps.ticketTtlSeconds;
    const ticket = await this.deps.signer.sign({ role: 'publish', channel: channel.id, id: `p${channel.id}` }, { ttlSeconds: ttl });
    const root = channel.root;
    return { channelId: channel.id, unitId: root.unit.id, url: root.unit.address, group: groupKey(root), ticket, expiresAt: this.cluster.now() + ttl * 1000 };
  }

  async #close(channel: Channel, actor: string): Promise<void> {
    this.cluster.closeChannel(channel, actor);
    this.#titles.delete(channel.id);
    if (actor !== 'csm') this.#operatorEvent(actor, `close channel ${channel.id}`, { channelId: channel.id });
    this.deps.changed();
    await this.deps.channelStore.delete(channel.id).catch((error: Error) => this.deps.storeFailed?.(error));
  }

  #info(channel: Channel): ChannelInfo {
    const title = this.#titles.get(channel.id) ?? { title: `Channel ${channel.id}`, broadcaster: '' };
    return { ...channelView(channel), ...title };
  }

  #setUnitState(unitId: string, from: 'up' | 'draining', to: 'up' | 'draining', actor: string, kind: EventKind, what: string): UnitView {
    this.#mustBeActive();
    const unit = this.cluster.unit(unitId);
    if (unit.state !== from) throw new CsmError('CSM_ERR_UNIT_STATE', `unit ${unitId} is ${unit.state}, not ${from}`);
    unit.state = to;
    this.cluster.refreshOpenGroups(unit);
    this.cluster.effects.unitChanged(unit);
    this.cluster.effects.event({ at: this.cluster.now(), kind, unitId, actor, message: `unit ${unitId} ${what} (by ${actor})` });
    this.deps.changed();
    return unitView(unit);
  }

  #operatorEvent(actor: string, message: string, where: { channelId?: number; unitId?: string }): void {
    this.cluster.effects.event({ at: this.cluster.now(), kind: EventKind.OPERATOR_ACTION, actor, message: `${actor}: ${message}`, ...where });
  }
}
