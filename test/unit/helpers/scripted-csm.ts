/**
 * A scripted CSM for streaming-unit tests: a real node:net server and the real ControlChannel, so
 * the unit's link is exercised over real sockets and real framing. It answers unit.register (or
 * refuses it on demand), records every registration and notification, sends commands, and can drop
 * links, go away and come back on the same port, or write raw bytes.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { ControlChannel } from '../../../protocol/ControlChannel.js';
import { CodedError, ControlError, ControlErrorCode } from '../../../protocol/control-errors.js';
import {
  Method,
  Notification,
  type CsmCommand,
  type NotificationPayload,
  type RequestParams,
  type RequestResult,
} from '../../../protocol/control-messages.js';

export type RegisterParams = RequestParams<typeof Method.UNIT_REGISTER>;

export interface ScriptedCsmOptions {
  epoch?: number;
  heartbeatIntervalMs?: number;
  reportIntervalMs?: number;
  /** listen on this port (a CSM that comes up where units already point) */
  port?: number;
}

interface Link {
  channel: ControlChannel;
  socket: Socket;
}

export class ScriptedCsm {
  epoch: number;
  heartbeatIntervalMs: number;
  reportIntervalMs: number;
  /** refuse this many further registrations with CSM_ERR_BAD_SECRET */
  refuseRegisters = 0;
  /** close the link right after a refusal, as a backup CSM does (the close may reach the unit first) */
  closeAfterRefusal = false;
  /**
   * act as a CSM of before UDP carriers: its strict schema finds `udpCarriers` unexpected, and its
   * control channel closes the link with CONTROL_ERR_BAD_PAYLOAD (protocol/ControlChannel.ts)
   */
  beforeCarriers = false;
  readonly registers: RegisterParams[] = [];
  readonly notifications: { name: Notification; payload: unknown }[] = [];
  /** why each link closed, as seen from the CSM's side */
  readonly closes: (CodedError | undefined)[] = [];
  port = 0;
  #server: Server | null = null;
  readonly #links = new Set<Link>();
  #current: Link | null = null;

  private constructor(options: ScriptedCsmOptions) {
    this.epoch = options.epoch ?? 1;
    this.heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    this.reportIntervalMs = options.reportIntervalMs ?? 1000;
    this.port = options.port ?? 0;
  }

  static async start(options: ScriptedCsmOptions = {}): Promise<ScriptedCsm> {
    const csm = new ScriptedCsm(options);
    await csm.restart();
    return csm;
  }

  /** (Re)start listening on the same port. */
  async restart(): Promise<void> {
    const server = createServer((socket) => this.#accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.#server = server;
  }

  /** The CSM goes away: stop listening and drop every link. */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = null;
    this.dropLinks();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  close(): Promise<void> {
    return this.stop();
  }

  dropLinks(): void {
    for (const link of this.#links) link.socket.destroy();
  }

  get linkCount(): number {
    return this.#links.size;
  }

  /** Send a command on the latest registered link; `epoch` defaults to the CSM's. */
  command<M extends CsmCommand>(method: M, params: Omit<RequestParams<M>, 'epoch'> & { epoch?: number }): Promise<RequestResult<M>> {
    if (!this.#current || this.#current.channel.closed) throw new Error('scripted CSM: no registered link');
    return this.#current.channel.request(method, { epoch: this.epoch, ...params } as RequestParams<M>);
  }

  /** Write bytes as they are onto the latest link, bypassing the codec. */
  sendRaw(bytes: Buffer): void {
    if (!this.#current) throw new Error('scripted CSM: no link');
    this.#current.socket.write(bytes);
  }

  of<N extends Notification>(name: N): NotificationPayload<N>[] {
    return this.notifications.filter((n) => n.name === name).map((n) => n.payload as NotificationPayload<N>);
  }

  #accept(socket: Socket): void {
    const channel = new ControlChannel(socket);
    const link: Link = { channel, socket };
    this.#links.add(link);
    channel.on('close', (reason) => {
      this.#links.delete(link);
      this.closes.push(reason);
      if (this.#current === link) this.#current = null;
    });
    channel.handle(Method.UNIT_REGISTER, (params) => {
      this.registers.push(params);
      if (this.beforeCarriers && params.udpCarriers !== undefined) {
        channel.close(new ControlError(ControlErrorCode.CONTROL_ERR_BAD_PAYLOAD, 'unit.register: /udpCarriers: unexpected property'));
        return new Promise<never>(() => {});
      }
      if (this.refuseRegisters > 0) {
        this.refuseRegisters--;
        const refusal = new CodedError('CSM_ERR_BAD_SECRET', 'wrong cluster secret');
        if (this.closeAfterRefusal) setImmediate(() => channel.close(refusal));
        throw refusal;
      }
      this.#current = link;
      return { epoch: this.epoch, csmId: 'scripted', heartbeatIntervalMs: this.heartbeatIntervalMs, reportIntervalMs: this.reportIntervalMs };
    });
    for (const name of Object.values(Notification)) {
      channel.handleNotification(name, (payload) => this.notifications.push({ name, payload }));
    }
  }
}
