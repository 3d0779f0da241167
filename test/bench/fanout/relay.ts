/**
 * The relay scenario (`relay-3`): one channel relayed across three units, root → unit 2 → unit 3,
 * and the latency each relay hop adds.
 *
 * The target: one CSM with `maxRelayChildren` 1 (ONAIR_CSM_MAX_RELAY_CHILDREN), three units with
 * few groups each (`--groups` × `--group-size`, RELAY_GROUPS × RELAY_GROUP_SIZE viewers). The
 * publisher opens the channel on one of them (the root); the viewers join through the CSM, which
 * fills the root unit, then expands the channel to a second unit (its relay parent: the root, the
 * only presence with a free relay slot) and, once that is full, to the third (under the second:
 * the root's one relay slot is taken). After the joins the channel's tree is read from the admin API
 * (`GET /admin/v1/channels/:id/tree`); anything but a chain of three units fails the scenario.
 *
 * Each viewer is tagged with the depth of the unit its join landed on (`depth1` = root, `depth2`,
 * `depth3`), and the generator counts every tag apart (viewer-stats.ts). Per depth the line gives
 * the viewers' latency p50/p99 and `addedP50Ms` / `addedP99Ms`: that depth's figure minus the
 * previous depth's, the cost of one relay hop (the child unit's relay client, its ring write and
 * fan-out, and one more loopback hop); and the CPU of the unit at that depth.
 */
import type { Measurement } from './measure.js';
import { percentile } from './latency-histogram.js';
import type { Scenario } from './scenarios.js';
import { joinViewers, startBenchCsm, startBenchUnit, type Target, type UnitView } from './targets.js';
import type { OnairProcess } from '../../support/processes.js';

export const RELAY_UNITS = 3;
export const RELAY_GROUPS = 5;
export const RELAY_GROUP_SIZE = 10;
/** viewers of the relay scenario: every unit full */
export const RELAY_VIEWERS = RELAY_UNITS * RELAY_GROUPS * RELAY_GROUP_SIZE;
const UNIT_IDS = ['relay-a', 'relay-b', 'relay-c'];

/** A node of `GET /admin/v1/channels/:id/tree` (csm/cluster/views.ts TreeNodeView). */
interface TreeNode {
  unitId: string;
  address: string;
  depth: number;
  groups: string[];
  viewers: number;
  children: TreeNode[];
}

/** The tree as a list root first, when it is a chain (each node at most one child); else null. */
function chainOf(tree: TreeNode | null): TreeNode[] | null {
  const chain: TreeNode[] = [];
  for (let node = tree; node; node = node.children[0] ?? null) {
    if (node.children.length > 1) return null;
    chain.push(node);
  }
  return chain;
}

const round = (v: number | null, digits = 2): number | null => (v === null || !Number.isFinite(v) ? v : Number(v.toFixed(digits)));
const tagOf = (depth: number): string => `depth${depth}`;

/** The relay target (measure.ts stops it): the CSM, three units, the chain checked after the joins. */
export async function startRelayTarget(scenario: Scenario, log: (message: string) => void): Promise<Target> {
  if (scenario.viewers !== RELAY_VIEWERS) throw new Error(`${scenario.name}: ${scenario.viewers} viewers, but the three units hold exactly ${RELAY_VIEWERS}`);
  const processes: OnairProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const p of processes.reverse()) await p.stop();
  };
  try {
    // One relay child per presence: the second unit hangs under the root, the third under the second.
    const csm = await startBenchCsm({ ONAIR_CSM_MAX_RELAY_CHILDREN: '1' });
    processes.push(csm.process);
    const units: { id: string; process: OnairProcess }[] = [];
    for (const id of UNIT_IDS) {
      // Relay links come from 127.0.0.1 too: a few connections over the viewers.
      const unit = await startBenchUnit(csm, id, { groups: RELAY_GROUPS, groupSize: RELAY_GROUP_SIZE, maxConnectionsPerIp: RELAY_GROUPS * RELAY_GROUP_SIZE + 100 });
      processes.push(unit);
      units.push({ id, process: unit });
    }
    log(`csm pid ${csm.process.pid} (maxRelayChildren 1), units ${units.map((u) => `${u.id} pid ${u.process.pid}`).join(', ')}, each ${RELAY_GROUPS}×${RELAY_GROUP_SIZE} slots`);
    const byId = new Map(units.map((u) => [u.id, u.process]));
    // The main unit (profiled, its stderr) is the root once the joins told which one it is.
    let main = units[0]!.process;
    const target: Target = {
      kind: 'onair',
      get pid() {
        return main.pid;
      },
      units: units.map((u) => ({ id: u.id, pid: u.process.pid })),
      get mediaPort() {
        return Number(new URL(main.ready[2]!).port);
      },
      helperPids: { csm: csm.process.pid },
      stderr: () => main.stderr(),
      publisherTarget: { kind: 'onair', csmUrl: csm.api },
      unitDepths: null,
      viewerUrls: async (channelId, n) => {
        const placements = await joinViewers(csm.api, channelId, n);
        const tree = await csm.admin<TreeNode | null>(`/channels/${channelId}/tree`);
        const chain = chainOf(tree);
        const shape = JSON.stringify(tree);
        if (!chain || chain.length !== RELAY_UNITS) throw new Error(`${scenario.name}: the channel's tree is not a chain of ${RELAY_UNITS} units: ${shape}`);
        if (chain.some((node, i) => node.depth !== i + 1 || !byId.has(node.unitId) || node.viewers === 0)) throw new Error(`${scenario.name}: unexpected chain (depths, units or empty presences): ${shape}`);
        const depths = Object.fromEntries(chain.map((node) => [node.unitId, node.depth]));
        const placed = placements.map((p) => ({ ...p, tag: p.unitId !== null && depths[p.unitId] ? tagOf(depths[p.unitId]!) : undefined }));
        const lost = placed.findIndex((p) => p.tag === undefined);
        if (lost >= 0) throw new Error(`${scenario.name}: join ${lost} placed on unit ${placed[lost]!.unitId}, not in the chain ${shape}`);
        target.unitDepths = depths;
        main = byId.get(chain[0]!.unitId)!;
        log(`chain ${chain.map((node) => `${node.unitId} (depth ${node.depth}, ${node.viewers} viewers)`).join(' → ')}`);
        return placed;
      },
      unitViewers: async () => {
        const views = await csm.admin<UnitView[]>('/units');
        return views.filter((u) => byId.has(u.id)).reduce((s, u) => s + u.viewers, 0);
      },
      stop,
    };
    return target;
  } catch (error) {
    await stop();
    throw error;
  }
}

