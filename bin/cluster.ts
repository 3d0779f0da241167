/**
 * `onair cluster`: a whole local cluster on one machine — a CSM, streaming units, a web server and
 * the admin console, each its own process — with the URLs printed (the site first), a live one-line
 * summary, and a clean stop on Ctrl-C. In-memory stores by default; `--redis URL` mirrors to Redis.
 * The console signs operators in with the same admin password and acts on the CSM as its own account
 * ("console", a random password, listed in the CSM's actorDelegates), naming the operator as actor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateTicketKeys } from '../protocol/tickets.js';
import { hashPassword } from '../csm/http/operator-auth.js';
import { unitProcessEnv } from '../protocol/unit-process-env.js';

const usage = `usage: onair cluster [options]

Starts a CSM, streaming units, a web server and the admin console as separate processes on this
machine and prints their URLs; open the site's URL in a browser, the console's to watch the cluster.

  --units N            streaming units to start (default 2)
  --port N             CSM HTTP port; the control port is N+1, units take N+101, N+102, … (default 7000)
  --web-port N         the web server's port, the site (default N+1080: 8080 with the default --port)
  --admin-port N       the admin console's port (default N+1090: 8090 with the default --port)
  --redis URL          use Redis for the CSM's stores (default: in memory)
  --admin-password PW  operator password for the admin API and the console (default: a random one, printed)
  -h, --help           this text`;

const cli = fileURLToPath(new URL('./cli.js', import.meta.url));
/** the web server's and the console's ports are --port plus these unless --web-port / --admin-port say otherwise */
const WEB_PORT_OFFSET = 1080;
const ADMIN_PORT_OFFSET = 1090;
/** the console's own account at the CSM (the operator signed in to the console is named as the actor) */
const CONSOLE_CSM_USER = 'console';

interface Child {
  name: string;
  process: ChildProcess;
}

function startChild(name: string, args: string[], env: Record<string, string>, readyPattern: RegExp): Promise<Child> {
  const merged = { ...process.env, ...env };
  const child = spawn(process.execPath, [cli, ...args], { env: args[0] === 'unit' ? unitProcessEnv(merged) : merged, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = createInterface({ input: child.stdout! });
  // Logs are JSON on stderr; keep them out of the summary but available with ONAIR_CLUSTER_LOGS=1.
  child.stderr!.on('data', (chunk: Buffer) => {
    if (process.env['ONAIR_CLUSTER_LOGS'] === '1') process.stderr.write(chunk);
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`${name} exited (${code}) before it was ready; run with ONAIR_CLUSTER_LOGS=1 to see why`));
    child.once('exit', onExit);
    lines.on('line', (line) => {
      if (readyPattern.test(line)) {
        child.off('exit', onExit);
        resolve({ name, process: child });
      }
    });
  });
}

