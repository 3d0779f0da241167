import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { groupKey, type Channel, type Unit } from '../../csm/cluster/model.js';
import { checkInvariants, maxTreeDepth } from '../../csm/cluster/invariants.js';
import { CsmError } from '../../csm/errors.js';
import { simCluster } from '../support/sim-cluster.js';

function admitN(cluster: ReturnType<typeof simCluster>['cluster'], channel: Channel, n: number): string[] {
  const placed: string[] = [];
  for (let i = 0; i < n; i++) placed.push(groupKey(cluster.admitViewer(channel).group));
  return placed;
}

/** Fill every group of `unit` with filler channels, then close the fillers at `free`; returns the channel kept at `keep`. */
function shapeUnit(sim: ReturnType<typeof simCluster>, unit: Unit, free: number[], keep?: number): Channel | undefined {
  const others = [...sim.cluster.units.values()].filter((u) => u !== unit);
  for (const u of others) u.connected = false;
  const byIndex = new Map<number, Channel>();
  for (let i = 0; i < unit.groupsPerUnit; i++) {
    const channel = sim.cluster.openChannel('x');
    byIndex.set(channel.root.index, channel);
  }
  for (const u of others) u.connected = true;
  for (const [index, channel] of byIndex) if (free.includes(index)) sim.cluster.closeChannel(channel, 'test');
  return keep === undefined ? undefined : byIndex.get(keep);
}