export interface HopFigures {
  depth: number;
  unitId: string;
  viewers: number;
  /** frame bytes the generator read from this unit's viewers, Mbit/s */
  deliveredMbps: number;
  onTimeShare: number | null;
  missedShare: number | null;
  latencyP50Ms: number | null;
  latencyP99Ms: number | null;
  /** this depth's latency minus the previous depth's: one relay hop; null at the root */
  addedP50Ms: number | null;
  addedP99Ms: number | null;
  firstKeyframeP95Ms: number | null;
  firstKeyframeMissing: number;
  unitCpuCores: number | null;
  unitCpuKernelShare: number | null;
  unitRssDeltaKiB: number | null;
}

/** Per depth of the chain, root first (measure.ts counted the viewers by tag). */
export function hopFigures(m: Measurement): HopFigures[] {
  const depths = Object.entries(m.unitDepths ?? {}).sort((a, b) => a[1] - b[1]);
  const hops: HopFigures[] = [];
  for (const [unitId, depth] of depths) {
    const tag = m.tagged[tagOf(depth)];
    const c = tag?.counters;
    const unit = m.units.find((u) => u.id === unitId);
    const expected = c ? c.frames + c.missed : 0;
    const p50 = c ? percentile(c.latency, 50) : null;
    const p99 = c ? percentile(c.latency, 99) : null;
    const previous = hops[hops.length - 1];
    const minus = (a: number | null, b: number | null | undefined): number | null => (a === null || b === null || b === undefined ? null : round(a - b));
    hops.push({
      depth,
      unitId,
      viewers: c?.viewers ?? 0,
      deliveredMbps: round(c ? (c.bytes * 8) / m.windowSeconds / 1e6 : 0)!,
      onTimeShare: c && expected > 0 ? round(c.onTime / expected, 4) : null,
      missedShare: c && expected > 0 ? round(c.missed / expected, 4) : null,
      latencyP50Ms: round(p50),
      latencyP99Ms: round(p99),
      addedP50Ms: previous ? minus(round(p50), previous.latencyP50Ms) : null,
      addedP99Ms: previous ? minus(round(p99), previous.latencyP99Ms) : null,
      firstKeyframeP95Ms: tag?.firstKeyframeP95Ms ?? null,
      firstKeyframeMissing: tag?.firstKeyframeMissing ?? 0,
      unitCpuCores: unit?.cpuCores ?? null,
      unitCpuKernelShare: unit?.kernelShare ?? null,
      unitRssDeltaKiB: unit ? unit.rssAfterKiB - unit.rssBeforeKiB : null,
    });
  }
  return hops;
}

export const RELAY_DEFINITIONS = {
  hops: 'per depth of the chain (1 = root unit): its viewers only; addedP50Ms/addedP99Ms = that depth minus the previous depth (one relay hop); unitCpuCores = that unit over the window',
  relayTotals: 'mbpsPerCore, unitCpuCores and rssKiBPerViewer of the line are summed over the three units',
};
