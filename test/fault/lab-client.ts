/**
 * The lab's client program: runs INSIDE the lab's client namespace (`ip netns exec onair-<id>-client
 * node dist/test/fault/lab-client.js …`, started by test/fault/harness.ts), so everything it does goes
 * over the lab network to the VIP and the units, and reports what it sees as JSON lines on stdout
 * (client/output.ts). Any combination of:
 *
 *   --publish TITLE         open a channel through the VIP and publish a synthetic 30 fps video +
 *                           50 fps audio stream to it (client/stream.ts)
 *   --viewers N             N TCP viewers of that channel (or of --watch-channel ID) (client/watchers.ts)
 *   --join-channel ID|new   a join every --join-every-ms (100), each retried until it succeeds
 *                           (client/joiner.ts); `new` opens a channel for them first. Several
 *                           joiners: comma-separated, each `ID|new` with its own `:EVERY_MS`
 *   --vip-probe-ms MS       GET <VIP>/healthz every MS, its answer's changes (client/probes.ts)
 *   --health NAME=ADDR,…    both CSM hosts' /healthz every --health-every-ms (100), through their own
 *                           addresses; `twoActive` when both say active (client/probes.ts)
 *   --redis-watch URL       the store's fenced writes by epoch, via MONITOR (client/redis-watch.ts)
 *
 * Commands, one JSON object per line on stdin, each answered by a `reply` line with the same `id`:
 *   {"id":1,"cmd":"window","from":T0,"to":T1}   what viewers, joins, probes and the store saw in [T0, T1]
 *   {"id":2,"cmd":"joins","on":false}            pause (or resume) starting joins
 *   {"id":3,"cmd":"events"}                      the event log since the watch started (--redis-watch)
 *   {"id":4,"cmd":"stop"}                        a final summary, then exit
 * It also stops when stdin closes (its test went away). Every part is bounded; nothing is retried forever.
 */
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CsmApi } from '../../web/client/CsmApi.js';
import { Joiner } from './client/joiner.js';
import { Bounded, emit, note } from './client/output.js';
import { HealthSampler, VipProbe } from './client/probes.js';
import { RedisWatch } from './client/redis-watch.js';
import { SyntheticStream } from './client/stream.js';
import { WatchedViewer } from './client/watchers.js';

const { values } = parseArgs({
  options: {
    vip: { type: 'string' },
    'csm-port': { type: 'string', default: '7000' },
    publish: { type: 'string' },
    viewers: { type: 'string', default: '0' },
    'watch-channel': { type: 'string' },
    'join-channel': { type: 'string' },
    'join-every-ms': { type: 'string', default: '100' },
    'join-retry-ms': { type: 'string', default: '100' },
    'join-timeout-ms': { type: 'string', default: '1000' },
    'join-give-up-ms': { type: 'string', default: '60000' },
    'vip-probe-ms': { type: 'string' },
    health: { type: 'string' },
    'health-every-ms': { type: 'string', default: '100' },
    'redis-watch': { type: 'string' },
    'redis-prefix': { type: 'string', default: 'onair:' },
    'rejoin-min-ms': { type: 'string', default: '100' },
    'rejoin-max-ms': { type: 'string', default: '1000' },
    'start-timeout-ms': { type: 'string', default: '30000' },
  },
  strict: true,
});

