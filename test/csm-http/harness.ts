/**
 * A real CSM HTTP server over a real CsmService and Cluster (simCluster: units registered directly,
 * no sockets), driven with fastify.inject(). The event log is real too: `changed` (which the CSM
 * calls after every change) drains the cluster's recorded events into it, as the CSM's wiring does.
 */
import type { FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { Registry } from 'prom-client';
import { buildCsmHttp } from '../../csm/http/buildCsmHttp.js';
import { hashPassword } from '../../csm/http/operator-auth.js';
import { CsmService } from '../../csm/CsmService.js';
import type { ChannelStore } from '../../protocol/store/ChannelStore.js';
import { MemoryChannelStore } from '../../protocol/store/MemoryChannelStore.js';
import { MemoryEventLog } from '../../protocol/store/MemoryEventLog.js';
import { TicketSigner, TicketVerifier, generateTicketKeys } from '../../protocol/tickets.js';
import { simCluster, type SimCluster } from '../support/sim-cluster.js';

export const OPERATOR = { user: 'alice', password: 'correct horse battery staple' };
export const basic = (user: string, password: string): string => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
export const ALICE = { authorization: basic(OPERATOR.user, OPERATOR.password) };

export interface HarnessOptions {
  /** [id, groupsPerUnit, groupSize]; default two units a and b of 50 × 10 */
  units?: [string, number?, number?][];
  serviceToken?: string;
  rateLimitPerMinute?: number;
  channelStore?: ChannelStore;
  health?: () => { ok: boolean; detail: Record<string, unknown> };
}

export interface Harness {
  app: FastifyInstance;
  sim: SimCluster;
  service: CsmService;
  eventLog: MemoryEventLog;
  verifier: TicketVerifier;
  registry: Registry;
  /** what the CSM's role() answers; tests flip it to 'backup' */
  role: { value: 'active' | 'backup' };
  /** every log line the server wrote, parsed */
  logs: Record<string, unknown>[];
}

let operatorHash: Promise<string> | undefined;

export async function harness(options: HarnessOptions = {}): Promise<Harness> {
  // scrypt is slow on purpose; one hash serves every server in this test process.
  operatorHash ??= hashPassword(OPERATOR.password);
  const sim = simCluster();
  for (const [id, groups, size] of options.units ?? [['a'], ['b']]) sim.addUnit(id, groups, size);
  const keys = await generateTicketKeys();
  const eventLog = new MemoryEventLog();
  // MemoryEventLog.append stores synchronously, so flushed events are queryable at once.
  const flush = (): void => {
    for (const event of sim.events.splice(0)) void eventLog.append(event);
  };
  flush(); // the units' registrations
  const role: Harness['role'] = { value: 'active' };
  const service = new CsmService({
    csmId: 'csm-test',
    cluster: sim.cluster,
    signer: await TicketSigner.fromJwk(keys.privateJwk),
    ticketTtlSeconds: 60,
    channelStore: options.channelStore ?? new MemoryChannelStore(),
    eventLog,
    epoch: () => 1,
    role: () => role.value,
    changed: flush,
  });
  const logs: Record<string, unknown>[] = [];
  const logger: Logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const registry = new Registry();
  const app = await buildCsmHttp({
    service,
    logger,
    metrics: registry,
    health: options.health ?? (() => ({ ok: true, detail: { role: role.value } })),
    operators: [{ user: OPERATOR.user, passwordHash: await operatorHash }],
    serviceToken: options.serviceToken,
    ...(options.rateLimitPerMinute !== undefined && { rateLimitPerMinute: options.rateLimitPerMinute }),
  });
  return { app, sim, service, eventLog, verifier: await TicketVerifier.fromJwk(keys.publicJwk), registry, role, logs };
}

/** POST /api/v1/channels and return the parsed OpenChannelResult */
export async function openChannel(app: FastifyInstance, title = 'Live', headers: Record<string, string> = {}): Promise<{ channelId: number; unitId: string; publisherKey: string; ticket: string }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/channels', headers, payload: { title, broadcaster: 'bob' } });
  if (res.statusCode !== 201) throw new Error(`open failed: ${res.statusCode} ${res.body}`);
  return res.json();
}
