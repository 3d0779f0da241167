/**
 * The CSM process: wires the Cluster to its effects (unit links, event log, store mirror), runs the
 * failure detector and the sweeper, and serves HTTP. Its role — active or backup — is the
 * RoleManager's (csm/ha/); everything that acts on the cluster checks that this CSM serves, and the
 * effects of a CSM that does not are dropped. `Csm.start` returns once both servers listen.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../protocol/config.js';
import type { Logger } from '../protocol/logger.js';
import type { NewLogEvent } from '../protocol/store/EventLog.js';
import { TicketSigner, generateTicketKeys } from '../protocol/tickets.js';
import { Cluster } from './cluster/Cluster.js';
import type { ClusterEffects } from './cluster/effects.js';
import { consolidateChannel } from './cluster/consolidate.js';
import { failUnit } from './cluster/rehome.js';
import { restoreCluster } from './cluster/restore.js';
import type { CsmConfig, CsmRole } from './config.js';
import { ControlServer } from './control/ControlServer.js';
import { CsmService } from './CsmService.js';
import { CsmError } from './errors.js';
import { RoleManager, type MirroredState, type RoleStatus } from './ha/RoleManager.js';
import { buildCsmHttp } from './http/buildCsmHttp.js';
import { createCsmMetrics, type CsmMetrics } from './metrics.js';
import { createStores, type CsmStores } from './store/createStores.js';
import { MirrorWriter } from './store/MirrorWriter.js';
import { StaleEpochError } from './store/ClusterStateMirror.js';
import { parseOperators } from './operators.js';

/** Health fails when the event loop has stalled this long: keepalived must not keep the VIP on a frozen CSM. */
const STALL_MS = 2000;
/**
 * An active whose event loop paused this long (SIGSTOP, a VM freeze) may have been replaced meanwhile:
 * it stops serving until the store confirms its epoch (RoleManager.noteStall). Shorter than any real
 * failover, which needs keepalived's track script to fail at least once or twice first.
 */
const SUSPEND_AFTER_MS = 1000;
/** events raised while an active is suspended wait for the store's word, up to this many */
const MAX_HELD_EVENTS = 1000;

export class Csm {
  readonly #timers: NodeJS.Timeout[] = [];
  #eventChain: Promise<unknown> = Promise.resolve();
  readonly #metaDirty = new Set<number>();
  #heldEvents: NewLogEvent[] = [];
  #lastTick = Date.now();
  #closed = false;
  #httpPort = 0;
  #controlPort = 0;

  private constructor(
    readonly config: CsmConfig,
    readonly logger: Logger,
    readonly stores: CsmStores,
    readonly cluster: Cluster,
    readonly control: ControlServer,
    readonly service: CsmService,
    readonly mirrorWriter: MirrorWriter,
    readonly metrics: CsmMetrics,
    readonly http: FastifyInstance,
    readonly roles: RoleManager,
  ) {}

  /** The epoch this CSM holds (0 for a backup that was never active). */
  get epoch(): number {
    return this.roles.epoch;
  }

  /** What this CSM does now: 'active' only while it serves. */
  get role(): CsmRole {
    return this.serving ? 'active' : 'backup';
  }

  get httpPort(): number {
    return this.#httpPort;
  }

  get controlPort(): number {
    return this.#controlPort;
  }

  get httpUrl(): string {
    return `http://${this.config.host}:${this.#httpPort}`;
  }

  /** Active with a confirmed epoch, and the event loop not just back from a stall. */
  get serving(): boolean {
    const stalledMs = Date.now() - this.#lastTick;
    // A request handled right after a SIGCONT may run before the tick timer: notice the stall here too.
    if (stalledMs >= SUSPEND_AFTER_MS) this.roles.noteStall(stalledMs);
    return this.roles.serving;
  }

