/**
 * CsmLink against a scripted CSM built from a real node:net server and the real ControlChannel:
 * registration, heartbeats and reports, command execution, epoch fencing, reconnects (peer drop,
 * CSM away, malformed frame, refused registration) and removal.
 */
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { pino } from 'pino';
import { CodedError } from '../../protocol/control-errors.js';
import { Method, Notification, type CsmCommand, type RequestParams } from '../../protocol/control-messages.js';
import { EventKind } from '../../protocol/event-kinds.js';
import { backoffDelay as backoffIn } from '../../protocol/backoff.js';
import { CsmLink, type CsmLinkEvents } from '../../streaming-unit/CsmLink.js';

const backoffDelay = (failures: number, minMs: number, maxMs: number, random: () => number): number => backoffIn(failures, { minMs, maxMs }, random);
import { LoadMeter } from '../../streaming-unit/LoadMeter.js';
import { UnitGroups, type UnitGroupsEvents } from '../../streaming-unit/UnitGroups.js';
import { ScriptedCsm, type ScriptedCsmOptions } from './helpers/scripted-csm.js';
import { freePort, nextEvent, until } from './helpers/wait.js';

const linkEvent = <K extends keyof CsmLinkEvents & string>(link: CsmLink, event: K) => nextEvent<CsmLinkEvents, K>(link, event);

const silent = pino({ level: 'silent' });
const ADDRESS = 'ws://127.0.0.1:47101';

interface Rig {
  csm: ScriptedCsm;
  groups: UnitGroups;
  link: CsmLink;
}

/** A scripted CSM and a unit's link to it, both torn down when the test ends. */
async function rig(t: TestContext, csmOptions: ScriptedCsmOptions = {}, prepare?: (groups: UnitGroups) => void): Promise<Rig> {
  const csm = await ScriptedCsm.start({ epoch: 3, ...csmOptions });
  const groups = new UnitGroups(4, 3);
  prepare?.(groups);
  const link = new CsmLink(
    { unitId: 'u1', address: ADDRESS, csmHost: '127.0.0.1', csmControlPort: csm.port, clusterSecret: 'test-secret', reconnectMinMs: 10, reconnectMaxMs: 40, udpCarriers: ['datachannel', 'rtp'] },
    groups,
    new LoadMeter(groups),
    silent,
  );
  t.after(async () => {
    link.close();
    await csm.close();
  });
  return { csm, groups, link };
}

async function started(r: Rig): Promise<number> {
  const registered = linkEvent(r.link, 'registered');
  r.link.start();
  const [epoch] = await registered;
  return epoch;
}

