/**
 * Two `onair web --redis` processes in front of one real CSM share their channel metadata through a
 * real redis-server: what one opens the other lists at once, what one ends leaves both lists. With
 * Redis gone the list answers 503 WEB_ERR_STORE_UNAVAILABLE and the servers stay up and healthy.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { OpenChannelResult } from '../../protocol/service-api.js';
import type { WebChannelList } from '../../protocol/web-api.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';
import { http, startWeb, type WebProcess } from './web-process.js';

describe('web servers sharing Redis', () => {
  let redis: RedisServerHandle;
  let cluster: ProcessCluster;
  const webs: WebProcess[] = [];

  before(async () => {
    redis = await startRedisServer();
    cluster = await startProcessCluster(['ru1']);
    const env = { ONAIR_WEB_REDIS_PREFIX: `onair-test:${randomUUID()}:`, ONAIR_WEB_CHANNEL_SYNC_MS: '300' };
    webs.push(await startWeb(cluster.api, env, ['--redis', redis.url, '--id', 'web-a']));
    webs.push(await startWeb(cluster.api, env, ['--redis', redis.url, '--id', 'web-b']));
  });

  after(async () => {
    await Promise.all(webs.map((w) => w.stop()));
    await cluster?.stop();
    await redis?.stop();
  });

  it('shows a channel opened on one web server on the other at once, and ends it on both', async () => {
    const [a, b] = webs as [WebProcess, WebProcess];
    assert.equal(a.process.ready[4], 'redis');
    const opened = await http<OpenChannelResult>('POST', `${a.url}/api/v1/channels`, { title: 'shared', broadcaster: 'redis-test' });
    assert.equal(opened.status, 201, opened.text);
    const onB = await http<WebChannelList>('GET', `${b.url}/api/v1/channels`);
    assert.deepEqual(onB.body.channels.map((c) => [c.channelId, c.title, c.broadcaster]), [[opened.body.channelId, 'shared', 'redis-test']]);
    const end = await http('POST', `${b.url}/api/v1/channels/${opened.body.channelId}/end`, { publisherKey: opened.body.publisherKey });
    assert.equal(end.status, 204);
    for (const web of [a, b]) assert.deepEqual((await http<WebChannelList>('GET', `${web.url}/api/v1/channels`)).body, { channels: [] });
  });

  it('answers 503 WEB_ERR_STORE_UNAVAILABLE for the list while Redis is away, and stays healthy', async () => {
    const [a] = webs as [WebProcess];
    await redis.stop();
    const list = await http<{ code: string; retryable: boolean }>('GET', `${a.url}/api/v1/channels`);
    assert.equal(list.status, 503);
    assert.equal(list.body.code, 'WEB_ERR_STORE_UNAVAILABLE');
    assert.equal(list.body.retryable, true);
    assert.equal(list.headers.get('retry-after'), '1');
    const health = await http<{ ok: boolean }>('GET', `${a.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(health.body.ok, true);
    // Opening still works: the CSM places the channel; the store write fails and is logged, the next sync repairs it.
    const opened = await http('POST', `${a.url}/api/v1/channels`, { title: 'while redis is down', broadcaster: 'b' });
    assert.equal(opened.status, 201, opened.text);
  });
});