  static async start(config: CsmConfig, logger: Logger): Promise<Csm> {
    if (config.role === 'backup' && !config.redisUrl) {
      throw new ConfigError('role "backup" needs a shared store: give --redis (with the in-memory store there is one CSM and it is always active)');
    }
    const late: { csm?: Csm } = {};
    const stores = createStores({ ...config, epoch: () => late.csm?.epoch ?? 0 });
    const active = (): boolean => late.csm?.roles.role === 'active';
    const effects: ClusterEffects = {
      command: (unit, method, params) => {
        const csm = late.csm;
        if (!csm?.serving) return;
        csm.metrics.commandsSent.inc({ method });
        csm.control.send(unit.id, method, params);
      },
      event: (event) => late.csm?.appendEvent(event),
      // A suspended active still mirrors: the store's fence decides whether the writes count.
      unitChanged: (unit) => active() && late.csm!.mirrorWriter.unitChanged(unit.id),
      unitRemoved: (id) => active() && late.csm!.mirrorWriter.unitChanged(id),
      channelChanged: (channel) => {
        if (!active()) return;
        late.csm!.mirrorWriter.channelChanged(channel.id);
        late.csm!.markMetaDirty(channel.id);
      },
      channelRemoved: (id) => active() && late.csm!.mirrorWriter.channelChanged(id),
    };
    try {
      const cluster = new Cluster(
        {
          maxRelayChildren: config.maxRelayChildren,
          emptyGroupGraceMs: config.emptyGroupGraceMs,
          reservationTtlMs: config.reservationTtlMs,
          consolidate: config.consolidate,
          // Replaced at every promotion: the epoch is part of each viewer id, so ids never repeat across CSM generations.
          viewerIdPrefix: 'v0.',
          publisherGraceMs: config.publisherGraceMs,
        },
        effects,
      );
      const privateJwk = config.ticketPrivateJwk ? JSON.parse(config.ticketPrivateJwk) : (await generateTicketKeys()).privateJwk;
      if (!config.ticketPrivateJwk) {
        logger.warn(
          config.redisUrl
            ? 'no ticketPrivateJwk configured: signing with a key made for this run only; after a takeover the other CSM would sign with another key the units do not know (give both CSMs the same ticketPrivateJwk)'
            : 'no ticketPrivateJwk configured: signing with a key made for this run only',
        );
      }
      const signer = await TicketSigner.fromJwk(privateJwk, { ttlSeconds: config.ticketTtlSeconds });
      const control = new ControlServer(
        cluster,
        {
          csmId: config.csmId,
          clusterSecret: config.clusterSecret,
          heartbeatIntervalMs: config.heartbeatIntervalMs,
          reportIntervalMs: config.reportIntervalMs,
          maxFrameBytes: config.maxControlFrameBytes,
          registerTimeoutMs: 5000,
          maxLinksPerIp: 256,
        },
        {
          epoch: () => late.csm?.epoch ?? 0,
          commandFailed: (unitId, method, error) => late.csm?.commandFailed(unitId, method, error),
          accepting: () => late.csm?.serving ?? false,
          newerEpochSeen: () => late.csm?.roles.checkEpochSoon(),
        },
        logger.child({ part: 'control' }),
      );
      const mirror = new MirrorWriter(stores.mirror, cluster, () => late.csm?.epoch ?? 0, config.mirrorFlushMs, logger.child({ part: 'mirror' }));
      const service = new CsmService({
        csmId: config.csmId,
        cluster,
        signer,
        ticketTtlSeconds: config.ticketTtlSeconds,
        channelStore: stores.channelStore,
        eventLog: stores.eventLog,
        epoch: () => late.csm?.epoch ?? 0,
        role: () => late.csm?.role ?? 'backup',
        changed: () => {},
        storeFailed: (error) => late.csm?.storeFailed('channel metadata', error),
      });
      const host = {
        csmId: config.csmId,
        storeKind: stores.kind,
        mirror: stores.mirror,
        channelStore: stores.channelStore,
        mirrorWriter: mirror,
        install: (state: MirroredState, epoch: number | null) => late.csm!.install(state, epoch),
        dropLinks: () => {
          const dropped = control.dropAll(new CsmError('CSM_ERR_NOT_ACTIVE', 'this CSM is no longer active; reconnect through the virtual IP'));
          if (dropped > 0) logger.info({ dropped }, 'dropped the unit control links');
        },
        roleEvent: (event: NewLogEvent) => late.csm?.appendEvent(event, true),
      };
      const roles = new RoleManager(host, { followIntervalMs: config.followIntervalMs, epochCheckMs: config.epochCheckMs, fencedHoldMs: config.fencedHoldMs }, logger.child({ part: 'role' }));
      const metrics = createCsmMetrics(cluster, {
        linkedUnits: () => control.linkedUnits,
        epoch: () => roles.epoch,
        storeEpoch: () => roles.storeEpoch,
        active: () => (late.csm?.serving ? 1 : 0),
        mirrorPending: () => mirror.pending,
      });
      const http = await buildCsmHttp({
        service,
        logger: logger.child({ part: 'http' }),
        metrics: metrics.registry,
        health: () => late.csm!.health(),
        operators: parseOperators(config.operators),
        actorDelegates: config.actorDelegates.split(',').map((u) => u.trim()).filter(Boolean),
        serviceToken: config.serviceToken || undefined,
        rateLimitPerMinute: config.rateLimitPerMinute,
        ops: {
          secret: config.clusterSecret,
          allowFrom: config.opsAllowFrom,
          promote: (by) => late.csm!.promote(by),
          demote: (by) => late.csm!.demote(by),
          status: () => late.csm!.roleStatus(),
        },
      });
      const csm = new Csm(config, logger, stores, cluster, control, service, mirror, metrics, http, roles);
      late.csm = csm;
      csm.#wire();
      try {
        await roles.start(config.role);
        csm.#controlPort = await control.listen(config.host, config.controlPort);
        await http.listen({ host: config.host, port: config.httpPort });
        csm.#httpPort = (http.server.address() as AddressInfo).port;
      } catch (error) {
        roles.stop();
        mirror.pause();
        await http.close();
        await control.close();
        throw error;
      }
      csm.#startTimers();
      return csm;
    } catch (error) {
      await stores.close();
      throw error;
    }
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const stalledMs = Date.now() - this.#lastTick;
    const status = this.roleStatus();
    // A Redis outage alone never fails health: both CSMs would lose the VIP at once.
    const ok = !this.#closed && stalledMs < STALL_MS && !status.fenced;
    return {
      ok,
      detail: {
        ...status,
        store: this.stores.kind,
        storeError: status.storeError ?? this.mirrorWriter.lastError,
        mirrorPending: this.mirrorWriter.pending,
        mirrorWriteFailures: this.mirrorWriter.failures,
        unitsLinked: this.control.linkedUnits,
        loopStalledMs: stalledMs,
      },
    };
  }

