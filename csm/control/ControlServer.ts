/**
 * Accepts the streaming units' control links. A link must register (with the cluster secret) before
 * anything else; then its heartbeats, reports and viewer events update the Cluster, and the CSM's
 * commands to that unit go out over it, stamped with the CSM's epoch. Commands to a unit whose link is
 * down are not queued: when it registers again, reconciliation restates what it must hold.
 *
 * Only the active CSM takes links: while `accepting()` is false (a backup, or an active waiting for
 * the store to confirm its epoch) a registration is answered CSM_ERR_NOT_ACTIVE and the link closed;
 * the unit backs off and retries through the virtual IP. `dropAll` ends every link at a demotion.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { ControlChannel } from '../../protocol/ControlChannel.js';
import { ControlError, ControlErrorCode } from '../../protocol/control-errors.js';
import { Method, Notification, type CsmCommand, type RequestParams, type RequestResult } from '../../protocol/control-messages.js';
import { EventKind } from '../../protocol/event-kinds.js';
import type { Logger } from '../../protocol/logger.js';
import type { Cluster } from '../cluster/Cluster.js';
import type { CommandParams } from '../cluster/effects.js';
import type { Unit } from '../cluster/model.js';
import { CsmError } from '../errors.js';

export interface ControlServerOptions {
  csmId: string;
  clusterSecret: string;
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
  maxFrameBytes: number;
  /** a connection that has not registered by then is closed */
  registerTimeoutMs: number;
  maxLinksPerIp: number;
}

export interface ControlServerHooks {
  epoch(): number;
  commandFailed(unitId: string, method: CsmCommand, error: Error): void;
  /** take registrations now (the active CSM); default: always */
  accepting?(): boolean;
  /** a unit registered saying it has obeyed a newer epoch than ours: this CSM may be stale */
  newerEpochSeen?(unitId: string, epochSeen: number): void;
}

const digest = (text: string): Buffer => createHash('sha256').update(text).digest();

export class ControlServer {
  readonly #server: Server;
  readonly #links = new Map<string, ControlChannel>();
  readonly #perIp = new Map<string, number>();
  readonly #secretDigest: Buffer;
  readonly #all = new Set<ControlChannel>();

  constructor(
    readonly cluster: Cluster,
    readonly options: ControlServerOptions,
    readonly hooks: ControlServerHooks,
    readonly logger: Logger,
  ) {
    this.#secretDigest = digest(options.clusterSecret);
    this.#server = createServer((socket) => this.#accept(socket));
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => resolve((this.#server.address() as AddressInfo).port));
    });
  }

  get linkedUnits(): number {
    return this.#links.size;
  }

  isLinked(unitId: string): boolean {
    return this.#links.has(unitId);
  }

  /** Send a command stamped with the current epoch; failures are reported, never thrown. */
  send<M extends CsmCommand>(unitId: string, method: M, params: CommandParams<M>): void {
    const link = this.#links.get(unitId);
    if (!link) return;
    const full = { ...params, epoch: this.hooks.epoch() } as RequestParams<M>;
    link.request(method, full).catch((error: Error) => this.hooks.commandFailed(unitId, method, error));
  }

