/**
 * A throw-away redis-server that can be stopped and started again on the same port (the HA tests'
 * "Redis restarted" case): no persistence, so a restart comes back empty, as a Redis without AOF or
 * RDB does. Killed by PID on stop and when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from '../support/free-port.js';
import { killOnExit } from '../support/redis-server.js';
import { waitFor } from '../support/processes.js';
import { createConnection } from 'node:net';

export interface RestartableRedis {
  url: string;
  port: number;
  /** SIGKILL-free stop: SIGTERM, then SIGKILL after 3 s; resolves once the process is gone */
  stop(): Promise<void>;
  /** start again on the same port (after stop) */
  start(): Promise<void>;
}

export async function startRestartableRedis(): Promise<RestartableRedis> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  let unregister = (): void => {};

  const start = async (): Promise<void> => {
    const spawned = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' });
    child = spawned;
    exited = new Promise((resolve) => spawned.once('exit', () => resolve()));
    spawned.on('error', () => undefined);
    unregister = killOnExit(spawned.pid!);
    await waitFor(`redis-server on port ${port}`, () => ping(port), 10_000, 25);
  };
  const stop = async (): Promise<void> => {
    const running = child;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
    unregister();
    child = null;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, port, stop, start };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    let reply = '';
    socket.setTimeout(500, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(reply.startsWith('+PONG')));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) socket.end();
    });
  });
}
