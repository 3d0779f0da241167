/**
 * The unit's persistent control link to the CSM: connect, register (carrying everything the unit
 * holds, so a new or restarted CSM can reconcile), then heartbeat and report on the intervals the
 * CSM asked for, forward viewer and publisher changes, and obey the CSM's commands.
 *
 * Fencing: every command carries the CSM's epoch. The link keeps the highest epoch it has accepted
 * (from commands and from the register result) and refuses a lower one with UNIT_ERR_STALE_EPOCH, so
 * a CSM that lost a takeover cannot undo what its successor did. A command that passes the fence
 * raises the epoch even if the command itself then fails: it proves a CSM of that epoch is in charge.
 *
 * The CSM is not on the media path: while the link is down the unit keeps every group and viewer and
 * reconnects forever with exponential backoff and jitter (so units do not stampede a CSM that just
 * took over the virtual IP). Only csm.removeUnit stops it.
 */
import { connect, type Socket } from 'node:net';
import type { Logger } from '../protocol/logger.js';
import { ControlChannel } from '../protocol/ControlChannel.js';
import { Method, Notification, type CsmCommand, type NotificationPayload } from '../protocol/control-messages.js';
import { CodedError, ControlError, ControlErrorCode } from '../protocol/control-errors.js';
import { EventKind } from '../protocol/event-kinds.js';
import { backoffDelay } from '../protocol/backoff.js';
import { TypedEmitter } from '../protocol/typed-emitter.js';
import { serveCsmCommands } from './csm-commands.js';
import { UnitError } from './errors.js';
import type { LoadMeter } from './LoadMeter.js';
import type { UnitGroups, UnitGroupsEvents } from './UnitGroups.js';
import type { UdpCarrier } from '../protocol/media-messages.js';

export interface CsmLinkOptions {
  unitId: string;
  /** the ws:// base URL clients use to reach this unit */
  address: string;
  csmHost: string;
  csmControlPort: number;
  clusterSecret: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  /** the UDP carriers this unit's viewers may ask for, told the CSM at registration (it tells joining viewers) */
  udpCarriers: UdpCarrier[];
  /** give up on a TCP connect (e.g. a VIP with no holder) after this long */
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export type CsmLinkState = 'idle' | 'connecting' | 'registering' | 'registered' | 'waiting' | 'removed' | 'closed';

export type CsmLinkEvents = {
  /** TCP is up; registration follows */
  connected: [];
  /** the link went down after `connected`; `reason` names the error when there was one */
  disconnected: [reason: CodedError | undefined];
  /** the CSM accepted the registration; `epoch` is the CSM's */
  registered: [epoch: number];
  /** the CSM answered the registration with an error (e.g. a wrong secret); the link backs off and retries */
  registerRefused: [error: CodedError];
  /** the operator removed this unit; the link will not reconnect */
  removed: [];
};

/** A CSM that stops reading must not grow our memory: past this much unsent data the link is dropped and re-established. */
export const MAX_UNSENT_BYTES = 1 << 20;


export class CsmLink extends TypedEmitter<CsmLinkEvents> {
  readonly #options: CsmLinkOptions;
  readonly #groups: UnitGroups;
  readonly #meter: LoadMeter;
  readonly #logger: Logger;
  readonly #unsubscribe: (() => void)[] = [];
  #state: CsmLinkState = 'idle';
  #epoch = 0;
  #socket: Socket | null = null;
  #channel: ControlChannel | null = null;
  #tcpUp = false;
  #attempt = 0;
  #reconnectTimer: NodeJS.Timeout | null = null;
  #heartbeatTimer: NodeJS.Timeout | null = null;
  #reportTimer: NodeJS.Timeout | null = null;
  /** a viewer/publisher change happened after the register snapshot was taken */
  #changedWhileRegistering = false;
  /**
   * Whether `udpCarriers` goes with the registration: cleared when a CSM refuses it as a bad payload
   * (an earlier release's strict schema), set again when a registered link closes
   */
  #sendCarriers = true;
  #downSince: number | null = null;
  #lastSocketError: string | null = null;

  constructor(options: CsmLinkOptions, groups: UnitGroups, meter: LoadMeter, logger: Logger) {
    super();
    this.#options = options;
    this.#groups = groups;
    this.#meter = meter;
    this.#logger = logger;
    this.#forward('viewerJoined', (channelId, groupIndex, viewerId) => this.#notify(Notification.UNIT_VIEWER_JOINED, { channelId, groupIndex, viewerId }));
    this.#forward('viewerLeft', (channelId, groupIndex, viewerId) => this.#notify(Notification.UNIT_VIEWER_LEFT, { channelId, groupIndex, viewerId }));
    this.#forward('publisherChanged', (channelId, connected) => this.#notify(Notification.UNIT_PUBLISHER_CHANGED, { channelId, connected }));
  }

  get state(): CsmLinkState {
    return this.#state;
  }

  /** The highest CSM epoch this unit has obeyed. */
  get epoch(): number {
    return this.#epoch;
  }

