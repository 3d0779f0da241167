/**
 * What the fault tests and `onair bench failover` share: the lab they start (infra/lab, the real
 * keepalived and processes), the lab client they run inside its client namespace (lab-client.ts, over
 * `ip netns exec` as infra/lab/processes.ts starts every lab process), and questions asked of the
 * cluster through the VIP from the client host (admin API with the lab's operator).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Lab } from '../../infra/lab/Lab.js';
import { keepalivedFiles } from '../../infra/lab/specs.js';
import type { LabOptions } from '../../infra/lab/topology.js';
import { waitFor } from '../support/processes.js';

export { waitFor };

const clientJs = fileURLToPath(new URL('./lab-client.js', import.meta.url));

/**
 * CSM settings of the fault labs, none of which changes how a failover goes: no rate limit in the
 * way of a join every 100 ms; channels without a broadcaster (the joins' channel) and empty or
 * under-filled groups kept, so "no channel or group lost" compares like with like; a failed unit
 * noticed after 1.5 s of silence (heartbeats every 500 ms) rather than 3 s.
 */
export const FAULT_CSM_ENV: Readonly<Record<string, string>> = Object.freeze({
  ONAIR_CSM_RATE_LIMIT_PER_MINUTE: '1000000',
  ONAIR_CSM_PUBLISHER_GRACE_MS: '600000',
  ONAIR_CSM_EMPTY_GROUP_GRACE_MS: '600000',
  ONAIR_CSM_CONSOLIDATE: 'false',
  ONAIR_CSM_HEARTBEAT_INTERVAL_MS: '500',
  ONAIR_CSM_UNIT_FAIL_AFTER_MS: '1500',
});

export const CSM_PORT = 7000;
export const OTHER = { 'csm-a': 'csm-b', 'csm-b': 'csm-a' } as const;
export type CsmHostName = keyof typeof OTHER;

export function startFaultLab(options: Partial<LabOptions> = {}): Promise<Lab> {
  return Lab.up({ units: 3, web: false, ...options, csmEnv: { ...FAULT_CSM_ENV, ...options.csmEnv } });
}

export type ClientLine = { t: string; at: number } & Record<string, any>;

