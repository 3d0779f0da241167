/**
 * The servers under test, started fresh for every scenario so that each starts from the same memory
 * and no groups linger (the CSM releases empty groups only after a grace period):
 *
 * - `onair`: a real `onair csm` and one `onair unit` (test/support/processes.ts), with a ticket key
 *   pair made for the run. Limits raised by configuration only, for one unit to take thousands of
 *   viewers of one channel from one address: `groupsPerUnit` (--groups), `maxConnectionsPerIp`,
 *   and the CSM's per-IP request limit (`rateLimitPerMinute`, which the joins go through).
 *   Viewers join the real way: CsmApi.join per viewer (the ticket, unit URL and group).
 * - `naive`: naive-ws-server.ts, viewers need no join.
 * Both are stopped by PID in `stop()`, which the caller runs in `finally`. The pieces (a CSM, a unit,
 * the joins) are exported for relay.ts, which starts a CSM and three units.
 */
import { randomBytes } from 'node:crypto';
import { hashPassword } from '../../../csm/http/operator-auth.js';
import { generateTicketKeys } from '../../../protocol/tickets.js';
import { CsmApi } from '../../../web/client/CsmApi.js';
import { mediaUrl } from '../../../web/client/socket.js';
import { CSM_READY, UNIT_READY, startOnair, waitFor, type OnairProcess } from '../../support/processes.js';
import { forkHere, ofType } from './children.js';
import type { PublisherTarget } from './publisher.js';

export const UNIT_ID = 'bench-unit';
const GROUP_SIZE = 10;
const JOIN_CONCURRENCY = 16;

/** A unit process the bench measures (CPU, RSS). */
export interface MeasuredUnit {
  id: string;
  pid: number;
}

/** Where one viewer goes: its watch URL, the unit the CSM placed it on, and an optional class tag. */
export interface ViewerPlacement {
  url: string;
  /** null for the naive server */
  unitId: string | null;
  /** counted apart under this tag as well (viewer-stats.ts); the relay scenario tags by depth */
  tag?: string | undefined;
}

export interface Target {
  kind: 'onair' | 'naive';
  /** the main process whose CPU and memory are measured (the root unit) */
  pid: number;
  /** every measured server process, `pid` first: one unit, or the relay scenario's three */
  units: MeasuredUnit[];
  /** the port viewers of `pid` connect to */
  mediaPort: number;
  /** other processes of the target whose CPU is reported apart (the CSM) */
  helperPids: Record<string, number>;
  /** the measured process's stderr so far (onair: where its inspector says it listens) */
  stderr: () => string;
  publisherTarget: PublisherTarget;
  /** watch URLs for `n` viewers of `channelId` (onair: one CSM join each) */
  viewerUrls(channelId: number, n: number): Promise<ViewerPlacement[]>;
  /** the CSM's count of viewers on the measured units (onair), for a sanity check */
  unitViewers(): Promise<number | null>;
  /** unit id → depth in the channel's relay tree (1 = root), once `viewerUrls` knows it (relay.ts) */
  unitDepths?: Record<string, number> | null;
  stop(): Promise<void>;
}

export interface OnairOptions {
  viewers: number;
  log: (message: string) => void;
}

/** A running CSM with a ticket key pair and an operator made for the run, and its admin API. */
export interface BenchCsm {
  process: OnairProcess;
  /** the HTTP base URL (service and admin API) */
  api: string;
  controlPort: string;
  secret: string;
  ticketPublicJwk: string;
  /** GET on the admin API with the run's operator (Basic auth); throws on a non-2xx answer */
  admin<T>(path: string): Promise<T>;
}

export type UnitView = { id: string; state: string; connected: boolean; viewers: number };

/** `onair csm` on free ports, limits raised for one machine's joins; `env` adds or overrides ONAIR_CSM_*. */
export async function startBenchCsm(env: Record<string, string> = {}): Promise<BenchCsm> {
  const secret = randomBytes(12).toString('hex');
  const password = randomBytes(9).toString('base64url');
  const keys = await generateTicketKeys();
  const csm = await startOnair(
    ['csm', '--http-port', '0', '--control-port', '0'],
    {
      ONAIR_CSM_CLUSTER_SECRET: secret,
      ONAIR_CSM_OPERATORS: `bench:${await hashPassword(password)}`,
      ONAIR_CSM_TICKET_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
      // Every viewer's join comes from 127.0.0.1: the per-IP limit (600/min by default) would throttle them.
      ONAIR_CSM_RATE_LIMIT_PER_MINUTE: '10000000',
      ONAIR_CSM_LOG_LEVEL: 'warn',
      ...env,
    },
    CSM_READY,
  );
  const api = csm.ready[1]!;
  const auth = `Basic ${Buffer.from(`bench:${password}`).toString('base64')}`;
  return {
    process: csm,
    api,
    controlPort: csm.ready[3]!,
    secret,
    ticketPublicJwk: JSON.stringify(keys.publicJwk),
    admin: async <T>(path: string): Promise<T> => {
      const response = await fetch(`${api}/admin/v1${path}`, { headers: { authorization: auth }, signal: AbortSignal.timeout(5000) });
      if (!response.ok) throw new Error(`GET /admin/v1${path}: ${response.status}`);
      return (await response.json()) as T;
    },
  };
}

