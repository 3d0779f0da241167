/**
 * `onair bench failover [--runs 10] [--process-runs 5] [--unit-runs 5] [--adverts 1,0.2] [--viewers 4]
 * [--unit-reconnect-max-ms N]`:
 * how long the cluster is without its control plane when the active CSM dies, and how long viewers
 * are without media when a unit dies — in the network-namespace lab (infra/lab) with the real
 * keepalived, two CSMs, Redis and three units, the client (a publisher, viewers, a join every 100 ms,
 * a probe of the VIP's /healthz every 50 ms) on the lab's client host (test/fault/lab-client.ts).
 * Needs root, keepalived and redis-server, like the lab. Each run is one fault (runs.ts).
 *
 * One JSON line per keepalived configuration (advert_int 1 s, then 0.2 s with VRRPv3) on stdout;
 * progress on stderr. The main figures are for a crash of the active CSM host's control plane:
 * `onair csm` and keepalived both killed with SIGKILL, so the backup's keepalived waits out VRRP's
 * master-down interval — the theoretical bound printed alongside as `vrrpBoundMs` (3 × advert + skew,
 * RFC 5798) — and then promotes its CSM through the notify script. `csmProcessKill` is the same with
 * only `onair csm` killed: keepalived's health check notices (interval × fall), its priority-0
 * advert hands over at once, so that bound does not depend on the advert interval.
 */
import { parseArgs } from 'node:util';
import type { Lab } from '../../../infra/lab/Lab.js';
import { FAULT_CSM_ENV, LabClient, percentile, startFaultLab } from '../../fault/harness.js';
import { csmFailover, quietWindow, unitRehome, type CsmFault, type CsmRun, type UnitRun } from './runs.js';

const log = (message: string): void => void process.stderr.write(`[bench failover] ${message}\n`);

/** the lab's keepalived priorities (infra/lab/topology.ts): the lower one waits longest */
const PRIORITIES = { 'csm-a': 150, 'csm-b': 100 };
/** the lab's health check (infra/lab/topology.ts defaults) */
const HEALTH = { intervalSeconds: 1, fall: 2 };
const QUIET_WINDOW_MS = 8000;
/** a pause up to three video frame intervals is within the stream's normal spacing whatever the baseline */
const GAP_FLOOR_MS = 100;

const DEFINITIONS = {
  fault: 'crash: on the host holding the VIP, keepalived (with its VRRP child) and then onair csm are killed with SIGKILL, a few ms apart; csmProcessKill: only onair csm is killed',
  vipMove: 'kill → the first response to GET http://<VIP>:7000/healthz (probed every 50 ms from the client host, each probe on its own, 1 s timeout) with status 200, csmId = the other host, role = active',
  keepalivedMaster: "kill → keepalived on the other host calling its notify_master script (its notify log): VRRP's part of vipMove; the rest is the promotion (onair csm-ctl promote)",
  firstJoin: 'kill → the answer to the first POST /api/v1/channels/:id/join sent after the killed onair csm was gone that succeeded (a join starts every 100 ms, each retried every 100 ms). The new active admits viewers only to units that have re-registered with it (until then: 503 CSM_ERR_NO_CAPACITY, retryable), so this includes the units reconnecting through the VIP with their backoff',
  vrrpBound: "3 × advert + skew, skew = (256 − priority) / 256 × advert, for the lower-priority host (100): VRRP's master-down interval, the longest a backup waits after the master's last advert",
  detectBound: 'health interval × fall + skew of the priority-100 host: the longest keepalived takes to notice a dead onair csm and hand the VIP over (the check fails at once on a refused connection)',
  viewerGap: `viewerLongestGapMs: the longest pause between two consecutive frames (video 30 fps + audio 50 fps: normally ≤ 20 ms apart) at any viewer from the kill until a second after every unit was back with the new active. viewerGapLessStallsMaxMs: the same, each pause less the time the client's own process was stalled (event loop held ≥ 50 ms) during it — the publisher shares that process, so its stalls pause the stream at the source. The stream's normal spacing on this machine, gapAllowanceMs = max(${GAP_FLOOR_MS} ms — three video frame intervals —, 2 × baselineGapLessStallsMs, the longest such pause any viewer saw in a ${QUIET_WINDOW_MS} ms window without a fault in the same run). viewerGapMaxMs = max(0, viewerGapLessStallsMaxMs − gapAllowanceMs): 0 means no gap beyond the stream's normal spacing. viewerDisconnects: media sockets that dropped (must be 0)`,
  unitRehome: "kill -9 of the unit holding the channel's root → every viewer's first frame on another unit (the CSM fails a unit after unitFailAfterMs of silence; viewers rejoin through the CSM with backoff 100 … 1000 ms); per run the last viewer's, p50/p95 over runs",
  joinsRefused: 'joins that ended without success (a non-retryable answer or 60 s of retrying): should be 0',
};

