/**
 * Lab processes: started detached inside a namespace (`ip netns exec`, which execs the program, so the
 * PID is the program's), output appended to a log file, and remembered by identity — PID plus the
 * kernel's start time of that PID — so that `down`, even from another process after a crash, signals
 * only a process the lab started and never a later one that reused the PID.
 */
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { InfraError } from '../errors.js';
import { sleep } from './system.js';

/** A started process, as the state file keeps it. */
export interface ProcessRecord {
  host: string;
  /** csm, keepalived, unit, redis, web */
  name: string;
  pid: number;
  /** /proc/<pid>/stat field 22 (clock ticks since boot): with the PID, the process's identity */
  startTime: number;
  namespace: string;
  log: string;
  argv: string[];
  /** extra environment (on top of the lab's own); may hold secrets: the state file is root-only */
  env: Record<string, string>;
}

interface ProcStat {
  state: string;
  ppid: number;
  startTime: number;
}

/** /proc/<pid>/stat, or null if there is no such process. */
export function procStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm (field 2) may hold spaces and parentheses: the fields after it start after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, ppid: Number(fields[1]), startTime: Number(fields[19]) };
}

/** Is this exactly the process that was started (same PID, same start time) and not yet dead? */
export function isRunning(record: Pick<ProcessRecord, 'pid' | 'startTime'>): boolean {
  const stat = procStat(record.pid);
  return stat !== null && stat.startTime === record.startTime && stat.state !== 'Z' && stat.state !== 'X';
}

/** Every live descendant of `pid` (children, grandchildren …) with its start time. */
export function descendantsOf(pid: number): { pid: number; startTime: number }[] {
  const children = new Map<number, { pid: number; startTime: number }[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = procStat(Number(entry));
    if (!stat) continue;
    const list = children.get(stat.ppid) ?? [];
    list.push({ pid: Number(entry), startTime: stat.startTime });
    children.set(stat.ppid, list);
  }
  const found: { pid: number; startTime: number }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}

export interface SpawnSpec {
  host: string;
  name: string;
  namespace: string;
  argv: string[];
  env: Record<string, string>;
  log: string;
}

/** Starts `argv` in the namespace, detached (own session, survives this process), output to `log`. */
export function spawnInNamespace(spec: SpawnSpec): ProcessRecord {
  const fd = openSync(spec.log, 'a', 0o600);
  try {
    const child = spawn('ip', ['netns', 'exec', spec.namespace, ...spec.argv], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...spec.env },
    });
    child.on('error', () => undefined);
    child.unref();
    const pid = child.pid;
    const stat = pid === undefined ? null : procStat(pid);
    if (pid === undefined || !stat) throw new InfraError('LAB_ERR_START_FAILED', `${spec.host} ${spec.name}: could not start ${spec.argv[0]}`);
    return { host: spec.host, name: spec.name, pid, startTime: stat.startTime, namespace: spec.namespace, log: spec.log, argv: spec.argv, env: spec.env };
  } finally {
    closeSync(fd);
  }
}

/** Sends `signal` to the recorded process if it is still that process; false when it is gone. */
export function signalIfOurs(record: Pick<ProcessRecord, 'pid' | 'startTime'>, signal: NodeJS.Signals): boolean {
  if (!isRunning(record)) return false;
  try {
    process.kill(record.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the recorded processes and what they started: SIGTERM to each (if still ours), up to `graceMs`
 * for them to exit, then SIGKILL to whatever of them or of their descendants (as found before the
 * SIGTERM, each checked by start time) is left. Returns the PIDs that needed SIGKILL.
 */
export async function stopProcesses(records: readonly Pick<ProcessRecord, 'pid' | 'startTime'>[], graceMs = 5000): Promise<number[]> {
  const all = new Map<number, { pid: number; startTime: number }>();
  for (const record of records) {
    if (!isRunning(record)) continue;
    all.set(record.pid, { pid: record.pid, startTime: record.startTime });
    for (const child of descendantsOf(record.pid)) all.set(child.pid, child);
  }
  for (const record of records) signalIfOurs(record, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && [...all.values()].some(isRunning)) await sleep(50);
  const killed: number[] = [];
  for (const entry of all.values()) if (signalIfOurs(entry, 'SIGKILL')) killed.push(entry.pid);
  return killed;
}

/** Synchronous SIGKILL of the recorded processes and their descendants (the exit handler). */
export function killProcessesSync(records: readonly Pick<ProcessRecord, 'pid' | 'startTime'>[]): void {
  for (const record of records) {
    if (!isRunning(record)) continue;
    const children = descendantsOf(record.pid);
    signalIfOurs(record, 'SIGKILL');
    for (const child of children) signalIfOurs(child, 'SIGKILL');
  }
}

/** Resolves with the first line of the log (from byte `from`) matching `pattern`; rejects if the process dies first. */
export async function waitForLogLine(record: ProcessRecord, pattern: RegExp, timeoutMs: number, from = 0): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = readLog(record.log, from);
    for (const line of text.split('\n')) {
      const match = line.match(pattern);
      if (match) return match;
    }
    if (!isRunning(record)) throw new InfraError('LAB_ERR_START_FAILED', `${record.host} ${record.name} exited before it was ready; log ${record.log}:\n${tail(text)}`);
    if (Date.now() > deadline) throw new InfraError('LAB_ERR_TIMEOUT', `${record.host} ${record.name} not ready after ${timeoutMs} ms; log ${record.log}:\n${tail(text)}`);
    await sleep(100);
  }
}

export function readLog(path: string, from = 0): string {
  try {
    return readFileSync(path).subarray(from).toString('utf8');
  } catch {
    return '';
  }
}

export const tail = (text: string, lines = 15): string => text.trimEnd().split('\n').slice(-lines).join('\n');

/**
 * Every process whose network namespace is one of `namespaces` (by the inode of /run/netns/<name>).
 * Only the lab's processes, what they started (notify scripts, csm-ctl calls) and what was run through
 * the lab (`lab.exec`, `ip netns exec`) can be inside them.
 */
export function processesInNamespaces(namespaces: readonly string[]): { pid: number; startTime: number }[] {
  const inodes = new Set<string>();
  for (const ns of namespaces) {
    try {
      inodes.add(`net:[${statSync(`/run/netns/${ns}`).ino}]`);
    } catch {
      // gone already
    }
  }
  if (inodes.size === 0) return [];
  const found: { pid: number; startTime: number }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!inodes.has(readlinkSync(`/proc/${entry}/ns/net`))) continue;
    } catch {
      continue;
    }
    const stat = procStat(Number(entry));
    if (stat && stat.state !== 'Z') found.push({ pid: Number(entry), startTime: stat.startTime });
  }
  return found;
}
