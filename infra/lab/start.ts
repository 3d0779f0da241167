/**
 * The steps of `Lab.up`: the network, then Redis, the two CSMs (both backup), keepalived on both (one
 * becomes MASTER and its notify script promotes its CSM), then the units and the web server through
 * the VIP. Each step records what it makes in the state file before making it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { generateTicketKeys } from '../../protocol/tickets.js';
import { InfraError } from '../errors.js';
import { renderKeepalivedConf } from '../keepalived/render.js';
import { installKeepalivedScripts } from '../keepalived/scripts.js';
import { addressesOf, attachHost, createSwitch } from './netns.js';
import { httpInNamespace } from './probe.js';
import { spawnInNamespace, waitForLogLine, type ProcessRecord } from './processes.js';
import { csmEnvFile, hostDir, keepalivedConfigFor, keepalivedFiles, onairCli, processSpec, READY_LINES, scriptsDir, type LabKeys } from './specs.js';
import type { LabState } from './state.js';
import { must, run, waitUntil, which } from './system.js';
import { CSM_HOSTS, LAB_PORTS } from './topology.js';

export interface Tools {
  keepalived: string;
  curl: boolean;
}

/** The programs the lab cannot do without; LAB_ERR_MISSING_TOOL names the missing ones. */
export async function findTools(): Promise<Tools> {
  const [ipPath, keepalived, redis, curl] = await Promise.all([which('ip'), which('keepalived'), which('redis-server'), which('curl')]);
  const missing = [!ipPath && 'ip (iproute2)', !keepalived && 'keepalived', !redis && 'redis-server'].filter(Boolean);
  if (missing.length > 0) throw new InfraError('LAB_ERR_MISSING_TOOL', missing.join(', '));
  return { keepalived: keepalived!, curl: curl !== null };
}

/** What this build of onair offers: the CSM's --role, `onair csm-ctl`, `onair web`. */
export async function detectCapabilities(): Promise<LabState['capabilities']> {
  const [csmHelp, cliHelp] = await Promise.all([run(process.execPath, [onairCli, 'csm', '--help'], { timeoutMs: 30_000 }), run(process.execPath, [onairCli, '--help'], { timeoutMs: 30_000 })]);
  const commands = cliHelp.stdout;
  return { csmRoles: /--role\b/.test(csmHelp.stdout), csmCtl: /^\s+csm-ctl\s/m.test(commands), web: /^\s+web\s/m.test(commands) };
}

export async function buildNetwork(state: LabState, save: () => void): Promise<void> {
  state.namespaces.push(state.switchNamespace);
  save();
  await createSwitch(state.switchNamespace);
  for (const host of state.hosts) {
    state.namespaces.push(host.namespace);
    save();
    await attachHost(state.switchNamespace, { namespace: host.namespace, port: host.port, address: host.address, prefix: state.prefix });
  }
}

export async function makeKeys(state: LabState): Promise<LabKeys> {
  const [keys, hash] = await Promise.all([generateTicketKeys(), must(process.execPath, [onairCli, 'csm', `--hash-password=${state.secrets.operatorPassword}`], { timeoutMs: 30_000 })]);
  return { ticketPrivateJwk: JSON.stringify(keys.privateJwk), ticketPublicJwk: JSON.stringify(keys.publicJwk), operators: `${state.secrets.operatorUser}:${hash.trim()}` };
}

/** Files keepalived and its scripts read: the env file with the secret, the scripts, each CSM host's conf. */
export function writeKeepalivedFiles(state: LabState): void {
  mkdirSync(`${state.stateDir}/logs`, { recursive: true, mode: 0o700 });
  for (const host of state.hosts) mkdirSync(hostDir(state, host.name), { recursive: true, mode: 0o755 });
  writeFileSync(csmEnvFile(state), `ONAIR_CSM_CLUSTER_SECRET=${state.secrets.clusterSecret}\n`, { mode: 0o600 });
  installKeepalivedScripts(scriptsDir(state));
  for (const host of CSM_HOSTS) writeFileSync(keepalivedFiles(state, host).conf, renderKeepalivedConf(keepalivedConfigFor(state, host)), { mode: 0o644 });
}

