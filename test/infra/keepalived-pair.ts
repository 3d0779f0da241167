/**
 * Two CSM hosts without CSMs, for testing keepalived itself: two network namespaces on a bridge (the
 * lab's plumbing), the real keepalived in each with the rendered configuration and the shipped
 * scripts, a stand-in /healthz per host (a tiny HTTP server on the host's loopback whose answer the
 * test flips with a file), and a stand-in `onair` that records every csm-ctl call the notify script
 * makes. VIP changes are watched with `ip monitor address` (event times, not polling).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { renderKeepalivedConf } from '../../infra/keepalived/render.js';
import { installKeepalivedScripts } from '../../infra/keepalived/scripts.js';
import { addressesOf, attachHost, createSwitch, deleteNamespace, setPort } from '../../infra/lab/netns.js';
import { descendantsOf, killProcessesSync, signalIfOurs, spawnInNamespace, stopProcesses, waitForLogLine, type ProcessRecord } from '../../infra/lab/processes.js';
import { clearKeepalivedPidFiles } from '../../infra/lab/specs.js';
import { runSync, waitUntil, which } from '../../infra/lab/system.js';

export const VIP = '198.18.0.10';
const HEALTH_PORT = 7000;

export type PairHost = 'csm-a' | 'csm-b';
export const PAIR_HOSTS: readonly PairHost[] = ['csm-a', 'csm-b'];
const ADDRESS: Record<PairHost, string> = { 'csm-a': '198.18.0.11', 'csm-b': '198.18.0.12' };
const PRIORITY: Record<PairHost, number> = { 'csm-a': 150, 'csm-b': 100 };

const HEALTH_SERVER = `
const [dir, host, port] = process.argv.slice(1);
const { existsSync } = require('node:fs');
require('node:http').createServer((request, response) => {
  const ok = !existsSync(dir + '/' + host + '.unhealthy');
  response.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ ok, detail: { role: 'stand-in' } }));
}).listen(Number(port), '127.0.0.1', () => console.log('listening'));
`;

interface VipEvent {
  at: number;
  added: boolean;
}

export class KeepalivedPair {
  readonly id = `k${randomBytes(3).toString('hex')}`;
  readonly dir = `/run/onair-test-${this.id}`;
  readonly switchNs = `onair-${this.id}-sw`;
  readonly namespaces: string[] = [];
  #records: ProcessRecord[] = [];
  #keepalived = new Map<PairHost, ProcessRecord>();
  #monitors: ChildProcess[] = [];
  #events = new Map<PairHost, VipEvent[]>();
  #keepalivedPath = '';

  ns(host: PairHost): string {
    return `onair-${this.id}-${host}`;
  }

  /** should the test process die before tearDown: kill what was started, delete the namespaces */
  readonly #onExit = (): void => {
    killProcessesSync(this.#records);
    for (const ns of [...this.namespaces].reverse()) runSync('ip', ['netns', 'delete', ns]);
    rmSync(this.dir, { recursive: true, force: true });
  };

  async setUp(): Promise<void> {
    process.once('exit', this.#onExit);
    const found = await which('keepalived');
    if (!found) throw new Error('keepalived is not installed (test/run.sh installs it)');
    this.#keepalivedPath = found;
    mkdirSync(this.dir, { recursive: true, mode: 0o755 });
    chmodSync(this.dir, 0o755);
    installKeepalivedScripts(`${this.dir}/scripts`);
    writeFileSync(`${this.dir}/fake-onair.sh`, `#!/bin/sh\necho "$(date +%s%3N) $*" >> ${this.dir}/calls.log\necho '{}'\n`, { mode: 0o755 });
    writeFileSync(`${this.dir}/csm.env`, 'ONAIR_CSM_CLUSTER_SECRET=pair-secret\n', { mode: 0o600 });
    writeFileSync(`${this.dir}/calls.log`, '');
    this.namespaces.push(this.switchNs);
    await createSwitch(this.switchNs);
    for (const host of PAIR_HOSTS) {
      this.namespaces.push(this.ns(host));
      await attachHost(this.switchNs, { namespace: this.ns(host), port: host, address: ADDRESS[host], prefix: 24 });
      const health = spawnInNamespace({ host, name: 'health', namespace: this.ns(host), argv: [process.execPath, '-e', HEALTH_SERVER, this.dir, host, String(HEALTH_PORT)], env: {}, log: `${this.dir}/${host}.health.log` });
      this.#records.push(health);
      await waitForLogLine(health, /listening/, 20_000);
      this.#watch(host);
    }
  }

  /** `ip -n <ns> monitor address`: every VIP add/delete on the host, timed as it happens */
  #watch(host: PairHost): void {
    const events: VipEvent[] = [];
    this.#events.set(host, events);
    const monitor = spawn('ip', ['-n', this.ns(host), 'monitor', 'address'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#monitors.push(monitor);
    createInterface({ input: monitor.stdout! }).on('line', (line) => {
      if (line.includes(` ${VIP}/`)) events.push({ at: Date.now(), added: !line.startsWith('Deleted') });
    });
  }

  /** Renders this host's keepalived.conf (advert interval `advert`, health checked every second, fall 1 rise 1). */
  configure(host: PairHost, advert: number): void {
    const peer = host === 'csm-a' ? 'csm-b' : 'csm-a';
    mkdirSync(`${this.dir}/${host}`, { recursive: true, mode: 0o755 });
    const text = renderKeepalivedConf({
      routerId: `${this.id}-${host}`,
      interface: 'eth0',
      priority: PRIORITY[host],
      advertIntSeconds: advert,
      unicastSrcIp: ADDRESS[host],
      unicastPeers: [ADDRESS[peer]],
      virtualIps: [{ address: VIP, prefix: 24 }],
      health: { url: `http://127.0.0.1:${HEALTH_PORT}/healthz`, intervalSeconds: 1, timeoutSeconds: 1, fall: 1, rise: 1 },
      csmCtl: {
        url: `http://127.0.0.1:${HEALTH_PORT}`,
        command: [`${this.dir}/fake-onair.sh`, host],
        envFile: `${this.dir}/csm.env`,
        stateFile: `${this.dir}/${host}/role`,
        logFile: `${this.dir}/${host}/notify.log`,
        attempts: 1,
        callTimeoutSeconds: 2,
      },
      scriptsDir: `${this.dir}/scripts`,
    });
    writeFileSync(`${this.dir}/${host}/keepalived.conf`, text);
  }

  startKeepalived(host: PairHost): void {
    const d = `${this.dir}/${host}`;
    const argv = [this.#keepalivedPath, '--dont-fork', '--log-console', '--log-detail', '--no-syslog', '--vrrp', '--use-file', `${d}/keepalived.conf`, '--pid', `${d}/keepalived.pid`, '--vrrp_pid', `${d}/vrrp.pid`];
    clearKeepalivedPidFiles(argv);
    const record = spawnInNamespace({ host, name: 'keepalived', namespace: this.ns(host), argv, env: {}, log: `${d}/keepalived.log` });
    this.#records.push(record);
    this.#keepalived.set(host, record);
  }

  /** SIGTERM: orderly stop (priority-0 advert). SIGKILL: a crash of keepalived and its VRRP child. */
  async stopKeepalived(host: PairHost, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const record = this.#keepalived.get(host)!;
    if (signal === 'SIGKILL') for (const child of descendantsOf(record.pid)) signalIfOurs(child, 'SIGKILL');
    signalIfOurs(record, signal);
    await stopProcesses([record], 10_000);
  }

  setHealthy(host: PairHost, healthy: boolean): void {
    const file = `${this.dir}/${host}.unhealthy`;
    if (healthy) rmSync(file, { force: true });
    else writeFileSync(file, '');
  }

  setLink(host: PairHost, up: boolean): Promise<string> {
    return setPort(this.switchNs, host, up);
  }

  async holders(): Promise<PairHost[]> {
    const held = await Promise.all(PAIR_HOSTS.map(async (h) => ((await addressesOf(this.ns(h))).includes(VIP) ? h : null)));
    return held.filter((h): h is PairHost => h !== null);
  }

  /** Time (ms since epoch) the VIP was added to (or removed from) `host` at or after `since`. */
  vipChange(host: PairHost, added: boolean, since: number, timeoutMs: number): Promise<number> {
    return waitUntil(`VIP ${added ? 'added to' : 'removed from'} ${host}`, () => this.#events.get(host)!.find((e) => e.added === added && e.at >= since)?.at, timeoutMs, 5);
  }

  /** the recorded csm-ctl calls: "<ms> <host> csm-ctl <action> … --reason keepalived <EVENT>" */
  calls(): { at: number; host: string; action: string; event: string }[] {
    return readFileSync(`${this.dir}/calls.log`, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const words = line.split(' ');
        return { at: Number(words[0]), host: words[1]!, action: words[3]!, event: words.at(-1)! };
      });
  }

  waitCall(host: PairHost, action: string, event: string, since: number, timeoutMs: number): Promise<{ at: number }> {
    return waitUntil(`${host}: csm-ctl ${action} on ${event}`, () => this.calls().find((c) => c.host === host && c.action === action && c.event === event && c.at >= since), timeoutMs, 20);
  }

  async tearDown(): Promise<void> {
    process.off('exit', this.#onExit);
    for (const monitor of this.#monitors) monitor.kill('SIGKILL');
    await stopProcesses(this.#records, 5000);
    for (const ns of [...this.namespaces].reverse()) await deleteNamespace(ns);
    // ONAIR_TEST_KEEP_LOGS=1 keeps the configuration, logs and calls for a look after a failure
    if (process.env['ONAIR_TEST_KEEP_LOGS'] === '1') process.stdout.write(`keepalived pair files kept in ${this.dir}\n`);
    else rmSync(this.dir, { recursive: true, force: true });
  }
}
