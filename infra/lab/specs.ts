/**
 * What runs on each lab host: the command line, environment and ready line of every process, and the
 * keepalived configuration of the two CSM hosts (rendered by infra/keepalived, the same code a real
 * deployment uses).
 */
import { unitProcessEnv } from '../../protocol/unit-process-env.js';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KeepalivedConfigInput } from '../keepalived/config.js';
import type { SpawnSpec } from './processes.js';
import type { LabHostState, LabState } from './state.js';
import { CSM_PRIORITY, LAB_PORTS, type CsmHost } from './topology.js';
import { HOST_IF } from './netns.js';

/** the built CLI (this file runs from dist/infra/lab/) */
export const onairCli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));

/** process name → the line in its log that says it is ready (keepalived has none: the VIP tells) */
export const READY_LINES: Readonly<Record<string, RegExp>> = {
  redis: /Ready to accept connections/,
  csm: /^csm \S+ ready/,
  unit: /^unit \S+ listening on/,
  web: /^web \S+ ready/,
};

/** secrets made at `up` that process environments need (kept in the root-only state file) */
export interface LabKeys {
  ticketPrivateJwk: string;
  ticketPublicJwk: string;
  operators: string;
}

export const hostDir = (state: Pick<LabState, 'stateDir'>, host: string): string => join(state.stateDir, host);
export const logPath = (state: Pick<LabState, 'stateDir'>, host: string, name: string): string => join(state.stateDir, 'logs', `${host}.${name}.log`);
export const csmEnvFile = (state: Pick<LabState, 'stateDir'>): string => join(state.stateDir, 'csm.env');
export const scriptsDir = (state: Pick<LabState, 'stateDir'>): string => join(state.stateDir, 'scripts');
export const keepalivedFiles = (state: Pick<LabState, 'stateDir'>, host: string) => ({
  conf: join(hostDir(state, host), 'keepalived.conf'),
  pid: join(hostDir(state, host), 'keepalived.pid'),
  vrrpPid: join(hostDir(state, host), 'keepalived-vrrp.pid'),
  notifyLog: join(hostDir(state, host), 'notify.log'),
  roleFile: join(hostDir(state, host), 'role'),
});

function hostByName(state: LabState, name: string): LabHostState {
  const host = state.hosts.find((h) => h.name === name);
  if (!host) throw new Error(`lab ${state.id} has no host ${name}`);
  return host;
}

export const redisUrl = (state: LabState): string => `redis://${hostByName(state, 'redis').address}:${LAB_PORTS.redis}`;

export function keepalivedConfigFor(state: LabState, host: CsmHost): KeepalivedConfigInput {
  const self = hostByName(state, host);
  const peer = hostByName(state, host === 'csm-a' ? 'csm-b' : 'csm-a');
  const files = keepalivedFiles(state, host);
  const local = `http://127.0.0.1:${LAB_PORTS.csmHttp}`;
  return {
    instanceName: 'ONAIR_CSM',
    routerId: `${state.id}-${host}`,
    interface: HOST_IF,
    virtualRouterId: 51,
    priority: CSM_PRIORITY[host],
    advertIntSeconds: state.options.advertIntSeconds,
    vrrpVersion: 3,
    unicastSrcIp: self.address,
    unicastPeers: [peer.address],
    virtualIps: [{ address: state.vip, prefix: state.prefix }],
    health: {
      url: `${local}/healthz`,
      intervalSeconds: state.options.healthIntervalSeconds,
      timeoutSeconds: state.options.healthTimeoutSeconds,
      fall: state.options.healthFall,
      rise: state.options.healthRise,
    },
    csmCtl: { url: local, command: [process.execPath, onairCli], envFile: csmEnvFile(state), stateFile: files.roleFile, logFile: files.notifyLog, attempts: 5, callTimeoutSeconds: 5 },
    scriptsDir: scriptsDir(state),
    scriptUser: 'root',
  };
}

/** The process `name` on `host`: argv (run inside the host's namespace), environment, log. */
export function processSpec(state: LabState, keys: LabKeys, host: string, name: string, keepalivedPath: string): SpawnSpec {
  const self = hostByName(state, host);
  const base = { host, name, namespace: self.namespace, log: logPath(state, host, name) };
  const node = (args: string[]): string[] => [process.execPath, onairCli, ...args];
  // units and web servers reach the CSM through the VIP only, as in production
  const csmHost = state.vip;
  switch (name) {
    case 'redis':
      return { ...base, argv: ['redis-server', '--bind', self.address, '--port', String(LAB_PORTS.redis), '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--daemonize', 'no', '--dir', hostDir(state, host)], env: {} };
    case 'csm':
      return {
        ...base,
        argv: node(['csm', '--id', host, '--host', '0.0.0.0', '--http-port', String(LAB_PORTS.csmHttp), '--control-port', String(LAB_PORTS.csmControl), '--redis', redisUrl(state), ...(state.capabilities.csmRoles ? ['--role', 'backup'] : [])]),
        env: {
          ONAIR_CSM_CLUSTER_SECRET: state.secrets.clusterSecret,
          ONAIR_CSM_TICKET_PRIVATE_JWK: keys.ticketPrivateJwk,
          ONAIR_CSM_OPERATORS: keys.operators,
          ...state.options.csmEnv,
        },
      };
    case 'keepalived': {
      const files = keepalivedFiles(state, host);
      return { ...base, argv: [keepalivedPath, '--dont-fork', '--log-console', '--log-detail', '--no-syslog', '--vrrp', '--use-file', files.conf, '--pid', files.pid, '--vrrp_pid', files.vrrpPid], env: {} };
    }
    case 'unit':
      return {
        ...base,
        argv: node(['unit', '--id', host, '--host', '0.0.0.0', '--port', String(LAB_PORTS.unit), '--csm', `${csmHost}:${LAB_PORTS.csmControl}`]),
        // With the memory tuning every unit process starts with (onair cluster, systemd, the tests).
        env: unitProcessEnv({
          ONAIR_UNIT_CLUSTER_SECRET: state.secrets.clusterSecret,
          ONAIR_UNIT_TICKET_PUBLIC_JWK: keys.ticketPublicJwk,
          ONAIR_UNIT_ADVERTISE_ADDRESS: `ws://${self.address}:${LAB_PORTS.unit}`,
          ...state.options.unitEnv,
        }),
      };
    case 'web':
      return {
        ...base,
        argv: node(['web', '--id', host, '--host', '0.0.0.0', '--port', String(LAB_PORTS.web), '--csm', `http://${csmHost}:${LAB_PORTS.csmHttp}`, '--redis', redisUrl(state)]),
        env: { ...state.options.webEnv },
      };
    default:
      throw new Error(`no process ${name}`);
  }
}

/**
 * Before keepalived starts again: its pid files from the last run. After a crash (SIGKILL) the old
 * VRRP child can linger as a zombie until init reaps it, and keepalived, finding its PID in the file,
 * would refuse to start ("daemon is already running"). The files are the lab's own.
 */
export function clearKeepalivedPidFiles(argv: readonly string[]): void {
  for (const flag of ['--pid', '--vrrp_pid', '--checkers_pid', '--bfd_pid']) {
    const at = argv.indexOf(flag);
    if (at >= 0 && argv[at + 1]) rmSync(argv[at + 1]!, { force: true });
  }
}
