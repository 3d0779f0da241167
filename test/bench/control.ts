/**
 * `onair bench control`: the real CSM placement code (Cluster) driven by simulated units — no sockets.
 * 2,000 units × 50 groups × 10 viewers; 100,000 channels opened over four rounds; 1,000,000 viewer
 * joins with a heavy-tailed audience (three channels of 50,000+ viewers, most of a handful); churn
 * after every round (viewers leave, half the small channels close, units fail, the sweeper releases
 * and consolidates). Invariants are checked after every phase. Prints one JSON line.
 */
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Cluster, defaultClusterOptions } from '../../csm/cluster/Cluster.js';
import { consolidateChannel } from '../../csm/cluster/consolidate.js';
import { noEffects } from '../../csm/cluster/effects.js';
import { checkInvariants } from '../../csm/cluster/invariants.js';
import type { Channel, Viewer } from '../../csm/cluster/model.js';
import { failUnit } from '../../csm/cluster/rehome.js';
import { CsmError } from '../../csm/errors.js';
import { percentile, seededRandom, shuffle } from './random.js';
import { bookkeepingOpsPerSec } from './yardstick.js';

/** The widest gap in group fill between healthy units that still counts as an even spread. */
const MAX_FILL_SPREAD = 0.5;

const log = (message: string): void => void process.stderr.write(`[bench control] ${message}\n`);

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

