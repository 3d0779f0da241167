/**
 * An operator changes a unit's capacity through the CSM's admin API, with a real CSM and a real unit
 * process: the unit takes it (its /healthz shows it), and a new channel's root group on that unit has
 * the new group size (viewers admitted through the service API fill it, the next goes to a new group).
 * The unit killed and started again registers with its configuration; the CSM tells it the operator's
 * capacity again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { waitFor } from '../support/processes.js';

interface UnitView {
  groupsPerUnit: number;
  groupSize: number;
  groups: unknown[];
}
interface GroupView {
  key: string;
  role: string;
  viewers: number;
  capacity: number;
}

describe('unit capacity set by the operator', () => {
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await startProcessCluster(['u1']);
  });

  after(async () => {
    await cluster?.stop();
  });

  it('reaches the unit, and new groups get the new size', async () => {
    const set = await cluster.admin<UnitView>('POST', '/admin/v1/units/u1/capacity', { groupsPerUnit: 7, groupSize: 2 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.deepEqual([set.body.groupsPerUnit, set.body.groupSize], [7, 2]);
    assert.equal((await cluster.admin<UnitView>('GET', '/admin/v1/units/u1')).body.groups.length, 7);

    const unitHttp = cluster.units.get('u1')!.http;
    const health = await waitFor('the unit to take the new capacity', async () => {
      const body = (await (await fetch(`${unitHttp}/healthz`)).json()) as { groupsPerUnit: number; groupSize: number };
      return body.groupsPerUnit === 7 && body.groupSize === 2 ? body : null;
    });
    assert.deepEqual([health.groupsPerUnit, health.groupSize], [7, 2]);

    const opened = await cluster.service<{ channelId: number; unitId: string }>('POST', '/api/v1/channels', { title: 'Capacity', broadcaster: 'bob' });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    const { channelId } = opened.body;
    const groups = async (): Promise<GroupView[]> => (await cluster.admin<GroupView[]>('GET', `/admin/v1/channels/${channelId}/groups`)).body;
    const [root] = await groups();
    assert.equal(root!.role, 'root');
    assert.equal(root!.capacity, 2);

    for (let v = 0; v < 2; v++) assert.equal((await cluster.service('POST', `/api/v1/channels/${channelId}/join`, {})).status, 200);
    let now = await groups();
    assert.equal(now.length, 1, 'two viewers fit in the root group');
    assert.equal(now[0]!.viewers, 2);
    assert.equal((await cluster.service('POST', `/api/v1/channels/${channelId}/join`, {})).status, 200);
    now = await groups();
    assert.equal(now.length, 2, 'the third viewer needed a new group');
    assert.ok(now.every((g) => g.capacity === 2));

    const log = await cluster.admin<{ events: { actor?: string; message: string }[] }>('GET', '/admin/v1/events?kind=unit.capacityChanged&unitId=u1');
    assert.equal(log.body.events[0]?.actor, 'op');
  });

  it('outlives a restart of the unit: the CSM applies it again when the unit registers with its configuration', async () => {
    const old = cluster.units.get('u1')!.process;
    old.kill('SIGKILL');
    await old.exited;
    await cluster.startUnit('u1');
    const unitHttp = cluster.units.get('u1')!.http;
    const health = await waitFor('the restarted unit to take the operator capacity again', async () => {
      const body = (await (await fetch(`${unitHttp}/healthz`)).json()) as { groupsPerUnit: number; groupSize: number };
      return body.groupsPerUnit === 7 && body.groupSize === 2 ? body : null;
    });
    assert.deepEqual([health.groupsPerUnit, health.groupSize], [7, 2]);
    const view = (await cluster.admin<UnitView>('GET', '/admin/v1/units/u1')).body;
    assert.deepEqual([view.groupsPerUnit, view.groupSize], [7, 2]);
    const log = await cluster.admin<{ events: { actor?: string; message: string }[] }>('GET', '/admin/v1/events?kind=unit.capacityChanged&unitId=u1');
    assert.equal(log.body.events[0]?.actor, 'csm');
    assert.match(log.body.events[0]!.message, /registered with 50 groups × 10; the operator's 7 groups × 2 applied again/);
  });
});
