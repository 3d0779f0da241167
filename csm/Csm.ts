/**
 * The CSM process: wires the Cluster to its effects (unit links, event log, store mirror), runs the
 * failure detector and the sweeper, and serves HTTP. `Csm.start` returns once both servers listen.
 */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../protocol/logger.js';
import { EventKind } from '../protocol/event-kinds.js';
import type { NewLogEvent } from '../protocol/store/EventLog.js';
import { TicketSigner, generateTicketKeys } from '../protocol/tickets.js';
import { Cluster } from './cluster/Cluster.js';
import type { ClusterEffects } from './cluster/effects.js';
import { consolidateChannel } from './cluster/consolidate.js';
import { failUnit } from './cluster/rehome.js';
import { restoreCluster } from './cluster/restore.js';
import type { CsmConfig } from './config.js';
import { ControlServer } from './control/ControlServer.js';
import { CsmService } from './CsmService.js';
import { buildCsmHttp } from './http/buildCsmHttp.js';
import { createCsmMetrics, type CsmMetrics } from './metrics.js';
import { createStores, type CsmStores } from './store/createStores.js';
import { MirrorWriter } from './store/MirrorWriter.js';
import { parseOperators } from './operators.js';

/** Health fails when the event loop has stalled this long: keepalived must not keep the VIP on a frozen CSM. */
const STALL_MS = 2000;

