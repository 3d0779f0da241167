/**
 * `onair bench fanout [scenario|group …] [options]`: one real unit (and CSM) fanning a replayed
 * 2 Mbit/s, 30 fps stream out to hundreds or thousands of viewers, against a naive `ws` broadcast
 * server serving the same load in the same run. One JSON line per scenario on stdout; logs on stderr.
 * Scenarios: scenarios.ts (default: the tcp group). Method: measure.ts. Stream: stream.ts, fixture.ts.
 *
 * Keys the issue asks for, per line: bench, scenario, mode, viewers, bitrateMbps, mbpsPerCore,
 * onTimeShare, addedLatencyP50Ms, addedLatencyP99Ms, firstKeyframeP95Ms, rssKiBPerViewer,
 * loadGenCpuShare, and for TCP baselineMbpsPerCore and baselineRatio. The rest says how far to trust
 * them: whether the generator or the machine ran out of CPU, what was delivered against expected.
 * Every line also says where it ran: `netns` (the bench's own network namespace, netns.ts; false
 * with --host-net) and `tcpNotsentLowat` (as read there). relay-3 adds `hops` (relay.ts).
 *
 * UDP rows (udp-50/100/150 on the RTP carrier, udp-dc-100 on a data channel) have the same keys (no
 * baseline) plus carrier, completeShare, udpViewers and a `udp` object (udp-viewer.ts, measure.ts).
 * Run as a group a carrier's rows go up in viewers and stop at the first row where the generator or
 * the machine ran out of CPU (its bigger rows are emitted as skipped); then one more line, scenario
 * `udp`, gives the unit's per-core efficiency over the rows that did not saturate, per carrier
 * (udp-summary.ts).
 */
import { parseArgs } from 'node:util';
import { measure, type Measurement, type MeasureOptions } from './measure.js';
import { percentile } from './latency-histogram.js';
import { hostNetInfo, insideBenchNetns, rerunInOwnNetns, setUpBenchNetns, type NetInfo } from './netns.js';
import { machineCores } from './proc-stats.js';
import { hopFigures, RELAY_DEFINITIONS, startRelayTarget } from './relay.js';
import { carrierOf, DEFAULT_WARMUP_SECONDS, selectScenarios, type Scenario } from './scenarios.js';
import { startNaiveTarget, startOnairTarget } from './targets.js';
import { UDP_TARGETS, UdpRows } from './udp-summary.js';
import { ON_TIME_MS } from './viewer-stats.js';

const log = (message: string): void => void process.stderr.write(`[bench fanout] ${message}\n`);
const round = (v: number | null, digits = 2): number | null => (v === null || !Number.isFinite(v) ? v : Number(v.toFixed(digits)));

const TARGETS = { mbpsPerCore: 4000, onTimeShare: 0.99, addedLatencyP99MsAt1000: 10, firstKeyframeP95Ms: 100, rssKiBPerViewer: 50 };

const DEFINITIONS = {
  mbpsPerCore: 'frame bytes read by the generator in the window, Mbit/s, ÷ unit CPU cores (utime+stime from /proc over the window ÷ wall)',
  onTimeShare: `frames read ≤ ${ON_TIME_MS} ms after the publisher sent them ÷ (frames read + sequence gaps), normal viewers`,
  addedLatency: "publisher send stamp → generator read, loopback: the unit's added latency plus two loopback hops and the generator's read delay (an upper bound)",
  firstKeyframe: "generator's connect start → end of the viewer's first keyframe",
  rssKiBPerViewer: '(unit VmRSS with viewers − before they joined) ÷ viewers',
  loadGenCpuShare: 'generator CPU s ÷ (window wall s × generator processes); near 1 the generator limits the run',
  stillGettingAudio: 'the slow viewer read ≥ 45 of the 50 audio frames/s, with audio p50 latency ≤ 1 s (live audio), and was not closed',
  latencyCap: 'latencies over 120 s read as 120000',
  latencyByKind: 'addedLatency of audio frames and of video keyframes apart, normal viewers',
  unitLoopLag: "the unit's event-loop lag over the window, p99 and max (prom-client's monitorEventLoopDelay in its /metrics, 10 ms resolution): how long its loop stayed busy at a stretch, mostly fan-out passes; a frame arriving then waits",
};

