/**
 * The network-namespace lab (infra/README.md, "The lab"): test hosts on one machine, each a network
 * namespace on one bridge, running the real keepalived, CSMs, Redis, units and web server.
 *
 *   const lab = await Lab.up({ units: 3 });
 *   await lab.partition('csm-a', 'csm-b'); … await lab.heal();
 *   lab.kill('csm-a', 'keepalived', 'SIGKILL'); await lab.start('csm-a', 'keepalived');
 *   await lab.exec('client', ['curl', `http://${lab.vip}:7000/healthz`]);
 *   await lab.down();
 *
 * Everything the lab makes is in its state file before it exists; `down` (here, or `onair lab down`
 * from any process after a crash) undoes exactly that and is safe to call twice.
 */
import { randomBytes } from 'node:crypto';
import { InfraError } from '../errors.js';
import { cutBetween, deleteNamespace, healBetween, namespaceExists, PARTITION_PREF_BASE, portIsUp, setPort } from './netns.js';
import { descendantsOf, isRunning, killProcessesSync, processesInNamespaces, readLog, signalIfOurs, spawnInNamespace, stopProcesses, waitForLogLine, type ProcessRecord } from './processes.js';
import { adminUnits, buildNetwork, csmHealth, detectCapabilities, findTools, makeKeys, startEverything, vipHolders, type CsmHealth, type Tools } from './start.js';
import { httpInNamespace, type ProbeOptions, type ProbeResult } from './probe.js';
import { clearKeepalivedPidFiles, READY_LINES } from './specs.js';
import { createStateDir, listLabs, readState, removeStateDir, writeState, type LabHostState, type LabState } from './state.js';
import { run, runSync, type RunResult } from './system.js';
import { CSM_HOSTS, LAB_PREFIX, labDefaults, labHosts, labVip, namespaceOf, parseLabOptions, switchNamespaceOf, type LabOptions } from './topology.js';

export interface LabStatus {
  id: string;
  stateDir: string;
  ready: boolean;
  network: string;
  vip: string;
  /** CSM hosts whose eth0 holds the VIP: one normally, two in a split brain, none during a move */
  vipHolders: string[];
  hosts: Record<string, { namespace: string; address: string; link: 'up' | 'down'; processes: Record<string, { pid: number; alive: boolean; log: string }> }>;
  csms: Record<string, CsmHealth>;
  partitions: { a: string; b: string }[];
  capabilities: LabState['capabilities'];
  operator: { user: string; password: string };
}

export interface DownReport {
  id: string;
  /** recorded processes that were still running and were stopped */
  stopped: number[];
  /** PIDs that needed SIGKILL after the grace period */
  killed: number[];
  namespacesDeleted: string[];
  /** anything that could not be removed (should be empty) */
  leftovers: string[];
}

export class Lab {
  #state: LabState;
  #tools: Tools | null = null;
  #exitHandler: (() => void) | null = null;

  private constructor(state: LabState) {
    this.#state = state;
  }