/** `onair unit` on a free port, linked to `csm`, with `groups` × `groupSize` slots; resolves once the CSM lists it up. */
export async function startBenchUnit(csm: BenchCsm, id: string, options: { groups: number; groupSize: number; maxConnectionsPerIp: number; env?: Record<string, string> }): Promise<OnairProcess> {
  const unit = await startOnair(
    ['unit', '--id', id, '--port', '0', '--csm', `127.0.0.1:${csm.controlPort}`, '--groups', String(options.groups), '--group-size', String(options.groupSize)],
    {
      ONAIR_UNIT_CLUSTER_SECRET: csm.secret,
      ONAIR_UNIT_TICKET_PUBLIC_JWK: csm.ticketPublicJwk,
      ONAIR_UNIT_MAX_CONNECTIONS_PER_IP: String(options.maxConnectionsPerIp),
      ONAIR_UNIT_LOG_LEVEL: 'warn',
      ...options.env,
    },
    UNIT_READY,
  );
  try {
    await waitFor(`unit ${id} registered at the CSM`, async () => (await csm.admin<UnitView[]>('/units')).some((u) => u.id === id && u.state === 'up' && u.connected), 10_000, 100);
  } catch (error) {
    await unit.stop();
    throw error;
  }
  return unit;
}

/** `n` joins of `channelId` through the CSM's service API (the real way: a ticket, a unit URL, a group each), 16 at a time. */
export async function joinViewers(api: string, channelId: number, n: number): Promise<ViewerPlacement[]> {
  const client = new CsmApi({ baseUrl: api, retries: 5 });
  const placements: ViewerPlacement[] = new Array<ViewerPlacement>(n);
  let next = 0;
  const worker = async (): Promise<void> => {
    for (let i = next++; i < n; i = next++) {
      const grant = await client.join(channelId);
      placements[i] = { url: mediaUrl(grant.url, 'watch', channelId, grant.ticket), unitId: grant.unitId };
    }
  };
  await Promise.all(Array.from({ length: Math.min(JOIN_CONCURRENCY, n) }, worker));
  return placements;
}

export async function startOnairTarget(options: OnairOptions): Promise<Target> {
  const processes: OnairProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of processes.reverse()) await p.stop();
  };
  try {
    const csm = await startBenchCsm();
    processes.push(csm.process);
    // Room for every viewer plus the root group's share, in groups of the default size.
    const groups = Math.ceil(options.viewers / GROUP_SIZE) + 20;
    const unit = await startBenchUnit(csm, UNIT_ID, { groups, groupSize: GROUP_SIZE, maxConnectionsPerIp: options.viewers + 100 });
    processes.push(unit);
    options.log(`csm pid ${csm.process.pid} at ${csm.api}, unit pid ${unit.pid} at ${unit.ready[2]} with ${groups}×${GROUP_SIZE} slots`);
    return {
      kind: 'onair',
      pid: unit.pid,
      units: [{ id: UNIT_ID, pid: unit.pid }],
      mediaPort: Number(new URL(unit.ready[2]!).port),
      helperPids: { csm: csm.process.pid },
      stderr: unit.stderr,
      publisherTarget: { kind: 'onair', csmUrl: csm.api },
      viewerUrls: async (channelId, n) => {
        const placements = await joinViewers(csm.api, channelId, n);
        const elsewhere = placements.findIndex((p) => p.unitId !== UNIT_ID);
        if (elsewhere >= 0) throw new Error(`join ${elsewhere} placed on unit ${placements[elsewhere]!.unitId}`);
        return placements;
      },
      unitViewers: async () => (await csm.admin<UnitView>(`/units/${UNIT_ID}`)).viewers,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function startNaiveTarget(): Promise<Target> {
  const child = forkHere('./naive-ws-server.js');
  try {
    const { port } = await child.next(ofType<{ type: 'listening'; port: number }>('listening'), 'listening', 10_000);
    const base = `ws://127.0.0.1:${port}`;
    return {
      kind: 'naive',
      pid: child.pid,
      units: [{ id: 'naive', pid: child.pid }],
      mediaPort: port,
      helperPids: {},
      stderr: () => '',
      publisherTarget: { kind: 'direct', url: `${base}/ingest/1`, channelId: 1 },
      viewerUrls: async (channelId, n) => Array.from({ length: n }, () => ({ url: `${base}/watch/${channelId}`, unitId: null })),
      unitViewers: async () => null,
      stop: () => child.stop(),
    };
  } catch (error) {
    await child.stop();
    throw error;
  }
}