const UDP_DEFINITIONS = {
  ...DEFINITIONS,
  carrier: "how the chunks travel (udp-start's carrier): `rtp`, one RTP packet each on a sendonly VP8 track (SRTP); `datachannel`, one message each on an unordered data channel (SCTP over DTLS)",
  mbpsPerCore: 'frame bytes of the frames the generator got whole off the carrier (or read on the WebSocket) in the window, Mbit/s, ÷ unit CPU cores (utime+stime from /proc over the window ÷ wall)',
  onTimeShare: `frames complete ≤ ${ON_TIME_MS} ms after the publisher sent them ÷ (frames complete + frames given up), normal viewers`,
  completeShare: 'frames off the carrier with every chunk arrived ÷ (those + frames given up: not whole once 32 newer seqs were seen, incl. frames the unit skipped for a full send buffer), over the window',
  udpViewers: "viewers the unit had switched to the carrier (`mode: udp`) at the window's end",
  addedLatency: "publisher send stamp → the generator reading the frame's last chunk off the carrier, loopback: unit, SRTP (rtp) or DTLS/SCTP (datachannel) both ends, the generator's read delay (an upper bound)",
  firstKeyframe: "generator's connect start → end of the viewer's first keyframe (on the WebSocket: every socket starts on TCP)",
  loadGenCpuShare: "generator CPU s (every thread: node-datachannel's DTLS/SRTP/SCTP/ICE threads too, so a process can pass 1) ÷ (window wall s × generator processes); loadGenMainThreadShareMax: the busiest JavaScript thread",
  udpOpenMs: "connect start → the unit's `mode: udp` (WebSocket, udp-start, offer/answer, ICE, DTLS, and SCTP on a data channel)",
  unitCpuUsPerChunk: "unit CPU µs over the window ÷ chunks the generator read off the carrier (udp.chunksPerSec): the unit's cost per packet, WebSocket and ingest work included",
};

const otherCores = (m: Measurement): number | null =>
  round(m.machineCpuShare * machineCores() - m.serverCpuCores - m.loadGen.cpuSeconds / m.loadGen.wallSeconds - Object.values(m.helperCpuCores).reduce((s, v) => s + v, 0), 2);