export async function runControlBench(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      units: { type: 'string', default: '2000' },
      channels: { type: 'string', default: '100000' },
      joins: { type: 'string', default: '1000000' },
      rounds: { type: 'string', default: '4' },
      'big-channels': { type: 'string', default: '3' },
      'fail-per-round': { type: 'string', default: '5' },
      seed: { type: 'string', default: '1' },
    },
    strict: true,
  });
  const unitCount = Number(values.units);
  const channelTotal = Number(values.channels);
  const joinTotal = Number(values.joins);
  const rounds = Number(values.rounds);
  const bigCount = Number(values['big-channels']);
  const failPerRound = Number(values['fail-per-round']);
  const random = seededRandom(Number(values.seed));
  const groupsPerUnit = 50;
  const groupSize = 10;

  collectGarbage();
  const rssBefore = process.memoryUsage().rss;
  const clock = { now: 1_700_000_000_000 };
  const options = { ...defaultClusterOptions, viewerIdPrefix: 'v' };
  const cluster = new Cluster(options, noEffects, () => clock.now);
  for (let i = 0; i < unitCount; i++) {
    cluster.registerUnit({ id: `u${i}`, address: `ws://10.0.${i >> 8}.${i & 255}:7101`, groupsPerUnit, groupSize, load: { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 } });
  }

  const decisions = new Float64Array(joinTotal);
  let decisionCount = 0;
  const openTimes = new Float64Array(channelTotal);
  let openCount = 0;
  let admissionSeconds = 0;
  let rejected = 0;
  let left = 0;
  let closed = 0;
  let failedUnits = 0;
  let rehomeMsMax = 0;
  const violations: string[] = [];
  const live: Viewer[] = [];
  const big: Channel[] = [];
  let small: Channel[] = [];
  const phase = (name: string): void => {
    const problems = checkInvariants(cluster, 5);
    if (problems.length > 0) violations.push(...problems.map((p) => `${name}: ${p}`));
    log(`${name}: ${cluster.channels.size} channels, ${cluster.viewers.size} viewers, invariants ${problems.length === 0 ? 'ok' : 'VIOLATED'}`);
  };

  const open = (): Channel | null => {
    const t0 = process.hrtime.bigint();
    try {
      const channel = cluster.openChannel('bench');
      openTimes[openCount++] = Number(process.hrtime.bigint() - t0) / 1e6;
      return channel;
    } catch (error) {
      if (error instanceof CsmError && error.csmCode === 'CSM_ERR_NO_CAPACITY') return null;
      throw error;
    }
  };

  const channelsPerRound = Math.floor(channelTotal / rounds);
  const joinsPerRound = Math.floor(joinTotal / rounds);
  for (let round = 0; round < rounds; round++) {
    // Open this round's channels; the first round also opens the big ones.
    const opening = round === rounds - 1 ? channelTotal - channelsPerRound * (rounds - 1) : channelsPerRound;
    for (let i = 0; i < opening; i++) {
      const channel = open();
      if (!channel) continue;
      if (round === 0 && big.length < bigCount) big.push(channel);
      else small.push(channel);
    }
    phase(`round ${round + 1} open`);

    // Heavy-tailed audience: the big channels take 50,000+ each in round 1; Zipf over the small ones.
    const joining = round === rounds - 1 ? joinTotal - joinsPerRound * (rounds - 1) : joinsPerRound;
    const targets: Channel[] = [];
    if (round === 0) big.forEach((channel, i) => { for (let n = 0; n < 50_000 + 5_000 * i; n++) targets.push(channel); });
    const ranked = shuffle([...small], random);
    let weightSum = 0;
    for (let r = 0; r < ranked.length; r++) weightSum += 1 / (r + 1);
    const remaining = joining - targets.length;
    for (let r = 0; r < ranked.length && targets.length < joining; r++) {
      const n = Math.floor((remaining * (1 / (r + 1))) / weightSum);
      for (let k = 0; k < n; k++) targets.push(ranked[r]!);
    }
    while (targets.length < joining && ranked.length > 0) targets.push(ranked[Math.floor(random() * ranked.length)]!);
    shuffle(targets, random);

    const started = process.hrtime.bigint();
    for (const channel of targets) {
      if (cluster.channels.get(channel.id) !== channel) continue;
      const t0 = process.hrtime.bigint();
      let viewer: Viewer;
      try {
        viewer = cluster.admitViewer(channel);
      } catch (error) {
        if (error instanceof CsmError && error.csmCode === 'CSM_ERR_NO_CAPACITY') {
          rejected++;
          continue;
        }
        throw error;
      }
      decisions[decisionCount++] = Number(process.hrtime.bigint() - t0) / 1e6;
      // The unit confirms the viewer connected, as it would over its control link.
      cluster.viewerJoined(viewer.group.unit, channel.id, viewer.group.index, viewer.id);
      live.push(viewer);
    }
    admissionSeconds += Number(process.hrtime.bigint() - started) / 1e9;
    phase(`round ${round + 1} joins`);
    if (round === rounds - 1) break;

    // Churn: 30% of small-channel viewers leave, half of the small channels close, some units fail.
    const bigIds = new Set(big.map((c) => c.id));
    for (let i = live.length - 1; i >= 0; i--) {
      const viewer = live[i]!;
      const alive = cluster.viewers.get(viewer.id) === viewer;
      if (alive && !bigIds.has(viewer.group.channel.id) && random() < 0.3) {
        cluster.removeViewer(viewer);
        left++;
      }
      if (!alive || cluster.viewers.get(viewer.id) !== viewer) {
        live[i] = live[live.length - 1]!;
        live.pop();
      }
    }
    phase(`round ${round + 1} leaves`);
    const keep: Channel[] = [];
    for (const channel of small) {
      if (cluster.channels.get(channel.id) !== channel) continue;
      if (random() < 0.5) {
        cluster.closeChannel(channel, 'bench');
        closed++;
      } else keep.push(channel);
    }
    small = keep;
    phase(`round ${round + 1} closes`);
    const candidates = shuffle([...cluster.units.values()].filter((u) => u.state === 'up'), random).slice(0, failPerRound);
    for (const unit of candidates) {
      const t0 = process.hrtime.bigint();
      failUnit(cluster, unit, 'failed', 'bench');
      rehomeMsMax = Math.max(rehomeMsMax, Number(process.hrtime.bigint() - t0) / 1e6);
      failedUnits++;
    }
    phase(`round ${round + 1} unit failures`);
    clock.now += options.emptyGroupGraceMs + 1;
    cluster.sweep((channel) => consolidateChannel(cluster, channel));
    phase(`round ${round + 1} sweep`);
  }

  collectGarbage();
  const rssAfter = process.memoryUsage().rss;
  const viewersNow = cluster.viewers.size;
  let maxTreeDepth = 0;
  let largest: Channel | null = null;
  for (const channel of cluster.channels.values()) {
    for (const p of channel.presences.values()) maxTreeDepth = Math.max(maxTreeDepth, p.depth);
    if (!largest || channel.viewers > largest.viewers) largest = channel;
  }
  let largestDepth = 0;
  for (const p of largest?.presences.values() ?? []) largestDepth = Math.max(largestDepth, p.depth);
  const fills = [...cluster.units.values()].filter((u) => u.state === 'up').map((u) => u.usedGroups / u.groupsPerUnit);
  const mean = fills.reduce((a, b) => a + b, 0) / fills.length;
  const sd = Math.sqrt(fills.reduce((a, b) => a + (b - mean) ** 2, 0) / fills.length);
  const depthBound = 1 + Math.ceil(Math.log(unitCount) / Math.log(options.maxRelayChildren));
  if (maxTreeDepth > depthBound) violations.push(`tree depth ${maxTreeDepth} exceeds log bound ${depthBound}`);
  // Least-loaded placement keeps the units level: no healthy unit far emptier than the fullest.
  const spread = Math.max(...fills) - Math.min(...fills);
  if (spread > MAX_FILL_SPREAD) violations.push(`load spread: group fill ranges over ${spread.toFixed(2)} (> ${MAX_FILL_SPREAD})`);

  const yardstick = bookkeepingOpsPerSec();
  const admissionsPerSec = decisionCount / admissionSeconds;

  const result = {
    bench: 'control',
    units: unitCount,
    channels: openCount,
    viewers: decisionCount,
    viewersAtEnd: viewersNow,
    channelsAtEnd: cluster.channels.size,
    rejected,
    left,
    closed,
    failedUnits,
    admissionsPerSec: Math.round(admissionsPerSec),
    decisionP50Ms: percentile(decisions, decisionCount, 50),
    decisionP99Ms: percentile(decisions, decisionCount, 99),
    decisionMaxMs: percentile(decisions, decisionCount, 100),
    openP99Ms: percentile(openTimes, openCount, 99),
    rehomeUnitMaxMs: rehomeMsMax,
    maxTreeDepth,
    largestChannelViewers: largest?.viewers ?? 0,
    largestChannelUnits: largest?.presences.size ?? 0,
    largestChannelDepth: largestDepth,
    loadSpread: { meanGroupFill: mean, stddevGroupFill: sd, minGroupFill: Math.min(...fills), maxGroupFill: Math.max(...fills) },
    rssBytesPerViewer: Math.round((rssAfter - rssBefore) / Math.max(1, viewersNow)),
    invariantsOk: violations.length === 0,
    violations: violations.slice(0, 10),
    // admissionsPerSec ÷ the bare Map+Set bookkeeping rate of this machine in this run (noise-free comparison across runs)
    baseline: { kind: 'fresh id + Map.set + Set.add per op', opsPerSec: Math.round(yardstick), ratio: Number((admissionsPerSec / yardstick).toFixed(3)) },
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
