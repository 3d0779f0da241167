/**
 * Where a unit's time goes for UDP viewers (one JSON object on stdout; progress on stderr).
 *
 *   node dist/test/bench/udp-probe.js [--mode unit|tcp|loop] [--viewers 40] [--mbps 2] [--seconds 6] [--chunk 1100]
 *
 * unit  a real StreamingUnit in this process (no CSM), one publisher here streaming `mbps` (30 fps
 *       video with a keyframe every 2 s, 50 fps audio), `viewers` real client viewers on UDP in a child
 *       process (their receive work is theirs). Measured over `seconds` once all are on UDP: this
 *       process's CPU (all threads, and per thread from /proc), the main thread's event-loop use,
 *       the bytes the data channels took, and what the viewers got.
 * tcp   the same with the viewers on TCP (WebSocket), for comparison.
 * loop  node-datachannel alone: one data channel, messages of `chunk` + 12 bytes sent in a tight
 *       loop (kept under 1 MiB of bufferedAmount) for `seconds`: the library's ceiling per core.
 *
 * `viewersPerCoreAt2Mbps` scales the measured cost per viewer to one core. On loopback the kernel's
 * receive path of the viewers' sockets is partly charged to the sender (softirq): system time is an
 * upper bound. The machine, its load and the number of cores change everything: read the figures
 * next to `host`.
 */
import { fork } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { PeerConnection } from 'node-datachannel';
import { CHUNK_HEADER_BYTES } from '../../protocol/frame-chunks.js';
import { startHarness, type Harness, type TestPublisher } from '../udp/udp-harness.js';

type Mode = 'unit' | 'tcp' | 'loop';

interface ThreadTimes {
  [name: string]: number;
}