function line(scenario: Scenario, m: Measurement, baseline: Measurement | null, net: NetInfo): Record<string, unknown> {
  const lg = m.loadGen;
  const saturated = lg.cpuShareMax > 0.9 ? 'generator' : m.machineCpuShare > 0.95 ? 'machine' : null;
  const out: Record<string, unknown> = {
    bench: 'fanout',
    scenario: scenario.name,
    mode: scenario.mode,
    ...(scenario.mode === 'udp' ? { carrier: carrierOf(scenario) } : {}),
    viewers: scenario.viewers,
    bitrateMbps: scenario.bitrateMbps,
    mbpsPerCore: m.mbpsPerCore,
    onTimeShare: m.onTimeShare,
    addedLatencyP50Ms: m.latencyP50Ms,
    addedLatencyP99Ms: m.latencyP99Ms,
    firstKeyframeP95Ms: m.firstKeyframeP95Ms,
    rssKiBPerViewer: m.rssKiBPerViewer,
    loadGenCpuShare: round(lg.cpuShare, 3),
  };
  // Which frames make the tail: audio (small, most frames) or keyframes (the longest fan-out); and
  // how long the unit's own loop was busy at a stretch (a frame arriving meanwhile waits).
  out.latencyByKind = Object.fromEntries(
    Object.entries({ audio: m.normal.audioLatency, keyframe: m.normal.keyframeLatency }).map(([kind, h]) => [kind, { p50Ms: round(percentile(h, 50)), p99Ms: round(percentile(h, 99)) }]),
  );
  out.unitLoopLagP99Ms = m.unitLoopLagP99Ms;
  out.unitLoopLagMaxMs = m.unitLoopLagMaxMs;
  if (scenario.mode === 'udp') {
    out.completeShare = m.udp?.completeShare ?? null;
    out.udpViewers = m.udp?.viewersOnUdp ?? 0;
  }
  if (scenario.mode === 'tcp' && baseline) {
    out.baselineMbpsPerCore = baseline.mbpsPerCore;
    out.baselineRatio = round(m.mbpsPerCore / baseline.mbpsPerCore, 2);
  }
  Object.assign(out, {
    deliveredMbps: m.deliveredMbps,
    expectedMbps: m.expectedMbps,
    unitCpuCores: m.serverCpuCores,
    unitCpuKernelShare: m.serverKernelShare,
    missedShare: m.missedShare,
    firstKeyframeP50Ms: m.firstKeyframeP50Ms,
    firstKeyframeMissing: m.firstKeyframeMissing,
    viewersConnected: m.viewersConnected,
    unitViewersAtCsm: m.unitViewersAtCsm,
    closes: lg.closes,
    connectRetries: lg.retries,
    loadGenCpuShareMax: round(lg.cpuShareMax, 3),
    ...(scenario.mode === 'udp' ? { loadGenMainThreadShareMax: round(lg.mainThreadShareMax, 3) } : {}),
    loadGenCpuCores: round(lg.cpuSeconds / lg.wallSeconds, 3),
    loadGenWorkers: lg.workers,
    loadGenLoopDelayP99Ms: round(lg.loopDelayP99MsMax, 1),
    machineCpuShare: m.machineCpuShare,
    // The kernel's network softirq work for all loopback traffic (both ends); with tick accounting it
    // is also inside the CPU of the process it interrupted (proc-stats.ts), mostly the unit's.
    softirqCpuCores: m.softirqCpuCores,
    csmCpuCores: m.helperCpuCores.csm ?? null,
    publisherCpuCores: m.helperCpuCores.publisher ?? null,
    // Busy cores of the machine that were none of the bench's processes: anything else running on
    // the box (a build, other tests). High: the run was disturbed.
    otherCpuCores: otherCores(m),
    cores: machineCores(),
    saturated,
    ...net,
  });
  if (m.udp) out.udp = m.udp;
  if (scenario.kind === 'relay') {
    out.hops = hopFigures(m);
    out.viewersByUnit = m.viewersByUnit;
  }
  if (scenario.slowViewers > 0) {
    const s = m.slow;
    const slowCloses = Object.fromEntries(Object.entries(lg.closes).filter(([k]) => k.startsWith('slow:')));
    out.slowViewer = {
      viewers: scenario.slowViewers,
      readKbps: round((s.bytes * 8) / m.windowSeconds / 1e3 / scenario.slowViewers, 1),
      audioFramesPerSec: round(s.audioFrames / m.windowSeconds / scenario.slowViewers, 1),
      videoFramesPerSec: round(s.videoFrames / m.windowSeconds / scenario.slowViewers, 1),
      audioLatencyP50Ms: round(percentile(s.audioLatency, 50)),
      audioLatencyP99Ms: round(percentile(s.audioLatency, 99)),
      stillGettingAudio: s.audioFrames / m.windowSeconds / scenario.slowViewers >= 45 && (percentile(s.audioLatency, 50) ?? Infinity) <= 1000 && Object.keys(slowCloses).length === 0,
      unitKernelSendQueueBytes: m.slowSendQueueBytes,
      closes: slowCloses,
    };
  }
  if (baseline) {
    out.baseline = {
      server: 'ws WebSocketServer, for-each-client send',
      mbpsPerCore: baseline.mbpsPerCore,
      deliveredMbps: baseline.deliveredMbps,
      cpuCores: baseline.serverCpuCores,
      cpuKernelShare: baseline.serverKernelShare,
      onTimeShare: baseline.onTimeShare,
      addedLatencyP50Ms: baseline.latencyP50Ms,
      addedLatencyP99Ms: baseline.latencyP99Ms,
      firstKeyframeP95Ms: baseline.firstKeyframeP95Ms,
      rssKiBPerViewer: baseline.rssKiBPerViewer,
      viewersConnected: baseline.viewersConnected,
      loadGenCpuShare: round(baseline.loadGen.cpuShare, 3),
      machineCpuShare: baseline.machineCpuShare,
      softirqCpuCores: baseline.softirqCpuCores,
      otherCpuCores: otherCores(baseline),
      closes: baseline.loadGen.closes,
    };
  }
  Object.assign(out, {
    source: m.source,
    streamMbps: m.streamMbps,
    videoScale: m.videoScale,
    windowSeconds: m.windowSeconds,
    publisherMaxLateMs: m.publisherMaxLateMs,
    ...(m.profileTop ? { profiled: true, unitProfileTop: m.profileTop } : {}),
    ...(scenario.mode === 'udp'
      ? {
          targets: UDP_TARGETS,
          met: {
            mbpsPerCore: m.mbpsPerCore >= UDP_TARGETS.mbpsPerCore,
            completeShare: (m.udp?.completeShare ?? 0) >= UDP_TARGETS.completeShare,
            firstKeyframeP95Ms: (m.firstKeyframeP95Ms ?? Infinity) <= UDP_TARGETS.firstKeyframeP95Ms,
          },
          definitions: UDP_DEFINITIONS,
        }
      : {
          targets: TARGETS,
          met: {
            mbpsPerCore: m.mbpsPerCore >= TARGETS.mbpsPerCore,
            onTimeShare: (m.onTimeShare ?? 0) >= TARGETS.onTimeShare,
            addedLatencyP99Ms: scenario.viewers <= 1000 ? (m.latencyP99Ms ?? Infinity) <= TARGETS.addedLatencyP99MsAt1000 : null,
            firstKeyframeP95Ms: (m.firstKeyframeP95Ms ?? Infinity) <= TARGETS.firstKeyframeP95Ms,
            rssKiBPerViewer: m.rssKiBPerViewer <= TARGETS.rssKiBPerViewer,
          },
          definitions: scenario.kind === 'relay' ? { ...DEFINITIONS, ...RELAY_DEFINITIONS } : DEFINITIONS,
        }),
  });
  return out;
}

