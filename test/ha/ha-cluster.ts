/**
 * Two real `onair csm` processes on loopback sharing one real redis-server — csm-a started active,
 * csm-b backup — behind two TCP forwarders that stand in for the virtual IP (one for the HTTP port,
 * one for the control port), and real unit processes that reach "the VIP". `pointVipTo` moves both
 * forwarders, as keepalived moves the VIP; `ctl` runs `onair csm-ctl` as keepalived's notify scripts
 * do. Both CSMs share one ticket key pair, so tickets stay valid across a takeover.
 *
 * Every process is killed by its PID on `stop()`, and on exit of the test process (processes.ts).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { hashPassword } from '../../csm/http/operator-auth.js';
import { RedisClusterStateMirror } from '../../csm/store/RedisClusterStateMirror.js';
import type { ClusterSnapshot } from '../../csm/store/records.js';
import type { LogEvent } from '../../protocol/store/EventLog.js';
import { RedisEventLog } from '../../protocol/store/RedisEventLog.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { generateTicketKeys } from '../../protocol/tickets.js';
import { CSM_READY, UNIT_READY, startOnair, waitFor, type OnairProcess } from '../support/processes.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startRestartableRedis, type RestartableRedis } from './redis-on-port.js';

const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));

export interface HaCsm {
  name: string;
  process: OnairProcess;
  http: string;
  httpPort: number;
  controlPort: number;
}

export interface Health {
  status: number;
  ok: boolean;
  role: 'active' | 'backup';
  epoch: number;
  storeEpoch: number;
  fenced: boolean;
  suspended: boolean;
  storeError: string | null;
  unitsLinked: number;
}

export interface HaCluster {
  redis: RestartableRedis;
  prefix: string;
  secret: string;
  a: HaCsm;
  b: HaCsm;
  httpVip: TcpProxy;
  controlVip: TcpProxy;
  /** the service API through the "VIP" */
  vipUrl: string;
  units: Map<string, { process: OnairProcess; http: string }>;
  startUnit(id: string, controlPort?: number): Promise<{ process: OnairProcess; http: string }>;
  pointVipTo(csm: HaCsm): void;
  admin<T = any>(csm: HaCsm, method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  call<T = any>(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: T }>;
  health(csm: HaCsm, timeoutMs?: number): Promise<Health>;
  unitHealth(id: string): Promise<{ csmLinked: boolean; epoch: number; groupsUsed: number; viewers: number }>;
  ctl(csm: HaCsm, action: string, options?: { secret?: string; args?: string[] }): Promise<{ code: number | null; stdout: string; stderr: string; json: any }>;
  snapshot(): Promise<ClusterSnapshot>;
  events(): Promise<LogEvent[]>;
  /** the processes' last log lines, for a failing test's message */
  logs(): string;
  stop(): Promise<void>;
}

export interface HaClusterOptions {
  units?: string[];
  csmEnv?: Record<string, string>;
  unitEnv?: Record<string, string>;
}

