/**
 * What the kernel says about a process and the machine (Linux /proc): CPU time of a process (all its
 * threads: uWS's loop, libuv's pool, V8's GC helpers), its resident memory, and the machine's busy
 * share. The bench measures the unit from outside, so the unit's own code plays no part in the figures.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';

let ticksPerSecond = 0;

/** `getconf CLK_TCK`: the unit of utime/stime in /proc/<pid>/stat (100 on every Linux we know, but asked). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === 0) {
    const text = execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8', timeout: 5000 }).trim();
    ticksPerSecond = Number(text) > 0 ? Number(text) : 100;
  }
  return ticksPerSecond;
}

/** utime + stime of a process, in seconds. */
export function processCpuSeconds(pid: number): number {
  const { user, system } = processCpuTimes(pid);
  return user + system;
}

/** utime + stime of one thread of a process, in seconds (a process's main thread: tid = pid). */
export function threadCpuSeconds(pid: number, tid: number): number {
  const { user, system } = cpuTimesOf(`/proc/${pid}/task/${tid}/stat`);
  return user + system;
}

/** utime and stime of a process apart, in seconds: user space (JS, uWS, V8) and the kernel (socket copies). */
export function processCpuTimes(pid: number): { user: number; system: number } {
  return cpuTimesOf(`/proc/${pid}/stat`);
}

function cpuTimesOf(path: string): { user: number; system: number } {
  const stat = readFileSync(path, 'utf8');
  // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After ')' the first field is field 3 (state); utime is field 14, stime field 15.
  const utime = Number(fields[14 - 3]);
  const stime = Number(fields[15 - 3]);
  return { user: utime / clockTicksPerSecond(), system: stime / clockTicksPerSecond() };
}

/** The kernel's UDP counters (/proc/net/snmp, this network namespace): datagrams dropped on receive, full buffers. */
export function udpKernelCounters(): { inErrors: number; rcvbufErrors: number; sndbufErrors: number } {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const names = (lines[0] ?? '').trim().split(/\s+/).slice(1);
  const values = (lines[1] ?? '').trim().split(/\s+/).slice(1).map(Number);
  const get = (name: string): number => values[names.indexOf(name)] ?? 0;
  return { inErrors: get('InErrors'), rcvbufErrors: get('RcvbufErrors'), sndbufErrors: get('SndbufErrors') };
}

/** VmRSS of a process, in KiB. */
export function processRssKiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

export interface MachineCpu {
  busy: number;
  total: number;
  /**
   * softirq ticks: the network stack's deferred work, for loopback both ends of every connection.
   * With tick-based accounting (no CONFIG_IRQ_TIME_ACCOUNTING, as on the machine this was written
   * on) the same ticks are also charged to whichever process was running, usually the sender: on
   * loopback the unit's stime includes the receive path of its viewers' sockets.
   */
  softirq: number;
}

/** The aggregate `cpu` line of /proc/stat: busy and total ticks since boot. */
export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const total = values.slice(0, 8).reduce((s, v) => s + v, 0); // user … steal; guest is inside user
  const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
  return { busy: total - idle, total, softirq: values[6] ?? 0 };
}

/** Cores' worth of softirq time between two readings. */
export function machineSoftirqCores(from: MachineCpu, to: MachineCpu): number {
  const total = to.total - from.total;
  return total > 0 ? ((to.softirq - from.softirq) / total) * availableParallelism() : 0;
}

/** Share (0–1) of all cores busy between two readings. */
export function machineBusyShare(from: MachineCpu, to: MachineCpu): number {
  const total = to.total - from.total;
  return total > 0 ? (to.busy - from.busy) / total : 0;
}

/**
 * Bytes queued in the kernel for sending on the TCP connection local:localPort → remote:remotePort
 * (tx_queue of /proc/net/tcp, IPv4 loopback): what a server has handed to the kernel that the peer
 * has not taken yet. null when no such connection.
 */
export function tcpSendQueueBytes(localPort: number, remotePort: number): number | null {
  const hex = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');
  const local = `:${hex(localPort)}`;
  const remote = `:${hex(remotePort)}`;
  for (const row of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const f = row.trim().split(/\s+/);
    if (f.length > 4 && f[1]!.endsWith(local) && f[2]!.endsWith(remote)) return parseInt(f[4]!.split(':')[0]!, 16);
  }
  return null;
}

export const machineCores = (): number => availableParallelism();