export class Csm {
  #role: 'active' | 'backup' = 'active';
  readonly #timers: NodeJS.Timeout[] = [];
  #eventChain: Promise<unknown> = Promise.resolve();
  readonly #metaDirty = new Set<number>();
  #lastTick = Date.now();
  #closed = false;

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
    readonly httpPort: number,
    readonly controlPort: number,
    readonly epochRef: { value: number },
  ) {}

  get epoch(): number {
    return this.epochRef.value;
  }

  get httpUrl(): string {
    return `http://${this.config.host}:${this.httpPort}`;
  }

  static async start(config: CsmConfig, logger: Logger): Promise<Csm> {
    const stores = createStores(config);
    const epochRef = { value: 0 };
    const late: { csm?: Csm; control?: ControlServer; mirror?: MirrorWriter; metrics?: CsmMetrics } = {};
    const effects: ClusterEffects = {
      command: (unit, method, params) => {
        late.metrics?.commandsSent.inc({ method });
        late.control?.send(unit.id, method, params);
      },
      event: (event) => late.csm?.appendEvent(event),
      unitChanged: (unit) => late.mirror?.unitChanged(unit.id),
      unitRemoved: (id) => late.mirror?.unitChanged(id),
      channelChanged: (channel) => {
        late.mirror?.channelChanged(channel.id);
        late.csm?.markMetaDirty(channel.id);
      },
      channelRemoved: (id) => late.mirror?.channelChanged(id),
    };
    try {
      epochRef.value = await stores.mirror.claimEpoch();
      const cluster = new Cluster(
        {
          maxRelayChildren: config.maxRelayChildren,
          emptyGroupGraceMs: config.emptyGroupGraceMs,
          reservationTtlMs: config.reservationTtlMs,
          consolidate: config.consolidate,
          // Viewer ids must never repeat across CSM generations: the epoch is part of each id.
          viewerIdPrefix: `v${epochRef.value.toString(36)}.`,
          publisherGraceMs: config.publisherGraceMs,
        },
        effects,
      );
      // A store that already holds a cluster (a restart on Redis, a takeover) is where we resume.
      const restored = restoreCluster(cluster, await stores.mirror.load());
      if (restored.units > 0 || restored.channels > 0) logger.info(restored, 'restored the cluster from the store');
      const privateJwk = config.ticketPrivateJwk ? JSON.parse(config.ticketPrivateJwk) : (await generateTicketKeys()).privateJwk;
      if (!config.ticketPrivateJwk) logger.warn('no ticketPrivateJwk configured: signing with a key made for this run only');
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
          epoch: () => epochRef.value,
          commandFailed: (unitId, method, error) => late.csm?.commandFailed(unitId, method, error),
        },
        logger.child({ part: 'control' }),
      );
      const mirror = new MirrorWriter(stores.mirror, cluster, () => epochRef.value, config.mirrorFlushMs, logger.child({ part: 'mirror' }));
      const metrics = createCsmMetrics(cluster, () => control.linkedUnits, () => epochRef.value);
      late.control = control;
      late.mirror = mirror;
      late.metrics = metrics;
      const service = new CsmService({
        csmId: config.csmId,
        cluster,
        signer,
        ticketTtlSeconds: config.ticketTtlSeconds,
        channelStore: stores.channelStore,
        eventLog: stores.eventLog,
        epoch: () => epochRef.value,
        role: () => late.csm?.role ?? 'active',
        changed: () => {},
        storeFailed: (error) => logger.warn({ err: error }, 'channel metadata write failed'),
      });
      for (const meta of await stores.channelStore.list()) {
        if (cluster.channels.has(meta.id)) service.rememberTitle(meta.id, meta.title, meta.broadcaster);
      }
      const health = (): { ok: boolean; detail: Record<string, unknown> } => late.csm!.health();
      const http = await buildCsmHttp({
        service,
        logger: logger.child({ part: 'http' }),
        metrics: metrics.registry,
        health,
        operators: parseOperators(config.operators),
        serviceToken: config.serviceToken || undefined,
        rateLimitPerMinute: config.rateLimitPerMinute,
      });
      const controlPort = await control.listen(config.host, config.controlPort);
      await http.listen({ host: config.host, port: config.httpPort });
      const httpPort = (http.server.address() as AddressInfo).port;
      const csm = new Csm(config, logger, stores, cluster, control, service, mirror, metrics, http, httpPort, controlPort, epochRef);
      late.csm = csm;
      mirror.on('fenced', () => csm.demote('the store holds a newer epoch'));
      csm.#startTimers();
      csm.appendEvent({ at: Date.now(), kind: EventKind.CSM_PROMOTED, actor: config.csmId, message: `CSM ${config.csmId} active with epoch ${epochRef.value} (${stores.kind} store)` });
      return csm;
    } catch (error) {
      await stores.close();
      throw error;
    }
  }

  get role(): 'active' | 'backup' {
    return this.#role;
  }

  health(): { ok: boolean; detail: Record<string, unknown> } {
    const stalledMs = Date.now() - this.#lastTick;
    const ok = !this.#closed && !this.mirrorWriter.fenced && stalledMs < STALL_MS;
    return {
      ok,
      detail: {
        csmId: this.config.csmId,
        role: this.#role,
        epoch: this.epoch,
        fenced: this.mirrorWriter.fenced,
        store: this.stores.kind,
        storeError: this.mirrorWriter.lastError,
        unitsLinked: this.control.linkedUnits,
        loopStalledMs: stalledMs,
      },
    };
  }

  appendEvent(event: NewLogEvent): void {
    // Appends are chained so the log keeps the order events happened in.
    this.#eventChain = this.#eventChain.then(() => this.stores.eventLog.append(event)).catch((error: Error) => this.logger.warn({ err: error }, 'event log append failed'));
  }

  markMetaDirty(channelId: number): void {
    this.#metaDirty.add(channelId);
  }

  commandFailed(unitId: string, method: string, error: Error & { code?: string }): void {
    const code = error.code ?? 'unknown';
    this.metrics.commandFailures.inc({ method, code });
    if (code === 'UNIT_ERR_STALE_EPOCH') this.demote(`unit ${unitId} has seen a newer epoch`);
    else this.logger.warn({ unitId, method, code, err: error.message }, 'unit command failed');
  }

  /** Another CSM is active: stop writing and changing anything. */
  demote(why: string): void {
    if (this.#role === 'backup') return;
    this.#role = 'backup';
    this.logger.error({ why }, 'demoted to backup');
    this.mirrorWriter.stop();
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
    every(250, () => (this.#lastTick = Date.now()));
    every(Math.max(50, Math.floor(this.config.heartbeatIntervalMs / 2)), () => {
      if (this.#role !== 'active') return;
      for (const unit of this.cluster.silentUnits(this.config.unitFailAfterMs)) {
        this.metrics.unitFailures.inc();
        this.logger.warn({ unitId: unit.id }, 'unit missed its heartbeats: failed');
        failUnit(this.cluster, unit, 'failed', 'csm');
      }
    });
    every(this.config.sweepIntervalMs, () => {
      if (this.#role === 'active') this.cluster.sweep((channel) => consolidateChannel(this.cluster, channel));
    });
    every(500, () => this.#flushMeta());
  }

  #flushMeta(): void {
    for (const id of this.#metaDirty) {
      const channel = this.cluster.channels.get(id);
      if (channel) void this.stores.channelStore.setViewers(id, channel.viewers).catch(() => this.#metaDirty.add(id));
    }
    this.#metaDirty.clear();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    await this.http.close();
    await this.control.close();
    this.mirrorWriter.stop();
    await this.mirrorWriter.flush().catch(() => {});
    await this.#eventChain;
    await this.stores.close();
  }
}
