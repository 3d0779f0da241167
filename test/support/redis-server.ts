/**
 * A real, throw-away redis-server for tests: its own free port, no persistence, stopped by PID.
 * A missing binary is an error, not a skip, so a machine without Redis cannot pass the Redis tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from './free-port.js';

export interface RedisServerHandle {
  url: string;
  port: number;
  pid: number;
  /** SIGTERM, then SIGKILL after a timeout; resolves once the process exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartRedisServerOptions {
  /** path of the binary; default "redis-server" from PATH */
  binary?: string;
  /** ms to wait for the first PONG; default 10000 */
  readyTimeoutMs?: number;
  /** ms between SIGTERM and SIGKILL in stop(); default 3000 */
  stopTimeoutMs?: number;
}

export class RedisServerError extends Error {
  constructor(
    readonly code: 'TEST_ERR_REDIS_MISSING' | 'TEST_ERR_REDIS_START' | 'TEST_ERR_REDIS_STOP',
    message: string,
  ) {
    super(message);
    this.name = 'RedisServerError';
  }
}

export async function startRedisServer(options: StartRedisServerOptions = {}): Promise<RedisServerHandle> {
  const binary = options.binary ?? 'redis-server';
  const port = await freePort();
  const child = spawn(
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output = captureTail(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawned = await new Promise<Error | null>((resolve) => {
    child.once('spawn', () => resolve(null));
    child.once('error', resolve);
  });
  if (spawned) {
    const missing = (spawned as NodeJS.ErrnoException).code === 'ENOENT';
    throw new RedisServerError(
      missing ? 'TEST_ERR_REDIS_MISSING' : 'TEST_ERR_REDIS_START',
      missing
        ? `redis-server is not installed (no "${binary}" on PATH); the Redis store tests need it (apt-get install redis-server)`
        : `could not start ${binary}: ${spawned.message}`,
    );
  }
  // Later errors (a failed kill of a process that is already gone) must not crash the test run.
  child.on('error', () => undefined);
  const pid = child.pid as number;
  const unregister = killOnExit(pid);

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= stopProcess(child, exited, options.stopTimeoutMs ?? 3000).finally(unregister);
    return stopping;
  };

  try {
    await waitForPong(port, options.readyTimeoutMs ?? 10_000, () => child.exitCode !== null || child.signalCode !== null);
  } catch (err) {
    await stop();
    throw new RedisServerError('TEST_ERR_REDIS_START', `${(err as Error).message}; redis-server said:\n${output()}`);
  }
  return { url: `redis://127.0.0.1:${port}`, port, pid, stop };
}

/**
 * Makes sure `pid` is killed if this process exits without stopping it (a failing test, an uncaught
 * error, Ctrl-C). Returns the function that removes the guard once the child was stopped normally.
 */
export function killOnExit(pid: number): () => void {
  const kill = (): void => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  // A signal's default action ends the process without an 'exit' event, so kill first, then let the
  // signal do what it would have done.
  const onSignal = (signal: NodeJS.Signals): void => {
    kill();
    unregister();
    process.kill(process.pid, signal);
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  const unregister = (): void => {
    process.off('exit', kill);
    for (const signal of signals) process.off(signal, onSignal);
  };
  process.on('exit', kill);
  for (const signal of signals) process.once(signal, onSignal);
  return unregister;
}

/** Polls with a raw PING until "+PONG" arrives, the process dies, or the timeout passes. */
async function waitForPong(port: number, timeoutMs: number, died: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    if (died()) throw new Error(`redis-server on port ${port} exited before answering PING`);
    try {
      if (await pingOnce(port)) return;
      lastError = 'unexpected reply to PING';
    } catch (err) {
      lastError = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer PING within ${timeoutMs} ms (${lastError})`);
}

function pingOnce(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    socket.setTimeout(1000, () => socket.destroy(new Error('PING timed out')));
    socket.once('error', reject);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
  });
}

async function stopProcess(child: ChildProcess, exited: Promise<void>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), timeoutMs);
    }),
  ]);
  clearTimeout(timer);
  if (!timedOut) return;
  child.kill('SIGKILL');
  await exited;
}

/** The last few KB of the server's output, for error messages. */
function captureTail(child: ChildProcess): () => string {
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => tail;
}