  roleStatus(): RoleStatus {
    // Reading `serving` first notices a stall before the status is taken.
    void this.serving;
    return this.roles.status();
  }

  promote(by: string): Promise<RoleStatus> {
    return this.roles.promote(by);
  }

  demote(by: string): Promise<RoleStatus> {
    return this.roles.demote(by);
  }

  /**
   * Append to the event log. Every entry carries the epoch of the CSM that wrote it (`data.epoch`).
   * Only a serving CSM appends (`force`: its own role changes); an active waiting for the store to
   * confirm its epoch holds its events until then, and an entry whose epoch has been superseded by
   * the time it would be written is dropped.
   */
  appendEvent(event: NewLogEvent, force = false): void {
    const epoch = this.epoch;
    const tagged: NewLogEvent = { ...event, data: { ...event.data, epoch, csm: this.config.csmId } };
    if (!force && !this.serving) {
      if (this.roles.suspended && this.#heldEvents.length < MAX_HELD_EVENTS) this.#heldEvents.push(tagged);
      return;
    }
    // Appends are chained so the log keeps the order events happened in.
    this.#eventChain = this.#eventChain
      .then(() => (force || !this.roles.superseded(epoch) ? this.stores.eventLog.append(tagged) : undefined))
      .catch((error: Error) => this.logger.warn({ err: error }, 'event log append failed'));
  }

  markMetaDirty(channelId: number): void {
    this.#metaDirty.add(channelId);
  }

  commandFailed(unitId: string, method: string, error: Error & { code?: string }): void {
    const code = error.code ?? 'unknown';
    this.metrics.commandFailures.inc({ method, code });
    if (code === 'UNIT_ERR_STALE_EPOCH') this.roles.stepDown(`unit ${unitId} has obeyed a newer epoch`);
    else this.logger.warn({ unitId, method, code, err: error.message }, 'unit command failed');
  }

  /** A store write failed: refused for a stale epoch demotes us; anything else is logged (memory stays authoritative). */
  storeFailed(what: string, error: Error): void {
    if (error instanceof StaleEpochError) this.roles.stepDown(`the store refused our ${what} write: it holds epoch ${error.stored}`, error.stored);
    else this.logger.warn({ err: error }, `${what} write failed`);
  }

  /**
   * Rebuild the cluster from what the store holds: a backup's read-only view (`epoch` null), or the
   * state a promotion serves. Groups carry the mirrored viewer counts until units report; units that
   * have not re-registered get `takeoverGraceMs` before the failure detector fails them.
   */
  install(state: MirroredState, epoch: number | null): void {
    this.cluster.reset(epoch === null ? 'view.' : `v${epoch.toString(36)}.`);
    const restored = restoreCluster(this.cluster, state.snapshot, { mirroredViewers: true });
    this.service.replaceTitles(state.titles);
    this.#metaDirty.clear();
    if (epoch === null) return;
    this.#heldEvents = [];
    const extra = Math.max(0, this.config.takeoverGraceMs - this.config.unitFailAfterMs);
    // Joins go on at once: a restored unit's groups take viewers while it reconnects through the VIP
    // (its viewers kept playing); one that does not come back within the grace is failed and re-homed.
    const admitUntil = this.cluster.now() + this.config.takeoverGraceMs;
    for (const unit of this.cluster.units.values()) {
      unit.lastHeartbeatAt += extra;
      if (unit.state === 'up' && !unit.connected) {
        unit.admitUntil = admitUntil;
        this.cluster.refreshOpenGroups(unit);
      }
    }
    if (restored.units > 0 || restored.channels > 0) this.logger.info({ ...restored, epoch }, 'restored the cluster from the store');
  }

  #wire(): void {
    this.mirrorWriter.on('fenced', (error) => this.roles.stepDown(`the store refused our mirror write: it holds epoch ${error.stored}`, error.stored));
    this.mirrorWriter.on('failed', () => this.metrics.mirrorWriteFailures.inc());
    this.mirrorWriter.on('resynced', () => {
      this.metrics.mirrorResyncs.inc();
      this.#rewriteMeta();
    });
    this.roles.on('promoted', () => this.metrics.roleChanges.inc({ role: 'active' }));
    this.roles.on('demoted', (_why, fenced) => {
      this.metrics.roleChanges.inc({ role: 'backup' });
      this.#metaDirty.clear();
      if (fenced) this.#heldEvents = [];
    });
    this.roles.on('confirmed', () => {
      const held = this.#heldEvents;
      this.#heldEvents = [];
      for (const event of held) this.appendEvent(event);
    });
  }