export async function runFailoverBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      runs: { type: 'string', default: '10' },
      'process-runs': { type: 'string', default: '5' },
      'unit-runs': { type: 'string', default: '5' },
      adverts: { type: 'string', default: '1,0.2' },
      viewers: { type: 'string', default: '4' },
      'unit-reconnect-max-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`usage: onair bench failover [--runs 10] [--process-runs 5] [--unit-runs 5] [--adverts 1,0.2] [--viewers 4] [--unit-reconnect-max-ms N]

Builds the keepalived lab once per advert interval (seconds; as root) and, per run, crashes the CSM
host holding the VIP while a client in the lab joins continuously and viewers watch; then kills only
the CSM process (--process-runs) and a unit (--unit-runs). One JSON line per advert interval.
`);
    return;
  }
  const count = (name: 'runs' | 'process-runs' | 'unit-runs' | 'viewers', max: number): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${name} must be an integer from 0 to ${max}`);
    return n;
  };
  const runs = count('runs', 100);
  const processRuns = count('process-runs', 100);
  const unitRuns = count('unit-runs', 100);
  const viewers = Math.max(1, count('viewers', 20));
  const adverts = values.adverts!.split(',').map(Number);
  if (adverts.some((a) => !(a >= 0.05 && a <= 10))) throw new Error('--adverts: seconds, each from 0.05 to 10');
  const unitReconnectMaxMs = values['unit-reconnect-max-ms'] === undefined ? null : Number(values['unit-reconnect-max-ms']);
  if (unitReconnectMaxMs !== null && !(Number.isInteger(unitReconnectMaxMs) && unitReconnectMaxMs >= 200 && unitReconnectMaxMs <= 60_000)) throw new Error('--unit-reconnect-max-ms: 200 … 60000');
  if (process.getuid?.() !== 0) throw new Error('onair bench failover needs root (it builds a network-namespace lab)');

  for (const advert of adverts) {
    const line = await measureConfiguration(advert, { runs, processRuns, unitRuns, viewers, unitReconnectMaxMs });
    process.stdout.write(`${JSON.stringify(line)}\n`);
  }
}

interface Counts {
  runs: number;
  processRuns: number;
  unitRuns: number;
  viewers: number;
  /** the units' reconnectMaxMs (their CSM link's backoff ceiling); null: the unit's default */
  unitReconnectMaxMs: number | null;
}

