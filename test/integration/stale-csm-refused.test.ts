/**
 * A unit that has obeyed a newer CSM refuses an older one's commands. A real unit process reaches
 * the CSMs through a forwarder standing in for the virtual IP: first the newer CSM (epoch 2) gives it
 * a group; then the "VIP" moves to the stale CSM (epoch 1), which tries to release that group as
 * unknown. The unit refuses, keeps its group, and the stale CSM demotes itself.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Csm } from '../../csm/Csm.js';
import { csmDefaults, type CsmConfig } from '../../csm/config.js';
import { createLogger } from '../../protocol/logger.js';
import { startRedisServer } from '../support/redis-server.js';
import { UNIT_READY, startOnair, waitFor, type OnairProcess } from '../support/processes.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';

describe('a unit refuses commands from a stale CSM', () => {
  let redis: Awaited<ReturnType<typeof startRedisServer>>;
  let proxy: TcpProxy | undefined;
  let unit: OnairProcess | undefined;
  const csms: Csm[] = [];
  const secret = 'stale-test-secret';
  const config = (id: string): CsmConfig => ({ ...csmDefaults, csmId: id, httpPort: 0, controlPort: 0, redisUrl: redis.url, redisPrefix: 'stale:', clusterSecret: secret, heartbeatIntervalMs: 200, logLevel: 'silent' });

  before(async () => {
    redis = await startRedisServer();
  });
  after(async () => {
    await unit?.stop();
    await proxy?.close();
    for (const csm of csms) await csm.close();
    await redis?.stop();
  });

  it('keeps its groups and makes the stale CSM demote itself', async () => {
    const logger = createLogger('test', 'silent');
    const stale = await Csm.start(config('csm-old'), logger);
    csms.push(stale);
    const fresh = await Csm.start(config('csm-new'), logger);
    csms.push(fresh);
    assert.ok(fresh.epoch > stale.epoch);

    proxy = await startTcpProxy(fresh.controlPort);
    unit = await startOnair(['unit', '--id', 'u1', '--port', '0', '--csm', `127.0.0.1:${proxy.port}`], { ONAIR_UNIT_CLUSTER_SECRET: secret, ONAIR_UNIT_LOG_LEVEL: 'warn' }, UNIT_READY);
    const http = unit.ready[2]!.replace(/^ws/, 'http');
    await waitFor('u1 registered with the new CSM', () => fresh.control.isLinked('u1'));
    const channel = await fresh.service.openChannel('show', 'me');
    const health = async (): Promise<{ epoch: number; groupsUsed: number }> => (await (await fetch(`${http}/healthz`)).json()) as { epoch: number; groupsUsed: number };
    await waitFor('the unit to create the root group', async () => (await health()).groupsUsed === 1);
    assert.equal((await health()).epoch, fresh.epoch);

    // The "VIP" moves to the stale CSM; the unit reconnects there and reports a group it does not know.
    proxy.pointTo(stale.controlPort);
    await waitFor('the stale CSM to demote itself after the unit refused its command', () => stale.role === 'backup', 10_000);
    assert.equal((await health()).groupsUsed, 1, 'the unit obeyed a stale CSM and dropped its group');
    assert.equal((await health()).epoch, fresh.epoch);
    assert.equal(fresh.cluster.channel(channel.channelId).root.unit.id, 'u1');
    await assert.rejects(stale.service.openChannel('late', 'x'), (e: { code?: string }) => e.code === 'CSM_ERR_NOT_ACTIVE');
  });
});
