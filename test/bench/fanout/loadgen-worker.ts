/**
 * One load-generator process (forked by loadgen.ts): holds many viewers, counts what they receive
 * (viewer-stats.ts) and reports its own CPU time and event-loop delay, so the bench can tell a
 * saturated generator from a saturated unit. Commands arrive over IPC: connect (paced), mark (start
 * of the window), report (end of it), close.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { LoadGenCommand, LoadGenReply, WorkerReport } from './loadgen.js';
import { ViewerStats, type ViewerTrack } from './viewer-stats.js';
import { createViewerConnection, type ViewerConnection } from './viewer-transport.js';

/** a ticket's group may reach the unit a moment after the CSM answered the join */
const RETRY_CODES = new Set([4418]);
const MAX_ATTEMPTS = 3;
const RETRY_DELAY_MS = 250;
const PACE_MS = 10;

interface Viewer {
  track: ViewerTrack;
  connection: ViewerConnection | null;
  closedCode: number | null;
  opened: boolean;
}

const reply = (message: LoadGenReply): void => void process.send?.(message);
const stats = new ViewerStats();
const viewers: Viewer[] = [];
const closes: Record<string, number> = {};
let closing = false;
let retries = 0;
let cpuMark = process.cpuUsage();
let wallMark = performance.now();
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();

function openViewer(spec: Extract<LoadGenCommand, { type: 'connect' }>['viewers'][number], slowBytesPerSec: number, transport: 'tcp' | 'udp', viewer: Viewer, attempt: number): void {
  viewer.track.connectStartedAt = performance.now();
  viewer.track.lastSeq = -1;
  const connection = createViewerConnection(
    transport,
    spec.url,
    {
      onOpen: () => void (viewer.opened = true),
      onBinary: (message, readAt) => stats.frameArrived(viewer.track, message, readAt),
      onClose: (code) => {
        if (closing || viewer.connection !== connection) return;
        if (RETRY_CODES.has(code) && attempt < MAX_ATTEMPTS) {
          retries++;
          viewer.connection = null;
          setTimeout(() => !closing && openViewer(spec, slowBytesPerSec, transport, viewer, attempt + 1), RETRY_DELAY_MS);
          return;
        }
        viewer.closedCode = code;
        const key = viewer.track.cls === 'slow' ? `slow:${code}` : String(code);
        closes[key] = (closes[key] ?? 0) + 1;
      },
    },
    spec.slow ? slowBytesPerSec : 0,
  );
  viewer.connection = connection;
  connection.open();
}

function connectAll(command: Extract<LoadGenCommand, { type: 'connect' }>): void {
  const start = viewers.length;
  let next = 0;
  let credit = 0;
  const perTick = (command.perSecond * PACE_MS) / 1000;
  const pacer = setInterval(() => {
    credit += perTick;
    while (credit >= 1 && next < command.viewers.length) {
      credit--;
      const spec = command.viewers[next++]!;
      const viewer: Viewer = { track: stats.track(spec.slow ? 'slow' : 'normal', spec.tag ?? null), connection: null, closedCode: null, opened: false };
      viewers.push(viewer);
      openViewer(spec, command.slowBytesPerSec, command.transport, viewer, 1);
    }
    if (next >= command.viewers.length) clearInterval(pacer);
  }, PACE_MS);
  // Settled: every viewer has its first keyframe or is closed for good; bounded by the timeout.
  const deadline = performance.now() + command.settleTimeoutMs;
  const settle = setInterval(() => {
    const mine = viewers.slice(start);
    const unsettled = mine.filter((v) => Number.isNaN(v.track.firstKeyframeMs) && v.closedCode === null).length;
    if ((next >= command.viewers.length && unsettled === 0) || performance.now() > deadline) {
      clearInterval(settle);
      clearInterval(pacer);
      reply({ type: 'connected', requested: command.viewers.length, started: next, unsettled, withKeyframe: mine.filter((v) => !Number.isNaN(v.track.firstKeyframeMs)).length });
    }
  }, 50);
}

function report(): WorkerReport {
  const cpu = process.cpuUsage(cpuMark);
  const normal = viewers.filter((v) => v.track.cls === 'normal');
  const firstKeyframeMsByTag: Record<string, Float64Array> = {};
  for (const tag of Object.keys(stats.tagged)) firstKeyframeMsByTag[tag] = Float64Array.from(normal.filter((v) => v.track.tag === tag).map((v) => v.track.firstKeyframeMs));
  return {
    type: 'report',
    pid: process.pid,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
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
  };
}

process.on('message', (command: LoadGenCommand) => {
  switch (command.type) {
    case 'connect':
      return connectAll(command);
    case 'mark':
      stats.reset();
      cpuMark = process.cpuUsage();
      wallMark = performance.now();
      loopDelay.reset();
      return reply({ type: 'marked' });
    case 'report':
      return reply(report());
    case 'close':
      closing = true;
      for (const v of viewers) v.connection?.close();
      setTimeout(() => process.exit(0), 50).unref();
      return;
  }
});
process.once('disconnect', () => process.exit(0));