async function measureConfiguration(advert: number, counts: Counts): Promise<Record<string, unknown>> {
  const started = Date.now();
  log(`advert ${advert} s: starting the lab`);
  let lab: Lab | undefined;
  let client: LabClient | undefined;
  const crash: CsmRun[] = [];
  const processKill: CsmRun[] = [];
  const units: UnitRun[] = [];
  let baseline = { longestGapMs: 0, lessStallsMs: 0, disconnects: 0 };
  try {
    const unitEnv: Record<string, string> = counts.unitReconnectMaxMs === null ? {} : { ONAIR_UNIT_RECONNECT_MAX_MS: String(counts.unitReconnectMaxMs) };
    lab = await startFaultLab({ advertIntSeconds: advert, unitEnv });
    client = await LabClient.start(lab, ['--publish', 'bench: failover', '--viewers', String(counts.viewers), '--join-channel', 'new', '--vip-probe-ms', '50', '--rejoin-min-ms', '100', '--rejoin-max-ms', '1000']);
    baseline = await quietWindow(client, QUIET_WINDOW_MS);
    log(`advert ${advert} s: baseline: longest pause at a viewer ${baseline.longestGapMs} ms (${baseline.lessStallsMs} ms less client stalls) without a fault`);
    for (let i = 0; i < counts.runs; i++) crash.push(await csmFailover(lab, client, 'crash'));
    for (let i = 0; i < counts.processRuns; i++) processKill.push(await csmFailover(lab, client, 'process'));
    for (let i = 0; i < counts.unitRuns; i++) units.push(await unitRehome(lab, client));
  } finally {
    await client?.stop();
    const report = await lab?.down();
    if (report && report.leftovers.length > 0) log(`lab leftovers: ${JSON.stringify(report.leftovers)}`);
  }

  const ms = (v: number): number => Math.round(v);
  const vrrpBoundMs = ms((3 + (256 - PRIORITIES['csm-b']) / 256) * advert * 1000);
  const detectBoundMs = ms(HEALTH.intervalSeconds * HEALTH.fall * 1000 + ((256 - PRIORITIES['csm-b']) / 256) * advert * 1000);
  const gapAllowanceMs = Math.max(GAP_FLOOR_MS, 2 * baseline.lessStallsMs);
  const gapOver = (runsDone: CsmRun[]): number => Math.max(0, ...runsDone.map((r) => r.viewerGapLessStallsMs - gapAllowanceMs));
  const answers = (runsDone: CsmRun[]): Record<string, number> => {
    const total: Record<string, number> = {};
    for (const r of runsDone) for (const [k, v] of Object.entries(r.joinAnswers)) total[k] = (total[k] ?? 0) + v;
    return total;
  };
  const summarize = (runsDone: CsmRun[], fault: CsmFault) => ({
    fault,
    runs: runsDone.length,
    vipMoveP50Ms: percentile(runsDone.map((r) => r.vipMoveMs), 50),
    vipMoveMaxMs: percentile(runsDone.map((r) => r.vipMoveMs), 100),
    keepalivedMasterP50Ms: percentile(runsDone.flatMap((r) => (r.masterMs === null ? [] : [r.masterMs])), 50),
    keepalivedMasterMaxMs: percentile(runsDone.flatMap((r) => (r.masterMs === null ? [] : [r.masterMs])), 100),
    firstJoinP50Ms: percentile(runsDone.map((r) => r.firstJoinMs), 50),
    firstJoinMaxMs: percentile(runsDone.map((r) => r.firstJoinMs), 100),
    unitsBackP50Ms: percentile(runsDone.map((r) => r.unitsBackMs), 50),
    viewerGapMaxMs: gapOver(runsDone),
    viewerLongestGapMs: Math.max(0, ...runsDone.map((r) => r.viewerLongestGapMs)),
    viewerGapLessStallsMaxMs: Math.max(0, ...runsDone.map((r) => r.viewerGapLessStallsMs)),
    viewerDisconnects: runsDone.reduce((sum, r) => sum + r.viewerDisconnects, 0),
    joinsRefused: runsDone.reduce((sum, r) => sum + r.joinsRefused, 0),
    joinAnswersBeforeFirstJoin: answers(runsDone),
    vipMoveSamplesMs: runsDone.map((r) => r.vipMoveMs),
  });
  const main = summarize(crash, 'crash');
  const rehome = units.map((u) => u.allPlayingMs);
  const unitRehomeP95Ms = percentile(rehome, 95);
  const within = advert < 1 ? 1000 : 4000;
  const targets = { vipMoveMaxMs: within, firstJoinMaxMs: within, viewerGapMaxMs: 0, unitRehomeP95Ms: 3000 };
  const metBy = {
    vipMoveMaxMs: main.vipMoveMaxMs !== null && main.vipMoveMaxMs <= targets.vipMoveMaxMs,
    firstJoinMaxMs: main.firstJoinMaxMs !== null && main.firstJoinMaxMs <= targets.firstJoinMaxMs,
    viewerGapMaxMs: crash.length > 0 && main.viewerGapMaxMs <= targets.viewerGapMaxMs && main.viewerDisconnects === 0,
    unitRehomeP95Ms: unitRehomeP95Ms !== null && unitRehomeP95Ms <= targets.unitRehomeP95Ms,
  };
  return {
    bench: 'failover',
    advertIntervalMs: ms(advert * 1000),
    vrrpVersion: 3,
    runs: crash.length,
    vipMoveP50Ms: main.vipMoveP50Ms,
    vipMoveMaxMs: main.vipMoveMaxMs,
    firstJoinP50Ms: main.firstJoinP50Ms,
    firstJoinMaxMs: main.firstJoinMaxMs,
    viewerGapMaxMs: main.viewerGapMaxMs,
    unitRehomeP95Ms,
    vrrpBoundMs,
    keepalivedMasterP50Ms: main.keepalivedMasterP50Ms,
    keepalivedMasterMaxMs: main.keepalivedMasterMaxMs,
    unitsBackP50Ms: main.unitsBackP50Ms,
    viewerLongestGapMs: main.viewerLongestGapMs,
    viewerGapLessStallsMaxMs: main.viewerGapLessStallsMaxMs,
    baselineGapMaxMs: baseline.longestGapMs,
    baselineGapLessStallsMs: baseline.lessStallsMs,
    gapAllowanceMs,
    viewerDisconnects: main.viewerDisconnects,
    joinsRefused: main.joinsRefused,
    joinAnswersBeforeFirstJoin: main.joinAnswersBeforeFirstJoin,
    vipMoveSamplesMs: main.vipMoveSamplesMs,
    firstJoinSamplesMs: crash.map((r) => r.firstJoinMs),
    csmProcessKill: { ...summarize(processKill, 'process'), detectBoundMs },
    unitRehome: { runs: units.length, p50Ms: percentile(rehome, 50), p95Ms: unitRehomeP95Ms, maxMs: percentile(rehome, 100), publisherP50Ms: percentile(units.flatMap((u) => (u.publisherMs === null ? [] : [u.publisherMs])), 50), samplesMs: rehome },
    targets,
    met: Object.values(metBy).every(Boolean),
    metBy,
    settings: {
      units: 3,
      viewers: counts.viewers,
      healthCheck: { ...HEALTH, timeoutSeconds: 2 },
      priorities: PRIORITIES,
      csmEnv: FAULT_CSM_ENV,
      unitReconnectMs: { min: 200, max: counts.unitReconnectMaxMs ?? 5000, note: 'the units\' backoff on their CSM link (streaming-unit defaults unless --unit-reconnect-max-ms)' },
      vipProbeMs: 50,
      joinEveryMs: 100,
    },
    definitions: DEFINITIONS,
    durationS: Math.round((Date.now() - started) / 1000),
  };
}
