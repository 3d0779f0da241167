/**
 * The bench's own network namespace. By default `bench fanout` runs every scenario in a private
 * network namespace it creates itself, with a bounded TCP send queue:
 *
 *   parent: `unshare --net -- node <cli> bench fanout <same args>`, with ONAIR_BENCH_NETNS=1;
 *           it only waits for that child and passes SIGINT/SIGTERM on to it (by its PID);
 *   child:  brings `lo` up (`ip link set lo up`) and sets net.ipv4.tcp_notsent_lowat to 131072 in
 *           the namespace (its /proc/sys file, as `sysctl -w` does); then runs the scenarios, whose
 *           processes (CSM, units, publisher, generator) inherit the namespace and talk over its
 *           loopback only. They still end by their own PIDs (children.ts, test/support/processes.ts);
 *           the namespace goes with its last process.
 *
 * Why: without the sysctl, Linux lets a unit's kernel send queue for a viewer that reads slowly grow
 * to tcp_wmem max (4 MiB, ~16 s of a 2 Mbit/s stream) before the unit's socket reports any
 * backpressure, so the slow-viewer row measured the kernel rather than the unit's backlog rules.
 * tcp_notsent_lowat bounds the bytes the kernel holds that it has not sent yet; what is in flight
 * (the peer's receive window) comes on top. It is per namespace, so the host is untouched; the
 * deployment sets it on unit hosts (infra/).
 *
 * Needs root (or CAP_SYS_ADMIN and CAP_NET_ADMIN). `--host-net` runs on the host's loopback
 * instead, with the host's setting (reported in every line).
 */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

export const NETNS_ENV = 'ONAIR_BENCH_NETNS';
export const TCP_NOTSENT_LOWAT = 131_072;
const NOTSENT_LOWAT_FILE = '/proc/sys/net/ipv4/tcp_notsent_lowat';

/** What every JSON line says about the network the scenarios ran on. */
export interface NetInfo {
  netns: boolean;
  /** net.ipv4.tcp_notsent_lowat as read where the scenarios ran (the host's default: 4294967295, unbounded) */
  tcpNotsentLowat: number | null;
}

export const insideBenchNetns = (): boolean => process.env[NETNS_ENV] === '1';

function readNotsentLowat(): number | null {
  try {
    return Number(readFileSync(NOTSENT_LOWAT_FILE, 'utf8').trim());
  } catch {
    return null;
  }
}

export const hostNetInfo = (): NetInfo => ({ netns: false, tcpNotsentLowat: readNotsentLowat() });

/**
 * In the parent: the same `bench fanout` command in a new network namespace. Resolves with the
 * child's exit code (128 + n for a signal).
 */
export async function rerunInOwnNetns(args: string[], log: (message: string) => void): Promise<number> {
  try {
    execFileSync('unshare', ['--net', '--', 'true'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`cannot create a network namespace (unshare --net needs root or CAP_SYS_ADMIN): ${stderr || String(error)}; run with --host-net to measure on the host's loopback instead`);
  }
  const cli = fileURLToPath(new URL('../../../bin/cli.js', import.meta.url));
  log(`running in a private network namespace (unshare --net), loopback only, tcp_notsent_lowat=${TCP_NOTSENT_LOWAT}; --host-net runs on the host instead`);
  const child = spawn('unshare', ['--net', '--', process.execPath, ...process.execArgv, cli, 'bench', 'fanout', ...args], {
    stdio: 'inherit',
    env: { ...process.env, [NETNS_ENV]: '1' },
  });
  // `unshare` without --fork execs node in place: this PID is the bench's, which ends its own
  // children by PID on SIGINT/SIGTERM. Passed on by PID; a Ctrl-C reaches both of us anyway.
  const forward = (signal: NodeJS.Signals): void => void (child.exitCode === null && child.signalCode === null && child.kill(signal));
  const onExit = (): void => void (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  process.once('exit', onExit);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
    });
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
    process.off('exit', onExit);
  }
}

/** In the child: checks that this is a namespace of its own, brings `lo` up and sets the sysctl. */
export function setUpBenchNetns(): NetInfo {
  const mine = readlinkSync('/proc/self/ns/net');
  let init: string | null = null;
  try {
    init = readlinkSync('/proc/1/ns/net');
  } catch {
    // not readable: nothing to compare with
  }
  if (init === mine) throw new Error(`${NETNS_ENV}=1 but this process is in PID 1's network namespace (${mine}); run without ${NETNS_ENV}`);
  execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 10_000 });
  writeFileSync(NOTSENT_LOWAT_FILE, String(TCP_NOTSENT_LOWAT));
  const set = readNotsentLowat();
  if (set !== TCP_NOTSENT_LOWAT) throw new Error(`tcp_notsent_lowat reads ${set} after setting ${TCP_NOTSENT_LOWAT}`);
  return { netns: true, tcpNotsentLowat: set };
}
