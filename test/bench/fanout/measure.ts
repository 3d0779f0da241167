/**
 * One scenario against one server (the unit, or the naive baseline), start to finish:
 *
 *   start the server → start the publisher, let it stream 1 s → RSS before viewers
 *   → viewers join (onair: one CSM join each) → the generator connects them, paced, and waits for
 *     each one's first keyframe → warm-up → window start: server CPU, machine CPU, generator mark
 *   → `measureSeconds` → window end: the same again, generator report, RSS with viewers
 *   → everything stopped by PID in `finally`, also on failure.
 *
 * mbpsPerCore = delivered Mbit/s (frame bytes the generator read in the window) ÷ server CPU cores
 * (its utime+stime over the window ÷ the window's wall time). rssKiBPerViewer = (RSS with viewers −
 * RSS before they joined) ÷ viewers, each RSS the median of samples (before: 6 over 0.5 s; with
 * viewers: every 0.5 s of the window), because V8's heap alone moves RSS by megabytes between GCs.
 * With several units (the relay scenario) CPU and RSS are summed over them and also kept per unit.
 * UDP viewers (udp-viewer.ts) add `udp`: how many reached the carrier (data channel or RTP track) and
 * when, what share of the window's frames came whole off it (completeShare = complete ÷ (complete +
 * given up)), and the unit's CPU per chunk read (the cost per packet the two carriers differ in).
 */
import { percentile } from './latency-histogram.js';
import { LoadGenerator, type LoadReport, type ViewerSpec } from './loadgen.js';
import { machineBusyShare, machineCpu, machineSoftirqCores, processCpuSeconds, processCpuTimes, processRssKiB, tcpSendQueueBytes, udpKernelCounters } from './proc-stats.js';
import { startPublisher, type RunningPublisher } from './publisher.js';
import { carrierOf, type Scenario } from './scenarios.js';
import type { Target } from './targets.js';
import { startUnitProfiler, type SelfTime, type UnitProfiler } from './unit-profiler.js';
import type { ClassCounters } from './viewer-stats.js';
import { mkdirSync } from 'node:fs';

export interface MeasureOptions {
  workers: number;
  warmupSeconds: number;
  measureSeconds: number;
  connectPerSec: number;
  /** profile the unit over the window into this folder (unit-profiler.ts) */
  cpuProfDir?: string | undefined;
  log: (message: string) => void;
}

export interface Measurement {
  source: string;
  streamMbps: number;
  videoScale: number;
  viewersConnected: number;
  deliveredMbps: number;
  expectedMbps: number;
  serverCpuCores: number;
  /** share of the server's CPU time spent in the kernel (stime) */
  serverKernelShare: number | null;
  mbpsPerCore: number;
  onTimeShare: number | null;
  missedShare: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  firstKeyframeP50Ms: number | null;
  firstKeyframeP95Ms: number | null;
  firstKeyframeMissing: number;
  rssBeforeKiB: number;
  rssAfterKiB: number;
  rssKiBPerViewer: number;
  loadGen: LoadReport;
  machineCpuShare: number;
  softirqCpuCores: number;
  publisherMaxLateMs: number | null;
  unitViewersAtCsm: number | null;
  slow: ClassCounters;
  normal: ClassCounters;
  windowSeconds: number;
  /** CPU cores of the target's other processes (the CSM) and of the publisher, over the window */
  helperCpuCores: Record<string, number>;
  /** per slow viewer: bytes the server's kernel holds for it at the window's end */
  slowSendQueueBytes: (number | null)[];
  /** the unit's top self-time functions over the window, when profiled */
  profileTop: SelfTime[] | null;
  /** per measured unit, in target.units order */
  units: UnitFigures[];
  /** where the CSM placed the viewers: unit id → viewers */
  viewersByUnit: Record<string, number>;
  /** per viewer tag (target placements' tag): the tagged viewers' counters and first keyframes */
  tagged: Record<string, TagFigures>;
  /** unit id → depth in the channel's tree, when the target knows it (relay.ts) */
  unitDepths: Record<string, number> | null;
  /** UDP viewers only */
  udp: UdpFigures | null;
  /** the unit's event-loop lag over the window, p99 and max (its /metrics; the root unit for relay-3); null for the naive server */
  unitLoopLagP99Ms: number | null;
  unitLoopLagMaxMs: number | null;
}

