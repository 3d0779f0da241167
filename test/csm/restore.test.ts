import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkInvariants } from '../../csm/cluster/invariants.js';
import { failUnit } from '../../csm/cluster/rehome.js';
import { restoreCluster } from '../../csm/cluster/restore.js';
import { channelRecord, treeView, unitRecord } from '../../csm/cluster/views.js';
import type { ClusterSnapshot } from '../../csm/store/records.js';
import { simCluster } from '../support/sim-cluster.js';

function snapshotOf(sim: ReturnType<typeof simCluster>): ClusterSnapshot {
  const { cluster } = sim;
  return { epoch: 1, units: [...cluster.units.values()].map(unitRecord), channels: [...cluster.channels.values()].map(channelRecord), nextChannelId: cluster.nextChannelId };
}

describe('restoring the cluster from the mirror', () => {
  it('rebuilds units, groups and channel trees (also after a re-home moved a root)', () => {
    const before = simCluster({ maxRelayChildren: 2 });
    for (const id of ['a', 'b', 'c', 'd', 'e', 'f']) before.addUnit(id, 2, 10);
    const channels = [before.cluster.openChannel('k1'), before.cluster.openChannel('k2')];
    for (let i = 0; i < 70; i++) before.cluster.admitViewer(channels[0]!);
    for (let i = 0; i < 15; i++) before.cluster.admitViewer(channels[1]!);
    failUnit(before.cluster, channels[0]!.root.unit, 'failed', 'test');
    const snapshot = snapshotOf(before);

    const after = simCluster({ maxRelayChildren: 2 });
    const result = restoreCluster(after.cluster, snapshot);
    assert.deepEqual(result.skipped, []);
    assert.equal(after.cluster.nextChannelId, before.cluster.nextChannelId);
    for (const channel of before.cluster.channels.values()) {
      const restored = after.cluster.channel(channel.id);
      // Sibling order is not kept (it only breaks ties between equally shallow parents).
      const shape = (node: ReturnType<typeof treeView>): unknown =>
        node && { unit: node.unitId, depth: node.depth, groups: node.groups, children: [...node.children].sort((x, y) => x.unitId.localeCompare(y.unitId)).map(shape) };
      assert.deepEqual(shape(treeView(restored)), shape(treeView(channel)));
      assert.equal(restored.root.unit.id, channel.root.unit.id);
      assert.equal(restored.publisherKeyHash, channel.publisherKeyHash);
    }
    for (const unit of before.cluster.units.values()) {
      const restored = after.cluster.unit(unit.id);
      assert.equal(restored.state, unit.state);
      assert.equal(restored.usedGroups, unit.usedGroups);
      assert.equal(restored.connected, false);
    }
    assert.deepEqual(after.commands, [], 'restoring sent commands');
    assert.deepEqual(checkInvariants(after.cluster), []);

    // Once units register again, admission goes on from the restored trees.
    for (const unit of after.cluster.units.values()) if (unit.state !== 'failed') after.addUnit(unit.id, 2, 10);
    const viewer = after.cluster.admitViewer(after.cluster.channel(channels[1]!.id));
    assert.ok(channels[1]!.presences.has(viewer.group.unit.id));
    assert.deepEqual(checkInvariants(after.cluster), []);
  });

  it('skips a channel whose groups no longer fit the units', () => {
    const before = simCluster();
    before.addUnit('a', 4, 10);
    const channel = before.cluster.openChannel('k');
    const snapshot = snapshotOf(before);
    snapshot.units = [];
    const after = simCluster();
    assert.deepEqual(restoreCluster(after.cluster, snapshot).skipped, [channel.id]);
    assert.equal(after.cluster.channels.size, 0);
  });
});

describe('a capacity an operator set', () => {
  it('holds over a unit that registers again with its configured values, is told to it again, and survives a takeover', () => {
    const before = simCluster();
    const unit = before.addUnit('a', 4, 10);
    // What CsmService.setUnitCapacity leaves in the model.
    unit.operatorCapacity = { groupsPerUnit: 6, groupSize: 3 };
    unit.groupsPerUnit = 6;
    unit.groupSize = 3;

    // The unit restarted: it registers with its configuration.
    before.addUnit('a', 4, 10);
    assert.deepEqual([unit.groupsPerUnit, unit.groupSize, unit.groups.length], [6, 3, 6], "the model keeps the operator's values");
    assert.equal(before.cluster.reapplyOperatorCapacity(unit, { groupsPerUnit: 4, groupSize: 10 }), true);
    assert.deepEqual(before.commands.at(-1), { unitId: 'a', method: 'csm.setCapacity', params: { groupsPerUnit: 6, groupSize: 3 } });
    assert.equal(before.events.at(-1)?.kind, 'unit.capacityChanged');
    assert.equal(before.events.at(-1)?.actor, 'csm');
    // It took them and registers with them: nothing more to tell.
    const sent = before.commands.length;
    assert.equal(before.cluster.reapplyOperatorCapacity(unit, { groupsPerUnit: 6, groupSize: 3 }), false);
    assert.equal(before.commands.length, sent);
    const channel = before.cluster.openChannel('k');
    assert.equal(channel.root.capacity, 3, "new groups have the operator's size");

    const after = simCluster();
    restoreCluster(after.cluster, snapshotOf(before));
    assert.deepEqual(after.cluster.unit('a').operatorCapacity, { groupsPerUnit: 6, groupSize: 3 }, 'mirrored with the unit');
    const back = after.addUnit('a', 4, 10);
    assert.deepEqual([back.groupsPerUnit, back.groupSize], [6, 3]);
    assert.equal(after.cluster.reapplyOperatorCapacity(back, { groupsPerUnit: 4, groupSize: 10 }), true);
  });

  it('leaves a unit without one to its own values', () => {
    const sim = simCluster();
    const unit = sim.addUnit('b', 4, 10);
    sim.addUnit('b', 5, 8);
    assert.deepEqual([unit.groupsPerUnit, unit.groupSize, unit.operatorCapacity], [5, 8, null]);
    assert.equal(sim.cluster.reapplyOperatorCapacity(unit, { groupsPerUnit: 5, groupSize: 8 }), false);
    assert.deepEqual(sim.commands, []);
  });
});