  get id(): string {
    return this.#state.id;
  }
  get stateDir(): string {
    return this.#state.stateDir;
  }
  get vip(): string {
    return this.#state.vip;
  }
  get capabilities(): LabState['capabilities'] {
    return this.#state.capabilities;
  }
  get operator(): { user: string; password: string } {
    return { user: this.#state.secrets.operatorUser, password: this.#state.secrets.operatorPassword };
  }
  get hosts(): readonly LabHostState[] {
    return this.#state.hosts;
  }
  get processes(): readonly ProcessRecord[] {
    return this.#state.processes;
  }

  host(name: string): LabHostState {
    const host = this.#state.hosts.find((h) => h.name === name);
    if (!host) throw new InfraError('LAB_ERR_NO_SUCH_HOST', `${name} (hosts: ${this.#state.hosts.map((h) => h.name).join(', ')})`);
    return host;
  }

  /** Builds and starts a lab; on failure removes what it made (the logs stay, named in the error). */
  static async up(input: Partial<LabOptions> = {}): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new InfraError('LAB_ERR_NOT_ROOT');
    const options = parseLabOptions(input, { id: input.id ?? randomBytes(3).toString('hex'), operatorPassword: input.operatorPassword ?? randomBytes(12).toString('base64url') });
    const tools = await findTools();
    const stateDir = createStateDir(options.stateRoot, options.id);
    const state: LabState = {
      version: 1,
      id: options.id,
      createdAt: new Date().toISOString(),
      createdBy: process.pid,
      stateDir,
      options,
      vip: labVip(options.network),
      prefix: LAB_PREFIX,
      switchNamespace: switchNamespaceOf(options.id),
      namespaces: [],
      hosts: labHosts(options).map((h) => ({ ...h, namespace: namespaceOf(options.id, h.name), port: h.name })),
      processes: [],
      partitions: [],
      secrets: { clusterSecret: randomBytes(18).toString('base64url'), operatorUser: 'lab', operatorPassword: options.operatorPassword },
      capabilities: { csmRoles: false, csmCtl: false, web: false },
      ready: false,
    };
    const lab = new Lab(state);
    lab.#tools = tools;
    lab.#save();
    if (options.teardownOnExit) lab.#armExitTeardown();
    const deadline = Date.now() + options.startTimeoutMs;
    try {
      const [capabilities] = await Promise.all([detectCapabilities(), buildNetwork(state, () => lab.#save())]);
      state.capabilities = capabilities;
      if (!capabilities.web) for (const host of state.hosts) if (host.name === 'web') host.runs = [];
      lab.#save();
      const keys = await makeKeys(state);
      await startEverything({ state, keys, tools, save: () => lab.#save(), deadline });
      state.ready = true;
      lab.#save();
      return lab;
    } catch (error) {
      await lab.down({ keepLogs: true }).catch(() => undefined);
      const message = (error as Error).message;
      throw Object.assign(error as Error, { message: `${message}\n(lab ${options.id} removed; its logs are in ${stateDir}/logs)` });
    }
  }

  /** The lab `id` under `stateRoot` (the only one there when `id` is left out). */
  static open(id?: string, stateRoot = labDefaults.stateRoot): Lab {
    const ids = id ? [id] : listLabs(stateRoot);
    if (ids.length === 0) throw new InfraError('LAB_ERR_NO_SUCH_LAB', `none under ${stateRoot}`);
    if (ids.length > 1) throw new InfraError('LAB_ERR_AMBIGUOUS', ids.join(', '));
    return new Lab(readState(`${stateRoot}/${ids[0]}`));
  }

  static list(stateRoot = labDefaults.stateRoot): string[] {
    return listLabs(stateRoot);
  }

  async #curl(): Promise<boolean> {
    this.#tools ??= await findTools();
    return this.#tools.curl;
  }

  async status(): Promise<LabStatus> {
    const state = this.#state;
    const curl = await this.#curl();
    const entries = await Promise.all(
      state.hosts.map(async (h) => {
        const processes: Record<string, { pid: number; alive: boolean; log: string }> = {};
        for (const p of state.processes.filter((r) => r.host === h.name)) processes[p.name] = { pid: p.pid, alive: isRunning(p), log: p.log };
        const link: 'up' | 'down' = namespaceExists(state.switchNamespace) && (await portIsUp(state.switchNamespace, h.port).catch(() => false)) ? 'up' : 'down';
        return [h.name, { namespace: h.namespace, address: h.address, link, processes }] as const;
      }),
    );
    const health = await Promise.all(CSM_HOSTS.map(async (h) => [h, await csmHealth(state, h, curl)] as const));
    const hosts: LabStatus['hosts'] = Object.fromEntries(entries);
    const csms: Record<string, CsmHealth> = Object.fromEntries(health);
    return {
      id: state.id,
      stateDir: state.stateDir,
      ready: state.ready,
      network: `${state.options.network}.0/${state.prefix}`,
      vip: state.vip,
      vipHolders: await vipHolders(state),
      hosts,
      csms,
      partitions: state.partitions.map(({ a, b }) => ({ a, b })),
      capabilities: state.capabilities,
      operator: this.operator,
    };
  }

  /** CSM hosts holding the VIP right now. */
  vipHolders(): Promise<string[]> {
    return vipHolders(this.#state);
  }

  /** GET /healthz of the CSM on a CSM host, from inside it. */
  async csmHealth(host: string): Promise<CsmHealth> {
    this.host(host);
    return csmHealth(this.#state, host, await this.#curl());
  }

  /** GET /admin/v1/units through the VIP from the client host (null: no answer). */
  async units(): Promise<{ id: string; state: string; connected: boolean }[] | null> {
    return adminUnits(this.#state, await this.#curl());
  }

  /** An HTTP request from inside `fromHost` (curl there, or node's fetch); status 0 when nothing answered. */
  async http(fromHost: string, url: string, options: ProbeOptions = {}): Promise<ProbeResult> {
    return httpInNamespace(this.host(fromHost).namespace, url, await this.#curl(), options);
  }

  /** Runs a command inside a host's namespace (`ip netns exec`), bounded by `timeoutMs`. */
  exec(host: string, command: string[], options: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<RunResult> {
    return run('ip', ['netns', 'exec', this.host(host).namespace, ...command], options);
  }

  #record(host: string, name: string): ProcessRecord {
    this.host(host);
    const record = this.#state.processes.find((p) => p.host === host && p.name === name);
    if (!record) throw new InfraError('LAB_ERR_NO_SUCH_PROCESS', `${name} on ${host}`);
    return record;
  }

  /**
   * Signals a lab process (only if it is still the one the lab started). keepalived with SIGKILL is a
   * crash: its VRRP child is killed first, so no priority-0 advert goes out and the VIP stays on this
   * host until the peer's master-down timer fires. Any other signal goes to keepalived's parent alone
   * (SIGTERM: orderly stop, the peer takes over at once). Returns false if the process was not running.
   */
  kill(host: string, name: string, signal: NodeJS.Signals = 'SIGKILL'): boolean {
    const record = this.#record(host, name);
    if (!isRunning(record)) return false;
    if (name === 'keepalived' && signal === 'SIGKILL') for (const child of descendantsOf(record.pid)) signalIfOurs(child, 'SIGKILL');
    return signalIfOurs(record, signal);
  }

  /** Is the lab process running? */
  alive(host: string, name: string): boolean {
    return isRunning(this.#record(host, name));
  }

  /** Starts a stopped lab process again, same command and environment; waits for its ready line. */
  async start(host: string, name: string, timeoutMs = 30_000): Promise<void> {
    const old = this.#record(host, name);
    if (isRunning(old)) return;
    const from = readLog(old.log).length;
    if (name === 'keepalived') clearKeepalivedPidFiles(old.argv);
    const record = spawnInNamespace({ host, name, namespace: old.namespace, argv: old.argv, env: old.env, log: old.log });
    this.#state.processes = this.#state.processes.map((p) => (p === old ? record : p));
    this.#save();
    const ready = READY_LINES[name];
    if (ready) await waitForLogLine(record, ready, timeoutMs, from);
  }

  /** Pulls the host's cable: its port on the bridge goes down (eth0 loses carrier, keeps its addresses). */
  async linkDown(host: string): Promise<void> {
    await setPort(this.#state.switchNamespace, this.host(host).port, false);
  }

  async linkUp(host: string): Promise<void> {
    await setPort(this.#state.switchNamespace, this.host(host).port, true);
  }

  /** No packet passes between the two hosts (in either direction, VIP included) until heal(). */
  async partition(a: string, b: string): Promise<void> {
    const [x, y] = [this.host(a), this.host(b)];
    if (a === b) throw new InfraError('LAB_ERR_BAD_OPTIONS', 'a host cannot be partitioned from itself');
    if (this.#state.partitions.some((p) => (p.a === a && p.b === b) || (p.a === b && p.b === a))) return;
    const used = new Set(this.#state.partitions.map((p) => p.pref));
    let pref = PARTITION_PREF_BASE;
    while (used.has(pref)) pref += 2;
    this.#state.partitions.push({ a, b, pref });
    this.#save();
    await cutBetween(x, y, pref);
  }

  /** Removes the partition between `a` and `b`, or every partition when called without hosts. */
  async heal(a?: string, b?: string): Promise<void> {
    const matches = (p: { a: string; b: string }): boolean => a === undefined || (p.a === a && p.b === b) || (p.a === b && p.b === a);
    for (const p of this.#state.partitions.filter(matches)) await healBetween(this.host(p.a), this.host(p.b), p.pref);
    this.#state.partitions = this.#state.partitions.filter((p) => !matches(p));
    this.#save();
  }

  /**
   * Stops exactly the recorded processes (and what they started), deletes exactly the recorded
   * namespaces (their links go with them), removes the state directory. Idempotent.
   */
  async down(options: { keepLogs?: boolean } = {}): Promise<DownReport> {
    const state = this.#state;
    const report: DownReport = { id: state.id, stopped: [], killed: [], namespacesDeleted: [], leftovers: [] };
    report.stopped = state.processes.filter(isRunning).map((p) => p.pid);
    // keepalived first: stopping it runs notify_stop against a CSM that is still there
    const keepalived = state.processes.filter((p) => p.name === 'keepalived');
    report.killed.push(...(await stopProcesses(keepalived)));
    report.killed.push(...(await stopProcesses(state.processes.filter((p) => p.name !== 'keepalived'))));
    // then whatever is still inside the lab's namespaces (a notify script's csm-ctl call, a lab.exec)
    const stragglers = processesInNamespaces(state.namespaces);
    report.stopped.push(...stragglers.map((p) => p.pid));
    report.killed.push(...(await stopProcesses(stragglers, 2000)));
    for (const ns of [...state.namespaces].reverse()) if (await deleteNamespace(ns)) report.namespacesDeleted.push(ns);
    for (const p of state.processes) if (isRunning(p)) report.leftovers.push(`process ${p.host}/${p.name} pid ${p.pid}`);
    for (const ns of state.namespaces) if (namespaceExists(ns)) report.leftovers.push(`namespace ${ns}`);
    state.processes = state.processes.filter(isRunning);
    state.namespaces = state.namespaces.filter(namespaceExists);
    if (report.leftovers.length === 0) {
      if (options.keepLogs) runSync('rm', ['-f', `${state.stateDir}/state.json`]);
      else removeStateDir(state.stateDir);
      this.#disarmExitTeardown();
    } else this.#save();
    return report;
  }

  #save(): void {
    writeState(this.#state);
  }

  /** If this process exits without down(): SIGKILL everything and delete the namespaces, synchronously. */
  #armExitTeardown(): void {
    this.#exitHandler = () => {
      killProcessesSync(this.#state.processes);
      killProcessesSync(processesInNamespaces(this.#state.namespaces));
      for (const ns of [...this.#state.namespaces].reverse()) if (namespaceExists(ns)) runSync('ip', ['netns', 'delete', ns]);
      removeStateDir(this.#state.stateDir);
    };
    process.once('exit', this.#exitHandler);
  }

  #disarmExitTeardown(): void {
    if (this.#exitHandler) process.off('exit', this.#exitHandler);
    this.#exitHandler = null;
  }
}