async function refusedWith<M extends CsmCommand>(csm: ScriptedCsm, method: M, params: Omit<RequestParams<M>, 'epoch'> & { epoch?: number }, code: string): Promise<void> {
  await assert.rejects(csm.command(method, params), (error: unknown) => {
    assert.ok(error instanceof CodedError, `expected a CodedError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.remote, true);
    return true;
  });
}

describe('CsmLink', () => {
  it('registers with its identity, capacity, secret, epoch seen, state and load', async (t) => {
    const r = await rig(t, {}, (groups) => {
      groups.createGroup(7, 0, 'root');
      groups.addViewer(7, 0, 'v1');
    });
    assert.equal(await started(r), 3);
    assert.equal(r.link.linked, true);
    assert.equal(r.link.epoch, 3);
    assert.equal(r.csm.registers.length, 1);
    const { load, ...params } = r.csm.registers[0]!;
    assert.deepEqual(params, {
      unitId: 'u1',
      address: ADDRESS,
      groupsPerUnit: 4,
      groupSize: 3,
      secret: 'test-secret',
      epochSeen: 0,
      groups: [{ index: 0, channelId: 7, role: 'root', viewerIds: ['v1'] }],
      channels: [{ channelId: 7, relayParent: null, publisherConnected: false, bitrateBps: 0, backlogFrames: 0, videoSkips: 0, drops: 0, udpViewerIds: [], relayChildren: 0 }],
      udpCarriers: ['datachannel', 'rtp'],
    });
    assert.equal(load.viewers, 1);
    assert.ok(load.rssBytes > 0);
  });

  it('sends heartbeats and full reports on the intervals the CSM asked for', async (t) => {
    const r = await rig(t, { heartbeatIntervalMs: 15, reportIntervalMs: 25 }, (groups) => groups.createGroup(7, 0, 'root'));
    await started(r);
    await until(() => r.csm.of(Notification.UNIT_HEARTBEAT).length >= 3, '3 heartbeats');
    await until(() => r.csm.of(Notification.UNIT_REPORT).length >= 2, '2 reports');
    const report = r.csm.of(Notification.UNIT_REPORT)[0]!;
    assert.deepEqual(report.groups, [{ index: 0, channelId: 7, role: 'root', viewerIds: [] }]);
    assert.equal(report.load.viewers, 0);
  });

  it('forwards viewer and publisher changes as notifications', async (t) => {
    const r = await rig(t, {}, (groups) => groups.createGroup(7, 1, 'root'));
    await started(r);
    r.groups.addViewer(7, 1, 'v9');
    r.groups.setPublisherConnected(7, true);
    r.groups.removeViewer('v9');
    await until(() => r.csm.of(Notification.UNIT_VIEWER_LEFT).length === 1, 'viewerLeft');
    assert.deepEqual(r.csm.of(Notification.UNIT_VIEWER_JOINED), [{ channelId: 7, groupIndex: 1, viewerId: 'v9' }]);
    assert.deepEqual(r.csm.of(Notification.UNIT_PUBLISHER_CHANGED), [{ channelId: 7, connected: true }]);
    assert.deepEqual(r.csm.of(Notification.UNIT_VIEWER_LEFT), [{ channelId: 7, groupIndex: 1, viewerId: 'v9' }]);
  });

  it('executes and acknowledges every group command; a refused one leaves the link up', async (t) => {
    const r = await rig(t);
    await started(r);
    const { csm, groups } = r;
    assert.deepEqual(await csm.command(Method.CSM_CREATE_GROUP, { channelId: 7, groupIndex: 0, role: 'root' }), { ok: true });
    await csm.command(Method.CSM_CREATE_GROUP, { channelId: 7, groupIndex: 1, role: 'member' });
    await csm.command(Method.CSM_CREATE_GROUP, { channelId: 7, groupIndex: 2, role: 'member' });
    assert.equal(groups.groupsUsed, 3);

    await csm.command(Method.CSM_LINK_RELAY, { channelId: 7, parent: { unitId: 'u0', address: 'ws://127.0.0.1:47100' } });
    assert.deepEqual(groups.relayParent(7), { unitId: 'u0', address: 'ws://127.0.0.1:47100' });

    groups.addViewer(7, 2, 'v1');
    await csm.command(Method.CSM_MERGE_GROUP, { channelId: 7, from: 2, into: 1 });
    assert.equal(groups.group(2), null);
    assert.deepEqual([...groups.group(1)!.viewerIds], ['v1']);

    await refusedWith(csm, Method.CSM_CREATE_GROUP, { channelId: 8, groupIndex: 0, role: 'root' }, 'UNIT_ERR_GROUP_TAKEN');
    await refusedWith(csm, Method.CSM_CREATE_GROUP, { channelId: 8, groupIndex: 4, role: 'root' }, 'UNIT_ERR_GROUP_INDEX');
    await refusedWith(csm, Method.CSM_RELEASE_GROUP, { channelId: 7, groupIndex: 3 }, 'UNIT_ERR_NO_SUCH_GROUP');

    await csm.command(Method.CSM_CREATE_GROUP, { channelId: 8, groupIndex: 3, role: 'root' });
    await csm.command(Method.CSM_RELEASE_GROUP, { channelId: 7, groupIndex: 1 });
    assert.equal(groups.group(1), null);

    const evacuated = nextEvent<UnitGroupsEvents, 'channelEvacuated'>(groups, 'channelEvacuated');
    await csm.command(Method.CSM_EVACUATE, { channelIds: [7, 99] });
    assert.deepEqual(await evacuated, [7, []]);
    assert.equal(groups.hasChannel(7), false);

    await csm.command(Method.CSM_CLOSE_CHANNEL, { channelId: 8 });
    await csm.command(Method.CSM_CLOSE_CHANNEL, { channelId: 8 });
    assert.equal(groups.groupsUsed, 0);

    assert.equal(r.link.linked, true, 'refusals did not cost the link');
    assert.equal(csm.registers.length, 1);
  });

  it('refuses a command from an older epoch and obeys a newer one', async (t) => {
    const r = await rig(t, { epoch: 5 });
    await started(r);
    await refusedWith(r.csm, Method.CSM_CREATE_GROUP, { epoch: 4, channelId: 7, groupIndex: 0, role: 'root' }, 'UNIT_ERR_STALE_EPOCH');
    assert.equal(r.groups.groupsUsed, 0, 'the stale command changed nothing');

    await r.csm.command(Method.CSM_CREATE_GROUP, { epoch: 6, channelId: 7, groupIndex: 0, role: 'root' });
    assert.equal(r.groups.groupsUsed, 1);
    assert.equal(r.link.epoch, 6);
    // The CSM of epoch 5 is now the stale one.
    await refusedWith(r.csm, Method.CSM_CLOSE_CHANNEL, { epoch: 5, channelId: 7 }, 'UNIT_ERR_STALE_EPOCH');
    assert.equal(r.groups.groupsUsed, 1);

    assert.equal(r.link.linked, true);
    assert.equal(r.csm.registers.length, 1);
    await until(() => r.csm.of(Notification.UNIT_EVENT).length === 2, 'two refusal notices');
    assert.ok(r.csm.of(Notification.UNIT_EVENT).every((e) => e.kind === EventKind.UNIT_NOTICE && /refused/.test(e.message)));
  });

  it('when the peer drops the link, reconnects and re-registers carrying its groups and epoch', async (t) => {
    const r = await rig(t);
    await started(r);
    await r.csm.command(Method.CSM_CREATE_GROUP, { epoch: 9, channelId: 7, groupIndex: 2, role: 'root' });
    r.groups.addViewer(7, 2, 'v1');

    const disconnected = linkEvent(r.link, 'disconnected');
    const registered = linkEvent(r.link, 'registered');
    r.csm.dropLinks();
    await disconnected;
    await registered;
    assert.equal(r.csm.registers.length, 2);
    const again = r.csm.registers[1]!;
    assert.equal(again.epochSeen, 9);
    assert.deepEqual(again.groups, [{ index: 2, channelId: 7, role: 'root', viewerIds: ['v1'] }]);
  });

  it('takes a new capacity (csm.setCapacity, epoch-fenced), refuses one below a group it serves, and re-registers with it', async (t) => {
    const r = await rig(t, { epoch: 5 });
    await started(r);
    await r.csm.command(Method.CSM_CREATE_GROUP, { channelId: 7, groupIndex: 2, role: 'root' });
    await refusedWith(r.csm, Method.CSM_SET_CAPACITY, { groupsPerUnit: 2, groupSize: 5 }, 'UNIT_ERR_CAPACITY_IN_USE');
    await refusedWith(r.csm, Method.CSM_SET_CAPACITY, { epoch: 4, groupsPerUnit: 8, groupSize: 5 }, 'UNIT_ERR_STALE_EPOCH');
    assert.deepEqual([r.groups.groupsPerUnit, r.groups.groupSize], [4, 3]);
    assert.deepEqual(await r.csm.command(Method.CSM_SET_CAPACITY, { groupsPerUnit: 8, groupSize: 5 }), { ok: true });
    assert.deepEqual([r.groups.groupsPerUnit, r.groups.groupSize], [8, 5]);
    // the existing group keeps its 3 slots; a new one (at an index only the new capacity has) gets 5
    assert.equal(r.groups.group(2)!.capacity, 3);
    await r.csm.command(Method.CSM_CREATE_GROUP, { channelId: 7, groupIndex: 7, role: 'member' });
    assert.equal(r.groups.group(7)!.capacity, 5);
    for (let v = 0; v < 5; v++) r.groups.addViewer(7, 7, `n${v}`);
    assert.throws(() => r.groups.addViewer(7, 7, 'n5'), /UNIT_ERR_GROUP_FULL|no free viewer slot/);

    const registered = linkEvent(r.link, 'registered');
    r.csm.dropLinks();
    await registered;
    const again = r.csm.registers.at(-1)!;
    assert.deepEqual([again.groupsPerUnit, again.groupSize], [8, 5]);
  });

  it('keeps serving its groups while the CSM is away, and brings them back when it returns', async (t) => {
    const r = await rig(t, {}, (groups) => groups.createGroup(7, 0, 'root'));
    await started(r);
    r.groups.addViewer(7, 0, 'v1');
    await until(() => r.csm.of(Notification.UNIT_VIEWER_JOINED).length === 1, 'viewerJoined');

    const disconnected = linkEvent(r.link, 'disconnected');
    await r.csm.stop();
    await disconnected;
    assert.equal(r.link.linked, false);
    // Nobody to talk to: the unit keeps its state and keeps taking viewers.
    r.groups.addViewer(7, 0, 'v2');
    r.groups.setPublisherConnected(7, true);
    assert.equal(r.groups.groupsUsed, 1);
    assert.equal(r.groups.viewerCount, 2);
    // It keeps trying, and failing, with backoff.
    await until(() => r.link.retries >= 3, 'three failed reconnect attempts');

    const registered = linkEvent(r.link, 'registered');
    await r.csm.restart();
    await registered;
    const back = r.csm.registers.at(-1)!;
    assert.deepEqual(back.groups, [{ index: 0, channelId: 7, role: 'root', viewerIds: ['v1', 'v2'] }]);
    assert.equal(back.channels[0]!.publisherConnected, true);
    // Changes made while away were not queued: only the one viewerJoined from before the outage.
    assert.equal(r.csm.of(Notification.UNIT_VIEWER_JOINED).length, 1);
    await until(() => r.csm.of(Notification.UNIT_EVENT).some((e) => /back after/.test(e.message)), 'the "back" notice');
  });

  it('keeps trying to reach a CSM that is not up yet', async (t) => {
    const port = await freePort();
    const groups = new UnitGroups(4, 3);
    const link = new CsmLink(
      { unitId: 'u2', address: ADDRESS, csmHost: '127.0.0.1', csmControlPort: port, clusterSecret: 's', reconnectMinMs: 10, reconnectMaxMs: 20, udpCarriers: [] },
      groups,
      new LoadMeter(groups),
      silent,
    );
    let csm: ScriptedCsm | null = null;
    t.after(async () => {
      link.close();
      await csm?.close();
    });
    link.start();
    await until(() => link.retries >= 2, 'two failed attempts');
    const registered = linkEvent(link, 'registered');
    csm = await ScriptedCsm.start({ port });
    await registered;
    assert.equal(csm.registers[0]!.unitId, 'u2');
  });

  it('backs off and retries when the CSM refuses the registration', async (t) => {
    const r = await rig(t);
    r.csm.refuseRegisters = 2;
    const refusals: string[] = [];
    r.link.on('registerRefused', (error) => refusals.push(error.code));
    await started(r);
    assert.deepEqual(refusals, ['CSM_ERR_BAD_SECRET', 'CSM_ERR_BAD_SECRET']);
    assert.equal(r.csm.registers.length, 3);
    assert.equal(r.link.linked, true);
  });

  it('registers without udpCarriers with a CSM of an earlier release, and offers them again to the next CSM', async (t) => {
    const r = await rig(t);
    r.csm.beforeCarriers = true;
    const refusals: string[] = [];
    r.link.on('registerRefused', (error) => refusals.push(error.code));
    await started(r);
    assert.deepEqual(refusals, ['CONTROL_ERR_BAD_PAYLOAD']);
    assert.deepEqual(
      r.csm.registers.map((p) => p.udpCarriers),
      [['datachannel', 'rtp'], undefined],
      'refused with the carriers, taken without them',
    );
    // That CSM is replaced by one that knows carriers: the unit reconnects and names them again.
    r.csm.beforeCarriers = false;
    const registered = linkEvent(r.link, 'registered');
    r.csm.dropLinks();
    await registered;
    assert.deepEqual(r.csm.registers.at(-1)!.udpCarriers, ['datachannel', 'rtp']);
  });

  it('reports every refusal also when the CSM closes the link right after it', async (t) => {
    const r = await rig(t);
    r.csm.refuseRegisters = 3;
    r.csm.closeAfterRefusal = true;
    const refusals: string[] = [];
    r.link.on('registerRefused', (error) => refusals.push(error.code));
    await started(r);
    assert.deepEqual(refusals, ['CSM_ERR_BAD_SECRET', 'CSM_ERR_BAD_SECRET', 'CSM_ERR_BAD_SECRET']);
    assert.equal(r.link.linked, true);
  });

  it('closes the link on a malformed frame without crashing, then reconnects', async (t) => {
    const r = await rig(t, {}, (groups) => groups.createGroup(7, 0, 'root'));
    await started(r);
    const disconnected = linkEvent(r.link, 'disconnected');
    const registered = linkEvent(r.link, 'registered');
    // A well-framed msgpack string where an envelope array belongs.
    const body = Buffer.from([0xa3, 0x61, 0x62, 0x63]);
    const frame = Buffer.concat([Buffer.from([0, 0, 0, body.length]), body]);
    r.csm.sendRaw(frame);
    const [reason] = await disconnected;
    assert.equal(reason?.code, 'CONTROL_ERR_BAD_ENVELOPE');
    await until(() => r.csm.closes.length === 1, 'the CSM side to see the close');
    assert.equal(r.csm.closes[0]?.code, 'CONTROL_ERR_BAD_ENVELOPE', 'the unit told the peer why');
    await registered;
    assert.equal(r.csm.registers.length, 2);
    assert.equal(r.csm.registers[1]!.groups.length, 1);
  });

  it('closes the link on an oversize frame header, then reconnects', async (t) => {
    const r = await rig(t);
    await started(r);
    const registered = linkEvent(r.link, 'registered');
    const disconnected = linkEvent(r.link, 'disconnected');
    r.csm.sendRaw(Buffer.from([0xff, 0xff, 0xff, 0xff]));
    assert.equal((await disconnected)[0]?.code, 'CONTROL_ERR_FRAME_TOO_LARGE');
    await registered;
  });

  it('on csm.removeUnit acknowledges, ends the link and stops reconnecting', async (t) => {
    const r = await rig(t);
    await started(r);
    const removed = linkEvent(r.link, 'removed');
    const disconnected = linkEvent(r.link, 'disconnected');
    assert.deepEqual(await r.csm.command(Method.CSM_REMOVE_UNIT, {}), { ok: true });
    await removed;
    await disconnected;
    assert.equal(r.link.state, 'removed', 'no reconnect scheduled');
    await until(() => r.csm.linkCount === 0, 'the CSM side to close');
    assert.equal(r.csm.registers.length, 1);
  });

  it('close() is safe twice and stops everything', async (t) => {
    const r = await rig(t, { heartbeatIntervalMs: 10 });
    await started(r);
    const disconnected = linkEvent(r.link, 'disconnected');
    r.link.close();
    r.link.close();
    await disconnected;
    assert.equal(r.link.state, 'closed');
    await until(() => r.csm.linkCount === 0, 'the CSM side to close');
    // Its listeners are detached: later changes no longer reach the link.
    assert.equal(r.groups.listenerCount('viewerJoined'), 0);
  });
});

describe('backoffDelay', () => {
  it('starts at the minimum, doubles with jitter, and never leaves [min, max]', () => {
    assert.equal(backoffDelay(0, 200, 5000, () => 1), 200);
    assert.equal(backoffDelay(0, 200, 5000, () => 0), 200);
    assert.equal(backoffDelay(3, 200, 5000, () => 1), 1600);
    assert.equal(backoffDelay(3, 200, 5000, () => 0), 800);
    for (let attempt = 0; attempt < 80; attempt++) {
      for (const random of [0, 0.5, 0.999]) {
        const delay = backoffDelay(attempt, 200, 5000, () => random);
        assert.ok(delay >= 200 && delay <= 5000, `attempt ${attempt}: ${delay}`);
      }
    }
    assert.equal(backoffDelay(1000, 200, 5000, () => 1), 5000);
  });
});