const num = (name: keyof typeof values): number => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number ≥ 0`);
  return value;
};

/**
 * This process's own stalls (its event loop held ≥ STALL_MS): the publisher and the viewers share it,
 * so a pause at a viewer that a stall here covers says nothing about the cluster.
 */
const STALL_MS = 50;
const stalls = new Bounded<{ from: number; to: number }>(10_000);
let tick = Date.now();
setInterval(() => {
  const now = Date.now();
  if (now - tick >= STALL_MS + 10) stalls.push({ from: tick, to: now });
  tick = now;
}, 10).unref();

const parts: { stream?: SyntheticStream; viewers: WatchedViewer[]; joiners: Joiner[]; vip?: VipProbe; health?: HealthSampler; redis?: RedisWatch; api?: CsmApi } = { viewers: [], joiners: [] };
let stopping = false;

async function main(): Promise<void> {
  const startTimeoutMs = num('start-timeout-ms');
  const base = values.vip ? `http://${values.vip}:${num('csm-port')}` : null;
  if (values['redis-watch']) parts.redis = await RedisWatch.start(values['redis-watch'], values['redis-prefix']!, 50);
  if (values.health) {
    const hosts = Object.fromEntries(values.health.split(',').map((pair) => {
      const [name, address] = pair.split('=');
      return [name!, `http://${address}:${num('csm-port')}/healthz`];
    }));
    parts.health = new HealthSampler(hosts, num('health-every-ms'), 500);
  }
  if (values['vip-probe-ms'] !== undefined) {
    if (!base) throw new Error('--vip-probe-ms needs --vip');
    parts.vip = new VipProbe(`${base}/healthz`, num('vip-probe-ms'), 1000);
  }
  if (base) parts.api = new CsmApi({ baseUrl: base, retries: 5, retryMinMs: 100, retryMaxMs: 1000, timeoutMs: 2000 });
  const backoff = { rejoinMinMs: num('rejoin-min-ms'), rejoinMaxMs: num('rejoin-max-ms') };
  let watchChannel = values['watch-channel'] === undefined ? null : Number(values['watch-channel']);
  if (values.publish !== undefined) {
    parts.stream = await SyntheticStream.start({ api: parts.api!, title: values.publish, openTimeoutMs: startTimeoutMs, reconnectMinMs: backoff.rejoinMinMs, reconnectMaxMs: backoff.rejoinMaxMs });
    watchChannel ??= parts.stream.publisher.channelId;
    await waitUntil('the publisher to connect', () => parts.stream!.publisher.state === 'open', startTimeoutMs);
  }
  const viewers = num('viewers');
  if (viewers > 0) {
    if (watchChannel === null || !parts.api) throw new Error('--viewers needs --publish or --watch-channel, and --vip');
    for (let i = 1; i <= viewers; i++) parts.viewers.push(new WatchedViewer(`v${i}`, parts.api, watchChannel, backoff));
    for (const v of parts.viewers) v.start();
    await waitUntil('every viewer to get a frame', () => parts.viewers.every((v) => v.summary.frames > 0), startTimeoutMs);
  }
  const joinChannels: number[] = [];
  for (const spec of values['join-channel']?.split(',') ?? []) {
    if (!base || !parts.api) throw new Error('--join-channel needs --vip');
    const [channel, every] = spec.split(':');
    const channelId = channel === 'new' ? (await parts.api.openChannel('joins', 'lab-client')).channelId : Number(channel);
    if (!Number.isInteger(channelId) || channelId < 1) throw new Error(`--join-channel: ${spec}`);
    const everyMs = every === undefined ? num('join-every-ms') : Number(every);
    joinChannels.push(channelId);
    parts.joiners.push(new Joiner({ baseUrl: base, channelId, everyMs, retryMs: num('join-retry-ms'), attemptTimeoutMs: num('join-timeout-ms'), giveUpMs: num('join-give-up-ms'), maxInFlight: 200 }));
  }
  emit({ t: 'ready', channelId: parts.stream?.publisher.channelId ?? null, watchChannel, joinChannel: joinChannels[0] ?? null, joinChannels, pid: process.pid });
}

async function waitUntil(what: string, probe: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function window(from: number, to: number): Record<string, unknown> {
  return {
    from,
    to,
    viewers: parts.viewers.map((v) => v.window(from, to, stalls.items)),
    clientStalls: stalls.items.filter((st) => st.to > from && st.from < to),
    joins: parts.joiners.length > 0 ? parts.joiners.flatMap((j) => j.window(from, to)) : null,
    joinStats: parts.joiners.length > 0 ? parts.joiners.map((j) => ({ channelId: j.options.channelId, ...j.stats })) : null,
    stream: parts.stream?.stats ?? null,
    vip: parts.vip?.changes.items.filter((c) => c.sentAt >= from && c.sentAt <= to) ?? null,
    health: parts.health?.window(from, to) ?? null,
    redis: parts.redis
      ? { ...parts.redis.summary, claims: parts.redis.claims.items, violations: parts.redis.violations.items, epochs: parts.redis.epochs.items, unfenced: parts.redis.unfenced.items }
      : null,
  };
}

async function command(line: string): Promise<void> {
  let message: { id?: unknown; cmd?: unknown; from?: unknown; to?: unknown; on?: unknown };
  try {
    message = JSON.parse(line) as typeof message;
  } catch {
    note(`not a JSON command: ${line}`);
    return;
  }
  const id = message.id;
  try {
    switch (message.cmd) {
      case 'window': {
        const from = typeof message.from === 'number' ? message.from : 0;
        const to = typeof message.to === 'number' ? message.to : Date.now();
        emit({ t: 'reply', id, ...window(from, to) });
        return;
      }
      case 'joins':
        for (const joiner of parts.joiners) joiner.running = message.on === true;
        emit({ t: 'reply', id, joinStats: parts.joiners.map((j) => j.stats) });
        return;
      case 'events':
        emit({ t: 'reply', id, events: parts.redis ? await parts.redis.events() : [] });
        return;
      case 'stop':
        emit({ t: 'reply', id, ...window(0, Date.now()), summary: parts.viewers.map((v) => v.summary) });
        stop(0);
        return;
      default:
        emit({ t: 'reply', id, error: `unknown command ${String(message.cmd)}` });
    }
  } catch (error) {
    emit({ t: 'reply', id, error: (error as Error).message });
  }
}

function stop(code: number): void {
  if (stopping) return;
  stopping = true;
  for (const joiner of parts.joiners) joiner.close();
  for (const v of parts.viewers) v.close();
  parts.stream?.close();
  parts.vip?.close();
  parts.health?.close();
  parts.redis?.close();
  parts.api?.close();
  // let the last lines flush, then go (sockets may still be closing)
  setTimeout(() => process.exit(code), 100).unref();
  process.exitCode = code;
}

createInterface({ input: process.stdin })
  .on('line', (line) => void command(line))
  .on('close', () => stop(0));

main().catch((error: Error) => {
  emit({ t: 'fatal', message: error.message });
  stop(1);
});
