import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { waitFor } from '../support/processes.js';

interface Summary { units: { up: number; failed: number } }
interface ChannelInfo { id: number; root: { unitId: string; address: string }; units: string[]; viewers: number }
interface UnitView { id: string; state: string; usedGroups: number; channels: number[] }
interface Opened { channelId: number; unitId: string; url: string; publisherKey: string }

describe('unit failure with real processes', () => {
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await startProcessCluster(['u1', 'u2', 'u3']);
    await waitFor('three units up', async () => (await cluster.admin<Summary>('GET', '/admin/v1/cluster')).body.units.up === 3);
  });
  after(async () => cluster?.stop());

  /** Every live unit holds exactly the groups the CSM thinks it holds. */
  async function unitsAgreeWithCsm(): Promise<boolean> {
    const { body: units } = await cluster.admin<UnitView[]>('GET', '/admin/v1/units');
    for (const unit of units) {
      const running = cluster.units.get(unit.id);
      if (!running || unit.state === 'failed') continue;
      const health = (await (await fetch(`${running.http}/healthz`)).json()) as { groupsUsed: number };
      if (health.groupsUsed !== unit.usedGroups) return false;
    }
    return true;
  }

  it('places channels on real units, and re-homes them when a unit is killed with SIGKILL', async () => {
    const opened: Opened[] = [];
    for (let i = 0; i < 6; i++) {
      const { status, body } = await cluster.service<Opened>('POST', '/api/v1/channels', { title: `show ${i}`, broadcaster: `b${i}` });
      assert.equal(status, 201);
      opened.push(body);
    }
    // Least-loaded placement spreads six channels over three units.
    assert.equal(new Set(opened.map((o) => o.unitId)).size, 3);
    for (const o of opened) for (let v = 0; v < 15; v++) assert.equal((await cluster.service('POST', `/api/v1/channels/${o.channelId}/join`, {})).status, 200);
    await waitFor('units to execute the CSM commands', unitsAgreeWithCsm);

    const victim = opened[0]!.unitId;
    const victimChannels = opened.filter((o) => o.unitId === victim).map((o) => o.channelId);
    cluster.units.get(victim)!.process.kill('SIGKILL');

    await waitFor(`unit ${victim} declared failed`, async () => (await cluster.admin<UnitView>('GET', `/admin/v1/units/${victim}`)).body.state === 'failed', 8000);
    for (const id of victimChannels) {
      const { body } = await cluster.admin<ChannelInfo>('GET', `/admin/v1/channels/${id}`);
      assert.notEqual(body.root.unitId, victim, `channel ${id} still rooted on the dead unit`);
      assert.ok(!body.units.includes(victim));
    }
    // The surviving units received the commands: their own bookkeeping matches the CSM's.
    await waitFor('surviving units to hold the re-homed groups', unitsAgreeWithCsm);
    // The broadcaster learns where to reconnect.
    const moved = opened.find((o) => o.unitId === victim)!;
    const resumed = await cluster.service<{ unitId: string; url: string }>('POST', `/api/v1/channels/${moved.channelId}/publish`, { publisherKey: moved.publisherKey });
    assert.equal(resumed.status, 200);
    assert.notEqual(resumed.body.unitId, victim);
    assert.equal(resumed.body.url, cluster.units.get(resumed.body.unitId)!.address);
    // Viewers asking again are admitted on live units.
    const rejoin = await cluster.service<{ unitId: string }>('POST', `/api/v1/channels/${moved.channelId}/join`, {});
    assert.equal(rejoin.status, 200);
    assert.notEqual(rejoin.body.unitId, victim);
    const { body: log } = await cluster.admin<{ events: { kind: string; unitId?: string }[] }>('GET', `/admin/v1/events?kind=unit.failed,channel.rehomed`);
    assert.ok(log.events.some((e) => e.kind === 'unit.failed' && e.unitId === victim));
    assert.ok(log.events.some((e) => e.kind === 'channel.rehomed'));
  });

  it('a failed unit that comes back registers empty and takes new channels again', async () => {
    const { body: units } = await cluster.admin<UnitView[]>('GET', '/admin/v1/units');
    const dead = units.find((u) => u.state === 'failed');
    assert.ok(dead, 'the previous test left no failed unit');
    await cluster.startUnit(dead.id);
    await waitFor(`unit ${dead.id} up again`, async () => (await cluster.admin<UnitView>('GET', `/admin/v1/units/${dead.id}`)).body.state === 'up');
    const { body: unit } = await cluster.admin<UnitView>('GET', `/admin/v1/units/${dead.id}`);
    assert.equal(unit.usedGroups, 0);
    // It is now the least loaded, so the next channel lands there.
    const { body } = await cluster.service<Opened>('POST', '/api/v1/channels', { title: 'after', broadcaster: 'x' });
    assert.equal(body.unitId, dead.id);
    await waitFor('units to agree with the CSM', unitsAgreeWithCsm);
  });
});
