/**
 * The lab's state file, <stateRoot>/<id>/state.json (root only, mode 0600): everything `down` needs to
 * undo `up` from any process — the namespaces (recorded before each is created, so a crash half-way
 * leaves nothing unknown), the processes by identity, the partitions — and what `status` and the API
 * need (hosts, addresses, secrets). Written atomically (temporary file, then rename).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError } from '../errors.js';
import type { ProcessRecord } from './processes.js';
import type { LabHost, LabOptions } from './topology.js';

export interface LabHostState extends LabHost {
  namespace: string;
  /** the host's port on the bridge, in the switch namespace */
  port: string;
}

export interface PartitionState {
  a: string;
  b: string;
  pref: number;
}

export interface LabState {
  version: 1;
  id: string;
  createdAt: string;
  /** the PID of the process that ran `up` (informational) */
  createdBy: number;
  stateDir: string;
  options: LabOptions;
  vip: string;
  prefix: number;
  switchNamespace: string;
  /** every namespace the lab made or was about to make, switch first */
  namespaces: string[];
  hosts: LabHostState[];
  processes: ProcessRecord[];
  partitions: PartitionState[];
  secrets: { clusterSecret: string; operatorUser: string; operatorPassword: string };
  /** what the installed onair supports (the CSM's --role, the csm-ctl command, the web command) */
  capabilities: { csmRoles: boolean; csmCtl: boolean; web: boolean };
  /** set once `up` finished */
  ready: boolean;
}

export const stateFileOf = (stateDir: string): string => join(stateDir, 'state.json');

/** Creates <root>/<id> (0755: keepalived's script security needs root-owned, not group/other-writable). */
export function createStateDir(root: string, id: string): string {
  mkdirSync(root, { recursive: true, mode: 0o755 });
  chmodSync(root, 0o755);
  const dir = join(root, id);
  if (existsSync(dir)) throw new InfraError('LAB_ERR_BAD_OPTIONS', `a lab with id ${id} exists (${dir}); run \`onair lab down --id ${id}\` first`);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  return dir;
}

export function writeState(state: LabState): void {
  const file = stateFileOf(state.stateDir);
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temporary, file);
}

export function readState(stateDir: string): LabState {
  try {
    return JSON.parse(readFileSync(stateFileOf(stateDir), 'utf8')) as LabState;
  } catch (error) {
    throw new InfraError('LAB_ERR_NO_SUCH_LAB', `${stateFileOf(stateDir)}: ${(error as Error).message}`);
  }
}

/** Ids of the labs under `root` that have a state file. */
export function listLabs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((id) => /^[a-z0-9]{1,8}$/.test(id) && existsSync(stateFileOf(join(root, id))))
    .sort((x, y) => statSync(join(root, x)).mtimeMs - statSync(join(root, y)).mtimeMs);
}

export function removeStateDir(stateDir: string): void {
  rmSync(stateDir, { recursive: true, force: true });
}
