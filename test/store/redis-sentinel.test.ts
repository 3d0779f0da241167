/**
 * Redis with Sentinel, as production runs it: createRedis with a `redis-sentinel://` URL asks a real
 * sentinel (redis-server in sentinel mode, monitoring a real redis-server) for the master and works
 * against it; the URL form is parsed strictly.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createRedis, parseSentinelUrl } from '../../protocol/store/redis-connection.js';
import { freePort } from '../support/free-port.js';
import { waitFor } from '../support/processes.js';
import { killOnExit, startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

describe('Redis through Sentinel', () => {
  let master: RedisServerHandle;
  let sentinelPid = 0;
  let stopSentinel: () => Promise<void> = async () => {};
  let sentinelPort = 0;
  const dir = mkdtempSync(join(tmpdir(), 'onair-sentinel-'));

  before(async () => {
    master = await startRedisServer();
    sentinelPort = await freePort();
    // A sentinel rewrites its own config file: it needs one of its own.
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nprotected-mode no\nsentinel monitor onair 127.0.0.1 ${master.port} 1\nsentinel down-after-milliseconds onair 1000\n`);
    const child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    sentinelPid = child.pid!;
    const unregister = killOnExit(sentinelPid);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    stopSentinel = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      unregister();
    };
    const probe = createRedis(`redis://127.0.0.1:${sentinelPort}`, { maxRetriesPerRequest: 0 });
    try {
      await waitFor('the sentinel knows the master', async () => {
        const reply = (await probe.call('SENTINEL', 'get-master-addr-by-name', 'onair')) as string[] | null;
        return reply?.[1] === String(master.port);
      }, 10_000, 100);
    } finally {
      probe.disconnect();
    }
  });

  after(async () => {
    await stopSentinel();
    await master?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the master the sentinel names', async () => {
    const client = createRedis(`redis-sentinel://127.0.0.1:${sentinelPort}/onair`);
    try {
      await client.set('onair:sentinel-test', 'yes');
      assert.equal(await client.get('onair:sentinel-test'), 'yes');
      const direct = createRedis(master.url);
      assert.equal(await direct.get('onair:sentinel-test'), 'yes', 'written on the master itself');
      direct.disconnect();
    } finally {
      client.disconnect();
    }
    assert.ok(sentinelPid > 0);
  });

  it('parses sentinel URLs strictly and leaves redis:// alone', () => {
    assert.equal(parseSentinelUrl('redis://127.0.0.1:6379'), null);
    assert.deepEqual(parseSentinelUrl('redis-sentinel://10.0.0.1:26379,10.0.0.2:26379/onair'), {
      sentinels: [
        { host: '10.0.0.1', port: 26379 },
        { host: '10.0.0.2', port: 26379 },
      ],
      name: 'onair',
    });
    assert.equal(parseSentinelUrl('redis-sentinel://:s%40cret@h:1/m')?.password, 's@cret');
    for (const bad of ['redis-sentinel://h/m', 'redis-sentinel://h:1', 'redis-sentinel://h:x/m', 'redis-sentinel://h:1/m n']) {
      assert.throws(() => parseSentinelUrl(bad), /sentinel/, bad);
    }
  });
});
