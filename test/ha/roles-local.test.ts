/**
 * The HA parts that need no second process: the refusal of `--role backup` without a shared store,
 * the role API's gates (address, then secret) and its answers on the in-memory store (always
 * active), the epoch claim's minimum and `replaceAll` on both mirrors, the writer's full re-mirror
 * after a failed write, and the fenced channel-metadata writes.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { Cluster, defaultClusterOptions } from '../../csm/cluster/Cluster.js';
import { noEffects } from '../../csm/cluster/effects.js';
import { Csm } from '../../csm/Csm.js';
import { csmDefaults, type CsmConfig } from '../../csm/config.js';
import { addressGate } from '../../csm/http/role-routes.js';
import { StaleEpochError, type ClusterStateMirror } from '../../csm/store/ClusterStateMirror.js';
import { FencedRedisChannelStore } from '../../csm/store/FencedRedisChannelStore.js';
import { MemoryClusterStateMirror } from '../../csm/store/MemoryClusterStateMirror.js';
import { MirrorWriter } from '../../csm/store/MirrorWriter.js';
import { RedisClusterStateMirror } from '../../csm/store/RedisClusterStateMirror.js';
import type { ClusterChanges } from '../../csm/store/records.js';
import { createLogger } from '../../protocol/logger.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { waitFor } from '../support/processes.js';

const logger = createLogger('test', 'silent');
const cli = fileURLToPath(new URL('../../bin/cli.js', import.meta.url));
const unit = (id: string) => ({ id, address: `ws://127.0.0.1:1/${id}`, groupsPerUnit: 2, groupSize: 10, state: 'up' as const, registeredAt: 1 });

describe('HA roles: local checks', () => {
  let redis: RedisServerHandle;
  let client: Redis;
  before(async () => {
    redis = await startRedisServer();
    client = createRedis(redis.url);
  });
  after(async () => {
    client?.disconnect();
    await redis?.stop();
  });

  it('refuses --role backup without a shared store, in process and on the command line', async () => {
    await assert.rejects(Csm.start({ ...csmDefaults, role: 'backup', httpPort: 0, controlPort: 0, logLevel: 'silent' }, logger), (error: { code?: string; message?: string }) => error.code === 'CONFIG_ERR_INVALID' && /--redis/.test(error.message ?? ''));
    const child = spawn(process.execPath, [cli, 'csm', '--role', 'backup', '--http-port', '0', '--control-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1);
    assert.match(stderr, /role "backup" needs a shared store: give --redis/);
  });

  it('gates the role API by address, then by the cluster secret; the in-memory CSM is always active', async () => {
    const secret = 'local-role-secret';
    const config: CsmConfig = { ...csmDefaults, httpPort: 0, controlPort: 0, clusterSecret: secret, logLevel: 'silent' };
    const csm = await Csm.start(config, logger);
    const gated = await Csm.start({ ...config, opsAllowFrom: '10.1.2.3' }, logger);
    try {
      const call = (base: string, method: string, path: string, authorization?: string) =>
        fetch(`${base}${path}`, { method, headers: authorization ? { authorization } : {} }).then(async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown>, headers: r.headers }));
      const bearer = `Bearer ${secret}`;
      const status = await call(csm.httpUrl, 'GET', '/ops/v1/status', bearer);
      assert.deepEqual([status.status, status.body['role'], status.body['epoch']], [200, 'active', 1]);
      const promote = await call(csm.httpUrl, 'POST', '/ops/v1/promote', bearer);
      assert.deepEqual([promote.status, promote.body['role'], promote.body['changed']], [200, 'active', false]);
      const demote = await call(csm.httpUrl, 'POST', '/ops/v1/demote', bearer);
      assert.deepEqual([demote.status, demote.body['code']], [409, 'CSM_ERR_NO_SHARED_STORE']);
      assert.equal(csm.role, 'active');
      for (const authorization of [undefined, 'Bearer wrong-secret', `Basic ${secret}`]) {
        const refused = await call(csm.httpUrl, 'POST', '/ops/v1/promote', authorization);
        assert.deepEqual([refused.status, refused.body['code']], [401, 'CSM_ERR_UNAUTHORIZED'], String(authorization));
      }
      const forbidden = await call(gated.httpUrl, 'GET', '/ops/v1/status', bearer);
      assert.deepEqual([forbidden.status, forbidden.body['code']], [403, 'CSM_ERR_OPS_FORBIDDEN']);
      const healthz = await call(csm.httpUrl, 'GET', '/healthz');
      assert.deepEqual([healthz.status, (healthz.body['detail'] as Record<string, unknown>)['role']], [200, 'active']);
    } finally {
      await csm.close();
      await gated.close();
    }
  });

  it('parses opsAllowFrom: loopback in every spelling, exact addresses, any', () => {
    const loopback = addressGate('loopback');
    for (const address of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) assert.equal(loopback(address), true, address);
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', '198.18.0.5', undefined]) assert.equal(loopback(address), false, String(address));
    const exact = addressGate('198.18.0.10, loopback');
    assert.deepEqual(['198.18.0.10', '::ffff:198.18.0.10', '198.18.0.11', '127.0.0.1'].map(exact), [true, true, false, true]);
    assert.equal(addressGate('any')('203.0.113.9'), true);
    assert.throws(() => addressGate('localhost'), /opsAllowFrom/);
    assert.throws(() => addressGate(' , '), /empty/);
  });

  for (const [name, make] of [
    ['memory', async () => new MemoryClusterStateMirror()],
    ['redis', async () => new RedisClusterStateMirror(client, `claim-${Math.random().toString(36).slice(2)}:`)],
  ] as [string, () => Promise<ClusterStateMirror>][]) {
    it(`claims at least the minimum epoch and replaces the whole state (${name})`, async () => {
      const mirror = await make();
      assert.equal(await mirror.claimEpoch(), 1);
      assert.equal(await mirror.claimEpoch(7), 7, 'a store that lost its epoch never hands out one the units have seen');
      assert.equal(await mirror.claimEpoch(3), 8);
      await mirror.write(8, { putUnits: [unit('a'), unit('b')], nextChannelId: 4 });
      await mirror.write(8, { replaceAll: true, putUnits: [unit('c')], putChannels: [], nextChannelId: 5 });
      const snapshot = await mirror.load();
      assert.deepEqual([snapshot.epoch, snapshot.units.map((u) => u.id), snapshot.nextChannelId], [8, ['c'], 5]);
      await assert.rejects(mirror.write(7, { replaceAll: true, putUnits: [] }), StaleEpochError);
      assert.deepEqual((await mirror.load()).units.map((u) => u.id), ['c'], 'a stale replaceAll wiped nothing');
      await assert.rejects(mirror.write(8, { replaceAll: true, deleteUnits: ['c'] }), /replaceAll write carries no deletes/);
    });
  }

  it('writes the whole state once the store answers again after a failed write', async () => {
    const inner = new MemoryClusterStateMirror();
    const writes: ClusterChanges[] = [];
    let down = false;
    const flaky: ClusterStateMirror = {
      claimEpoch: (m) => inner.claimEpoch(m),
      currentEpoch: () => inner.currentEpoch(),
      load: () => inner.load(),
      close: () => inner.close(),
      write: async (epoch, changes) => {
        if (down) throw new Error('connection refused');
        writes.push(changes);
        return inner.write(epoch, changes);
      },
    };
    const cluster = new Cluster(defaultClusterOptions, noEffects);
    const writer = new MirrorWriter(flaky, cluster, () => 1, 5, logger);
    const failures: Error[] = [];
    writer.on('failed', (error) => failures.push(error));
    cluster.registerUnit({ id: 'a', address: 'ws://a', groupsPerUnit: 2, groupSize: 10, load: { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 } });
    cluster.registerUnit({ id: 'b', address: 'ws://b', groupsPerUnit: 2, groupSize: 10, load: { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 } });
    writer.unitChanged('a');
    await writer.flush();
    assert.equal(writes.at(-1)?.replaceAll, undefined);
    down = true;
    writer.unitChanged('b');
    await writer.flush();
    assert.equal(failures.length, 1);
    assert.equal(writer.lastError, 'connection refused');
    down = false;
    await waitFor('the retry', () => writer.lastError === null && writes.length === 2, 5000);
    assert.equal(writes[1]!.replaceAll, true);
    assert.deepEqual(writes[1]!.putUnits?.map((u) => u.id), ['a', 'b']);
    writer.fence();
    writer.unitChanged('a');
    assert.equal(writer.pending, 0, 'a fenced writer takes no more changes');
    writer.stop();
  });

  it('refuses channel-metadata writes from a stale epoch, atomically', async () => {
    const prefix = `meta-${Math.random().toString(36).slice(2)}:`;
    const mirror = new RedisClusterStateMirror(client, prefix);
    let epoch = await mirror.claimEpoch();
    const store = new FencedRedisChannelStore(client, prefix, () => epoch);
    const meta = { id: 1, title: 'mine', broadcaster: 'kim', createdAt: 1, viewers: 0, peakViewers: 0 };
    await store.put(meta);
    assert.equal(await store.setViewers(1, 5), true);
    assert.equal(await store.setViewers(2, 5), false, 'unknown channel');
    await mirror.claimEpoch(); // a newer CSM
    await assert.rejects(store.put({ ...meta, title: 'stale' }), (error: unknown) => error instanceof StaleEpochError && error.attempted === 1 && error.stored === 2);
    await assert.rejects(store.setViewers(1, 9), StaleEpochError);
    await assert.rejects(store.delete(1), StaleEpochError);
    assert.deepEqual(await store.get(1), { ...meta, viewers: 5, peakViewers: 5 }, 'no stale write landed');
    epoch = 2;
    assert.equal(await store.delete(1), true);
    assert.deepEqual(await store.list(), []);
  });
});
