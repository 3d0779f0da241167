/**
 * Real OnAir processes for multi-process tests: `onair csm` and `onair unit` started from the built
 * CLI, each awaited until it prints its ready line, each killed by its own PID on stop — also when the
 * test process exits early.
 */
import { pollUntil, type Probe } from '../../protocol/poll.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { unitProcessEnv } from '../../protocol/unit-process-env.js';

const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface OnairProcess {
  pid: number;
  /** the ready line's regex groups */
  ready: RegExpMatchArray;
  stderr: () => string;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function startOnair(args: string[], env: Record<string, string>, readyPattern: RegExp, timeoutMs = 20_000): Promise<OnairProcess> {
  const merged = { ...process.env, ...env };
  // Units start as `onair cluster` and the systemd unit start them: with their memory tuning.
  const child = spawn(process.execPath, ['--enable-source-maps', cli, ...args], { env: args[0] === 'unit' ? unitProcessEnv(merged) : merged, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => {
    running.delete(child);
    resolve(code);
  }));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`onair ${args.join(' ')} not ready after ${timeoutMs} ms:\n${stderr}`)), timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`onair ${args.join(' ')} exited (${code}) before ready:\n${stderr}`));
    });
    lines.on('line', (line) => {
      const match = line.match(readyPattern);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
  }).catch(async (error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    pid: child.pid!,
    ready,
    stderr: () => stderr,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    exited,
    stop: () => stopProcess(child),
  };
}

/** Poll `probe` until it returns a truthy value; fail with `what` after `timeoutMs`. */
export function waitFor<T>(what: string, probe: Probe<T>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  return pollUntil(what, probe, { timeoutMs, everyMs });
}

/**
 * Sends `signal` and, if the process has not exited after `graceMs`, SIGKILL; resolves once it has
 * exited. For test cleanup, also after a failure.
 */
export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A process that starts processes of its own (`onair cluster`) stopped as a person does, with Ctrl-C, so that it stops them. */
export const stopWithCtrlC = (child: ChildProcess): Promise<void> => stopProcess(child, 'SIGINT', 10_000);

export const CSM_READY = /^csm \S+ ready http=(\S+) control=(\S+):(\d+) epoch=(\d+)/;
export const UNIT_READY = /^unit (\S+) listening on (\S+)/;
