import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChannelReport, GroupReport } from '../../protocol/control-messages.js';
import { checkInvariants } from '../../csm/cluster/invariants.js';
import { simCluster } from '../support/sim-cluster.js';

const channelReport = (channelId: number, relayParent: string | null): ChannelReport => ({ channelId, relayParent, publisherConnected: false, bitrateBps: 0, backlogFrames: 0, videoSkips: 0, drops: 0, udpViewerIds: [], relayChildren: 0 });

describe('reconciling a unit with its report', () => {
  it('sends nothing when the unit holds what the CSM gave it', () => {
    const sim = simCluster();
    const a = sim.addUnit('a', 2, 10);
    sim.addUnit('b', 2, 10);
    const channel = sim.cluster.openChannel('k');
    for (let i = 0; i < 35; i++) sim.cluster.admitViewer(channel);
    const child = [...channel.presences.values()].find((p) => p.depth === 2)!;
    sim.commands.length = 0;
    const groups: GroupReport[] = child.groups.map((g) => ({ index: g.index, channelId: channel.id, role: g.role, viewerIds: [...g.viewerIds] }));
    sim.cluster.reconcileUnit(child.unit, groups, [channelReport(channel.id, child.parent!.unit.id)]);
    assert.deepEqual(sim.commands, []);
    assert.ok(a.presences.has(channel.id));
  });

  it('releases groups the CSM never gave, recreates missing ones, restates a wrong relay, adopts and drops viewers', () => {
    const sim = simCluster();
    sim.addUnit('a', 1, 10);
    const b = sim.addUnit('b', 3, 10);
    const channel = sim.cluster.openChannel('k');
    const viewers = Array.from({ length: 12 }, () => sim.cluster.admitViewer(channel));
    const onB = viewers.filter((v) => v.group.unit === b);
    for (const v of onB) sim.cluster.viewerJoined(b, channel.id, v.group.index, v.id);
    const group = onB[0]!.group;
    sim.commands.length = 0;
    // b reports: a stray group 2 of channel 99, not our group, and a wrong relay parent.
    sim.cluster.reconcileUnit(b, [{ index: 2, channelId: 99, role: 'member', viewerIds: ['x'] }], [channelReport(channel.id, null)]);
    assert.deepEqual(
      sim.commands.map((c) => [c.method, c.params['groupIndex'] ?? (c.params['parent'] as { unitId: string } | undefined)?.unitId]),
      [['csm.releaseGroup', 2], ['csm.createGroup', group.index], ['csm.linkRelay', 'a']],
    );
    // Its connected viewers were not reported: they left.
    assert.equal(group.viewerIds.size, 0);
    // A later report lists a viewer the CSM does not know (e.g. admitted by a CSM before a takeover): adopted.
    sim.cluster.reconcileUnit(b, [{ index: group.index, channelId: channel.id, role: 'member', viewerIds: ['from-before'] }], [channelReport(channel.id, 'a')]);
    assert.ok(sim.cluster.viewers.get('from-before')?.connected);
    assert.deepEqual(checkInvariants(sim.cluster), []);
  });
});