export interface UdpFigures {
  /** viewers on the carrier at the window's end */
  viewersOnUdp: number;
  /** viewers per path state at the window's end (viewer-transport.ts UdpState; `closed`) */
  states: Record<string, number>;
  /** frames complete off the carrier ÷ (complete + given up), over the window */
  completeShare: number | null;
  framesComplete: number;
  framesLost: number;
  /** viewers that lost any frame in the window, and the most one viewer lost */
  viewersWithLoss: number;
  lostMaxPerViewer: number;
  /** chunks for seqs already given up on, or repeated; chunks that were not chunks */
  lateChunks: number;
  badChunks: number;
  /** frames the WebSocket delivered in the window (viewers not, or no longer, on the carrier) */
  wsFramesInWindow: number;
  /** frames the WebSocket delivered before the switch, all viewers, since they connected */
  wsFramesBeforeUdp: number;
  /** connect start → `mode: udp` */
  openMsP50: number | null;
  openMsP95: number | null;
  openMsMax: number | null;
  /** chunks read in the window (data-channel messages or RTP packets), bytes with the chunks' own headers (not RTP's), Mbit/s */
  chunkMbps: number;
  /** chunks read per second of the window, all viewers */
  chunksPerSec: number;
  /** the unit's CPU µs per chunk read: its cost per packet (WebSocket and ingest work included); null without chunks */
  unitCpuUsPerChunk: number | null;
  /** over the window, from the unit's /metrics: video frames it skipped (a viewer's send buffer over its bound) and laps */
  unitVideoSkips: number | null;
  unitDrops: number | null;
  /** the unit's open UDP sessions per carrier at the window's end (its /metrics): whether it used the carrier asked for */
  unitUdpSessions: Record<string, number> | null;
  /**
   * chunks the unit handed to data channels and tracks per second of the window (its /metrics), all
   * carriers: set against `chunksPerSec`, what the network or the generator lost
   */
  unitChunksSentPerSec: number | null;
  /** over the window, the kernel's UDP receive drops and send-buffer errors (/proc/net/snmp of the namespace the bench runs in) */
  kernelUdpRcvbufErrors: number;
  kernelUdpInErrors: number;
  kernelUdpSndbufErrors: number;
}

/**
 * From the unit's /metrics: its monotonic per-channel counters (summed over channels), its open UDP
 * sessions per carrier, the chunks it sent to UDP viewers (all carriers), and its event-loop lag (prom-client's default metrics, whose histogram
 * restarts at every scrape: read at the window's start and end, the end's figures cover the window).
 * null when unreadable (the naive server).
 */
async function unitMetrics(
  port: number,
): Promise<{ videoSkips: number; drops: number; udpSessions: Record<string, number>; udpChunksSent: number; loopLagP99Ms: number; loopLagMaxMs: number } | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return null;
    const lines = (await response.text()).split('\n');
    const sum = (name: string): number =>
      lines.filter((l) => l.startsWith(`${name}{`)).reduce((s, l) => s + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    const udpSessions: Record<string, number> = {};
    for (const l of lines) {
      const carrier = /^onair_unit_udp_sessions_open\{.*\bcarrier="([a-z]+)".*\} (\d+)/.exec(l);
      if (carrier) udpSessions[carrier[1]!] = Number(carrier[2]);
    }
    return {
      videoSkips: sum('onair_unit_channel_video_skips'),
      drops: sum('onair_unit_channel_drops'),
      udpSessions,
      udpChunksSent: sum('onair_unit_udp_chunks_sent'),
      loopLagP99Ms: sum('nodejs_eventloop_lag_p99_seconds') * 1000,
      loopLagMaxMs: sum('nodejs_eventloop_lag_max_seconds') * 1000,
    };
  } catch {
    return null;
  }
}

export interface UnitFigures {
  id: string;
  pid: number;
  cpuCores: number;
  kernelShare: number | null;
  rssBeforeKiB: number;
  rssAfterKiB: number;
}

export interface TagFigures {
  counters: ClassCounters;
  firstKeyframeP50Ms: number | null;
  firstKeyframeP95Ms: number | null;
  firstKeyframeMissing: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
};
const round = (v: number | null, digits = 2): number | null => (v === null || !Number.isFinite(v) ? v : Number(v.toFixed(digits)));

