/**
 * A planned demotion (keepalived's notify script when the VIP leaves: `onair csm-ctl demote`): the
 * active stops serving and stops writing at once, drops its unit links and refuses new ones, and
 * follows the store as a healthy backup. Then the roles swap twice (promote csm-b, then back to
 * csm-a), each promotion with a higher epoch and the same channel.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/processes.js';
import { startHaCluster, withLogs, type HaCluster } from './ha-cluster.js';

describe('HA: demote through csm-ctl', () => {
  let cluster: HaCluster | undefined;

  before(async () => {
    cluster = await startHaCluster({ units: ['u1'] });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('stops serving and writing; the roles then swap and swap back', () =>
    withLogs(cluster, async () => {
      const c = cluster!;
      const opened = await c.call<{ channelId: number }>(c.vipUrl, 'POST', '/api/v1/channels', { title: 'handed over', broadcaster: 'kim' });
      const id = opened.body.channelId;
      assert.equal((await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status, 200);
      await waitFor('the backup to follow', async () => (await c.admin(c.b, 'GET', `/admin/v1/channels/${id}`)).body.viewers === 1, 5000);

      const demotedAt = Date.now();
      const demoted = await c.ctl(c.a, 'demote', { args: ['--reason', 'keepalived: BACKUP'] });
      assert.equal(demoted.code, 0, demoted.stderr);
      assert.deepEqual([demoted.json.role, demoted.json.epoch, demoted.json.changed, demoted.json.fenced], ['backup', 1, true, false]);
      const health = await c.health(c.a);
      assert.deepEqual([health.status, health.ok, health.role, health.unitsLinked], [200, true, 'backup', 0], 'a demoted CSM is a healthy backup with no unit links');
      const refused = await c.call<{ code: string }>(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {});
      assert.deepEqual([refused.status, refused.body.code], [503, 'CSM_ERR_NOT_ACTIVE']);
      assert.equal((await c.admin(c.a, 'POST', '/admin/v1/units/u1/drain', {})).body.code, 'CSM_ERR_NOT_ACTIVE');

      // The VIP has not moved yet: u1 knocks at csm-a again and again and is refused each time. An
      // active would have failed it by now (unitFailAfterMs is 1.5 s); csm-a does nothing.
      const u1 = c.units.get('u1')!.process;
      const refusals = (): number => u1.stderr().match(/refused the registration/g)?.length ?? 0;
      await waitFor('u1 to be refused four times by the demoted CSM', () => refusals() >= 4, 15_000);
      assert.equal((await c.unitHealth('u1')).csmLinked, false);
      const snapshot = await c.snapshot();
      assert.deepEqual([snapshot.epoch, snapshot.units[0]?.state], [1, 'up'], 'the demoted CSM wrote nothing (u1 not failed in the store)');
      const metrics = await (await fetch(`${c.a.http}/metrics`)).text();
      assert.match(metrics, /^onair_csm_unit_failures_total 0$/m);
      assert.match(metrics, /^onair_csm_active 0$/m);
      const late = (await c.events()).filter((e) => e.at >= demotedAt && e.data?.['csm'] === 'csm-a');
      assert.deepEqual(late.map((e) => e.kind), ['csm.demoted']);
      assert.match(late[0]!.message, /demoted by the ops API \(.*\): keepalived: BACKUP/);
      assert.deepEqual([(await c.ctl(c.a, 'demote')).json.changed], [false], 'a second demote is a no-op');

      // The VIP moves to csm-b, which is promoted; u1 registers there.
      c.pointVipTo(c.b);
      const promotedB = await c.ctl(c.b, 'promote');
      assert.deepEqual([promotedB.code, promotedB.json.role, promotedB.json.epoch], [0, 'active', 2]);
      await waitFor('u1 to register with csm-b', async () => (await c.unitHealth('u1')).csmLinked && (await c.unitHealth('u1')).epoch === 2, 15_000);
      await waitFor('a join through csm-b', async () => (await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status === 200, 10_000, 100);

      // And back: csm-b demoted, the VIP to csm-a, csm-a promoted from the state it followed.
      assert.equal((await c.ctl(c.b, 'demote')).json.role, 'backup');
      c.pointVipTo(c.a);
      const promotedA = await c.ctl(c.a, 'promote');
      assert.deepEqual([promotedA.code, promotedA.json.role, promotedA.json.epoch], [0, 'active', 3]);
      await waitFor('u1 to register with csm-a at epoch 3', async () => (await c.unitHealth('u1')).csmLinked && (await c.unitHealth('u1')).epoch === 3, 15_000);
      const channel = (await c.admin(c.a, 'GET', `/admin/v1/channels/${id}`)).body;
      assert.deepEqual([channel.title, channel.root.unitId], ['handed over', 'u1']);
      await waitFor('a join through csm-a', async () => (await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status === 200, 10_000, 100);
      assert.deepEqual([(await c.health(c.a)).role, (await c.health(c.b)).role], ['active', 'backup']);
    }));
});