export async function runFanoutBench(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      workers: { type: 'string', default: '2' },
      warmup: { type: 'string' },
      seconds: { type: 'string', default: '8' },
      'connect-per-sec': { type: 'string', default: '0' },
      'no-baseline': { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      'host-net': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: onair bench fanout [tcp|udp|relay|all|<scenario> …] [--seconds 8] [--warmup 2 (tcp-slow-500: 40)] [--workers 2]\n' +
        '       [--connect-per-sec N (default max(200, viewers/2); udp rows: 25)] [--no-baseline] [--cpu-prof DIR (unit profile)]\n' +
        "       [--host-net (the host's loopback; default: a private network namespace with tcp_notsent_lowat=131072, as root)]\n",
    );
    return;
  }
  const scenarios = selectScenarios(positionals);
  if (!values['host-net'] && !insideBenchNetns()) {
    const code = await rerunInOwnNetns(args, log);
    if (code !== 0) throw new Error(`the bench in its network namespace exited with ${code}`);
    return;
  }
  const net: NetInfo = insideBenchNetns() ? setUpBenchNetns() : hostNetInfo();
  log(net.netns ? `in the bench's network namespace, tcp_notsent_lowat=${net.tcpNotsentLowat}` : `on the host's network, tcp_notsent_lowat=${net.tcpNotsentLowat}`);
  const emit = (line: Record<string, unknown>): void => void process.stdout.write(`${JSON.stringify(line)}\n`);
  // Ctrl-C or a kill: exit through process.exit so the 'exit' hooks kill every child by PID (the CSM
  // and unit have no IPC channel that would end them with us).
  const interrupted = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping`);
    process.exit(130);
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const started = performance.now();
  let failures = 0;
  const udpRows = new UdpRows();
  for (const scenario of scenarios) {
    if (scenario.notBuilt) {
      emit({ bench: 'fanout', scenario: scenario.name, mode: scenario.mode, viewers: scenario.viewers, bitrateMbps: scenario.bitrateMbps, skipped: scenario.notBuilt, ...net });
      continue;
    }
    const skipped = scenario.mode === 'udp' ? udpRows.skipReason(scenario.name, carrierOf(scenario), scenario.viewers) : null;
    if (skipped) {
      log(`${scenario.name}: skipped, ${skipped}`);
      emit({ bench: 'fanout', scenario: scenario.name, mode: scenario.mode, carrier: carrierOf(scenario), viewers: scenario.viewers, bitrateMbps: scenario.bitrateMbps, skipped, ...net });
      continue;
    }
    const options: MeasureOptions = {
      workers: Number(values.workers),
      warmupSeconds: values.warmup !== undefined ? Number(values.warmup) : (scenario.warmupSeconds ?? DEFAULT_WARMUP_SECONDS),
      measureSeconds: Number(values.seconds),
      connectPerSec: Number(values['connect-per-sec']) || scenario.connectPerSec || Math.max(200, scenario.viewers / 2),
      cpuProfDir: values['cpu-prof'],
      log: (message) => log(`${scenario.name}: ${message}`),
    };
    try {
      log(`${scenario.name}: ${scenario.viewers} ${scenario.mode} viewers at ${scenario.bitrateMbps} Mbit/s${scenario.slowViewers ? `, ${scenario.slowViewers} slow` : ''}, warm-up ${options.warmupSeconds} s`);
      const startTarget = scenario.kind === 'relay' ? () => startRelayTarget(scenario, options.log) : () => startOnairTarget({ viewers: scenario.viewers, log: options.log });
      const onair = await measure(scenario, startTarget, options);
      log(`${scenario.name}: unit ${onair.mbpsPerCore} Mbit/s per core, on time ${onair.onTimeShare}, p99 ${onair.latencyP99Ms} ms, generator ${round(onair.loadGen.cpuShare, 2)}`);
      let baseline: Measurement | null = null;
      if (scenario.baseline && !values['no-baseline']) {
        baseline = await measure(scenario, startNaiveTarget, { ...options, cpuProfDir: undefined });
        log(`${scenario.name}: naive ws ${baseline.mbpsPerCore} Mbit/s per core, on time ${baseline.onTimeShare}, generator ${round(baseline.loadGen.cpuShare, 2)}`);
      }
      const result = line(scenario, onair, baseline, net);
      if (result.saturated) log(`${scenario.name}: WARNING the ${String(result.saturated)} ran out of CPU: the figures measure it, not only the unit`);
      emit(result);
      if (scenario.mode === 'udp') {
        udpRows.add({
          scenario: scenario.name,
          viewers: scenario.viewers,
          carrier: carrierOf(scenario),
          deliveredMbps: onair.deliveredMbps,
          unitCpuCores: onair.serverCpuCores,
          completeShare: onair.udp?.completeShare ?? null,
          saturated: (result.saturated as string | null) ?? null,
        });
      }
    } catch (error) {
      failures++;
      log(`${scenario.name}: FAILED ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      emit({ bench: 'fanout', scenario: scenario.name, mode: scenario.mode, viewers: scenario.viewers, bitrateMbps: scenario.bitrateMbps, error: String(error instanceof Error ? error.message : error), ...net });
    }
  }
  if (scenarios.some((s) => s.mode === 'udp' && !s.notBuilt)) emit(udpRows.summary(net));
  log(`done in ${Math.round((performance.now() - started) / 1000)} s`);
  if (failures > 0) throw new Error(`${failures} fanout scenario(s) failed`);
}