export async function startHaCluster(options: HaClusterOptions = {}): Promise<HaCluster> {
  const secret = randomBytes(12).toString('hex');
  const password = 'ha-test-password';
  const prefix = `ha-${randomBytes(4).toString('hex')}:`;
  const keys = await generateTicketKeys();
  const auth = `Basic ${Buffer.from(`op:${password}`).toString('base64')}`;
  const started: OnairProcess[] = [];
  const proxies: TcpProxy[] = [];
  const redis = await startRestartableRedis();
  const stopAll = async (): Promise<void> => {
    for (const p of [...started].reverse()) await p.stop();
    for (const proxy of proxies) await proxy.close();
    await redis.stop();
  };
  try {
    const csmEnv = {
      ONAIR_CSM_CLUSTER_SECRET: secret,
      ONAIR_CSM_OPERATORS: `op:${await hashPassword(password)}`,
      ONAIR_CSM_HEARTBEAT_INTERVAL_MS: '200',
      ONAIR_CSM_UNIT_FAIL_AFTER_MS: '1500',
      ONAIR_CSM_TAKEOVER_GRACE_MS: '8000',
      ONAIR_CSM_REDIS_PREFIX: prefix,
      ONAIR_CSM_LOG_LEVEL: 'warn',
      ONAIR_CSM_TICKET_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
      ...options.csmEnv,
    };
    const startCsm = async (name: string, role: string): Promise<HaCsm> => {
      const process = await startOnair(['csm', '--http-port', '0', '--control-port', '0', '--redis', redis.url, '--id', name, '--role', role], csmEnv, CSM_READY);
      started.push(process);
      const http = process.ready[1]!;
      return { name, process, http, httpPort: Number(new URL(http).port), controlPort: Number(process.ready[3]) };
    };
    const a = await startCsm('csm-a', 'active');
    const b = await startCsm('csm-b', 'backup');
    const httpVip = await startTcpProxy(a.httpPort);
    const controlVip = await startTcpProxy(a.controlPort);
    proxies.push(httpVip, controlVip);
    const unitEnv = {
      ONAIR_UNIT_CLUSTER_SECRET: secret,
      ONAIR_UNIT_LOG_LEVEL: 'warn',
      ONAIR_UNIT_RECONNECT_MAX_MS: '1000',
      ONAIR_UNIT_TICKET_PUBLIC_JWK: JSON.stringify(keys.publicJwk),
      ...options.unitEnv,
    };
    const units = new Map<string, { process: OnairProcess; http: string }>();
    const call = async <T>(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; body: T }> => {
      const send = (): Promise<Response> =>
        fetch(`${base}${path}`, {
          method,
          headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          body: body === undefined ? null : JSON.stringify(body),
          signal: AbortSignal.timeout(5000),
        });
      // A kept-alive connection the "VIP" dropped when it moved fails at once; a client asks again.
      const response = await send().catch((error: Error & { cause?: { code?: string } }) => {
        if (error.cause?.code !== 'ECONNRESET' && error.cause?.code !== 'UND_ERR_SOCKET') throw error;
        return send();
      });
      const text = await response.text();
      return { status: response.status, headers: response.headers, body: (text ? JSON.parse(text) : null) as T };
    };
    const cluster: HaCluster = {
      redis,
      prefix,
      secret,
      a,
      b,
      httpVip,
      controlVip,
      vipUrl: `http://127.0.0.1:${httpVip.port}`,
      units,
      startUnit: async (id, controlPort = controlVip.port) => {
        const process = await startOnair(['unit', '--id', id, '--port', '0', '--csm', `127.0.0.1:${controlPort}`], unitEnv, UNIT_READY);
        started.push(process);
        const unit = { process, http: process.ready[2]!.replace(/^ws/, 'http') };
        units.set(id, unit);
        return unit;
      },
      pointVipTo: (csm) => {
        httpVip.pointTo(csm.httpPort);
        controlVip.pointTo(csm.controlPort);
      },
      admin: async (csm, method, path, body) => {
        const { status, body: parsed } = await call(csm.http, method, path, body, { authorization: auth });
        return { status, body: parsed as any };
      },
      call: (base, method, path, body) => call(base, method, path, body),
      health: async (csm, timeoutMs = 2000) => {
        const response = await fetch(`${csm.http}/healthz`, { signal: AbortSignal.timeout(timeoutMs) });
        const { ok, detail } = (await response.json()) as { ok: boolean; detail: Omit<Health, 'status' | 'ok'> };
        return { status: response.status, ok, ...detail };
      },
      unitHealth: async (id) => (await (await fetch(`${units.get(id)!.http}/healthz`, { signal: AbortSignal.timeout(2000) })).json()) as never,
      ctl: (csm, action, opts = {}) =>
        new Promise((resolve) => {
          const child = spawn(process.execPath, [cli, 'csm-ctl', action, '--url', csm.http, ...(opts.args ?? [])], {
            env: { ...process.env, ONAIR_CSM_CLUSTER_SECRET: opts.secret ?? secret },
            stdio: ['ignore', 'pipe', 'pipe'],
          });
          let stdout = '';
          let stderr = '';
          child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
          child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
          child.once('exit', (code) => {
            let json: unknown = null;
            try {
              json = JSON.parse(stdout);
            } catch {
              // not JSON (an error): json stays null
            }
            resolve({ code, stdout, stderr, json });
          });
        }),
      snapshot: async () => {
        const client = createRedis(redis.url);
        try {
          return await new RedisClusterStateMirror(client, prefix).load();
        } finally {
          client.disconnect();
        }
      },
      events: async () => {
        const client = createRedis(redis.url);
        try {
          return await new RedisEventLog(client, prefix).query({ limit: 1000 });
        } finally {
          client.disconnect();
        }
      },
      logs: () => started.map((p, i) => `--- process ${i} (pid ${p.pid}) ---\n${p.stderr().split('\n').slice(-40).join('\n')}`).join('\n'),
      stop: stopAll,
    };
    for (const id of options.units ?? []) await cluster.startUnit(id);
    await waitFor('every unit registered with csm-a', async () => (await cluster.admin(a, 'GET', '/admin/v1/cluster')).body.units.up === (options.units ?? []).length && (await cluster.health(a)).unitsLinked === (options.units ?? []).length);
    return cluster;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Run a test body; on failure, append the processes' logs to the error. */
export async function withLogs(cluster: HaCluster | undefined, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (cluster && error instanceof Error) error.message += `\n${cluster.logs()}`;
    throw error;
  }
}
