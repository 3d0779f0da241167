/**
 * The load generator as the bench's parent sees it: `workers` forked processes (loadgen-worker.ts),
 * viewers dealt round-robin among them, connects paced at `perSecond` overall. `mark()` opens the
 * measurement window in every worker, `report()` closes it and merges what they counted.
 *
 * loadGenCpuShare = generator CPU seconds ÷ (window wall seconds × generator processes): the mean
 * busy share of a generator process (a Node process does its socket reading on one thread). Near 1
 * the generator, not the unit, is what limits the run; `loadGenCpuShareMax` is the busiest one. The
 * share counts every thread of the process: a UDP viewer's DTLS, SCTP and ICE run on
 * node-datachannel's own threads, so it can pass 1; `mainThreadShareMax` is the busiest JavaScript
 * thread alone.
 */
import { once } from 'node:events';
import type { UdpCarrier } from '../../../protocol/media-messages.js';
import { forkHere, ofType, type Child } from './children.js';
import type { Transport } from './viewer-transport.js';
import { mergeCounters, newCounters, type ClassCounters, type ViewerClass } from './viewer-stats.js';

export interface ViewerSpec {
  url: string;
  slow: boolean;
  /** counted apart as well under this tag (viewer-stats.ts), e.g. the depth of the viewer's unit */
  tag?: string | undefined;
}

export type LoadGenCommand =
  | { type: 'connect'; viewers: ViewerSpec[]; perSecond: number; slowBytesPerSec: number; transport: Transport; carrier: UdpCarrier; settleTimeoutMs: number }
  | { type: 'mark' }
  | { type: 'report' }
  | { type: 'close' };

export interface WorkerConnected {
  type: 'connected';
  requested: number;
  started: number;
  unsettled: number;
  withKeyframe: number;
}

/** A UDP generator's own view of its viewers (not windowed: since they connected). */
export interface WorkerUdp {
  /** per normal viewer: ms from connect start to the unit's `mode: udp`; NaN: never */
  openMs: Float64Array;
  /** viewers per UdpState now (viewer-transport.ts), `closed` for closed sockets */
  states: Record<string, number>;
  /** WebSocket frames before the switch, all viewers */
  wsFramesBeforeUdp: number;
  /** over the window: viewers that lost frames on the carrier, and the most one lost */
  viewersWithLoss: number;
  lostMaxPerViewer: number;
}

/** What viewers got: one worker's, or merged over the workers (LoadReport). */
export interface ViewerFigures {
  counters: Record<ViewerClass, ClassCounters>;
  /** per viewer tag (ViewerSpec.tag) */
  tagged: Record<string, ClassCounters>;
  /** per normal viewer; NaN: no keyframe yet */
  firstKeyframeMs: Float64Array;
  /** the same per tag (tagged normal viewers) */
  firstKeyframeMsByTag: Record<string, Float64Array>;
  closes: Record<string, number>;
  open: number;
  retries: number;
  slowLocalPorts: number[];
  /** null for TCP */
  udp: WorkerUdp | null;
}

export interface WorkerReport extends ViewerFigures {
  type: 'report';
  pid: number;
  cpuSeconds: number;
  /** the JavaScript thread alone (/proc/self/task/<pid>) */
  mainThreadCpuSeconds: number;
  wallSeconds: number;
  loopDelayP99Ms: number;
}

export type LoadGenReply = WorkerConnected | WorkerReport | { type: 'marked' } | { type: 'error'; message: string };

export interface LoadReport extends ViewerFigures {
  workers: number;
  cpuSeconds: number;
  wallSeconds: number;
  /** see the file comment */
  cpuShare: number;
  cpuShareMax: number;
  /** the busiest JavaScript thread's share of a core */
  mainThreadShareMax: number;
  loopDelayP99MsMax: number;
}