const log = (text: string): void => {
  process.stderr.write(`udp-probe: ${text}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const TICKS = 100; // CLK_TCK on Linux

/** CPU seconds per thread name of this process (threads of one name summed). */
function threadTimes(): ThreadTimes {
  const out: ThreadTimes = {};
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const seconds = (Number(fields[14 - 3]) + Number(fields[15 - 3])) / TICKS;
    out[name] = (out[name] ?? 0) + seconds;
  }
  return out;
}

function threadDelta(before: ThreadTimes, after: ThreadTimes, seconds: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, t] of Object.entries(after)) {
    const cores = (t - (before[name] ?? 0)) / seconds;
    if (cores >= 0.005) out[name] = round(cores, 3);
  }
  return Object.fromEntries(Object.entries(out).sort((a, b) => b[1] - a[1]));
}

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

class Child {
  readonly process = fork(new URL('./udp-probe-viewers.js', import.meta.url), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  readonly #waiters: { t: string; resolve: (m: Record<string, unknown>) => void }[] = [];
  readonly #listeners: ((m: Record<string, unknown>) => void)[] = [];

  constructor() {
    this.process.on('message', (message: Record<string, unknown>) => {
      if (message.t === 'error') log(`viewer error: ${String(message.message)}`);
      for (const l of this.#listeners) l(message);
      const i = this.#waiters.findIndex((w) => w.t === message.t);
      if (i >= 0) this.#waiters.splice(i, 1)[0]!.resolve(message);
    });
  }

  on(listener: (m: Record<string, unknown>) => void): void {
    this.#listeners.push(listener);
  }

  send(message: unknown): void {
    this.process.send(message as never);
  }

  next(t: string, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${t} from the viewers' process in ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ t, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  async stop(): Promise<void> {
    if (this.process.exitCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    this.send({ t: 'stop' });
    await Promise.race([exited, sleep(3000)]);
    if (this.process.exitCode === null) this.process.kill('SIGKILL');
  }
}

/** A paced stream: 30 fps video at `mbps` (a keyframe of 5× the mean every 60 frames), 50 fps audio. */
function streamAt(publisher: TestPublisher, mbps: number): () => void {
  const mean = (mbps * 1e6) / 8 / 30;
  const pSize = Math.round((60 * mean - 5 * mean) / 59);
  const started = performance.now();
  let video = 0;
  let audio = 0;
  const timer = setInterval(() => {
    const elapsed = performance.now() - started;
    while (video * (1000 / 30) <= elapsed) {
      const key = video % 60 === 0;
      publisher.video(key ? Math.round(5 * mean) : pSize, key, 60);
      video++;
    }
    while (audio * 20 <= elapsed) {
      publisher.audio();
      audio++;
    }
  }, 5);
  return () => clearInterval(timer);
}

async function probeUnit(mode: 'unit' | 'tcp', viewers: number, mbps: number, seconds: number, chunk: number): Promise<Record<string, unknown>> {
  const groupSize = 10;
  const groups = Math.ceil(viewers / groupSize);
  let h: Harness | null = null;
  const child = new Child();
  let stopStream = (): void => {};
  try {
    h = await startHarness({ groupsPerUnit: Math.max(50, groups), groupSize, udpMaxSessions: Math.max(1000, viewers), maxConnectionsPerIp: viewers + 10 }, { udp: { chunkPayload: chunk } });
    const channelId = 1;
    for (let g = 0; g < groups; g++) h.unit.groups.createGroup(channelId, g, g === 0 ? 'root' : 'member');
    const publisher = await h.publisher(channelId);
    stopStream = streamAt(publisher, mbps);
    const entries = [];
    for (let i = 0; i < viewers; i++) {
      const groupIndex = Math.floor(i / groupSize);
      const viewerId = `probe-${i}`;
      entries.push({ viewerId, groupIndex, ticket: await h.viewTicket(channelId, groupIndex, viewerId) });
    }
    await child.next('started');
    child.send({ t: 'viewers', url: `ws://127.0.0.1:${h.unit.port}`, unitId: 'u-udp', channelId, udp: mode === 'unit', entries });
    await child.next('ready', 120_000);
    log(`${viewers} viewers on ${mode === 'unit' ? 'UDP' : 'TCP'}; warming up`);
    await sleep(1000);

    const udpBytes = (): number => h!.unit.media.udp.sessions().reduce((sum, s) => sum + s.bytesSent, 0);
    child.send({ t: 'stats' });
    const statsBefore = await child.next('stats');
    const cpuBefore = process.cpuUsage();
    const threadsBefore = threadTimes();
    const eluBefore = performance.eventLoopUtilization();
    const bytesBefore = udpBytes();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const threadsAfter = threadTimes();
    const elu = performance.eventLoopUtilization(eluBefore);
    const bytesSent = udpBytes() - bytesBefore;
    child.send({ t: 'stats' });
    const statsAfter = await child.next('stats');

    const cores = (cpu.user + cpu.system) / 1e6 / elapsed;
    const receivedMbps = ((Number(statsAfter.bytes) - Number(statsBefore.bytes)) * 8) / elapsed / 1e6;
    const egressMbps = mode === 'unit' ? (bytesSent * 8) / elapsed / 1e6 : receivedMbps;
    return {
      viewersOnPath: statsAfter[mode === 'unit' ? 'udp' : 'viewers'],
      streamMbps: mbps,
      egressMbps: round(egressMbps, 1),
      receivedPayloadMbps: round(receivedMbps, 1),
      framesLostAtViewers: Number(statsAfter.framesLost) - Number(statsBefore.framesLost),
      cpu: { cores: round(cores, 3), userCores: round(cpu.user / 1e6 / elapsed, 3), systemCores: round(cpu.system / 1e6 / elapsed, 3), mainThreadElu: round(elu.utilization, 3) },
      threads: threadDelta(threadsBefore, threadsAfter, elapsed),
      coresPerViewer: round(cores / viewers, 5),
      viewersPerCoreAt2Mbps: round((viewers / cores) * (mbps / 2), 0),
      gbpsPerCore: round(egressMbps / 1000 / cores, 3),
    };
  } finally {
    stopStream();
    await child.stop();
    await h?.shutdown();
  }
}