export interface Starter {
  state: LabState;
  keys: LabKeys;
  tools: Tools;
  save: () => void;
  deadline: number;
}

const remaining = (s: Starter): number => Math.max(1000, s.deadline - Date.now());

/** Starts `name` on `host`, records it, and waits for its ready line (if it has one). */
export async function startProcess(s: Starter, host: string, name: string): Promise<ProcessRecord> {
  const record = spawnInNamespace(processSpec(s.state, s.keys, host, name, s.tools.keepalived));
  s.state.processes.push(record);
  s.save();
  const ready = READY_LINES[name];
  if (ready) await waitForLogLine(record, ready, remaining(s));
  return record;
}

/** Which CSM hosts have the VIP on their eth0. */
export async function vipHolders(state: LabState): Promise<string[]> {
  const addresses = (name: string): Promise<string[]> => addressesOf(state.hosts.find((h) => h.name === name)!.namespace).catch(() => []);
  const held = await Promise.all(CSM_HOSTS.map(async (name): Promise<string | null> => ((await addresses(name)).includes(state.vip) ? name : null)));
  return held.filter((name): name is string => name !== null);
}

export interface CsmHealth {
  status: number;
  ok: boolean;
  role: string | null;
  epoch: number | null;
}

/** GET /healthz of the CSM on `host`, from inside that host (as keepalived's track script does). */
export async function csmHealth(state: LabState, host: string, curl: boolean): Promise<CsmHealth> {
  const ns = state.hosts.find((h) => h.name === host)!.namespace;
  const answer = await httpInNamespace(ns, `http://127.0.0.1:${LAB_PORTS.csmHttp}/healthz`, curl, { timeoutSeconds: 2 });
  try {
    const body = JSON.parse(answer.body) as { ok?: boolean; detail?: { role?: string; epoch?: number } };
    return { status: answer.status, ok: body.ok === true, role: body.detail?.role ?? null, epoch: body.detail?.epoch ?? null };
  } catch {
    return { status: answer.status, ok: false, role: null, epoch: null };
  }
}

/** The whole start, in order. */
export async function startEverything(s: Starter): Promise<void> {
  const { state } = s;
  writeKeepalivedFiles(state);
  await startProcess(s, 'redis', 'redis');
  await Promise.all(CSM_HOSTS.map((host) => startProcess(s, host, 'csm')));
  await Promise.all(CSM_HOSTS.map((host) => startProcess(s, host, 'keepalived')));
  await waitUntil(
    'one CSM host holding the VIP with an active, healthy CSM',
    async () => {
      const holders = await vipHolders(state);
      if (holders.length !== 1) return false;
      const health = await csmHealth(state, holders[0]!, s.tools.curl);
      return health.ok && (!state.capabilities.csmRoles || health.role === 'active');
    },
    remaining(s),
    200,
  );
  const others = state.hosts.filter((h) => h.runs.includes('unit') || (h.runs.includes('web') && state.capabilities.web));
  await Promise.all(others.map((h) => startProcess(s, h.name, h.runs[0]!)));
  const units = state.hosts.filter((h) => h.runs.includes('unit')).map((h) => h.name);
  if (units.length > 0) {
    await waitUntil(
      `units ${units.join(', ')} registered with the active CSM through the VIP`,
      async () => {
        const list = await adminUnits(state, s.tools.curl);
        return list !== null && units.every((id) => list.some((u) => u.id === id && u.state === 'up' && u.connected));
      },
      remaining(s),
      300,
    );
  }
}

/** GET /admin/v1/units on the VIP from the client host, with the lab's operator; null without an answer. */
export async function adminUnits(state: LabState, curl: boolean): Promise<{ id: string; state: string; connected: boolean }[] | null> {
  const client = state.hosts.find((h) => h.name === 'client')!;
  const answer = await httpInNamespace(client.namespace, `http://${state.vip}:${LAB_PORTS.csmHttp}/admin/v1/units`, curl, {
    timeoutSeconds: 2,
    basicAuth: `${state.secrets.operatorUser}:${state.secrets.operatorPassword}`,
  });
  if (answer.status !== 200) return null;
  return JSON.parse(answer.body) as { id: string; state: string; connected: boolean }[];
}