  #startTimers(): void {
    const every = (ms: number, fn: () => void): void => {
      const timer = setInterval(() => {
        try {
          fn();
        } catch (error) {
          this.logger.error({ err: error }, 'periodic task failed');
        }
      }, ms);
      this.#timers.push(timer);
    };
    every(250, () => {
      const now = Date.now();
      const stalledMs = now - this.#lastTick;
      if (stalledMs >= SUSPEND_AFTER_MS) this.roles.noteStall(stalledMs);
      this.#lastTick = now;
    });
    every(Math.max(50, Math.floor(this.config.heartbeatIntervalMs / 2)), () => {
      if (!this.serving) return;
      for (const unit of this.cluster.silentUnits(this.config.unitFailAfterMs)) {
        this.metrics.unitFailures.inc();
        this.logger.warn({ unitId: unit.id }, 'unit missed its heartbeats: failed');
        failUnit(this.cluster, unit, 'failed', 'csm');
      }
    });
    every(this.config.sweepIntervalMs, () => {
      if (this.serving) this.cluster.sweep((channel) => consolidateChannel(this.cluster, channel));
    });
    every(500, () => this.#flushMeta());
  }

  /** After a full re-mirror: the store may have lost the channels' metadata too (a Redis restarted empty). */
  #rewriteMeta(): void {
    if (this.roles.role !== 'active') return;
    for (const info of this.service.listChannels()) {
      const meta = { id: info.id, title: info.title, broadcaster: info.broadcaster, createdAt: info.createdAt, viewers: info.viewers, peakViewers: info.peakViewers };
      void this.stores.channelStore.put(meta).catch((error: Error) => this.storeFailed('channel metadata', error));
    }
  }

  #flushMeta(): void {
    if (!this.serving) return;
    for (const id of this.#metaDirty) {
      const channel = this.cluster.channels.get(id);
      if (!channel) continue;
      void this.stores.channelStore.setViewers(id, channel.viewers).catch((error: Error) => {
        if (error instanceof StaleEpochError) this.storeFailed('channel metadata', error);
        else this.#metaDirty.add(id);
      });
    }
    this.#metaDirty.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.roles.stop();
    await this.http.close();
    await this.control.close();
    this.mirrorWriter.stop();
    if (this.roles.role === 'active') await this.mirrorWriter.flush().catch(() => {});
    await this.#eventChain;
    await this.stores.close();
  }
}