  /** End every unit link (a demotion): units reconnect, through the virtual IP, to whoever is active. */
  dropAll(reason: CsmError): number {
    const dropped = this.#all.size;
    this.#links.clear();
    for (const link of [...this.#all]) link.close(reason);
    return dropped;
  }

  async close(): Promise<void> {
    for (const link of this.#all) link.close();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(socket: Socket): void {
    const ip = socket.remoteAddress ?? '?';
    const count = this.#perIp.get(ip) ?? 0;
    if (count >= this.options.maxLinksPerIp) {
      this.logger.warn({ ip }, 'too many control links from one address; refused');
      socket.destroy();
      return;
    }
    this.#perIp.set(ip, count + 1);
    const link = new ControlChannel(socket, { maxFrameBytes: this.options.maxFrameBytes });
    this.#all.add(link);
    let unit: Unit | null = null;
    const timer = setTimeout(() => link.close(new ControlError(ControlErrorCode.CONTROL_ERR_NOT_REGISTERED, 'register timeout')), this.options.registerTimeoutMs);

    const registered = (): Unit => {
      if (!unit || this.#links.get(unit.id) !== link) throw new ControlError(ControlErrorCode.CONTROL_ERR_NOT_REGISTERED);
      return unit;
    };

    link.handle(Method.UNIT_REGISTER, (params) => {
      const result = this.#register(link, params);
      unit = result.unit;
      clearTimeout(timer);
      return result.reply;
    });
    link.handleNotification(Notification.UNIT_HEARTBEAT, ({ load }) => this.cluster.heartbeat(registered(), load));
    link.handleNotification(Notification.UNIT_REPORT, ({ groups, channels, load }) => {
      const u = registered();
      this.cluster.heartbeat(u, load);
      this.cluster.reconcileUnit(u, groups, channels);
    });
    link.handleNotification(Notification.UNIT_VIEWER_JOINED, ({ channelId, groupIndex, viewerId }) => {
      const u = registered();
      if (this.cluster.viewerJoined(u, channelId, groupIndex, viewerId)) {
        this.cluster.effects.event({ at: this.cluster.now(), kind: EventKind.VIEWER_JOINED, unitId: u.id, channelId, actor: u.id, message: `viewer ${viewerId} joined ${u.id}/${groupIndex}` });
      }
    });
    link.handleNotification(Notification.UNIT_VIEWER_LEFT, ({ channelId, groupIndex, viewerId }) => {
      const u = registered();
      if (this.cluster.viewerLeft(u, viewerId)) {
        this.cluster.effects.event({ at: this.cluster.now(), kind: EventKind.VIEWER_LEFT, unitId: u.id, channelId, actor: u.id, message: `viewer ${viewerId} left ${u.id}/${groupIndex}` });
      }
    });
    link.handleNotification(Notification.UNIT_PUBLISHER_CHANGED, ({ channelId, connected }) => {
      const u = registered();
      const channel = this.cluster.channels.get(channelId);
      if (!channel || channel.root.unit !== u) return;
      channel.publisherConnected = connected;
      this.cluster.effects.channelChanged(channel);
      this.cluster.effects.event({ at: this.cluster.now(), kind: connected ? EventKind.PUBLISHER_CONNECTED : EventKind.PUBLISHER_DISCONNECTED, unitId: u.id, channelId, actor: u.id, message: `broadcaster of channel ${channelId} ${connected ? 'connected to' : 'left'} ${u.id}` });
    });
    link.handleNotification(Notification.UNIT_EVENT, ({ kind, channelId, message }) => {
      const u = registered();
      this.cluster.effects.event({ at: this.cluster.now(), kind, unitId: u.id, actor: u.id, message, ...(channelId !== undefined ? { channelId } : {}) });
    });

    link.on('close', (reason) => {
      clearTimeout(timer);
      this.#all.delete(link);
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left > 0) this.#perIp.set(ip, left);
      else this.#perIp.delete(ip);
      if (reason && !reason.remote) this.logger.warn({ unitId: unit?.id, ip, code: reason.code, err: reason.message }, 'control link closed on a protocol error');
      if (unit && this.#links.get(unit.id) === link) {
        this.#links.delete(unit.id);
        if (this.cluster.units.get(unit.id) === unit) {
          this.cluster.linkLost(unit);
        }
      }
    });
  }

  #register(link: ControlChannel, params: RequestParams<typeof Method.UNIT_REGISTER>): { unit: Unit; reply: RequestResult<typeof Method.UNIT_REGISTER> } {
    const given = digest(params.secret);
    if (!timingSafeEqual(given, this.#secretDigest)) {
      this.logger.warn({ unitId: params.unitId, from: link.remoteAddress }, 'unit registration with a wrong cluster secret');
      setImmediate(() => link.close(new CsmError('CSM_ERR_BAD_SECRET')));
      throw new CsmError('CSM_ERR_BAD_SECRET');
    }
    if (this.hooks.accepting && !this.hooks.accepting()) {
      // Frequent while units knock at a backup; not worth a warning each time.
      this.logger.debug({ unitId: params.unitId, from: link.remoteAddress }, 'unit registration refused: this CSM is not active');
      const refusal = new CsmError('CSM_ERR_NOT_ACTIVE', 'register with the active CSM (through the virtual IP)');
      setImmediate(() => link.close(refusal));
      throw refusal;
    }
    if (params.epochSeen > this.hooks.epoch()) this.hooks.newerEpochSeen?.(params.unitId, params.epochSeen);
    // A unit that restarted may register before its old, half-open link is noticed: the new link wins.
    const previous = this.#links.get(params.unitId);
    if (previous && previous !== link) {
      this.#links.delete(params.unitId);
      previous.close();
    }
    const unit = this.cluster.registerUnit({
      id: params.unitId,
      address: params.address,
      groupsPerUnit: params.groupsPerUnit,
      groupSize: params.groupSize,
      load: params.load,
      ...(params.udpCarriers ? { udpCarriers: params.udpCarriers } : {}),
    });
    this.#links.set(unit.id, link);
    this.logger.info({ unitId: unit.id, address: unit.address, from: link.remoteAddress }, 'unit registered');
    // Reconcile once the unit has our reply (and so our epoch): commands go out after it.
    setImmediate(() => {
      if (this.#links.get(unit.id) !== link) return;
      this.cluster.reapplyOperatorCapacity(unit, params);
      this.cluster.reconcileUnit(unit, params.groups, params.channels);
      for (const report of params.channels) {
        const channel = this.cluster.channels.get(report.channelId);
        if (channel && channel.root.unit === unit && channel.publisherConnected !== report.publisherConnected) {
          channel.publisherConnected = report.publisherConnected;
          this.cluster.effects.channelChanged(channel);
        }
      }
    });
    return {
      unit,
      reply: { epoch: this.hooks.epoch(), csmId: this.options.csmId, heartbeatIntervalMs: this.options.heartbeatIntervalMs, reportIntervalMs: this.options.reportIntervalMs },
    };
  }
}
