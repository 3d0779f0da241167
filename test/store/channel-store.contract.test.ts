/**
 * One ChannelStore contract, run against the in-memory store and against RedisChannelStore on a real
 * redis-server. Each Redis test gets its own key prefix, so tests never see each other's channels.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import type { ChannelMeta, ChannelStore } from '../../protocol/store/ChannelStore.js';
import { MemoryChannelStore } from '../../protocol/store/MemoryChannelStore.js';
import { RedisChannelStore } from '../../protocol/store/RedisChannelStore.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

function meta(id: number, overrides: Partial<ChannelMeta> = {}): ChannelMeta {
  return {
    id,
    title: `channel ${id}`,
    broadcaster: `caster-${id}`,
    createdAt: 1_718_000_000_123 + id,
    viewers: 0,
    peakViewers: 0,
    ...overrides,
  };
}

function hasCode(code: string) {
  return (err: unknown): boolean => (err as { code?: unknown }).code === code;
}

function contract(name: string, makeStore: () => Promise<ChannelStore>): void {
  describe(`ChannelStore contract: ${name}`, () => {
    it('returns null for an unknown channel and an empty list when empty', async () => {
      const store = await makeStore();
      assert.equal(await store.get(1), null);
      assert.deepEqual(await store.list(), []);
    });

    it('stores and returns metadata exactly, long and non-ASCII strings included', async () => {
      const store = await makeStore();
      const m = meta(7, {
        title: 'Concert en direct — ライブ配信 🎸 '.repeat(20),
        broadcaster: 'Zoë',
        viewers: 3,
        peakViewers: 70_000,
      });
      await store.put(m);
      assert.deepEqual(await store.get(7), m);
    });

    it('replaces on put, and keeps what was put when the caller mutates its object later', async () => {
      const store = await makeStore();
      const m = meta(1);
      await store.put(m);
      m.title = 'changed behind the store';
      assert.equal((await store.get(1))?.title, 'channel 1');
      await store.put(meta(1, { title: 'renamed' }));
      assert.equal((await store.get(1))?.title, 'renamed');
      assert.equal((await store.list()).length, 1);
    });

    it('lists by id ascending, numerically', async () => {
      const store = await makeStore();
      for (const id of [10, 2, 33, 1, 100]) await store.put(meta(id));
      assert.deepEqual(
        (await store.list()).map((m) => m.id),
        [1, 2, 10, 33, 100],
      );
    });

    it('deletes: true when it existed, false after', async () => {
      const store = await makeStore();
      await store.put(meta(1));
      await store.put(meta(2));
      assert.equal(await store.delete(1), true);
      assert.equal(await store.delete(1), false);
      assert.equal(await store.get(1), null);
      assert.deepEqual(
        (await store.list()).map((m) => m.id),
        [2],
      );
    });

    it('setViewers raises the peak but never lowers it, and leaves the other fields alone', async () => {
      const store = await makeStore();
      const m = meta(5, { title: 'peak test ✓ '.repeat(5), viewers: 2, peakViewers: 10 });
      await store.put(m);
      assert.equal(await store.setViewers(5, 4), true);
      assert.deepEqual(await store.get(5), { ...m, viewers: 4, peakViewers: 10 });
      assert.equal(await store.setViewers(5, 25), true);
      assert.deepEqual(await store.get(5), { ...m, viewers: 25, peakViewers: 25 });
      assert.equal(await store.setViewers(5, 0), true);
      assert.deepEqual(await store.get(5), { ...m, viewers: 0, peakViewers: 25 });
    });

    it('setViewers on an unknown channel returns false and creates nothing', async () => {
      const store = await makeStore();
      assert.equal(await store.setViewers(404, 9), false);
      assert.equal(await store.get(404), null);
      assert.deepEqual(await store.list(), []);
    });

    it('keeps the highest peak when many counts race', async () => {
      const store = await makeStore();
      await store.put(meta(3));
      const counts = Array.from({ length: 60 }, (_, i) => (i * 37) % 60);
      await Promise.all(counts.map((n) => store.setViewers(3, n)));
      assert.equal((await store.get(3))?.peakViewers, 59);
    });

    it('refuses a viewer count that is not a non-negative integer', async () => {
      const store = await makeStore();
      await store.put(meta(1));
      for (const bad of [-1, 1.5, Number.NaN]) {
        await assert.rejects(store.setViewers(1, bad), hasCode('STORE_ERR_BAD_ARGUMENT'));
      }
      assert.deepEqual(await store.get(1), meta(1));
    });

    it('rejects calls after close, and close is safe twice', async () => {
      const store = await makeStore();
      await store.close();
      await store.close();
      await assert.rejects(store.get(1), hasCode('STORE_ERR_CLOSED'));
      await assert.rejects(store.put(meta(1)), hasCode('STORE_ERR_CLOSED'));
    });
  });
}

contract('memory', async () => new MemoryChannelStore());

describe('RedisChannelStore on a real redis-server', () => {
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

  contract('redis', async () => new RedisChannelStore(client, `onair-test:${randomUUID()}:`));

  it('close() leaves the borrowed client open', async () => {
    const store = new RedisChannelStore(client, `onair-test:${randomUUID()}:`);
    await store.close();
    assert.equal(await client.ping(), 'PONG');
  });

  it('reports a corrupt value with a code instead of returning garbage', async () => {
    const prefix = `onair-test:${randomUUID()}:`;
    const store = new RedisChannelStore(client, prefix);
    await client.hset(`${prefix}channelMeta`, '9', 'not msgpack of a channel');
    await assert.rejects(store.get(9), hasCode('STORE_ERR_CORRUPT'));
  });
});
