/**
 * One load-generator process (forked by loadgen.ts): holds many viewers, counts what they receive
 * (viewer-stats.ts) and reports its own CPU time and event-loop delay, so the bench can tell a
 * saturated generator from a saturated unit. Commands arrive over IPC: connect (paced), mark (start
 * of the window), report (end of it), close.
 *
 * UDP viewers (udp-viewer.ts) are settled once they have their first keyframe and the unit has
 * switched them to their carrier, data channel or RTP track (or refused, or they gave up). A process that made peer
 * connections closes them and runs node-datachannel's cleanup before it exits (close, SIGTERM, or
 * the parent gone).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoadGenCommand, LoadGenReply, WorkerReport, WorkerUdp } from './loadgen.js';
import { threadCpuSeconds } from './proc-stats.js';
import { ViewerStats, type ViewerTrack } from './viewer-stats.js';
import { cleanupTransports, createViewerConnection, prepareTransport, type Transport, type ViewerConnection } from './viewer-transport.js';

/** a ticket's group may reach the unit a moment after the CSM answered the join */
const RETRY_CODES = new Set([4418]);
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 250;
const PACE_MS = 10;
/** after close: time for the sockets and peer connections to go before cleanup and exit */
const EXIT_DELAY_MS = 200;

interface Viewer {
  track: ViewerTrack;
  connection: ViewerConnection | null;
  closedCode: number | null;
  opened: boolean;
  /** udp: ms from connect start to the unit's `mode: udp`; NaN until then */
  udpOpenMs: number;
  /** udp: seqs given up on since the connect, and at the window's start */
  udpLost: number;
  udpLostAtMark: number;
}

const reply = (message: LoadGenReply): void => void process.send?.(message);
const stats = new ViewerStats();
const viewers: Viewer[] = [];
const closes: Record<string, number> = {};
let closing = false;
let retries = 0;
let transportInUse: Transport = 'tcp';
let cpuMark = process.cpuUsage();
let mainThreadMark = threadCpuSeconds(process.pid, process.pid);
let wallMark = performance.now();
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

type Connect = Extract<LoadGenCommand, { type: 'connect' }>;

function openViewer(spec: Connect['viewers'][number], command: Connect, viewer: Viewer, attempt: number): void {
  viewer.track.connectStartedAt = performance.now();
  viewer.track.lastSeq = -1;
  const connection = createViewerConnection(
    command.transport,
    spec.url,
    {
      onOpen: () => void (viewer.opened = true),
      onBinary: (message, readAt) => stats.frameArrived(viewer.track, message, readAt),
      onUdpFrame: (frame, readAt) => stats.udpFrame(viewer.track, frame, readAt),
      onUdpLost: (frames) => {
        viewer.udpLost += frames;
        stats.udpLost(viewer.track, frames);
      },
      onUdpChunk: (bytes, outcome) => stats.udpChunk(viewer.track, bytes, outcome),
      onMode: (mode, at) => {
        if (mode === 'udp' && Number.isNaN(viewer.udpOpenMs)) viewer.udpOpenMs = at - viewer.track.connectStartedAt;
        // Back on the WebSocket: its first frame starts the gap count afresh (the carrier's
        // undecided seqs were counted lost; the unit resends its last ones on the socket).
        if (mode === 'tcp') viewer.track.lastSeq = -1;
      },
      onClose: (code) => {
        if (closing || viewer.connection !== connection) return;
        if (RETRY_CODES.has(code) && attempt < MAX_ATTEMPTS) {
          retries++;
          viewer.connection = null;
          setTimeout(() => !closing && openViewer(spec, command, viewer, attempt + 1), RETRY_DELAY_MS);
          return;
        }
        viewer.closedCode = code;
        const key = viewer.track.cls === 'slow' ? `slow:${code}` : String(code);
        closes[key] = (closes[key] ?? 0) + 1;
      },
    },
    spec.slow ? command.slowBytesPerSec : 0,
    command.carrier,
  );
  viewer.connection = connection;
  connection.open();
}

