import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { failUnit } from '../../csm/cluster/rehome.js';
import { consolidateChannel } from '../../csm/cluster/consolidate.js';
import { checkInvariants } from '../../csm/cluster/invariants.js';
import { groupKey } from '../../csm/cluster/model.js';
import { simCluster } from '../support/sim-cluster.js';

describe('re-homing and consolidation', () => {
  it('moves the root to a unit already serving the channel when the root unit fails; its viewers stay', () => {
    const sim = simCluster({ maxRelayChildren: 2 });
    const units = ['a', 'b', 'c', 'd', 'e'].map((id) => sim.addUnit(id, 2, 10));
    const channel = sim.cluster.openChannel('k');
    const rootUnit = channel.root.unit;
    for (let i = 0; i < 100; i++) sim.cluster.admitViewer(channel);
    assert.equal(channel.presences.size, 5);
    const survivorsBefore = channel.viewers - rootUnit.viewers;

    sim.commands.length = 0;
    failUnit(sim.cluster, rootUnit, 'failed', 'csm');

    assert.notEqual(channel.root.unit, rootUnit);
    assert.equal(rootUnit.usedGroups, 0);
    assert.equal(rootUnit.state, 'failed');
    assert.ok(!channel.presences.has(rootUnit.id));
    // Viewers on the surviving units keep their places; those on the failed unit were dropped.
    assert.equal(channel.viewers, survivorsBefore);
    assert.deepEqual(checkInvariants(sim.cluster), []);
    // The new root unit is told it is the root and that it has no relay parent.
    const newRoot = channel.root.unit.id;
    assert.ok(sim.commands.some((c) => c.unitId === newRoot && c.method === 'csm.linkRelay' && c.params['parent'] === null));
    assert.ok(sim.commands.some((c) => c.unitId === newRoot && c.method === 'csm.createGroup' && c.params['role'] === 'root'));
    // Nothing is sent to the dead unit.
    assert.ok(!sim.commands.some((c) => c.unitId === rootUnit.id));
    assert.ok(sim.events.some((e) => e.kind === 'channel.rehomed' && e.channelId === channel.id));
    assert.ok(units.every((u) => u === rootUnit || u.state === 'up'));
  });

  it('re-parents the orphaned subtree of a failed middle unit and reallocates lost viewer groups', () => {
    const sim = simCluster({ maxRelayChildren: 1 }); // a chain: a → b → c
    sim.addUnit('a', 1, 10);
    sim.addUnit('b', 1, 10);
    sim.addUnit('c', 1, 10);
    sim.addUnit('spare', 2, 10);
    const channel = sim.cluster.openChannel('k');
    for (let i = 0; i < 30; i++) sim.cluster.admitViewer(channel);
    const middle = [...channel.presences.values()].find((p) => p.depth === 2)!;
    const leaf = [...channel.presences.values()].find((p) => p.depth === 3)!;
    failUnit(sim.cluster, middle.unit, 'failed', 'csm');
    assert.equal(leaf.depth, 2);
    assert.equal(leaf.parent, channel.root.unit.presences.get(channel.id));
    // 10 viewers were lost; a replacement group waits for them on the spare unit.
    assert.equal(channel.viewers, 20);
    const free = [...channel.openGroups].reduce((n, g) => n + g.capacity - g.viewerIds.size, 0);
    assert.ok(free >= 10, `only ${free} free slots for 10 rejoining viewers`);
    assert.deepEqual(checkInvariants(sim.cluster), []);
  });

  it('evacuation tells the unit first, drains it and moves every channel', () => {
    const sim = simCluster();
    const a = sim.addUnit('a', 4, 10);
    sim.addUnit('b', 4, 10);
    const channels = [sim.cluster.openChannel('k'), sim.cluster.openChannel('k'), sim.cluster.openChannel('k')];
    const onA = channels.filter((c) => c.root.unit === a).map((c) => c.id);
    assert.ok(onA.length > 0);
    sim.commands.length = 0;
    failUnit(sim.cluster, a, 'evacuated', 'alice');
    assert.equal(a.state, 'draining');
    assert.deepEqual(sim.commands[0], { unitId: 'a', method: 'csm.evacuate', params: { channelIds: onA } });
    for (const c of channels) assert.equal(c.root.unit.id, 'b');
    assert.ok(sim.events.some((e) => e.kind === 'unit.evacuated' && e.actor === 'alice'));
    // A draining unit takes no new channel even though it is the emptier one.
    assert.equal(sim.cluster.openChannel('k').root.unit.id, 'b');
  });

  it('closes a channel whose root has nowhere to go', () => {
    const sim = simCluster();
    const only = sim.addUnit('only', 2, 10);
    const channel = sim.cluster.openChannel('k');
    failUnit(sim.cluster, only, 'failed', 'csm');
    assert.ok(!sim.cluster.channels.has(channel.id));
    assert.deepEqual(checkInvariants(sim.cluster), []);
  });

  it('merges under-filled groups of a channel inside a unit without moving anyone to another unit', () => {
    const sim = simCluster({ consolidate: true, emptyGroupGraceMs: 1e9 });
    const unit = sim.addUnit('a', 10, 10);
    const channel = sim.cluster.openChannel('k');
    const viewers = Array.from({ length: 40 }, () => sim.cluster.admitViewer(channel));
    // Leave 3 in each of the member groups 1..3 (root keeps 10).
    for (const v of viewers) if (v.group.role === 'member' && [...v.group.viewerIds].indexOf(v.id) >= 3) sim.cluster.removeViewer(v);
    assert.equal(unit.usedGroups, 4);
    sim.commands.length = 0;
    const merged = consolidateChannel(sim.cluster, channel);
    assert.equal(merged, 2);
    assert.equal(unit.usedGroups, 2);
    assert.equal(channel.viewers, 19);
    const merges = sim.commands.filter((c) => c.method === 'csm.mergeGroup');
    assert.equal(merges.length, 2);
    assert.deepEqual(checkInvariants(sim.cluster), []);
    // Every remaining viewer points at a live group of the same unit.
    for (const v of sim.cluster.viewers.values()) assert.equal(v.group.unit, unit, groupKey(v.group));
  });
});
