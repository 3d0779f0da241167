/**
 * One WebChannelStore contract, run against the in-memory store and against RedisWebChannelStore on a
 * real redis-server. Each Redis test gets its own key prefix, so tests never see each other's channels.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { MemoryWebChannelStore } from '../../web/server/store/MemoryWebChannelStore.js';
import { RedisWebChannelStore } from '../../web/server/store/RedisWebChannelStore.js';
import type { WebChannelRecord, WebChannelStore } from '../../web/server/store/WebChannelStore.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

function record(channelId: number, overrides: Partial<WebChannelRecord> = {}): WebChannelRecord {
  return {
    channelId,
    title: `channel ${channelId}`,
    broadcaster: `caster-${channelId}`,
    startedAt: 1_718_000_000_123 + channelId,
    viewers: 0,
    peakViewers: 0,
    publisherConnected: false,
    endedAt: null,
    storedAt: 1_718_000_000_500,
    ...overrides,
  };
}

const hasCode = (code: string) => (err: unknown): boolean => (err as { code?: unknown }).code === code;

function contract(name: string, makeStore: () => Promise<WebChannelStore>): void {
  describe(`WebChannelStore contract: ${name}`, () => {
    it('returns null for an unknown channel and an empty list when empty', async () => {
      const store = await makeStore();
      assert.equal(await store.get(1), null);
      assert.deepEqual(await store.list(), []);
    });

    it('stores and returns a record exactly, non-ASCII and limit-length strings included', async () => {
      const store = await makeStore();
      const r = record(7, { title: 'Concert en direct — ライブ配信 🎸'.padEnd(120, '✓'), broadcaster: 'Zoë'.repeat(20), viewers: 3, peakViewers: 70_000, publisherConnected: true });
      await store.put(r);
      assert.deepEqual(await store.get(7), r);
      const ended = record(8, { endedAt: 1_718_000_009_000, broadcaster: '' });
      await store.put(ended);
      assert.deepEqual(await store.get(8), ended);
    });

    it('replaces on put, and keeps what was put when the caller changes its object later', async () => {
      const store = await makeStore();
      const r = record(1);
      await store.put(r);
      r.title = 'changed behind the store';
      assert.equal((await store.get(1))?.title, 'channel 1');
      await store.put(record(1, { title: 'renamed' }));
      assert.equal((await store.get(1))?.title, 'renamed');
      assert.equal((await store.list()).length, 1);
    });

    it('lists live and ended channels by id ascending, numerically', async () => {
      const store = await makeStore();
      for (const id of [10, 2, 33, 1, 100]) await store.put(record(id, id === 33 ? { endedAt: 5 } : {}));
      assert.deepEqual((await store.list()).map((r) => r.channelId), [1, 2, 10, 33, 100]);
    });

    it('observe sets viewers and the broadcaster flag, raises the peak to the largest of stored, given and viewers, never lowers it', async () => {
      const store = await makeStore();
      const r = record(5, { viewers: 2, peakViewers: 10 });
      await store.put(r);
      assert.equal(await store.observe(5, { viewers: 4, peakViewers: 3, publisherConnected: true }), true);
      assert.deepEqual(await store.get(5), { ...r, viewers: 4, peakViewers: 10, publisherConnected: true });
      assert.equal(await store.observe(5, { viewers: 25, peakViewers: 12, publisherConnected: true }), true);
      assert.deepEqual(await store.get(5), { ...r, viewers: 25, peakViewers: 25, publisherConnected: true });
      assert.equal(await store.observe(5, { viewers: 0, peakViewers: 40, publisherConnected: false }), true);
      assert.deepEqual(await store.get(5), { ...r, viewers: 0, peakViewers: 40, publisherConnected: false });
    });

    it('observe of an unknown or ended channel returns false and changes nothing', async () => {
      const store = await makeStore();
      assert.equal(await store.observe(404, { viewers: 9, peakViewers: 9, publisherConnected: true }), false);
      assert.equal(await store.get(404), null);
      const ended = record(3, { endedAt: 1_000, viewers: 1, peakViewers: 2 });
      await store.put(ended);
      assert.equal(await store.observe(3, { viewers: 9, peakViewers: 9, publisherConnected: true }), false);
      assert.deepEqual(await store.get(3), ended);
      assert.deepEqual((await store.list()).map((r) => r.channelId), [3]);
    });

    it('end marks the channel ended and keeps the earliest end time; unknown → false', async () => {
      const store = await makeStore();
      await store.put(record(1, { viewers: 4, peakViewers: 6 }));
      assert.equal(await store.end(1, 2_000), true);
      assert.deepEqual(await store.get(1), record(1, { viewers: 4, peakViewers: 6, endedAt: 2_000 }));
      assert.equal(await store.end(1, 3_000), true);
      assert.equal((await store.get(1))?.endedAt, 2_000);
      assert.equal(await store.end(1, 1_500), true);
      assert.equal((await store.get(1))?.endedAt, 1_500);
      assert.equal(await store.end(2, 1_000), false);
      assert.equal(await store.get(2), null);
    });

    it('purgeEnded removes only channels that ended before the cutoff', async () => {
      const store = await makeStore();
      await store.put(record(1, { endedAt: 1_000 }));
      await store.put(record(2, { endedAt: 5_000 }));
      await store.put(record(3));
      assert.equal(await store.purgeEnded(4_000), 1);
      assert.deepEqual((await store.list()).map((r) => r.channelId), [2, 3]);
      assert.equal(await store.purgeEnded(4_000), 0);
    });

    it('keeps the highest peak when many observations race', async () => {
      const store = await makeStore();
      await store.put(record(3));
      const counts = Array.from({ length: 60 }, (_, i) => (i * 37) % 60);
      await Promise.all(counts.map((n) => store.observe(3, { viewers: n, peakViewers: 0, publisherConnected: true })));
      assert.equal((await store.get(3))?.peakViewers, 59);
    });

    it('refuses bad input with STORE_ERR_BAD_ARGUMENT and keeps what was stored', async () => {
      const store = await makeStore();
      const good = record(1, { viewers: 2, peakViewers: 3 });
      await store.put(good);
      const badRecords: unknown[] = [
        { ...good, title: '' },
        { ...good, title: 'x'.repeat(121) },
        { ...good, broadcaster: 'b'.repeat(61) },
        { ...good, viewers: -1 },
        { ...good, peakViewers: 1.5 },
        { ...good, startedAt: Number.NaN },
        { ...good, endedAt: 'soon' },
        { ...good, publisherConnected: 1 },
        { ...good, extra: true },
        { ...good, channelId: 0 },
        { ...good, channelId: 2 ** 31 },
        (({ storedAt: _s, ...rest }) => rest)(good),
      ];
      for (const bad of badRecords) await assert.rejects(store.put(bad as WebChannelRecord), hasCode('STORE_ERR_BAD_ARGUMENT'), JSON.stringify(bad).slice(0, 80));
      for (const bad of [{ viewers: -1, peakViewers: 0, publisherConnected: true }, { viewers: 1, peakViewers: Number.NaN, publisherConnected: true }, { viewers: 1, peakViewers: 1, publisherConnected: 'yes' }]) {
        await assert.rejects(store.observe(1, bad as never), hasCode('STORE_ERR_BAD_ARGUMENT'));
      }
      await assert.rejects(store.observe(1.5, { viewers: 1, peakViewers: 1, publisherConnected: true }), hasCode('STORE_ERR_BAD_ARGUMENT'));
      await assert.rejects(store.end(1, -5), hasCode('STORE_ERR_BAD_ARGUMENT'));
      await assert.rejects(store.end(Number.NaN, 5), hasCode('STORE_ERR_BAD_ARGUMENT'));
      await assert.rejects(store.purgeEnded(Number.POSITIVE_INFINITY), hasCode('STORE_ERR_BAD_ARGUMENT'));
      assert.deepEqual(await store.get(1), good);
      assert.deepEqual(await store.list(), [good]);
    });

    it('rejects calls after close, and close is safe twice', async () => {
      const store = await makeStore();
      await store.close();
      await store.close();
      await assert.rejects(store.get(1), hasCode('STORE_ERR_CLOSED'));
      await assert.rejects(store.put(record(1)), hasCode('STORE_ERR_CLOSED'));
      await assert.rejects(store.observe(1, { viewers: 1, peakViewers: 1, publisherConnected: true }), hasCode('STORE_ERR_CLOSED'));
    });
  });
}

contract('memory', async () => new MemoryWebChannelStore());

describe('RedisWebChannelStore on a real redis-server', () => {
  let server: RedisServerHandle;
  let client: Redis;
  before(async () => {
    server = await startRedisServer();
    client = createRedis(server.url);
  });
  after(async () => {
    await client?.quit();
    await server?.stop();
  });

  contract('redis', async () => new RedisWebChannelStore(client, `onair-test:${randomUUID()}:`));

  it('is shared: what one web server stores, another on the same prefix reads and updates', async () => {
    const prefix = `onair-test:${randomUUID()}:`;
    const a = new RedisWebChannelStore(client, prefix);
    const b = new RedisWebChannelStore(client, prefix);
    await a.put(record(4));
    assert.equal(await b.observe(4, { viewers: 6, peakViewers: 6, publisherConnected: true }), true);
    assert.equal((await a.get(4))?.peakViewers, 6);
    await b.close();
    assert.equal(await client.ping(), 'PONG', 'close() leaves the borrowed client open');
  });

  it('skips an undecodable entry in the list (a sync adopts it afresh) and reports it on get with STORE_ERR_CORRUPT', async () => {
    const prefix = `onair-test:${randomUUID()}:`;
    const store = new RedisWebChannelStore(client, prefix);
    await store.put(record(1));
    await client.hset(`${prefix}webChannels`, '9', 'not msgpack of a channel');
    await client.hset(`${prefix}webChannels`, '10', Buffer.from([0x81, 0xa1, 0x78, 0x01])); // msgpack {x: 1}
    assert.deepEqual((await store.list()).map((r) => r.channelId), [1]);
    await assert.rejects(store.get(9), hasCode('STORE_ERR_CORRUPT'));
    await assert.rejects(store.get(10), hasCode('STORE_ERR_CORRUPT'));
    // a put (what a sync does for a channel it cannot read) replaces the corrupt value
    await store.put(record(9));
    assert.equal((await store.get(9))?.title, 'channel 9');
  });
});