/** The lab client, running in the lab's client namespace; its JSON lines collected as they come. */
export class LabClient {
  readonly lines: ClientLine[] = [];
  #stderr = '';
  #nextId = 1;
  readonly #waiters = new Set<() => void>();
  readonly exited: Promise<number | null>;
  #onExit: () => void;

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.lines.push(JSON.parse(line) as ClientLine);
      } catch {
        this.#stderr += `(stdout) ${line}\n`;
      }
      for (const wake of [...this.#waiters]) wake();
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString()).slice(-20_000);
    });
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    // the client must not outlive the test process (lab.down() would also stop it: it runs in the lab)
    this.#onExit = () => child.kill('SIGKILL');
    process.once('exit', this.#onExit);
    void this.exited.then(() => {
      process.off('exit', this.#onExit);
      for (const wake of [...this.#waiters]) wake();
    });
  }

  /** Starts the client in the lab's client host and waits for its `ready` line. */
  static async start(lab: Lab, args: string[], readyTimeoutMs = 60_000): Promise<LabClient> {
    const child = spawn('ip', ['netns', 'exec', lab.host('client').namespace, process.execPath, '--enable-source-maps', clientJs, '--vip', lab.vip, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const client = new LabClient(child);
    try {
      await client.waitLine('the lab client to be ready', (l) => l.t === 'ready', readyTimeoutMs);
    } catch (error) {
      await client.stop();
      throw error;
    }
    return client;
  }

  get stderr(): string {
    return this.#stderr;
  }

  get ready(): ClientLine {
    return this.lines.find((l) => l.t === 'ready')!;
  }

  /** Resolves with the first line (from index `from`) that matches; fails after `timeoutMs` or if the client exits. */
  async waitLine(what: string, match: (line: ClientLine) => boolean, timeoutMs: number, from = 0): Promise<ClientLine> {
    const deadline = Date.now() + timeoutMs;
    for (let i = from; ; ) {
      for (; i < this.lines.length; i++) {
        const line = this.lines[i]!;
        if (line.t === 'fatal') throw new Error(`lab client failed: ${line.message}\n${this.#stderr.slice(-3000)}`);
        if (match(line)) return line;
      }
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`lab client exited while waiting for ${what}\n${this.#stderr.slice(-3000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${this.#stderr.slice(-2000)}`);
      await new Promise<void>((resolve) => {
        const wake = (): void => {
          clearTimeout(timer);
          this.#waiters.delete(wake);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.#waiters.add(wake);
      });
    }
  }

  /** Sends a command and waits for its reply. */
  async request(cmd: string, extra: Record<string, unknown> = {}, timeoutMs = 15_000): Promise<ClientLine> {
    const id = this.#nextId++;
    const from = this.lines.length;
    this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...extra })}\n`);
    const reply = await this.waitLine(`the reply to ${cmd}`, (l) => l.t === 'reply' && l['id'] === id, timeoutMs, from);
    if (reply['error']) throw new Error(`lab client: ${cmd}: ${reply['error']}`);
    return reply;
  }

  /** What the client saw in [from, to]: viewers, joins, probes, store writes (lab-client.ts). */
  window(from: number, to = Date.now()): Promise<ClientLine> {
    return this.request('window', { from, to });
  }

  /** Stops the client: a `stop` command, then SIGKILL by its PID if it has not exited within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      this.child.stdin!.end(`${JSON.stringify({ id: 0, cmd: 'stop' })}\n`);
    } catch {
      // stdin already closed
    }
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** An HTTP call from the client host with curl (the operator's credentials on stdin, not argv). */
export async function labCall<T = any>(lab: Lab, method: string, path: string, body?: unknown, auth = true): Promise<{ status: number; body: T }> {
  const url = `http://${lab.vip}:${CSM_PORT}${path}`;
  const args = ['curl', '--silent', '--noproxy', '*', '--max-time', '3', '--config', '-', '--write-out', '\n%{http_code}', '--request', method, url];
  if (body !== undefined) args.push('--header', 'content-type: application/json', '--data-binary', JSON.stringify(body));
  const { user, password } = lab.operator;
  const result = await lab.exec('client', args, { timeoutMs: 8000, input: auth ? `user = "${user}:${password}"\n` : '' });
  const cut = result.stdout.lastIndexOf('\n');
  const status = Number(result.stdout.slice(cut + 1)) || 0;
  const text = cut >= 0 ? result.stdout.slice(0, cut) : '';
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  return { status, body: parsed as T };
}

export interface ClusterView {
  epoch: number | null;
  channels: { id: number; title: string; rootGroup: string; rootUnit: string }[];
  groups: { key: string; channelId: number; role: string; parent: string | null }[];
}

/** The cluster as the active CSM's admin API shows it through the VIP (null: no answer). */
export async function clusterView(lab: Lab): Promise<ClusterView | null> {
  const [cluster, channels, groups] = await Promise.all([labCall(lab, 'GET', '/admin/v1/cluster'), labCall(lab, 'GET', '/admin/v1/channels'), labCall(lab, 'GET', '/admin/v1/groups')]);
  if (channels.status !== 200 || groups.status !== 200) return null;
  return {
    epoch: cluster.status === 200 ? (cluster.body.epoch ?? null) : null,
    channels: (channels.body as any[]).map((c) => ({ id: c.id, title: c.title, rootGroup: c.root?.group, rootUnit: c.root?.unitId })).sort((x, y) => x.id - y.id),
    groups: (groups.body as any[]).map((g) => ({ key: g.key, channelId: g.channelId, role: g.role, parent: g.parent })).sort((x, y) => (x.key < y.key ? -1 : 1)),
  };
}

/** What of `before` is missing or changed in `after` (groups added since are fine): empty when nothing was lost. */
export function lostBetween(before: ClusterView, after: ClusterView): string[] {
  const problems: string[] = [];
  const channels = new Map(after.channels.map((c) => [c.id, c]));
  for (const c of before.channels) {
    const now = channels.get(c.id);
    if (!now) problems.push(`channel ${c.id} (${c.title}) is gone`);
    else if (JSON.stringify(now) !== JSON.stringify(c)) problems.push(`channel ${c.id} changed: ${JSON.stringify(c)} → ${JSON.stringify(now)}`);
  }
  const groups = new Map(after.groups.map((g) => [g.key, g]));
  for (const g of before.groups) {
    const now = groups.get(g.key);
    if (!now) problems.push(`group ${g.key} of channel ${g.channelId} is gone`);
    else if (JSON.stringify(now) !== JSON.stringify(g)) problems.push(`group ${g.key} changed: ${JSON.stringify(g)} → ${JSON.stringify(now)}`);
  }
  return problems;
}

/** The last keepalived state its notify script was called for on `host` (MASTER, BACKUP, FAULT, STOP), from the lab's notify log. */
export function keepalivedState(lab: Lab, host: string): { event: string; at: number } | null {
  let text: string;
  try {
    text = readFileSync(keepalivedFiles({ stateDir: lab.stateDir }, host).notifyLog, 'utf8');
  } catch {
    return null;
  }
  const lines = text.trimEnd().split('\n').filter((l) => / event=\w+ action=\w+ called/.test(l));
  const last = lines.at(-1);
  if (!last) return null;
  // 2026-11-21T06:13:43.867889068+0000 pid=… event=BACKUP action=demote called
  const stamp = last.slice(0, last.indexOf(' ')).replace(/(\.\d{3})\d*/, '$1').replace(/\+0000$/, 'Z');
  return { event: /event=(\w+)/.exec(last)![1]!, at: Date.parse(stamp) };
}

/**
 * The CSM host serving behind the VIP: a VIP holder whose CSM is healthy and active. (After a crash of
 * keepalived the dead host keeps the address until its keepalived starts again, so there may be two
 * holders; only one of them has an active CSM.)
 */
export async function activeHost(lab: Lab, timeoutMs = 30_000): Promise<CsmHostName> {
  return waitFor('a VIP holder with an active CSM', async () => {
    const holders = await lab.vipHolders();
    const health = await Promise.all(holders.map(async (host) => [host, await lab.csmHealth(host)] as const));
    const active = health.filter(([, h]) => h.status === 200 && h.role === 'active').map(([host]) => host);
    return active.length === 1 ? (active[0] as CsmHostName) : null;
  }, timeoutMs, 200);
}

/**
 * Brings the pair back to a steady state: whatever of the standby's CSM and keepalived is not running
 * is started again, its cable plugged, and this waits until one host holds the VIP alone with an
 * active CSM, the other is a healthy backup whose keepalived is BACKUP (so it can take over again), and
 * every unit is registered. Which host ends up active is read at each check, not fixed at the start:
 * after a partition heals the two may still trade the VIP for a while (README, High availability).
 */
export async function settle(lab: Lab, timeoutMs = 40_000): Promise<{ active: CsmHostName; standby: CsmHostName }> {
  const first = await activeHost(lab, timeoutMs);
  const other = OTHER[first];
  await lab.linkUp(other);
  if (!lab.alive(other, 'csm')) await lab.start(other, 'csm');
  if (!lab.alive(other, 'keepalived')) await lab.start(other, 'keepalived');
  let steady: { active: CsmHostName; standby: CsmHostName } | null = null;
  await waitFor('one host active with the VIP alone, the other a healthy backup with keepalived BACKUP, every unit registered', async () => {
    const holders = await lab.vipHolders();
    if (holders.length !== 1) return false;
    const active = holders[0] as CsmHostName;
    const standby = OTHER[active];
    const [activeHealth, standbyHealth, units] = await Promise.all([lab.csmHealth(active), lab.csmHealth(standby), lab.units()]);
    const ok =
      activeHealth.status === 200 &&
      activeHealth.role === 'active' &&
      standbyHealth.status === 200 &&
      standbyHealth.role === 'backup' &&
      keepalivedState(lab, standby)?.event === 'BACKUP' &&
      units !== null &&
      units.length > 0 &&
      units.every((u) => u.state === 'up' && u.connected);
    if (ok) steady = { active, standby };
    return ok;
  }, timeoutMs, 200);
  return steady!;
}

export const percentile = (values: readonly number[], p: number): number | null => {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
};
