/**
 * The bench's own child processes (publisher, generator workers, the naive server): forked from the
 * compiled files next to this one, tracked, and killed by their own PID when stopped, and at the
 * latest when the bench process exits, also on failure.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export interface Child {
  process: ChildProcess;
  pid: number;
  /** next message matching `accept`, failing on exit or after `timeoutMs` */
  next<T>(accept: (message: unknown) => message is T, what: string, timeoutMs: number): Promise<T>;
  send(message: unknown): void;
  stop(graceMs?: number): Promise<void>;
}

/** Forks `file` (a .js file in this folder of dist/) with IPC; messages use structured clone (typed arrays pass). */
export function forkHere(file: string, env: Record<string, string> = {}, execArgv: string[] = []): Child {
  const path = fileURLToPath(new URL(file, import.meta.url));
  const child = fork(path, [], {
    env: { ...process.env, ...env },
    execArgv: ['--enable-source-maps', ...execArgv],
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.add(child);
  const exited = once(child, 'exit').then(() => void running.delete(child));
  return {
    process: child,
    pid: child.pid!,
    next: <T>(accept: (message: unknown) => message is T, what: string, timeoutMs: number) =>
      new Promise<T>((resolve, reject) => {
        const onMessage = (message: unknown): void => {
          if (isError(message)) finish(() => reject(new Error(`${file}: ${message.message}`)));
          else if (accept(message)) finish(() => resolve(message));
        };
        const onExit = (code: number | null, signal: string | null): void => finish(() => reject(new Error(`${file} exited (${code ?? signal}) waiting for ${what}`)));
        const timer = setTimeout(() => finish(() => reject(new Error(`${file}: no ${what} after ${timeoutMs} ms`))), timeoutMs);
        const finish = (then: () => void): void => {
          clearTimeout(timer);
          child.off('message', onMessage);
          child.off('exit', onExit);
          then();
        };
        child.on('message', onMessage);
        child.once('exit', onExit);
      }),
    send: (message) => {
      if (child.connected) child.send(message as never);
    },
    stop: async (graceMs = 3000) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

function isError(message: unknown): message is { type: 'error'; message: string } {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'error';
}

/** A type guard for `{ type: name }` messages. */
export function ofType<T extends { type: string }>(name: T['type']): (message: unknown) => message is T {
  return (message: unknown): message is T => typeof message === 'object' && message !== null && (message as { type?: unknown }).type === name;
}
