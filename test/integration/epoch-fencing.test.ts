/**
 * Fencing: two CSMs on one Redis. The second one claims a newer epoch; from then on the store refuses
 * every write of the first, which notices, demotes itself and stops accepting changes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Csm } from '../../csm/Csm.js';
import { csmDefaults, type CsmConfig } from '../../csm/config.js';
import { RedisClusterStateMirror } from '../../csm/store/RedisClusterStateMirror.js';
import { createLogger } from '../../protocol/logger.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { startRedisServer } from '../support/redis-server.js';
import { waitFor } from '../support/processes.js';

describe('epoch fencing between two CSMs', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  const started: Csm[] = [];
  const config = (id: string, prefix: string): CsmConfig => ({ ...csmDefaults, csmId: id, httpPort: 0, controlPort: 0, redisUrl: redis.url, redisPrefix: prefix, mirrorFlushMs: 10, logLevel: 'silent' });

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    for (const csm of started) await csm.close();
    await redis?.stop();
  });

  it('refuses every write of the older CSM once a newer one has claimed the epoch', async () => {
    const logger = createLogger('test', 'silent');
    const a = await Csm.start(config('csm-a', 'fence:'), logger);
    started.push(a);
    assert.equal(a.epoch, 1);
    const b = await Csm.start(config('csm-b', 'fence:'), logger);
    started.push(b);
    assert.equal(b.epoch, 2);

    // A still believes it is active and changes its state; the mirror write carries epoch 1.
    a.cluster.registerUnit({ id: 'ghost', address: 'ws://127.0.0.1:9', groupsPerUnit: 2, groupSize: 10, load: { viewers: 0, egressBps: 0, cpu: 0, rssBytes: 0 } });
    await waitFor('csm-a to demote itself', () => a.role === 'backup');
    assert.equal(a.health().ok, false);
    assert.equal(a.mirrorWriter.fenced, true);

    const client = createRedis(redis.url);
    try {
      const snapshot = await new RedisClusterStateMirror(client, 'fence:').load();
      assert.equal(snapshot.epoch, 2);
      assert.ok(!snapshot.units.some((u) => u.id === 'ghost'), 'a write from the fenced epoch reached the store');
    } finally {
      client.disconnect();
    }
    // The demoted CSM refuses service calls with a retryable answer; the new one serves.
    const refused = await fetch(`${a.httpUrl}/api/v1/channels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 't', broadcaster: 'b' }) });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { code: string }).code, 'CSM_ERR_NOT_ACTIVE');
    assert.equal(b.health().ok, true);
  });
});
