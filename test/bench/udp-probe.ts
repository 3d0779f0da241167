/**
 * Where a unit's time goes for UDP viewers (one JSON object on stdout; progress on stderr).
 *
 *   node dist/test/bench/udp-probe.js [--mode unit|tcp|loop|track-loop] [--viewers 40] [--mbps 2] [--seconds 6] [--chunk 1100]
 *
 * unit  a real StreamingUnit in this process (no CSM), one publisher here streaming `mbps` (30 fps
 *       video with a keyframe every 2 s, 50 fps audio), `viewers` real client viewers on UDP in a child
 *       process (their receive work is theirs). Measured over `seconds` once all are on UDP: this
 *       process's CPU (all threads, and per thread from /proc), the main thread's event-loop use,
 *       the bytes the data channels took, and what the viewers got.
 * tcp   the same with the viewers on TCP (WebSocket), for comparison.
 * loop  node-datachannel alone: one data channel, messages of `chunk` + 12 bytes sent in a tight
 *       loop (kept under 1 MiB of bufferedAmount) for `seconds`: the library's ceiling per core.
 * track-loop  the same path through an RTP video track instead (SRTP, no SCTP: the route the issue
 *       names as cheaper): packets of a 12-byte RTP header + `chunk` bytes paced at `mbps` (one
 *       viewer's worth is 2; default here 400), counted as the child receives them; `gbpsPerCore` is
 *       what arrived ÷ this process's CPU, `sentGbps` ÷ `cpu.cores` the sending cost alone. Measured
 *       (2-vCPU VM, one run each): 100 Mbit/s paced, all received (receivedGbps 0.098), 0.87 Gbit/s
 *       per core; 400 paced, all received (0.393), 1.52 per core; `loop` 0.53 per core in the same
 *       session. The child keeps a reference to its receiving Track: node-datachannel cancels the
 *       onMessage callbacks of a Track that is garbage-collected, without a word. Before it did, the
 *       child received all at 20 Mbit/s and less the more was offered (7 Mbit/s of 400) while the
 *       kernel delivered every packet to its socket; that had read as a limit of one JavaScript
 *       callback per RTP packet, but it was the collector ending the callbacks.
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
import { PeerConnection, Video } from 'node-datachannel';
import { CHUNK_HEADER_BYTES } from '../../protocol/frame-chunks.js';
import { startHarness, type Harness, type TestPublisher } from '../udp/udp-harness.js';

type Mode = 'unit' | 'tcp' | 'loop' | 'track-loop';

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
/** Offer from `pc`, answer from the child (`answerWith`: which of its answerers), candidates both ways. */
function signalWithChild(pc: PeerConnection, child: Child, answerWith: 'answer' | 'answer-track'): void {
  let answered = false;
  const held: { candidate: string; mid: string }[] = [];
  pc.onLocalDescription((sdp, type) => {
    if (type === 'offer') child.send({ t: answerWith, sdp });
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
}

interface LoopWindow {
  elapsed: number;
  cores: number;
  cpu: { cores: number | null; userCores: number | null; systemCores: number | null };
  threads: Record<string, number>;
  receivedBytes: number;
  receivedMessages: number;
}

/** Calls `start(stopAt)` and measures this process's CPU, its threads, and what the child counted, over `seconds`. */
async function loopWindow(child: Child, seconds: number, start: (stopAt: number) => void): Promise<LoopWindow> {
  await sleep(200);
  child.send({ t: 'stats' });
  const before = await child.next('stats');
  const cpuBefore = process.cpuUsage();
  const threadsBefore = threadTimes();
  const t0 = performance.now();
  start(t0 + seconds * 1000);
  await sleep(seconds * 1000 + 100);
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const threadsAfter = threadTimes();
  await sleep(300);
  child.send({ t: 'stats' });
  const after = await child.next('stats');
  const cores = (cpu.user + cpu.system) / 1e6 / elapsed;
  return {
    elapsed,
    cores,
    cpu: { cores: round(cores, 3), userCores: round(cpu.user / 1e6 / elapsed, 3), systemCores: round(cpu.system / 1e6 / elapsed, 3) },
    threads: threadDelta(threadsBefore, threadsAfter, elapsed),
    receivedBytes: Number(after.bytes) - Number(before.bytes),
    receivedMessages: Number(after.chunks) - Number(before.chunks),
  };
}

/** A loop's figures; `gbpsPerCore` of what was sent or of what the child received. */
function loopResult(w: LoopWindow, messageBytes: number, messages: number, sendSeconds: number, perCoreOf: 'sent' | 'received'): Record<string, unknown> {
  const sentGbps = (messages * messageBytes * 8) / w.elapsed / 1e9;
  const receivedGbps = (w.receivedBytes * 8) / w.elapsed / 1e9;
  return {
    messageBytes,
    sentGbps: round(sentGbps, 3),
    receivedGbps: round(receivedGbps, 3),
    receivedShare: round(w.receivedMessages / messages, 3),
    cpu: w.cpu,
    threads: w.threads,
    usPerSendCall: round((sendSeconds * 1e6) / messages, 2),
    gbpsPerCore: round((perCoreOf === 'sent' ? sentGbps : receivedGbps) / w.cores, 3),
  };
}

async function probeLoop(seconds: number, chunk: number): Promise<Record<string, unknown>> {
  const child = new Child();
  const pc = new PeerConnection('probe', { iceServers: [], bindAddress: '127.0.0.1' });
  try {
    await child.next('started');
    signalWithChild(pc, child, 'answer');
    const dc = pc.createDataChannel('media', { unordered: true, maxRetransmits: 0 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the data channel did not open')), 10_000);
      dc.onOpen(() => (clearTimeout(timer), resolve()));
    });
    const message = Buffer.alloc(chunk + CHUNK_HEADER_BYTES, 7);
    const limit = 1024 * 1024;
    let messages = 0;
    let sendSeconds = 0;
    dc.setBufferedAmountLowThreshold(limit / 2);
    const w = await loopWindow(child, seconds, (stopAt) => {
      const pump = (): void => {
        const t = performance.now();
        while (dc.bufferedAmount() < limit && performance.now() < stopAt) {
          for (let i = 0; i < 64; i++) dc.sendMessageBinary(message);
          messages += 64;
        }
        sendSeconds += (performance.now() - t) / 1000;
        if (performance.now() < stopAt) setImmediate(pump);
      };
      pump();
    });
    // SCTP paces the loop to what arrives: per core of what was sent.
    return loopResult(w, message.length, messages, sendSeconds, 'sent');
  } finally {
    pc.close();
    await child.stop();
  }
}

/** RTP over a sendonly VP8 track to the child, paced at `mbps`; what the child receives counts. */
async function probeTrackLoop(seconds: number, chunk: number, mbps: number): Promise<Record<string, unknown>> {
  const child = new Child();
  const pc = new PeerConnection('probe', { iceServers: [], bindAddress: '127.0.0.1' });
  try {
    await child.next('started');
    const ssrc = 0x0a11ce;
    const video = new Video('video', 'SendOnly');
    video.addVP8Codec(96);
    video.addSSRC(ssrc, 'probe', 'probe-stream', 'probe-track');
    const track = pc.addTrack(video);
    signalWithChild(pc, child, 'answer-track');
    pc.setLocalDescription();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the track did not open')), 10_000);
      track.onOpen(() => (clearTimeout(timer), resolve()));
    });
    // RTP by hand (RFC 3550 §5.1): V=2, PT 96, sequence number, 90 kHz timestamp, SSRC.
    const packet = Buffer.alloc(12 + chunk, 7);
    packet[0] = 0x80;
    packet[1] = 96;
    packet.writeUInt32BE(ssrc, 8);
    let seq = 0;
    let packets = 0;
    let sendSeconds = 0;
    const bytesPerMs = (mbps * 1e6) / 8 / 1000;
    const w = await loopWindow(child, seconds, (stopAt) => {
      const t0 = performance.now();
      const pump = (): void => {
        const t = performance.now();
        const due = Math.min(stopAt, t) - t0;
        while (packets * packet.length < due * bytesPerMs) {
          packet.writeUInt16BE(seq, 2);
          packet.writeUInt32BE(Math.floor(due * 90) >>> 0, 4);
          seq = (seq + 1) & 0xffff;
          track.sendMessageBinary(packet);
          packets++;
        }
        sendSeconds += (performance.now() - t) / 1000;
        // A timer, not setImmediate: between bursts this process sleeps, so its CPU is the sending.
        if (performance.now() < stopAt) setTimeout(pump, 1);
      };
      pump();
    });
    // Nothing paces RTP to the receiver: per core of what arrived.
    return { pacedMbps: mbps, ...loopResult(w, packet.length, packets, sendSeconds, 'received') };
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
      mbps: { type: 'string' },
      seconds: { type: 'string', default: '6' },
      chunk: { type: 'string', default: '1100' },
    },
    strict: true,
  });
  const mode = values.mode as Mode;
  if (!['unit', 'tcp', 'loop', 'track-loop'].includes(mode)) throw new Error(`--mode must be unit, tcp, loop or track-loop, not ${mode}`);
  const viewers = Number(values.viewers);
  // unit/tcp: one stream's bitrate (2); track-loop: the pace of the whole loop (400).
  const mbps = values.mbps === undefined ? (mode === 'track-loop' ? 400 : 2) : Number(values.mbps);
  const seconds = Number(values.seconds);
  const chunk = Number(values.chunk);
  const host = { cpus: availableParallelism(), model: cpus()[0]?.model ?? 'unknown', node: process.version };
  const result =
    mode === 'loop' ? await probeLoop(seconds, chunk) : mode === 'track-loop' ? await probeTrackLoop(seconds, chunk, mbps) : await probeUnit(mode as 'unit' | 'tcp', viewers, mbps, seconds, chunk);
  const single = mode === 'loop' || mode === 'track-loop';
  process.stdout.write(`${JSON.stringify({ probe: 'udp', mode, viewers: single ? 1 : viewers, chunkPayload: chunk, seconds, host, ...result })}\n`);
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
