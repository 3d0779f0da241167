/**
 * A real CSM process and real unit processes on loopback, with helpers to call the CSM's APIs, fast
 * failure detection (200 ms heartbeats, failed after 1.2 s of silence), and returned once every
 * unit has registered. With `media`, a ticket key pair is made for the run: the private JWK goes to
 * the CSM and the public one to every unit, so publishers and viewers can connect.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../csm/http/operator-auth.js';
import { generateTicketKeys } from '../../protocol/tickets.js';
import { CSM_READY, UNIT_READY, startOnair, waitFor, type OnairProcess } from './processes.js';

export interface ProcessCluster {
  csm: OnairProcess;
  api: string;
  controlPort: number;
  secret: string;
  units: Map<string, { process: OnairProcess; address: string; http: string }>;
  startUnit(id: string): Promise<void>;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  service<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export interface ProcessClusterOptions {
  csmEnv?: Record<string, string>;
  /** extra environment for every unit, e.g. a small ONAIR_UNIT_GROUPS_PER_UNIT to force relays */
  unitEnv?: Record<string, string>;
  /** tickets signed and verified: the media routes open */
  media?: boolean;
}

export async function startProcessCluster(unitIds: string[], options: ProcessClusterOptions = {}): Promise<ProcessCluster> {
  const secret = randomBytes(12).toString('hex');
  const password = 'test-operator-password';
  const keys = options.media ? await generateTicketKeys() : null;
  const unitEnv = { ONAIR_UNIT_CLUSTER_SECRET: secret, ONAIR_UNIT_LOG_LEVEL: 'warn', ...(keys ? { ONAIR_UNIT_TICKET_PUBLIC_JWK: JSON.stringify(keys.publicJwk) } : {}), ...options.unitEnv };
  const csm = await startOnair(
    ['csm', '--http-port', '0', '--control-port', '0'],
    {
      ONAIR_CSM_CLUSTER_SECRET: secret,
      ONAIR_CSM_OPERATORS: `op:${await hashPassword(password)}`,
      ONAIR_CSM_HEARTBEAT_INTERVAL_MS: '200',
      ONAIR_CSM_UNIT_FAIL_AFTER_MS: '1200',
      ONAIR_CSM_LOG_LEVEL: 'warn',
      ...(keys ? { ONAIR_CSM_TICKET_PRIVATE_JWK: JSON.stringify(keys.privateJwk) } : {}),
      ...options.csmEnv,
    },
    CSM_READY,
  );
  const api = csm.ready[1]!;
  const controlPort = Number(csm.ready[3]);
  const auth = `Basic ${Buffer.from(`op:${password}`).toString('base64')}`;
  const call = async <T>(method: string, url: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: T }> => {
    const response = await fetch(url, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
  };
  const units = new Map<string, { process: OnairProcess; address: string; http: string }>();
  const cluster: ProcessCluster = {
    csm,
    api,
    controlPort,
    secret,
    units,
    startUnit: async (id) => {
      const process = await startOnair(['unit', '--id', id, '--port', '0', '--csm', `127.0.0.1:${controlPort}`], unitEnv, UNIT_READY);
      const address = process.ready[2]!;
      units.set(id, { process, address, http: address.replace(/^ws/, 'http') });
    },
    admin: (method, path, body) => call(method, `${api}${path}`, { authorization: auth }, body),
    service: (method, path, body) => call(method, `${api}${path}`, {}, body),
    stop: async () => {
      await Promise.all([...units.values()].map((u) => u.process.stop()));
      await csm.stop();
    },
  };
  try {
    for (const id of unitIds) await cluster.startUnit(id);
    await waitFor('every unit registered', async () => (await cluster.admin<{ units: { up: number } }>('GET', '/admin/v1/cluster')).body.units.up === unitIds.length);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
