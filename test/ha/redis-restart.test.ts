/**
 * Redis goes away and comes back empty (stopped and started on the same port, no persistence). Both
 * CSMs stay up and healthy — a Redis outage must not take the VIP from both — the active keeps
 * admitting joins from memory and counts its failed writes, the backup keeps its last view, and once
 * Redis is back the active writes its whole state again (mirror and channel metadata) and the
 * backup's view catches up.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/processes.js';
import { startHaCluster, withLogs, type HaCluster } from './ha-cluster.js';

describe('HA: Redis restarted under both CSMs', () => {
  let cluster: HaCluster | undefined;

  before(async () => {
    cluster = await startHaCluster({ units: ['u1'] });
  });
  after(async () => {
    await cluster?.stop();
  });

  it('keeps both CSMs healthy, serves from memory, and re-mirrors when Redis is back', () =>
    withLogs(cluster, async () => {
      const c = cluster!;
      const opened = await c.call<{ channelId: number }>(c.vipUrl, 'POST', '/api/v1/channels', { title: 'weathering', broadcaster: 'kim' });
      const id = opened.body.channelId;
      for (let i = 0; i < 2; i++) assert.equal((await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status, 200);
      await waitFor('the backup to show 2 viewers', async () => (await c.admin(c.b, 'GET', `/admin/v1/channels/${id}`)).body.viewers === 2, 5000);

      await c.redis.stop();
      // The active admits joins from memory while the store is away.
      for (let i = 0; i < 3; i++) {
        const join = await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {});
        assert.equal(join.status, 200, `join ${i} during the outage: ${JSON.stringify(join.body)}`);
      }
      await waitFor('both CSMs to notice the outage', async () => (await c.health(c.a)).storeError !== null && (await c.health(c.b)).storeError !== null, 10_000);
      await waitFor('the active to count a failed mirror write', async () => {
        const metrics = await (await fetch(`${c.a.http}/metrics`)).text();
        return Number(/^onair_csm_mirror_write_failures_total (\d+)/m.exec(metrics)?.[1] ?? 0) > 0;
      }, 10_000);
      for (const csm of [c.a, c.b]) {
        const health = await c.health(csm);
        assert.deepEqual([health.status, health.ok], [200, true], `${csm.name} stays healthy without Redis`);
      }
      assert.equal((await c.health(c.a)).role, 'active');
      assert.equal((await c.health(c.b)).role, 'backup');
      const lastView = (await c.admin(c.b, 'GET', `/admin/v1/channels/${id}`)).body;
      assert.deepEqual([lastView.viewers, lastView.title], [2, 'weathering'], 'the backup keeps its last view');

      await c.redis.start();
      await waitFor("the backup's view to catch up with the re-mirrored state", async () => {
        const seen = await c.admin(c.b, 'GET', `/admin/v1/channels/${id}`);
        return seen.status === 200 && seen.body.viewers === 5 && seen.body.title === 'weathering';
      }, 15_000);
      const snapshot = await c.snapshot();
      assert.equal(snapshot.epoch, 1, 'the active re-mirrored with its own epoch');
      assert.deepEqual(snapshot.units.map((u) => u.id), ['u1']);
      assert.equal(snapshot.channels.find((ch) => ch.id === id)?.groups.reduce((n, g) => n + g.viewers, 0), 5);
      const metrics = await (await fetch(`${c.a.http}/metrics`)).text();
      assert.ok(Number(/^onair_csm_mirror_resyncs_total (\d+)/m.exec(metrics)?.[1]) >= 1, 'a full re-mirror was counted');
      await waitFor('both CSMs to clear their store errors', async () => (await c.health(c.a)).storeError === null && (await c.health(c.b)).storeError === null, 10_000);

      // Business as usual: the unit never lost its link, a new channel gets the next id.
      assert.equal((await c.unitHealth('u1')).csmLinked, true);
      const next = await c.call<{ channelId: number }>(c.vipUrl, 'POST', '/api/v1/channels', { title: 'after', broadcaster: 'lee' });
      assert.deepEqual([next.status, next.body.channelId], [201, id + 1]);
      await waitFor('the backup to show the new channel', async () => (await c.admin(c.b, 'GET', `/admin/v1/channels/${id + 1}`)).status === 200, 5000);
    }));
});