describe('placement', () => {
  it("follows the paper's Fig. 4: 5-2 grows inside unit 5 first (5-7, 5-49), then into other units", () => {
    const sim = simCluster();
    const u1 = sim.addUnit('1');
    const u5 = sim.addUnit('5');
    const un = sim.addUnit('n');
    shapeUnit(sim, u1, [5, 20]);
    const channel = shapeUnit(sim, u5, [7, 49], 2)!;
    shapeUnit(sim, un, [1, 2, 3]);
    assert.equal(groupKey(channel.root), '5/2');

    const order = admitN(sim.cluster, channel, 80);
    const firstOfEachGroup = order.filter((key, i) => order.indexOf(key) === i);
    // Unit n is less loaded than unit 1 (47 vs 48 groups used), so it is chained first; once a unit
    // serves the channel its free groups are used before another unit is added.
    assert.deepEqual(firstOfEachGroup, ['5/2', '5/7', '5/49', 'n/1', 'n/2', 'n/3', '1/5', '1/20']);
    assert.throws(() => sim.cluster.admitViewer(channel), (e: unknown) => e instanceof CsmError && e.csmCode === 'CSM_ERR_NO_CAPACITY');

    // Fig. 5: both other units hang directly under the root unit.
    const root = u5.presences.get(channel.id)!;
    assert.deepEqual(root.children.map((p) => p.unit.id).sort(), ['1', 'n']);
    assert.equal(maxTreeDepth(sim.cluster), 2);
    const relayLinks = sim.commands.filter((c) => c.method === 'csm.linkRelay' && c.params['channelId'] === channel.id);
    assert.deepEqual(relayLinks.map((c) => [c.unitId, (c.params['parent'] as { unitId: string } | null)?.unitId ?? null]), [['5', null], ['n', '5'], ['1', '5']]);
    assert.deepEqual(checkInvariants(sim.cluster), []);
  });

  it('holds 10 viewers × 50 groups per unit by default and refuses the 501st viewer on one unit', () => {
    const sim = simCluster();
    sim.addUnit('a');
    const channel = sim.cluster.openChannel('k');
    const placed = admitN(sim.cluster, channel, 500);
    assert.equal(new Set(placed).size, 50);
    for (const key of new Set(placed)) assert.equal(placed.filter((k) => k === key).length, 10);
    assert.throws(() => sim.cluster.admitViewer(channel), /no healthy unit|cannot grow/);
    assert.deepEqual(checkInvariants(sim.cluster), []);
  });

  it('honours other configured sizes per unit (3 groups × 4 and 2 groups × 7)', () => {
    const sim = simCluster();
    sim.addUnit('small', 3, 4);
    sim.addUnit('other', 2, 7);
    const channel = sim.cluster.openChannel('k');
    const placed = admitN(sim.cluster, channel, 3 * 4 + 2 * 7);
    const counts = new Map<string, number>();
    for (const key of placed) counts.set(key, (counts.get(key) ?? 0) + 1);
    for (const [key, n] of counts) assert.equal(n, key.startsWith('small') ? 4 : 7, key);
    assert.equal(counts.size, 5);
    assert.throws(() => sim.cluster.admitViewer(channel));
  });

  it('opens each channel on the least-loaded unit', () => {
    const sim = simCluster();
    sim.addUnit('a', 10, 10);
    sim.addUnit('b', 10, 10);
    const first = sim.cluster.openChannel('k');
    admitN(sim.cluster, first, 35); // 4 groups on one unit
    const second = sim.cluster.openChannel('k');
    assert.notEqual(second.root.unit.id, first.root.unit.id);
    // Measured CPU counts too: a unit reporting a hot CPU is not chosen even with free groups.
    sim.cluster.heartbeat(second.root.unit, { viewers: 0, egressBps: 0, cpu: 0.95, rssBytes: 0 });
    assert.equal(sim.cluster.openChannel('k').root.unit.id, first.root.unit.id);
  });

  it('keeps the tree shallow: bounded relay fan-out gives depth ≈ log(units)', () => {
    const sim = simCluster({ maxRelayChildren: 4 });
    for (let i = 0; i < 100; i++) sim.addUnit(`u${i}`, 2, 10);
    const channel = sim.cluster.openChannel('k');
    admitN(sim.cluster, channel, 100 * 2 * 10);
    assert.equal(channel.presences.size, 100);
    // 1 + 4 + 16 + 64 = 85 < 100 ≤ 341 → depth 5 with fan-out 4; a chain would be 100 deep.
    assert.equal(maxTreeDepth(sim.cluster), 5);
    for (const p of channel.presences.values()) assert.ok(p.children.length <= 4);
    assert.deepEqual(checkInvariants(sim.cluster), []);
  });

  it('releases empty non-root groups after the grace period, never the root', () => {
    const sim = simCluster({ emptyGroupGraceMs: 5000, consolidate: false });
    const unit = sim.addUnit('a', 10, 10);
    const channel = sim.cluster.openChannel('k');
    const viewers = Array.from({ length: 25 }, () => sim.cluster.admitViewer(channel));
    assert.equal(unit.usedGroups, 3);
    for (const v of viewers) sim.cluster.removeViewer(v);
    sim.clock.now += 4999;
    sim.cluster.sweep(() => {});
    assert.equal(unit.usedGroups, 3, 'released before the grace period ended');
    sim.clock.now += 2;
    sim.cluster.sweep(() => {});
    assert.equal(unit.usedGroups, 1);
    assert.equal(channel.root.unit.groups[channel.root.index], channel.root);
    assert.deepEqual(sim.commands.filter((c) => c.method === 'csm.releaseGroup').map((c) => c.params['groupIndex']).sort(), [1, 2]);
  });

  it('a group that refills during its grace period is kept', () => {
    const sim = simCluster({ emptyGroupGraceMs: 5000, consolidate: false });
    const unit = sim.addUnit('a', 10, 10);
    const channel = sim.cluster.openChannel('k');
    const viewers = Array.from({ length: 11 }, () => sim.cluster.admitViewer(channel));
    sim.cluster.removeViewer(viewers[10]!);
    sim.clock.now += 1000;
    sim.cluster.admitViewer(channel);
    sim.clock.now += 10_000;
    sim.cluster.sweep(() => {});
    assert.equal(unit.usedGroups, 2);
  });

  it('releases a reservation the viewer never used', () => {
    const sim = simCluster({ reservationTtlMs: 1000 });
    const unit = sim.addUnit('a', 10, 10);
    const channel = sim.cluster.openChannel('k');
    const used = sim.cluster.admitViewer(channel);
    const unused = sim.cluster.admitViewer(channel);
    assert.ok(sim.cluster.viewerJoined(unit, channel.id, used.group.index, used.id));
    sim.clock.now += 1001;
    sim.cluster.sweep(() => {});
    assert.ok(sim.cluster.viewers.has(used.id));
    assert.ok(!sim.cluster.viewers.has(unused.id));
    assert.equal(channel.viewers, 1);
  });
});