  /** Link losses and failed attempts since the last successful registration (the backoff exponent). */
  get retries(): number {
    return this.#attempt;
  }

  /** Registered with a CSM over a live link. */
  get linked(): boolean {
    return this.#state === 'registered';
  }

  start(): void {
    if (this.#state === 'idle') this.#connect();
  }

  /** Put something noteworthy in the cluster's event log. Best effort: dropped while the link is down. */
  event(kind: EventKind, message: string, channelId?: number): void {
    const text = message.slice(0, 1024);
    const payload = channelId === undefined ? { kind, message: text } : { kind, channelId, message: text };
    this.#notify(Notification.UNIT_EVENT, payload);
  }

  /** Stop for good: no reconnect, timers cleared, link closed. Safe to call twice. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#reconnectTimer) clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = null;
    this.#stopTimers();
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#channel?.close();
  }

  #connect(): void {
    this.#state = 'connecting';
    const { csmHost, csmControlPort, connectTimeoutMs = 5000, requestTimeoutMs = 5000 } = this.#options;
    const socket = connect({ host: csmHost, port: csmControlPort });
    // The channel drops socket errors (it only closes); keep the last one for the log. Attached
    // first so it runs before the channel's own listener reports the close.
    socket.on('error', (error) => (this.#lastSocketError = error.message));
    const channel = new ControlChannel(socket, { requestTimeoutMs });
    this.#socket = socket;
    this.#channel = channel;
    serveCsmCommands(channel, { groups: this.#groups, admit: (m, e) => this.#admit(m, e), removed: () => this.#onRemoved() });
    channel.on('close', (reason) => this.#onLinkClosed(channel, reason));
    socket.setTimeout(connectTimeoutMs, () => {
      if (socket.connecting) socket.destroy(new Error(`connect timeout after ${connectTimeoutMs} ms`));
    });
    socket.once('connect', () => {
      socket.setTimeout(0);
      // TCP keepalive notices a CSM host that vanished without a FIN while we have nothing to send.
      socket.setKeepAlive(true, 5000);
      if (channel !== this.#channel) return;
      this.#tcpUp = true;
      this.#state = 'registering';
      this.safeEmit('connected');
      void this.#register(channel);
    });
  }

  async #register(channel: ControlChannel): Promise<void> {
    const { unitId, address, clusterSecret } = this.#options;
    const { groups, channels } = this.#groups.report();
    this.#changedWhileRegistering = false;
    let result;
    try {
      result = await channel.request(Method.UNIT_REGISTER, {
        unitId,
        address,
        groupsPerUnit: this.#groups.groupsPerUnit,
        groupSize: this.#groups.groupSize,
        secret: clusterSecret,
        epochSeen: this.#epoch,
        groups,
        channels,
        load: this.#meter.current(),
        ...(this.#sendCarriers ? { udpCarriers: this.#options.udpCarriers } : {}),
      });
    } catch (error) {
      const coded = error instanceof CodedError ? error : new ControlError(ControlErrorCode.CONTROL_ERR_HANDLER_FAILED, String(error));
      const current = channel === this.#channel && !channel.closed;
      // The CSM closes the link right after its refusal, and that close may be handled before this
      // line runs: a refusal the CSM sent is still reported. Any other failure of a link that closed
      // meanwhile is already being handled (logged, reconnect scheduled).
      if (coded.remote && coded.code === ControlErrorCode.CONTROL_ERR_BAD_PAYLOAD && this.#sendCarriers) {
        // A CSM of an earlier release: its strict schema knows no udpCarriers. Without them its joins
        // name no carrier, and viewers ask this unit for the data channel only.
        this.#sendCarriers = false;
        this.#logger.warn({ err: coded.message }, 'the CSM refused udpCarriers (a CSM of an earlier release?); registering without them');
      }
      if (current || coded.remote) {
        this.#logger.warn({ code: coded.code, err: coded.message }, 'the CSM refused the registration; retrying after backoff');
        this.safeEmit('registerRefused', coded);
      }
      if (current) channel.close();
      return;
    }
    if (channel !== this.#channel || channel.closed || this.#state !== 'registering') return;
    if (result.epoch < this.#epoch) {
      // A CSM older than one we obeyed: its commands will be refused. Say so where operators look.
      this.#logger.warn({ csmEpoch: result.epoch, epoch: this.#epoch, csmId: result.csmId }, 'registered with a CSM of an older epoch');
    }
    this.#epoch = Math.max(this.#epoch, result.epoch);
    this.#state = 'registered';
    this.#attempt = 0;
    this.#heartbeatTimer = setInterval(() => this.#notify(Notification.UNIT_HEARTBEAT, { load: this.#meter.current() }), result.heartbeatIntervalMs);
    this.#reportTimer = setInterval(() => this.#sendReport(), result.reportIntervalMs);
    this.#logger.info({ csmId: result.csmId, epoch: result.epoch, groups: groups.length }, 'registered with the CSM');
    if (this.#changedWhileRegistering) this.#sendReport();
    if (result.epoch < this.#epoch) this.event(EventKind.UNIT_NOTICE, `unit ${unitId} registered with CSM ${result.csmId} at epoch ${result.epoch} but has obeyed epoch ${this.#epoch}; its commands will be refused`);
    if (this.#downSince !== null) {
      const awayMs = Date.now() - this.#downSince;
      this.event(EventKind.UNIT_NOTICE, `unit ${unitId} back after ${awayMs} ms without the CSM; kept ${this.#groups.groupsUsed} group(s) and ${this.#groups.viewerCount} viewer(s)`);
      this.#downSince = null;
    }
    this.safeEmit('registered', result.epoch);
  }

  #admit(method: CsmCommand, epoch: number): void {
    if (this.#state === 'removed' || this.#state === 'closed') throw new UnitError('UNIT_ERR_REMOVED', method);
    if (epoch < this.#epoch) {
      this.#logger.warn({ method, commandEpoch: epoch, epoch: this.#epoch }, 'refused a command from an older CSM epoch');
      this.event(EventKind.UNIT_NOTICE, `unit ${this.#options.unitId} refused ${method} from epoch ${epoch}; it obeys epoch ${this.#epoch}`);
      throw new UnitError('UNIT_ERR_STALE_EPOCH', `${method} carries epoch ${epoch}, this unit obeys ${this.#epoch}`);
    }
    this.#epoch = epoch;
  }

  #onRemoved(): void {
    this.#state = 'removed';
    this.#stopTimers();
    this.#logger.warn('the operator removed this unit; not reconnecting to the CSM');
    const socket = this.#socket;
    // The acknowledgement is written after this handler returns; end the link (and tell listeners,
    // who may shut the unit down) only after that.
    setImmediate(() => {
      socket?.end();
      setTimeout(() => socket?.destroy(), 1000).unref();
      this.safeEmit('removed');
    });
  }

  #onLinkClosed(channel: ControlChannel, reason: CodedError | undefined): void {
    if (channel !== this.#channel) return;
    // The next CSM may be a newer one (a takeover, an upgrade): offer the carriers again.
    if (this.#state === 'registered') this.#sendCarriers = true;
    const wasUp = this.#tcpUp;
    this.#channel = null;
    this.#socket = null;
    this.#tcpUp = false;
    this.#stopTimers();
    const ending = this.#state === 'closed' || this.#state === 'removed';
    if (wasUp) {
      if (this.#downSince === null && !ending) this.#downSince = Date.now();
      const detail = reason ? { code: reason.code, err: reason.message, fromCsm: reason.remote } : {};
      if (ending) this.#logger.info(detail, 'control link closed');
      else this.#logger.warn({ ...detail, groups: this.#groups.groupsUsed, viewers: this.#groups.viewerCount }, 'control link to the CSM lost; serving on, reconnecting');
      this.safeEmit('disconnected', reason);
    }
    if (ending) return;
    this.#state = 'waiting';
    const delay = backoffDelay(this.#attempt++, { minMs: this.#options.reconnectMinMs, maxMs: this.#options.reconnectMaxMs });
    const attempt = { attempt: this.#attempt, delayMs: delay, csm: `${this.#options.csmHost}:${this.#options.csmControlPort}`, err: this.#lastSocketError ?? undefined };
    // Say it loudly once per outage and then now and then, not on every retry.
    if (!wasUp && this.#attempt % 20 === 1) this.#logger.warn(attempt, 'cannot reach the CSM; retrying');
    else this.#logger.debug(attempt, 'reconnecting to the CSM');
    this.#lastSocketError = null;
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = null;
      if (this.#state === 'waiting') this.#connect();
    }, delay);
  }

  #sendReport(): void {
    this.#notify(Notification.UNIT_REPORT, { ...this.#groups.report(), load: this.#meter.current() });
  }

  /** Notifications go out only once registered: a CSM refuses them before, and the register snapshot covers the gap. */
  #notify<N extends Notification>(name: N, payload: NotificationPayload<N>): void {
    if (this.#state === 'registering') {
      if (name !== Notification.UNIT_EVENT) this.#changedWhileRegistering = true;
      return;
    }
    if (this.#state !== 'registered' || !this.#channel) return;
    if ((this.#socket?.writableLength ?? 0) > MAX_UNSENT_BYTES) {
      this.#logger.warn({ unsentBytes: this.#socket?.writableLength }, 'the CSM is not reading the control link; dropping it to reconnect');
      this.#channel.close();
      return;
    }
    this.#channel.notify(name, payload);
  }

  #forward<K extends 'viewerJoined' | 'viewerLeft' | 'publisherChanged'>(event: K, listener: (...args: UnitGroupsEvents[K]) => void): void {
    this.#groups.on(event, listener);
    this.#unsubscribe.push(() => this.#groups.off(event, listener));
  }

  #stopTimers(): void {
    if (this.#heartbeatTimer) clearInterval(this.#heartbeatTimer);
    if (this.#reportTimer) clearInterval(this.#reportTimer);
    this.#heartbeatTimer = null;
    this.#reportTimer = null;
  }
}
