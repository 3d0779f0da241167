/**
 * A backup CSM (`--role backup`) beside an active one on a real Redis: it follows the mirror, so what
 * is opened on the active shows in the backup's admin API within about a second; it refuses service
 * changes with a retryable 503 and unit links with CSM_ERR_NOT_ACTIVE (a unit knocking at it retries
 * until it reaches the active); it stays healthy as a backup; and its role API needs the secret.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ControlChannel } from '../../protocol/ControlChannel.js';
import { Method } from '../../protocol/control-messages.js';
import { waitFor } from '../support/processes.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { startHaCluster, withLogs, type HaCluster } from './ha-cluster.js';

describe('HA: the backup follows the active', () => {
  let cluster: HaCluster | undefined;
  let sideDoor: TcpProxy | undefined;

  before(async () => {
    cluster = await startHaCluster({ units: ['u1', 'u2'] });
  });
  after(async () => {
    await sideDoor?.close();
    await cluster?.stop();
  });

  it('shows the active\'s channels and viewers within a second, and stays a healthy backup', (t) =>
    withLogs(cluster, async () => {
      const c = cluster!;
      const [a, b] = [await c.health(c.a), await c.health(c.b)];
      assert.deepEqual([a.status, a.role, a.epoch], [200, 'active', 1]);
      assert.deepEqual([b.status, b.role, b.epoch, b.storeEpoch], [200, 'backup', 0, 1]);

      const opened = await c.call<{ channelId: number }>(c.vipUrl, 'POST', '/api/v1/channels', { title: 'followed', broadcaster: 'kim' });
      assert.equal(opened.status, 201);
      const id = opened.body.channelId;
      for (let i = 0; i < 13; i++) assert.equal((await c.call(c.vipUrl, 'POST', `/api/v1/channels/${id}/join`, {})).status, 200);
      const onActive = (await c.admin(c.a, 'GET', `/admin/v1/channels/${id}`)).body;
      assert.equal(onActive.viewers, 13);
      assert.equal(onActive.groups, 2, 'the channel grew to a second group');

      const since = Date.now();
      await waitFor('the backup to show the channel with its viewers', async () => {
        const seen = await c.admin(c.b, 'GET', `/admin/v1/channels/${id}`);
        return seen.status === 200 && seen.body.viewers === 13 && seen.body.groups === 2;
      }, 5000, 20);
      const lagMs = Date.now() - since;
      t.diagnostic(`the backup showed the change ${lagMs} ms after the active made it`);
      assert.ok(lagMs < 2000, `the backup caught up after ${lagMs} ms`);

      const [treeA, treeB] = [await c.admin(c.a, 'GET', `/admin/v1/channels/${id}/tree`), await c.admin(c.b, 'GET', `/admin/v1/channels/${id}/tree`)];
      assert.deepEqual(treeB.body, treeA.body, 'the backup shows the same channel tree');
      const summary = (await c.admin(c.b, 'GET', '/admin/v1/cluster')).body;
      assert.deepEqual([summary.role, summary.channels, summary.viewers, summary.units.total], ['backup', 1, 13, 2]);
      const info = await c.call<{ title: string; broadcaster: string }>(c.b.http, 'GET', `/api/v1/channels/${id}`);
      assert.deepEqual([info.status, info.body.title, info.body.broadcaster], [200, 'followed', 'kim'], 'reads on the backup serve its view');

      // Changes are refused with a retryable answer, through either API.
      for (const [path, body] of [['/api/v1/channels', { title: 't', broadcaster: 'b' }], [`/api/v1/channels/${id}/join`, {}]] as const) {
        const refused = await c.call<{ code: string; retryable: boolean }>(c.b.http, 'POST', path, body);
        assert.equal(refused.status, 503, path);
        assert.equal(refused.headers.get('retry-after'), '1');
        assert.deepEqual([refused.body.code, refused.body.retryable], ['CSM_ERR_NOT_ACTIVE', true]);
      }
      assert.equal((await c.admin(c.b, 'POST', '/admin/v1/units/u1/drain', {})).body.code, 'CSM_ERR_NOT_ACTIVE');

      const stillB = await c.health(c.b);
      assert.deepEqual([stillB.status, stillB.ok, stillB.role, stillB.unitsLinked], [200, true, 'backup', 0]);
      const snapshot = await c.snapshot();
      assert.equal(snapshot.epoch, 1, 'the backup claimed no epoch');
    }));

  it('refuses unit links with CSM_ERR_NOT_ACTIVE; a refused unit retries until it reaches the active', () =>
    withLogs(cluster, async () => {
      const c = cluster!;
      // A hand-made registration straight to the backup's control port.
      const socket = connect(c.b.controlPort, '127.0.0.1');
      const link = new ControlChannel(socket, { requestTimeoutMs: 5000 });
      const closed = new Promise<void>((resolve) => link.on('close', () => resolve()));
      const load = { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 };
      await assert.rejects(
        link.request(Method.UNIT_REGISTER, { unitId: 'probe', address: 'ws://127.0.0.1:9', groupsPerUnit: 1, groupSize: 1, secret: c.secret, epochSeen: 0, groups: [], channels: [], load }),
        (error: { code?: string }) => error.code === 'CSM_ERR_NOT_ACTIVE',
      );
      await closed;

      // A real unit whose "VIP" points at the backup: refused, it keeps retrying with backoff…
      sideDoor = await startTcpProxy(c.b.controlPort);
      const u3 = await c.startUnit('u3', sideDoor.port);
      await waitFor('u3 to be refused twice', () => (u3.process.stderr().match(/refused the registration/g)?.length ?? 0) >= 2, 10_000);
      assert.equal((await c.unitHealth('u3')).csmLinked, false);
      assert.equal((await c.health(c.b)).unitsLinked, 0);
      // …and registers as soon as it reaches the active.
      sideDoor.pointTo(c.a.controlPort);
      await waitFor('u3 to register with the active', async () => (await c.unitHealth('u3')).csmLinked && (await c.admin(c.a, 'GET', '/admin/v1/units/u3')).body.connected === true, 10_000);
      assert.equal((await c.unitHealth('u3')).epoch, 1);
    }));

  it('answers the role API only with the cluster secret; csm-ctl reports the role', () =>
    withLogs(cluster, async () => {
      const c = cluster!;
      const none = await c.call<{ code: string }>(c.b.http, 'POST', '/ops/v1/promote', {});
      assert.deepEqual([none.status, none.body.code], [401, 'CSM_ERR_UNAUTHORIZED']);
      const status = await c.ctl(c.b, 'status');
      assert.equal(status.code, 0, status.stderr);
      assert.deepEqual([status.json.csmId, status.json.role, status.json.epoch, status.json.promoting], ['csm-b', 'backup', 0, false]);
      const wrong = await c.ctl(c.b, 'promote', { secret: 'not-the-secret' });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /CSM_ERR_UNAUTHORIZED/);
      assert.equal((await c.health(c.b)).role, 'backup', 'a refused promote changed nothing');
      const unreachable = await c.ctl({ ...c.b, http: 'http://127.0.0.1:9' }, 'status');
      assert.equal(unreachable.code, 3);
      const usage = await c.ctl(c.b, 'explode');
      assert.equal(usage.code, 2);
    }));
});