/** One data channel, sent to as fast as it takes: node-datachannel's own ceiling. */
async function probeLoop(seconds: number, chunk: number): Promise<Record<string, unknown>> {
  const child = new Child();
  const pc = new PeerConnection('probe', { iceServers: [], bindAddress: '127.0.0.1' });
  try {
    await child.next('started');
    let answered = false;
    const held: { candidate: string; mid: string }[] = [];
    pc.onLocalDescription((sdp, type) => {
      if (type === 'offer') child.send({ t: 'answer', sdp });
    });
    pc.onLocalCandidate((candidate, mid) => {
      if (answered) child.send({ t: 'candidate', candidate, mid });
      else held.push({ candidate, mid });
    });
    child.on((m) => {
      if (m.t === 'answer') {
        pc.setRemoteDescription(String(m.sdp), 'answer');
        answered = true;
        for (const c of held.splice(0)) child.send({ t: 'candidate', ...c });
      } else if (m.t === 'candidate') {
        pc.addRemoteCandidate(String(m.candidate), String(m.mid));
      }
    });
    const dc = pc.createDataChannel('media', { unordered: true, maxRetransmits: 0 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the data channel did not open')), 10_000);
      dc.onOpen(() => (clearTimeout(timer), resolve()));
    });
    const message = Buffer.alloc(chunk + CHUNK_HEADER_BYTES, 7);
    const limit = 1024 * 1024;
    let messages = 0;
    let stopAt = 0;
    let sendCalls = 0;
    let sendSeconds = 0;
    const pump = (): void => {
      const t = performance.now();
      while (dc.bufferedAmount() < limit && performance.now() < stopAt) {
        for (let i = 0; i < 64; i++) dc.sendMessageBinary(message);
        messages += 64;
        sendCalls += 64;
      }
      sendSeconds += (performance.now() - t) / 1000;
      if (performance.now() < stopAt) setImmediate(pump);
    };
    dc.setBufferedAmountLowThreshold(limit / 2);
    await sleep(200);
    child.send({ t: 'stats' });
    const before = await child.next('stats');
    const cpuBefore = process.cpuUsage();
    const threadsBefore = threadTimes();
    const t0 = performance.now();
    stopAt = t0 + seconds * 1000;
    pump();
    await sleep(seconds * 1000 + 100);
    const elapsed = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const threadsAfter = threadTimes();
    await sleep(300);
    child.send({ t: 'stats' });
    const after = await child.next('stats');
    const cores = (cpu.user + cpu.system) / 1e6 / elapsed;
    const sentGbps = (messages * message.length * 8) / elapsed / 1e9;
    return {
      messageBytes: message.length,
      sentGbps: round(sentGbps, 3),
      receivedGbps: round(((Number(after.bytes) - Number(before.bytes)) * 8) / elapsed / 1e9, 3),
      receivedShare: round((Number(after.chunks) - Number(before.chunks)) / messages, 3),
      cpu: { cores: round(cores, 3), userCores: round(cpu.user / 1e6 / elapsed, 3), systemCores: round(cpu.system / 1e6 / elapsed, 3) },
      threads: threadDelta(threadsBefore, threadsAfter, elapsed),
      usPerSendCall: round((sendSeconds * 1e6) / sendCalls, 2),
      gbpsPerCore: round(sentGbps / cores, 3),
    };
  } finally {
    pc.close();
    await child.stop();
  }
}

export async function runUdpProbe(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      mode: { type: 'string', default: 'unit' },
      viewers: { type: 'string', default: '40' },
      mbps: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '6' },
      chunk: { type: 'string', default: '1100' },
    },
    strict: true,
  });
  const mode = values.mode as Mode;
  if (!['unit', 'tcp', 'loop'].includes(mode)) throw new Error(`--mode must be unit, tcp or loop, not ${mode}`);
  const viewers = Number(values.viewers);
  const mbps = Number(values.mbps);
  const seconds = Number(values.seconds);
  const chunk = Number(values.chunk);
  const host = { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version };
  const result = mode === 'loop' ? await probeLoop(seconds, chunk) : await probeUnit(mode, viewers, mbps, seconds, chunk);
  process.stdout.write(`${JSON.stringify({ probe: 'udp', mode, viewers: mode === 'loop' ? 1 : viewers, chunkPayload: chunk, seconds, host, ...result })}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  runUdpProbe(process.argv.slice(2)).then(
    () => process.exit(0),
    (error: unknown) => {
      log(error instanceof Error ? (error.stack ?? error.message) : String(error));
      process.exit(1);
    },
  );
}
