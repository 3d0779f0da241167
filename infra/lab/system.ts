/**
 * Running the system's tools for the lab: every command bounded in time, its failure a coded error
 * carrying the command line and stderr. Nothing here touches the network by itself.
 */
import { pollUntil, type Probe } from '../../protocol/poll.js';
import { execFile, execFileSync } from 'node:child_process';
import { InfraError } from '../errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  input?: string;
}

/** Runs a command; resolves with its exit code and output whatever the code (a spawn error is code 127). */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      command,
      args,
      { timeout: options.timeoutMs ?? 10_000, killSignal: 'SIGKILL', maxBuffer: 16 << 20, env: options.env ?? process.env, encoding: 'utf8' },
      (error, stdout, stderr) => {
        const failure = error as (Error & { code?: number | string; killed?: boolean }) | null;
        let code = 0;
        if (failure) code = typeof failure.code === 'number' ? failure.code : failure.killed ? 124 : 127;
        resolve({ code, stdout, stderr: failure && !stderr ? failure.message : stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a command that must succeed; throws LAB_ERR_COMMAND_FAILED with its stderr otherwise. */
export async function must(command: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(command, args, options);
  if (result.code !== 0) throw new InfraError('LAB_ERR_COMMAND_FAILED', `${command} ${args.join(' ')} → exit ${result.code}: ${result.stderr.trim()}`);
  return result.stdout;
}

/** `ip …`; with `ns`, inside that network namespace (`ip -n`). */
export const ip = (args: readonly string[], ns?: string): Promise<string> => must('ip', ns ? ['-n', ns, ...args] : args);

/** Synchronous, for the exit handler only: never throws, bounded. */
export function runSync(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: 'ignore', timeout: 5000 });
  } catch {
    // best effort
  }
}

/** Where a program is on PATH (plus the sbin directories root's tools live in), or null. */
export async function which(program: string): Promise<string | null> {
  const path = [...(process.env['PATH'] ?? '').split(':'), '/usr/local/sbin', '/usr/sbin', '/sbin'].filter(Boolean);
  const result = await run('sh', ['-c', `PATH='${path.join(':')}' command -v ${program}`]);
  return result.code === 0 ? result.stdout.trim() || null : null;
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; LAB_ERR_TIMEOUT naming `what` after `timeoutMs`. */
export function waitUntil<T>(what: string, probe: Probe<T>, timeoutMs: number, everyMs = 100): Promise<T> {
  return pollUntil(what, probe, { timeoutMs, everyMs, timeoutError: (message) => new InfraError('LAB_ERR_TIMEOUT', message) });
}
