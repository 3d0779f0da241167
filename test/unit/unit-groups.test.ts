/** UnitGroups: the rules of each operation, its events, and the report shape the CSM validates. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeInvalid } from '../../protocol/ControlChannel.js';
import { Notification, NotificationSchemas } from '../../protocol/control-messages.js';
import { UnitError, type UnitErrorCode } from '../../streaming-unit/errors.js';
import { UnitGroups, type UnitGroupsEvents } from '../../streaming-unit/UnitGroups.js';

function throwsCode(fn: () => unknown, code: UnitErrorCode): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UnitError, `expected a UnitError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** Every event UnitGroups emits, in order, as [name, ...args]. */
function record(groups: UnitGroups): unknown[][] {
  const log: unknown[][] = [];
  const names: (keyof UnitGroupsEvents)[] = [
    'groupCreated', 'groupRoleChanged', 'groupReleased', 'groupMerged', 'relayLinked',
    'channelEvacuated', 'channelClosed', 'channelDropped', 'viewerJoined', 'viewerLeft', 'publisherChanged',
  ];
  for (const name of names) groups.on(name, (...args: unknown[]) => log.push([name, ...args]));
  return log;
}

const names = (log: unknown[][]) => log.map((e) => e[0]);

describe('UnitGroups', () => {
  it('creates a group, and createGroup is an upsert of the role for the same channel', () => {
    const groups = new UnitGroups(4, 3);
    const log = record(groups);
    assert.equal(groups.createGroup(7, 0, 'member'), true);
    assert.equal(groups.createGroup(7, 0, 'member'), false);
    assert.equal(groups.createGroup(7, 0, 'root'), false);
    assert.equal(groups.group(0)?.role, 'root');
    assert.equal(groups.groupsUsed, 1);
    assert.deepEqual(names(log), ['groupCreated', 'groupRoleChanged']);
  });

  it('refuses an index held by another channel and an index outside the unit', () => {
    const groups = new UnitGroups(4, 3);
    groups.createGroup(7, 1, 'root');
    throwsCode(() => groups.createGroup(8, 1, 'root'), 'UNIT_ERR_GROUP_TAKEN');
    throwsCode(() => groups.createGroup(8, 4, 'member'), 'UNIT_ERR_GROUP_INDEX');
    throwsCode(() => groups.createGroup(8, -1, 'member'), 'UNIT_ERR_GROUP_INDEX');
    throwsCode(() => groups.releaseGroup(7, 99), 'UNIT_ERR_GROUP_INDEX');
    assert.equal(groups.group(1)?.channelId, 7);
  });

  it('releases strictly: a free index or another channel is refused', () => {
    const groups = new UnitGroups(4, 3);
    groups.createGroup(7, 0, 'root');
    throwsCode(() => groups.releaseGroup(7, 2), 'UNIT_ERR_NO_SUCH_GROUP');
    throwsCode(() => groups.releaseGroup(8, 0), 'UNIT_ERR_CHANNEL_MISMATCH');
    groups.releaseGroup(7, 0);
    assert.equal(groups.group(0), null);
    throwsCode(() => groups.releaseGroup(7, 0), 'UNIT_ERR_NO_SUCH_GROUP');
  });

  it('releasing the last group of a channel drops its relay link and counters', () => {
    const groups = new UnitGroups(4, 3);
    groups.createGroup(7, 0, 'member');
    groups.createGroup(7, 1, 'member');
    groups.linkRelay(7, { unitId: 'u0', address: 'ws://10.0.0.1:7101' });
    groups.counters(7)!.drops = 5;
    const log = record(groups);
    groups.releaseGroup(7, 0);
    assert.deepEqual(groups.relayParent(7), { unitId: 'u0', address: 'ws://10.0.0.1:7101' }, 'kept while a group remains');
    groups.releaseGroup(7, 1);
    assert.equal(groups.hasChannel(7), false);
    assert.equal(groups.relayParent(7), null);
    assert.equal(groups.counters(7), undefined);
    assert.deepEqual(names(log), ['groupReleased', 'groupReleased', 'channelDropped']);
    // Back with a fresh group: the old relay and counters do not come back.
    groups.createGroup(7, 2, 'member');
    assert.equal(groups.relayParent(7), null);
    assert.deepEqual(groups.counters(7), { bitrateBps: 0, backlogFrames: 0, videoSkips: 0, drops: 0, relayChildren: 0 });
  });

  it('links and unlinks a relay; an unknown channel is refused', () => {
    const groups = new UnitGroups(4, 3);
    groups.createGroup(7, 0, 'member');
    const log = record(groups);
    groups.linkRelay(7, { unitId: 'u0', address: 'ws://a' });
    groups.linkRelay(7, { unitId: 'u0', address: 'ws://a' });
    groups.linkRelay(7, null);
    assert.deepEqual(log, [
      ['relayLinked', 7, { unitId: 'u0', address: 'ws://a' }],
      ['relayLinked', 7, null],
    ]);
    throwsCode(() => groups.linkRelay(8, null), 'UNIT_ERR_NO_SUCH_CHANNEL');
  });

  it('merges: viewers of `from` move to `into`, `from` is freed, no viewer notifications', () => {
    const groups = new UnitGroups(4, 3);
    groups.createGroup(7, 0, 'root');
    groups.createGroup(7, 1, 'member');
    groups.createGroup(7, 2, 'member');
    groups.addViewer(7, 1, 'a');
    groups.addViewer(7, 2, 'b');
    groups.addViewer(7, 2, 'c');
    const log = record(groups);
    groups.mergeGroup(7, 1, 2);
    assert.equal(groups.group(1), null);
    assert.deepEqual([...groups.group(2)!.viewerIds].sort(), ['a', 'b', 'c']);
    assert.equal(groups.viewerCount, 3);
    assert.deepEqual(names(log), ['groupMerged', 'groupReleased']);
    assert.deepEqual(log[0]!.slice(1, 3), [7, 1]);
    // The moved viewer is found in its new group when it leaves.
    groups.removeViewer('a');
    assert.deepEqual(log.at(-1), ['viewerLeft', 7, 2, 'a']);
  });

  it('refuses merges across channels, into itself, of the root, and past the group size', () => {
    const groups = new UnitGroups(6, 2);
    groups.createGroup(7, 0, 'root');
    groups.createGroup(7, 1, 'member');
    groups.createGroup(7, 2, 'member');
    groups.createGroup(8, 3, 'member');
    throwsCode(() => groups.mergeGroup(7, 1, 3), 'UNIT_ERR_CHANNEL_MISMATCH');
    throwsCode(() => groups.mergeGroup(7, 1, 5), 'UNIT_ERR_NO_SUCH_GROUP');
    throwsCode(() => groups.mergeGroup(7, 1, 1), 'UNIT_ERR_MERGE_INVALID');
    throwsCode(() => groups.mergeGroup(7, 0, 1), 'UNIT_ERR_MERGE_INVALID');
    throwsCode(() => groups.mergeGroup(7, 1, 9), 'UNIT_ERR_GROUP_INDEX');
    groups.addViewer(7, 1, 'a');
    groups.addViewer(7, 2, 'b');
    groups.addViewer(7, 2, 'c');
    throwsCode(() => groups.mergeGroup(7, 1, 2), 'UNIT_ERR_GROUP_FULL');
    assert.equal(groups.group(1)?.viewerIds.size, 1, 'a refused merge changes nothing');
  });

  it('evacuates: announces the viewers to tell, then drops the groups; unknown channels are skipped', () => {
    const groups = new UnitGroups(6, 3);
    groups.createGroup(7, 0, 'root');
    groups.createGroup(7, 1, 'member');
    groups.createGroup(8, 2, 'root');
    groups.addViewer(7, 0, 'a');
    groups.addViewer(7, 1, 'b');
    groups.addViewer(8, 2, 'c');
    let groupsWhenAnnounced = -1;
    groups.on('channelEvacuated', () => (groupsWhenAnnounced = groups.groupsUsed));
    const log = record(groups);
    assert.deepEqual(groups.evacuate([7, 99]), [7]);
    assert.equal(groupsWhenAnnounced, 3, 'announced while the groups still exist');
    assert.deepEqual(log[0], ['channelEvacuated', 7, ['a', 'b']]);
    assert.deepEqual(names(log).slice(1), ['groupReleased', 'groupReleased', 'channelDropped']);
    assert.equal(groups.hasChannel(7), false);
    assert.equal(groups.groupsUsed, 1);
    assert.equal(groups.viewerCount, 1);
    assert.equal(groups.removeViewer('a'), false, 'an evacuated viewer is gone');
  });

  it('closes a channel idempotently', () => {
    const groups = new UnitGroups(4, 3);
    groups.createGroup(7, 0, 'root');
    groups.addViewer(7, 0, 'a');
    const log = record(groups);
    assert.equal(groups.closeChannel(7), true);
    assert.equal(groups.closeChannel(7), false);
    assert.deepEqual(log[0], ['channelClosed', 7, ['a']]);
    assert.equal(groups.groupsUsed, 0);
    assert.equal(groups.viewerCount, 0);
  });

  it('adds and removes viewers with notifications, within the group size', () => {
    const groups = new UnitGroups(4, 2);
    groups.createGroup(7, 0, 'root');
    groups.createGroup(7, 1, 'member');
    const log = record(groups);
    assert.equal(groups.addViewer(7, 0, 'a'), true);
    assert.equal(groups.addViewer(7, 0, 'a'), false, 'same group again is a no-op');
    groups.addViewer(7, 0, 'b');
    throwsCode(() => groups.addViewer(7, 0, 'c'), 'UNIT_ERR_GROUP_FULL');
    throwsCode(() => groups.addViewer(7, 1, 'a'), 'UNIT_ERR_VIEWER_EXISTS');
    throwsCode(() => groups.addViewer(7, 1, ''), 'UNIT_ERR_VIEWER_ID');
    throwsCode(() => groups.addViewer(7, 1, 'x'.repeat(65)), 'UNIT_ERR_VIEWER_ID');
    throwsCode(() => groups.addViewer(7, 2, 'c'), 'UNIT_ERR_NO_SUCH_GROUP');
    throwsCode(() => groups.addViewer(8, 1, 'c'), 'UNIT_ERR_CHANNEL_MISMATCH');
    assert.equal(groups.removeViewer('a'), true);
    assert.equal(groups.removeViewer('a'), false);
    assert.deepEqual(log, [
      ['viewerJoined', 7, 0, 'a'],
      ['viewerJoined', 7, 0, 'b'],
      ['viewerLeft', 7, 0, 'a'],
    ]);
    assert.equal(groups.viewerCount, 1);
  });

  it('tracks the publisher per channel', () => {
    const groups = new UnitGroups(4, 2);
    groups.createGroup(7, 0, 'root');
    const log = record(groups);
    groups.setPublisherConnected(7, true);
    groups.setPublisherConnected(7, true);
    groups.setPublisherConnected(7, false);
    assert.deepEqual(log, [
      ['publisherChanged', 7, true],
      ['publisherChanged', 7, false],
    ]);
    throwsCode(() => groups.setPublisherConnected(8, true), 'UNIT_ERR_NO_SUCH_CHANNEL');
  });

  it('reports groups and channels in the shape the protocol validates', () => {
    const groups = new UnitGroups(50, 10);
    groups.createGroup(7, 0, 'root');
    groups.createGroup(7, 3, 'member');
    groups.createGroup(9, 1, 'member');
    groups.addViewer(7, 3, 'v1');
    groups.addViewer(7, 3, 'v2');
    groups.linkRelay(9, { unitId: 'u-parent', address: 'ws://10.0.0.2:7101' });
    groups.setPublisherConnected(7, true);
    Object.assign(groups.counters(7)!, { bitrateBps: 2_500_000, backlogFrames: 3, videoSkips: 1, drops: 2, relayChildren: 1 });
    groups.setViewerMode('v1', 'udp');
    groups.setViewerMode('v2', 'udp');
    groups.setViewerMode('v2', 'tcp');
    groups.setViewerMode('nobody', 'udp');
    const report = groups.report();
    const load = { viewers: groups.viewerCount, egressBps: 0, cpu: 0, rssBytes: 1 };
    assert.equal(describeInvalid(NotificationSchemas[Notification.UNIT_REPORT], { ...report, load }), null);
    assert.deepEqual(report.groups, [
      { index: 0, channelId: 7, role: 'root', viewerIds: [] },
      { index: 1, channelId: 9, role: 'member', viewerIds: [] },
      { index: 3, channelId: 7, role: 'member', viewerIds: ['v1', 'v2'] },
    ]);
    assert.deepEqual(
      [...report.channels].sort((a, b) => a.channelId - b.channelId),
      [
        { channelId: 7, relayParent: null, publisherConnected: true, bitrateBps: 2_500_000, backlogFrames: 3, videoSkips: 1, drops: 2, udpViewerIds: ['v1'], relayChildren: 1 },
        { channelId: 9, relayParent: 'u-parent', publisherConnected: false, bitrateBps: 0, backlogFrames: 0, videoSkips: 0, drops: 0, udpViewerIds: [], relayChildren: 0 },
      ],
    );
  });

  it('forgets a UDP viewer that left or went with its group', () => {
    const groups = new UnitGroups(4, 2);
    groups.createGroup(7, 0, 'root');
    groups.createGroup(7, 1, 'member');
    groups.addViewer(7, 0, 'a');
    groups.addViewer(7, 1, 'b');
    groups.setViewerMode('a', 'udp');
    groups.setViewerMode('b', 'udp');
    assert.equal(groups.udpViewerCount(7), 2);
    groups.removeViewer('a');
    groups.releaseGroup(7, 1);
    assert.deepEqual(groups.report().channels[0]!.udpViewerIds, []);
  });

  it('a throwing listener does not break the operation', () => {
    const groups = new UnitGroups(4, 2);
    groups.on('groupCreated', () => {
      throw new Error('listener bug');
    });
    groups.createGroup(7, 0, 'root');
    assert.equal(groups.groupsUsed, 1);
  });
});