const concat = (arrays: Float64Array[]): Float64Array => {
  const out = new Float64Array(arrays.reduce((s, a) => s + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
};

export class LoadGenerator {
  readonly #workers: Child[];

  private constructor(workers: Child[]) {
    this.#workers = workers;
  }

  static start(workers: number): LoadGenerator {
    return new LoadGenerator(Array.from({ length: workers }, () => forkHere('./loadgen-worker.js')));
  }

  get pids(): number[] {
    return this.#workers.map((w) => w.pid);
  }

  /** `carrier`: how UDP viewers' chunks travel (ignored on TCP) */
  async connect(viewers: ViewerSpec[], options: { perSecond: number; slowBytesPerSec: number; transport: Transport; carrier: UdpCarrier; settleTimeoutMs: number }): Promise<WorkerConnected> {
    const n = this.#workers.length;
    const shares: ViewerSpec[][] = Array.from({ length: n }, () => []);
    viewers.forEach((v, i) => shares[i % n]!.push(v));
    const replies = await Promise.all(
      this.#workers.map((w, i) => {
        const reply = w.next(ofType<WorkerConnected>('connected'), 'connected', options.settleTimeoutMs + 10_000);
        w.send({ type: 'connect', viewers: shares[i]!, perSecond: options.perSecond / n, slowBytesPerSec: options.slowBytesPerSec, transport: options.transport, carrier: options.carrier, settleTimeoutMs: options.settleTimeoutMs } satisfies LoadGenCommand);
        return reply;
      }),
    );
    return replies.reduce((sum, r) => ({
      type: 'connected',
      requested: sum.requested + r.requested,
      started: sum.started + r.started,
      unsettled: sum.unsettled + r.unsettled,
      withKeyframe: sum.withKeyframe + r.withKeyframe,
    }));
  }

  async mark(): Promise<void> {
    await Promise.all(
      this.#workers.map((w) => {
        const marked = w.next(ofType<{ type: 'marked' }>('marked'), 'marked', 5000);
        w.send({ type: 'mark' } satisfies LoadGenCommand);
        return marked;
      }),
    );
  }

  async report(): Promise<LoadReport> {
    const reports = await Promise.all(
      this.#workers.map((w) => {
        const report = w.next(ofType<WorkerReport>('report'), 'report', 10_000);
        w.send({ type: 'report' } satisfies LoadGenCommand);
        return report;
      }),
    );
    const counters = { normal: newCounters(), slow: newCounters() };
    const tagged: Record<string, ClassCounters> = {};
    const closes: Record<string, number> = {};
    for (const r of reports) {
      mergeCounters(counters.normal, r.counters.normal);
      mergeCounters(counters.slow, r.counters.slow);
      for (const [tag, c] of Object.entries(r.tagged)) mergeCounters((tagged[tag] ??= newCounters()), c);
      for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n;
    }
    const cpuSeconds = reports.reduce((s, r) => s + r.cpuSeconds, 0);
    const wallSeconds = Math.max(...reports.map((r) => r.wallSeconds));
    const firstKeyframeMs = concat(reports.map((r) => r.firstKeyframeMs));
    const tags = [...new Set(reports.flatMap((r) => Object.keys(r.firstKeyframeMsByTag)))];
    const firstKeyframeMsByTag = Object.fromEntries(tags.map((tag) => [tag, concat(reports.map((r) => r.firstKeyframeMsByTag[tag] ?? new Float64Array(0)))]));
    return {
      workers: reports.length,
      cpuSeconds,
      wallSeconds,
      cpuShare: cpuSeconds / (wallSeconds * reports.length),
      cpuShareMax: Math.max(...reports.map((r) => r.cpuSeconds / r.wallSeconds)),
      mainThreadShareMax: Math.max(...reports.map((r) => r.mainThreadCpuSeconds / r.wallSeconds)),
      loopDelayP99MsMax: Math.max(...reports.map((r) => r.loopDelayP99Ms)),
      counters,
      tagged,
      firstKeyframeMs,
      firstKeyframeMsByTag,
      closes,
      open: reports.reduce((s, r) => s + r.open, 0),
      retries: reports.reduce((s, r) => s + r.retries, 0),
      slowLocalPorts: reports.flatMap((r) => r.slowLocalPorts),
      udp: mergeUdp(reports),
    };
  }

  /** Asks every worker to close its viewers and exit (UDP: after node-datachannel's cleanup); kills by PID what is still there after 3 s. */
  async close(): Promise<void> {
    const exits = this.#workers.map((w) => (w.process.exitCode !== null || w.process.signalCode !== null ? Promise.resolve() : once(w.process, 'exit').then(() => {})));
    for (const w of this.#workers) w.send({ type: 'close' } satisfies LoadGenCommand);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(exits), new Promise((resolve) => (timer = setTimeout(resolve, 3000)))]);
    clearTimeout(timer);
    await Promise.all(this.#workers.map((w) => w.stop(2000)));
  }
}

function mergeUdp(reports: WorkerReport[]): WorkerUdp | null {
  const udp = reports.map((r) => r.udp).filter((u): u is WorkerUdp => u !== null);
  if (udp.length === 0) return null;
  const states: Record<string, number> = {};
  for (const u of udp) for (const [state, n] of Object.entries(u.states)) states[state] = (states[state] ?? 0) + n;
  return {
    openMs: concat(udp.map((u) => u.openMs)),
    states,
    wsFramesBeforeUdp: udp.reduce((s, u) => s + u.wsFramesBeforeUdp, 0),
    viewersWithLoss: udp.reduce((s, u) => s + u.viewersWithLoss, 0),
    lostMaxPerViewer: Math.max(...udp.map((u) => u.lostMaxPerViewer)),
  };
}