/** The p-th percentile of first-keyframe times (NaN: none); null when it falls on a missing one. */
function keyframePercentile(values: Float64Array, p: number): number | null {
  const sorted = Array.from(values).map((v) => (Number.isNaN(v) ? Infinity : v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const v = sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return Number.isFinite(v) ? v : null;
}

type WindowUdpFigures = Omit<UdpFigures, 'unitCpuUsPerChunk' | 'unitVideoSkips' | 'unitDrops' | 'unitUdpSessions' | 'unitChunksSentPerSec' | 'kernelUdpRcvbufErrors' | 'kernelUdpInErrors' | 'kernelUdpSndbufErrors'>;

function udpFigures(u: NonNullable<LoadReport['udp']>, normal: ClassCounters, wallSeconds: number): WindowUdpFigures {
  const decided = normal.udpFrames + normal.udpLost;
  const opened = Array.from(u.openMs).filter((v) => !Number.isNaN(v));
  return {
    viewersOnUdp: u.states.udp ?? 0,
    states: u.states,
    completeShare: decided > 0 ? round(normal.udpFrames / decided, 4) : null,
    framesComplete: normal.udpFrames,
    framesLost: normal.udpLost,
    viewersWithLoss: u.viewersWithLoss,
    lostMaxPerViewer: u.lostMaxPerViewer,
    lateChunks: normal.udpLateChunks,
    badChunks: normal.udpBadChunks,
    wsFramesInWindow: normal.frames - normal.udpFrames,
    wsFramesBeforeUdp: u.wsFramesBeforeUdp,
    openMsP50: round(keyframePercentile(u.openMs, 50), 1),
    openMsP95: round(keyframePercentile(u.openMs, 95), 1),
    openMsMax: opened.length > 0 ? round(Math.max(...opened), 1) : null,
    chunkMbps: round((normal.udpChunkBytes * 8) / wallSeconds / 1e6)!,
    chunksPerSec: round(normal.udpChunks / wallSeconds, 0)!,
  };
}

/** RSS of every unit, the median of `samples` readings `everyMs` apart. */
async function medianRss(pids: number[], samples: number, everyMs: number): Promise<number[]> {
  const readings: number[][] = pids.map(() => []);
  for (let i = 0; i < samples; i++) {
    pids.forEach((pid, k) => readings[k]!.push(processRssKiB(pid)));
    await sleep(everyMs);
  }
  return readings.map(median);
}

/** `startTarget` starts the server(s) under test (targets.ts, relay.ts); measure() stops them. */
export async function measure(scenario: Scenario, startTarget: () => Promise<Target>, options: MeasureOptions): Promise<Measurement> {
  const { log } = options;
  let target: Target | null = null;
  let publisher: RunningPublisher | null = null;
  let generator: LoadGenerator | null = null;
  try {
    target = await startTarget();
    const kind = target.kind;
    const unitPids = target.units.map((u) => u.pid);
    const maxSeconds = 30 + options.warmupSeconds + options.measureSeconds + scenario.viewers / Math.max(1, options.connectPerSec) * 3;
    publisher = await startPublisher(target.publisherTarget, scenario.bitrateMbps, maxSeconds);
    const channelId = publisher.ready.channelId;
    await sleep(500);
    const unitRssBefore = await medianRss(unitPids, 6, 100);
    const rssBeforeKiB = unitRssBefore.reduce((s, v) => s + v, 0);

    const joinStarted = performance.now();
    const placements = await target.viewerUrls(channelId, scenario.viewers);
    if (kind === 'onair') log(`${placements.length} joins through the CSM in ${Math.round(performance.now() - joinStarted)} ms`);
    const viewersByUnit: Record<string, number> = {};
    for (const p of placements) if (p.unitId !== null) viewersByUnit[p.unitId] = (viewersByUnit[p.unitId] ?? 0) + 1;
    // Slow viewers go first, so worker 0 holds them whatever the worker count.
    const specs: ViewerSpec[] = placements.map((p, i) => ({ url: p.url, slow: i < scenario.slowViewers, tag: p.tag }));
    const workers = Math.max(1, Math.min(options.workers, Math.ceil(scenario.viewers / 50)));
    generator = LoadGenerator.start(workers);
    const perSecond = options.connectPerSec;
    const connectStarted = performance.now();
    const connected = await generator.connect(specs, {
      perSecond,
      slowBytesPerSec: (scenario.bitrateMbps * 1e6) / 8 / 10,
      transport: scenario.mode,
      carrier: carrierOf(scenario),
      settleTimeoutMs: 20_000 + (scenario.viewers / perSecond) * 1000,
    });
    log(`${kind}: ${connected.withKeyframe}/${connected.requested} viewers with a keyframe in ${Math.round(performance.now() - connectStarted)} ms (${connected.unsettled} unsettled), ${workers} generator processes`);

    await sleep(options.warmupSeconds * 1000);
    let profiler: UnitProfiler | null = null;
    if (options.cpuProfDir && kind === 'onair') {
      mkdirSync(options.cpuProfDir, { recursive: true });
      profiler = await startUnitProfiler(target.pid, target.stderr, options.cpuProfDir);
    }
    const helpers: Record<string, number> = { ...target.helperPids, publisher: publisher.pid };
    const unitCounters0 = kind === 'onair' ? await unitMetrics(target.mediaPort) : null;
    const kernelUdp0 = udpKernelCounters();
    const helperCpu0 = Object.fromEntries(Object.entries(helpers).map(([name, pid]) => [name, processCpuSeconds(pid)]));
    const cpu0 = unitPids.map(processCpuTimes);
    const machine0 = machineCpu();
    const wall0 = performance.now();
    await generator.mark();
    const windowEnd = performance.now() + options.measureSeconds * 1000;
    const rssWith: number[][] = unitPids.map(() => []);
    for (let i = 0; i < 1000 && performance.now() < windowEnd; i++) {
      await sleep(Math.min(500, windowEnd - performance.now()));
      unitPids.forEach((pid, k) => rssWith[k]!.push(processRssKiB(pid)));
    }
    const report = await generator.report();
    const wallSeconds = (performance.now() - wall0) / 1000;
    const cpu1 = unitPids.map(processCpuTimes);
    const units: UnitFigures[] = target.units.map((u, k) => {
      const seconds = cpu1[k]!.user + cpu1[k]!.system - cpu0[k]!.user - cpu0[k]!.system;
      return {
        id: u.id,
        pid: u.pid,
        cpuCores: round(seconds / wallSeconds, 3)!,
        kernelShare: seconds > 0 ? round((cpu1[k]!.system - cpu0[k]!.system) / seconds, 3) : null,
        rssBeforeKiB: unitRssBefore[k]!,
        rssAfterKiB: median(rssWith[k]!),
      };
    });
    const cpuSeconds = cpu1.reduce((s, c, k) => s + c.user + c.system - cpu0[k]!.user - cpu0[k]!.system, 0);
    const systemSeconds = cpu1.reduce((s, c, k) => s + c.system - cpu0[k]!.system, 0);
    const kernelShare = cpuSeconds > 0 ? systemSeconds / cpuSeconds : null;
    const machine1 = machineCpu();
    const kernelUdp1 = udpKernelCounters();
    const unitCounters1 = kind === 'onair' ? await unitMetrics(target.mediaPort) : null;
    const profileFile = `unit-${scenario.name}-${Date.now()}.cpuprofile`;
    const profileTop = profiler ? await profiler.stop(profileFile) : null;
    if (profileTop) log(`unit CPU profile of the window: ${options.cpuProfDir}/${profileFile}`);
    const machineCpuShare = machineBusyShare(machine0, machine1);
    const softirqCores = machineSoftirqCores(machine0, machine1);
    const helperCpuCores = Object.fromEntries(Object.entries(helpers).map(([name, pid]) => [name, round((processCpuSeconds(pid) - helperCpu0[name]!) / wallSeconds, 3)!]));
    const slowSendQueueBytes = report.slowLocalPorts.map((port) => (port > 0 ? tcpSendQueueBytes(target!.mediaPort, port) : null));
    const rssAfterKiB = units.reduce((s, u) => s + u.rssAfterKiB, 0);
    const unitViewersAtCsm = await target.unitViewers().catch(() => null);

    const { normal, slow } = report.counters;
    const deliveredMbps = ((normal.bytes + slow.bytes) * 8) / wallSeconds / 1e6;
    const serverCpuCores = cpuSeconds / wallSeconds;
    const expected = normal.frames + normal.missed;
    const tagged: Record<string, TagFigures> = {};
    for (const [tag, counters] of Object.entries(report.tagged)) {
      const firsts = report.firstKeyframeMsByTag[tag] ?? new Float64Array(0);
      tagged[tag] = {
        counters,
        firstKeyframeP50Ms: round(keyframePercentile(firsts, 50), 1),
        firstKeyframeP95Ms: round(keyframePercentile(firsts, 95), 1),
        firstKeyframeMissing: firsts.filter((v) => Number.isNaN(v)).length,
      };
    }
    const windowUdp = report.udp ? udpFigures(report.udp, normal, wallSeconds) : null;
    const udp = windowUdp
      ? {
          ...windowUdp,
          unitCpuUsPerChunk: windowUdp.chunksPerSec > 0 ? round((serverCpuCores * 1e6) / windowUdp.chunksPerSec, 2) : null,
          unitVideoSkips: unitCounters0 && unitCounters1 ? unitCounters1.videoSkips - unitCounters0.videoSkips : null,
          unitDrops: unitCounters0 && unitCounters1 ? unitCounters1.drops - unitCounters0.drops : null,
          unitUdpSessions: unitCounters1?.udpSessions ?? null,
          unitChunksSentPerSec: unitCounters0 && unitCounters1 ? round((unitCounters1.udpChunksSent - unitCounters0.udpChunksSent) / wallSeconds, 0) : null,
          kernelUdpRcvbufErrors: kernelUdp1.rcvbufErrors - kernelUdp0.rcvbufErrors,
          kernelUdpInErrors: kernelUdp1.inErrors - kernelUdp0.inErrors,
          kernelUdpSndbufErrors: kernelUdp1.sndbufErrors - kernelUdp0.sndbufErrors,
        }
      : null;
    if (udp) log(`on UDP ${udp.viewersOnUdp}/${scenario.viewers}, complete ${udp.completeShare}, connect → udp p95 ${udp.openMsP95} ms`);
    const ready = publisher.ready;
    const stopped = await publisher.stop();
    publisher = null;
    return {
      source: ready.source,
      streamMbps: round(ready.meanMbps, 3)!,
      videoScale: round(ready.videoScale, 3)!,
      viewersConnected: report.open,
      deliveredMbps: round(deliveredMbps)!,
      expectedMbps: round(ready.meanMbps * scenario.viewers)!,
      serverCpuCores: round(serverCpuCores, 3)!,
      serverKernelShare: round(kernelShare, 3),
      mbpsPerCore: round(serverCpuCores > 0 ? deliveredMbps / serverCpuCores : Infinity, 1)!,
      onTimeShare: expected > 0 ? round(normal.onTime / expected, 4) : null,
      missedShare: expected > 0 ? round(normal.missed / expected, 4) : null,
      latencyP50Ms: round(percentile(normal.latency, 50)),
      latencyP99Ms: round(percentile(normal.latency, 99)),
      firstKeyframeP50Ms: round(keyframePercentile(report.firstKeyframeMs, 50), 1),
      firstKeyframeP95Ms: round(keyframePercentile(report.firstKeyframeMs, 95), 1),
      firstKeyframeMissing: report.firstKeyframeMs.filter((v) => Number.isNaN(v)).length,
      rssBeforeKiB,
      rssAfterKiB,
      rssKiBPerViewer: round((rssAfterKiB - rssBeforeKiB) / scenario.viewers, 1)!,
      loadGen: report,
      machineCpuShare: round(machineCpuShare, 3)!,
      softirqCpuCores: round(softirqCores, 3)!,
      publisherMaxLateMs: stopped ? round(stopped.maxLateMs, 1) : null,
      unitViewersAtCsm,
      slow,
      normal,
      windowSeconds: round(wallSeconds, 2)!,
      helperCpuCores,
      slowSendQueueBytes,
      profileTop,
      units,
      viewersByUnit,
      tagged,
      unitDepths: target.unitDepths ?? null,
      udp,
      unitLoopLagP99Ms: unitCounters1 ? round(unitCounters1.loopLagP99Ms, 1) : null,
      unitLoopLagMaxMs: unitCounters1 ? round(unitCounters1.loopLagMaxMs, 1) : null,
    };
  } finally {
    await generator?.close().catch(() => {});
    await publisher?.stop().catch(() => {});
    await target?.stop().catch(() => {});
  }
}