async function connectAll(command: Connect): Promise<void> {
  await prepareTransport(command.transport);
  transportInUse = command.transport;
  const start = viewers.length;
  let next = 0;
  let credit = 0;
  const perTick = (command.perSecond * PACE_MS) / 1000;
  const pacer = setInterval(() => {
    credit += perTick;
    while (credit >= 1 && next < command.viewers.length) {
      credit--;
      const spec = command.viewers[next++]!;
      const viewer: Viewer = { track: stats.track(spec.slow ? 'slow' : 'normal', spec.tag ?? null), connection: null, closedCode: null, opened: false, udpOpenMs: NaN, udpLost: 0, udpLostAtMark: 0 };
      viewers.push(viewer);
      openViewer(spec, command, viewer, 1);
    }
    if (next >= command.viewers.length) clearInterval(pacer);
  }, PACE_MS);
  // Settled: every viewer has its first keyframe (and a UDP viewer its answer to udp-start) or is
  // closed for good; bounded by the timeout.
  const deadline = performance.now() + command.settleTimeoutMs;
  const settled = (v: Viewer): boolean => v.closedCode !== null || (!Number.isNaN(v.track.firstKeyframeMs) && v.connection?.udpState !== 'negotiating');
  const settle = setInterval(() => {
    const mine = viewers.slice(start);
    const unsettled = mine.filter((v) => !settled(v)).length;
    if ((next >= command.viewers.length && unsettled === 0) || performance.now() > deadline) {
      clearInterval(settle);
      clearInterval(pacer);
      reply({ type: 'connected', requested: command.viewers.length, started: next, unsettled, withKeyframe: mine.filter((v) => !Number.isNaN(v.track.firstKeyframeMs)).length });
    }
  }, 50);
}

function udpReport(normal: Viewer[]): WorkerUdp | null {
  if (transportInUse !== 'udp') return null;
  const states: Record<string, number> = {};
  let wsFramesBeforeUdp = 0;
  for (const v of viewers) {
    const state = v.closedCode !== null ? 'closed' : (v.connection?.udpState ?? 'none');
    states[state] = (states[state] ?? 0) + 1;
    wsFramesBeforeUdp += v.connection?.wsFramesBeforeUdp ?? 0;
  }
  return {
    openMs: Float64Array.from(normal.map((v) => v.udpOpenMs)),
    states,
    wsFramesBeforeUdp,
    viewersWithLoss: viewers.filter((v) => v.udpLost > v.udpLostAtMark).length,
    lostMaxPerViewer: Math.max(0, ...viewers.map((v) => v.udpLost - v.udpLostAtMark)),
  };
}

function report(): WorkerReport {
  const cpu = process.cpuUsage(cpuMark);
  const mainThreadCpuSeconds = threadCpuSeconds(process.pid, process.pid) - mainThreadMark;
  const normal = viewers.filter((v) => v.track.cls === 'normal');
  const firstKeyframeMsByTag: Record<string, Float64Array> = {};
  for (const tag of Object.keys(stats.tagged)) firstKeyframeMsByTag[tag] = Float64Array.from(normal.filter((v) => v.track.tag === tag).map((v) => v.track.firstKeyframeMs));
  return {
    type: 'report',
    pid: process.pid,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    mainThreadCpuSeconds,
    wallSeconds: (performance.now() - wallMark) / 1000,
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6,
    counters: stats.counters,
    tagged: stats.tagged,
    firstKeyframeMs: Float64Array.from(normal.map((v) => v.track.firstKeyframeMs)),
    firstKeyframeMsByTag,
    closes: { ...closes },
    open: viewers.filter((v) => v.closedCode === null && v.opened).length,
    retries,
    slowLocalPorts: viewers.filter((v) => v.track.cls === 'slow').map((v) => v.connection?.localPort ?? 0),
    udp: udpReport(normal),
  };
}

/** Closes every viewer, then (peer connections gone) node-datachannel's cleanup, then exits. Once. */
function shutdown(): void {
  if (closing) return;
  closing = true;
  for (const v of viewers) v.connection?.close();
  setTimeout(() => {
    try {
      cleanupTransports();
    } finally {
      process.exit(0);
    }
  }, EXIT_DELAY_MS);
}

process.on('message', (command: LoadGenCommand) => {
  switch (command.type) {
    case 'connect':
      connectAll(command).catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
      return;
    case 'mark':
      stats.reset();
      cpuMark = process.cpuUsage();
      mainThreadMark = threadCpuSeconds(process.pid, process.pid);
      for (const v of viewers) v.udpLostAtMark = v.udpLost;
      wallMark = performance.now();
      loopDelay.reset();
      return reply({ type: 'marked' });
    case 'report':
      return reply(report());
    case 'close':
      return shutdown();
  }
});
process.once('disconnect', shutdown);
process.once('SIGTERM', shutdown);
