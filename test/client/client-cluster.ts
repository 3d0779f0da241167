/**
 * A real CSM and real unit processes on loopback for the client tests, with media enabled: a ticket
 * key pair made for the run, the private JWK given to the CSM and the public one to every unit (the
 * shared cluster fixture does not pass a unit key). Fast failure detection (200 ms heartbeats, failed
 * after 1.2 s of silence).
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../csm/http/operator-auth.js';
import { generateTicketKeys } from '../../protocol/tickets.js';
import { CSM_READY, UNIT_READY, startOnair, type OnairProcess } from '../support/processes.js';

export interface ClientCluster {
  api: string;
  units: Map<string, { process: OnairProcess; address: string }>;
  admin<T = unknown>(method: string, path: string): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

/** `unitEnv`: extra environment for every unit, e.g. a small ONAIR_UNIT_GROUPS_PER_UNIT to force relays. */
export async function startClientCluster(unitIds: string[], unitEnv: Record<string, string> = {}): Promise<ClientCluster> {
  const secret = randomBytes(12).toString('hex');
  const password = 'test-operator-password';
  const keys = await generateTicketKeys();
  const csm = await startOnair(
    ['csm', '--http-port', '0', '--control-port', '0'],
    {
      ONAIR_CSM_CLUSTER_SECRET: secret,
      ONAIR_CSM_OPERATORS: `op:${await hashPassword(password)}`,
      ONAIR_CSM_HEARTBEAT_INTERVAL_MS: '200',
      ONAIR_CSM_UNIT_FAIL_AFTER_MS: '1200',
      ONAIR_CSM_TICKET_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
      ONAIR_CSM_LOG_LEVEL: 'warn',
    },
    CSM_READY,
  );
  const api = csm.ready[1]!;
  const controlPort = Number(csm.ready[3]);
  const auth = `Basic ${Buffer.from(`op:${password}`).toString('base64')}`;
  const units = new Map<string, { process: OnairProcess; address: string }>();
  const cluster: ClientCluster = {
    api,
    units,
    admin: async (method, path) => {
      const response = await fetch(`${api}${path}`, { method, headers: { authorization: auth }, signal: AbortSignal.timeout(5000) });
      const text = await response.text();
      return { status: response.status, body: (text ? JSON.parse(text) : null) as never };
    },
    stop: async () => {
      await Promise.all([...units.values()].map((u) => u.process.stop()));
      await csm.stop();
    },
  };
  try {
    for (const id of unitIds) {
      const process = await startOnair(
        ['unit', '--id', id, '--port', '0', '--csm', `127.0.0.1:${controlPort}`],
        { ONAIR_UNIT_CLUSTER_SECRET: secret, ONAIR_UNIT_TICKET_PUBLIC_JWK: JSON.stringify(keys.publicJwk), ONAIR_UNIT_LOG_LEVEL: 'warn', ...unitEnv },
        UNIT_READY,
      );
      units.set(id, { process, address: process.ready[2]! });
    }
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  return cluster;
}
