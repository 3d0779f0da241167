/**
 * A stale active: csm-a is frozen with SIGSTOP, the "VIP" moves, csm-b is promoted and changes the
 * cluster; then csm-a resumes (SIGCONT) still believing it is active. None of its writes reach the
 * store, it demotes itself within about a second, and there is one active at a time throughout:
 * both /healthz are polled from the promotion on and never both say active. After its fenced hold
 * (503, so keepalived takes the VIP off it) it is a healthy backup following csm-b.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../support/processes.js';
import { startHaCluster, withLogs, type HaCluster, type Health } from './ha-cluster.js';

describe('HA: a stale active that resumes', () => {
  let cluster: HaCluster | undefined;

  before(async () => {
    cluster = await startHaCluster({ units: ['u1', 'u2'], csmEnv: { ONAIR_CSM_FENCED_HOLD_MS: '2000' } });
  });
  after(async () => {
    cluster?.a.process.kill('SIGCONT');
    await cluster?.stop();
  });

  it('gets none of its writes accepted, demotes itself within a second, never two actives', (t) =>
    withLogs(cluster, async () => {
      const c = cluster!;
      const opened = await c.call<{ channelId: number }>(c.vipUrl, 'POST', '/api/v1/channels', { title: 'contested', broadcaster: 'kim' });
      const id = opened.body.channelId;
      for (let i = 0; i < 3; i++) assert.equal((await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status, 200);
      await waitFor('the backup to follow', async () => (await c.admin(c.b, 'GET', `/admin/v1/channels/${id}`)).body.viewers === 3, 5000);

      c.a.process.kill('SIGSTOP');
      // keepalived's track script (interval 0.5 s, fall 2) sees csm-a's health fail twice, then moves the VIP.
      let failedChecks = 0;
      await waitFor("csm-a's health to fail twice in a row", async () => {
        failedChecks = (await c.health(c.a, 500).then(() => false, () => true)) ? failedChecks + 1 : 0;
        return failedChecks >= 2;
      }, 10_000, 1);
      c.pointVipTo(c.b);
      const promoted = await c.ctl(c.b, 'promote');
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.equal(promoted.json.epoch, 2);
      const promotedAt = Date.now();
      await waitFor('the units to re-register with csm-b', async () => {
        const units = (await c.admin(c.b, 'GET', '/admin/v1/units')).body as { connected: boolean }[];
        return units.length === 2 && units.every((u) => u.connected);
      }, 15_000);
      // csm-b changes what csm-a would write back: u2 drained, a viewer admitted.
      assert.equal((await c.admin(c.b, 'POST', '/admin/v1/units/u2/drain', {})).status, 200);
      assert.equal((await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status, 200);
      await waitFor('csm-b to mirror its changes', async () => (await c.snapshot()).units.find((u) => u.id === 'u2')?.state === 'draining');

      // Poll both health endpoints through the resume.
      const samples: { at: number; a: Health | null; b: Health | null }[] = [];
      let polling = true;
      const poller = (async () => {
        while (polling) {
          const [a, b] = await Promise.all([c.health(c.a, 800).catch(() => null), c.health(c.b, 800).catch(() => null)]);
          samples.push({ at: Date.now(), a, b });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      try {
        const resumedAt = Date.now();
        c.a.process.kill('SIGCONT');
        const demoted = await waitFor('csm-a to demote itself', async () => {
          const a = await c.health(c.a, 800).catch(() => null);
          return a && a.role === 'backup' && a.fenced && a.storeEpoch === 2 ? Date.now() : null;
        }, 10_000, 20);
        const tookMs = demoted - resumedAt;
        t.diagnostic(`csm-a demoted itself ${tookMs} ms after SIGCONT`);
        assert.ok(tookMs < 1500, `csm-a took ${tookMs} ms to demote itself`);
        const fencedA = await c.health(c.a);
        assert.deepEqual([fencedA.status, fencedA.ok, fencedA.epoch], [503, false, 1], 'a fenced CSM fails health for its hold, so keepalived moves the VIP off it');
        assert.equal((await c.call<{ code: string }>(c.a.http, 'POST', '/api/v1/channels', { title: 'late', broadcaster: 'x' })).body.code, 'CSM_ERR_NOT_ACTIVE');
        // After the hold it is a healthy backup again, following csm-b.
        await waitFor('csm-a to be a healthy backup', async () => {
          const a = await c.health(c.a);
          return a.status === 200 && a.role === 'backup' && !a.fenced;
        }, 10_000);
        await waitFor('csm-a to follow csm-b', async () => {
          const [onA, onB] = [(await c.admin(c.a, 'GET', `/admin/v1/channels/${id}/groups`)).body, (await c.admin(c.b, 'GET', `/admin/v1/channels/${id}/groups`)).body];
          return JSON.stringify(onA) === JSON.stringify(onB) && (await c.admin(c.a, 'GET', '/admin/v1/units/u2')).body.state === 'draining';
        }, 5000);
      } finally {
        polling = false;
        await poller;
      }

      const both = samples.filter((s) => s.a?.role === 'active' && s.b?.role === 'active');
      t.diagnostic(`${samples.length} health samples of both CSMs, ${samples.filter((s) => s.a !== null).length} answered by csm-a`);
      assert.deepEqual(both, [], 'two CSMs said active at once');
      assert.ok(samples.filter((s) => s.a !== null).length >= 5, 'csm-a answered health after its resume');
      assert.ok(samples.every((s) => s.b?.role === 'active' && s.b.ok), 'csm-b stayed the healthy active');

      // Nothing csm-a wrote after the promotion reached the store.
      const snapshot = await c.snapshot();
      assert.equal(snapshot.epoch, 2);
      assert.equal(snapshot.units.find((u) => u.id === 'u2')?.state, 'draining');
      const channel = snapshot.channels.find((ch) => ch.id === id)!;
      const onB = (await c.admin(c.b, 'GET', `/admin/v1/channels/${id}/groups`)).body as { key: string; viewers: number }[];
      assert.deepEqual(channel.groups.map((g) => [`${g.unitId}/${g.index}`, g.viewers]), onB.map((g) => [g.key, g.viewers]), "the store holds csm-b's groups");
      const late = (await c.events()).filter((e) => e.at >= promotedAt && e.data?.['epoch'] === 1);
      assert.deepEqual(late.map((e) => e.kind), ['csm.demoted'], 'the stale CSM logged nothing but its own demotion');
      assert.equal(late[0]!.data?.['csm'], 'csm-a');
      for (const id of ['u1', 'u2']) assert.equal((await c.unitHealth(id)).epoch, 2);
    }));
});