/** Waits for children started side by side; every one that came up joins `children` (to be stopped) even when another failed. */
async function startTogether(children: Child[], starting: Promise<Child>[]): Promise<void> {
  const settled = await Promise.allSettled(starting);
  for (const result of settled) if (result.status === 'fulfilled') children.push(result.value);
  const failed = settled.find((result) => result.status === 'rejected');
  if (failed) throw failed.reason;
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  const exited = once(child.process, 'exit');
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function runClusterCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      units: { type: 'string', default: '2' },
      port: { type: 'string', default: '7000' },
      'web-port': { type: 'string' },
      'admin-port': { type: 'string' },
      redis: { type: 'string' },
      'admin-password': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  const unitCount = Number(values.units);
  const basePort = Number(values.port);
  if (!Number.isInteger(unitCount) || unitCount < 1 || unitCount > 50) throw new Error('--units must be 1..50');
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65000) throw new Error('--port must be 1..65000');
  // The site sits apart from the CSM's and units' ports: 8080 with the default --port.
  const webPort = values['web-port'] === undefined ? basePort + WEB_PORT_OFFSET : Number(values['web-port']);
  if (!Number.isInteger(webPort) || webPort < 1 || webPort > 65535) throw new Error(`--web-port must be 1..65535 (default --port + ${WEB_PORT_OFFSET})`);
  const adminPort = values['admin-port'] === undefined ? basePort + ADMIN_PORT_OFFSET : Number(values['admin-port']);
  if (!Number.isInteger(adminPort) || adminPort < 1 || adminPort > 65535) throw new Error(`--admin-port must be 1..65535 (default --port + ${ADMIN_PORT_OFFSET})`);

  const keys = await generateTicketKeys();
  const secret = randomBytes(18).toString('base64url');
  const serviceToken = randomBytes(18).toString('base64url');
  const password = values['admin-password'] ?? randomBytes(9).toString('base64url');
  const operator = `admin:${await hashPassword(password)}`;
  const consolePassword = randomBytes(18).toString('base64url');
  const operators = `${operator},${CONSOLE_CSM_USER}:${await hashPassword(consolePassword)}`;
  const children: Child[] = [];
  let stopping = false;
  const stopAll = async (code: number): Promise<never> => {
    stopping = true;
    await Promise.all(children.map(stopChild));
    process.exit(code);
  };
  process.once('SIGINT', () => void stopAll(0));
  process.once('SIGTERM', () => void stopAll(0));

  try {
    const csmEnv: Record<string, string> = {
      ONAIR_CSM_TICKET_PRIVATE_JWK: JSON.stringify(keys.privateJwk),
      ONAIR_CSM_CLUSTER_SECRET: secret,
      ONAIR_CSM_OPERATORS: operators,
      ONAIR_CSM_ACTOR_DELEGATES: CONSOLE_CSM_USER,
      // The web server's calls carry it: they are the service API's only client here, and not rate-limited as one address.
      ONAIR_CSM_SERVICE_TOKEN: serviceToken,
    };
    const csmArgs = ['csm', '--http-port', String(basePort), '--control-port', String(basePort + 1)];
    if (values.redis) csmArgs.push('--redis', values.redis);
    children.push(await startChild('csm', csmArgs, csmEnv, /^csm .* ready/));
    const unitEnv = { ONAIR_UNIT_CLUSTER_SECRET: secret, ONAIR_UNIT_TICKET_PUBLIC_JWK: JSON.stringify(keys.publicJwk) };
    await startTogether(
      children,
      Array.from({ length: unitCount }, (_, i) =>
        startChild(`unit u${i + 1}`, ['unit', '--id', `u${i + 1}`, '--port', String(basePort + 101 + i), '--csm', `127.0.0.1:${basePort + 1}`], unitEnv, /^unit .* listening/),
      ),
    );
    // Last, so the site opens on a cluster that can already place channels.
    const webArgs = ['web', '--port', String(webPort), '--csm', `http://127.0.0.1:${basePort}`];
    if (values.redis) webArgs.push('--redis', values.redis);
    const consoleEnv = { ONAIR_ADMIN_OPERATORS: operator, ONAIR_ADMIN_CSM_USER: CONSOLE_CSM_USER, ONAIR_ADMIN_CSM_PASSWORD: consolePassword };
    await startTogether(children, [
      startChild('web', webArgs, { ONAIR_WEB_CSM_SERVICE_TOKEN: serviceToken }, /^web .* ready/),
      startChild('admin console', ['admin', '--port', String(adminPort), '--csm', `http://127.0.0.1:${basePort}`], consoleEnv, /^admin .* ready/),
    ]);
  } catch (error) {
    await Promise.all(children.map(stopChild));
    throw error;
  }

  const api = `http://127.0.0.1:${basePort}`;
  const site = `http://127.0.0.1:${webPort}`;
  const auth = `Basic ${Buffer.from(`admin:${password}`).toString('base64')}`;
  process.stdout.write(
    [
      'OnAir cluster is up',
      `  site              ${site}   ← open this in a browser (API docs ${site}/docs)`,
      `  admin console     http://127.0.0.1:${adminPort}   (user admin, password ${password})`,
      `  CSM service API   ${api}/api/v1/channels`,
      `  admin API         ${api}/admin/v1/cluster   (user admin, password ${password})`,
      `  API docs          ${api}/docs`,
      `  metrics           ${api}/metrics`,
      ...Array.from({ length: unitCount }, (_, i) => `  unit u${i + 1}          ws://127.0.0.1:${basePort + 101 + i}   (health http://127.0.0.1:${basePort + 101 + i}/healthz)`),
      'Ctrl-C stops everything.',
      '',
    ].join('\n'),
  );

  for (const child of children) {
    child.process.once('exit', (code, signal) => {
      if (!stopping) process.stdout.write(`\n${child.name} exited (${signal ?? code}); the rest keep running\n`);
    });
  }
  await liveSummary(api, auth, () => stopping);
}

/** One line, rewritten in place on a terminal, appended when it changes otherwise. */
async function liveSummary(api: string, auth: string, stopped: () => boolean): Promise<void> {
  let last = '';
  while (!stopped()) {
    let line: string;
    try {
      const response = await fetch(`${api}/admin/v1/cluster`, { headers: { authorization: auth }, signal: AbortSignal.timeout(2000) });
      const s = (await response.json()) as { epoch: number; units: { total: number; up: number; draining: number; failed: number }; channels: number; viewers: number; groupsUsed: number; groupsTotal: number };
      line = `units ${s.units.up}/${s.units.total} up${s.units.failed ? ` (${s.units.failed} failed)` : ''} · channels ${s.channels} · viewers ${s.viewers} · groups ${s.groupsUsed}/${s.groupsTotal} · epoch ${s.epoch}`;
    } catch {
      line = 'CSM not answering';
    }
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[2K${line}`);
    else if (line !== last) process.stdout.write(`${line}\n`);
    last = line;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}
