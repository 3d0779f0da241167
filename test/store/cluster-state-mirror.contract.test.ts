/**
 * One ClusterStateMirror contract, run against the in-memory mirror and against
 * RedisClusterStateMirror on a real redis-server, plus the Redis-only fencing race between two CSMs
 * on two connections.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { StaleEpochError, type ClusterStateMirror } from '../../csm/store/ClusterStateMirror.js';
import { MemoryClusterStateMirror } from '../../csm/store/MemoryClusterStateMirror.js';
import { RedisClusterStateMirror } from '../../csm/store/RedisClusterStateMirror.js';
import type { ChannelRecord, UnitRecord } from '../../csm/store/records.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

function unit(id: string, overrides: Partial<UnitRecord> = {}): UnitRecord {
  return {
    id,
    address: `ws://127.0.0.1:71${id.length}0`,
    groupsPerUnit: 50,
    groupSize: 10,
    state: 'up',
    registeredAt: 1_718_000_000_000,
    ...overrides,
  };
}

function channel(id: number, overrides: Partial<ChannelRecord> = {}): ChannelRecord {
  return {
    id,
    createdAt: 1_718_000_000_500 + id,
    publisherKeyHash: 'ab'.repeat(32),
    groups: [
      { unitId: 'unit-a', index: 0, role: 'root', parent: null, viewers: 10 },
      { unitId: 'unit-a', index: 1, role: 'member', parent: 'unit-a/0', viewers: 7 },
      { unitId: 'unité-b', index: 49, role: 'member', parent: 'unit-a/0', viewers: 0 },
    ],
    peakViewers: 17,
    ...overrides,
  };
}

function hasCode(code: string) {
  return (err: unknown): boolean => (err as { code?: unknown }).code === code;
}

function isStale(attempted: number, stored: number) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof StaleEpochError, `expected a StaleEpochError, got ${String(err)}`);
    assert.equal(err.code, 'CSM_ERR_STALE_EPOCH');
    assert.equal(err.attempted, attempted);
    assert.equal(err.stored, stored);
    return true;
  };
}

function contract(name: string, makeMirror: () => Promise<ClusterStateMirror>): void {
  describe(`ClusterStateMirror contract: ${name}`, () => {
    it('starts empty: epoch 0, no records, nextChannelId 1', async () => {
      const mirror = await makeMirror();
      assert.equal(await mirror.currentEpoch(), 0);
      assert.deepEqual(await mirror.load(), { epoch: 0, units: [], channels: [], nextChannelId: 1 });
    });

    it('claimEpoch raises the epoch by one each time, concurrent claims included', async () => {
      const mirror = await makeMirror();
      assert.equal(await mirror.claimEpoch(), 1);
      assert.equal(await mirror.claimEpoch(), 2);
      const claimed = await Promise.all(Array.from({ length: 10 }, () => mirror.claimEpoch()));
      assert.deepEqual([...claimed].sort((a, b) => a - b), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
      assert.equal(await mirror.currentEpoch(), 12);
    });

    it('applies a write at the stored epoch and loads it back exactly, sorted by id', async () => {
      const mirror = await makeMirror();
      const epoch = await mirror.claimEpoch();
      const units = [unit('unit-b', { state: 'draining' }), unit('unit-a'), unit('unité-c', { state: 'failed' })];
      const channels = [channel(12), channel(3), channel(100, { groups: [] })];
      await mirror.write(epoch, { putUnits: units, putChannels: channels, nextChannelId: 101 });
      assert.deepEqual(await mirror.load(), {
        epoch,
        units: [unit('unit-a'), unit('unit-b', { state: 'draining' }), unit('unité-c', { state: 'failed' })],
        channels: [channel(3), channel(12), channel(100, { groups: [] })],
        nextChannelId: 101,
      });
    });

    it('applies a write with a higher epoch and raises the stored epoch to it', async () => {
      const mirror = await makeMirror();
      await mirror.claimEpoch();
      await mirror.write(5, { putUnits: [unit('unit-a')] });
      assert.equal(await mirror.currentEpoch(), 5);
      assert.equal(await mirror.claimEpoch(), 6);
      assert.deepEqual((await mirror.load()).units, [unit('unit-a')]);
    });

    it('refuses a stale write with both epochs and applies none of it', async () => {
      const mirror = await makeMirror();
      const old = await mirror.claimEpoch();
      await mirror.write(old, { putUnits: [unit('unit-a'), unit('unit-b')], putChannels: [channel(1), channel(2)], nextChannelId: 3 });
      const current = await mirror.claimEpoch();
      const before = await mirror.load();
      await assert.rejects(
        mirror.write(old, {
          putUnits: [unit('unit-a', { state: 'failed' }), unit('unit-new')],
          deleteUnits: ['unit-b'],
          putChannels: [channel(1, { peakViewers: 999 }), channel(3)],
          deleteChannels: [2],
          nextChannelId: 4,
        }),
        isStale(old, current),
      );
      assert.deepEqual(await mirror.load(), before);
      assert.equal(await mirror.currentEpoch(), current);
    });

    it('deletes units and channels, unknown ids included', async () => {
      const mirror = await makeMirror();
      const epoch = await mirror.claimEpoch();
      await mirror.write(epoch, { putUnits: [unit('unit-a'), unit('unit-b')], putChannels: [channel(1), channel(2)] });
      await mirror.write(epoch, { deleteUnits: ['unit-a', 'never-was'], deleteChannels: [2, 77] });
      const loaded = await mirror.load();
      assert.deepEqual(loaded.units, [unit('unit-b')]);
      assert.deepEqual(loaded.channels, [channel(1)]);
    });

    it('applies deletes before puts within one write', async () => {
      const mirror = await makeMirror();
      const epoch = await mirror.claimEpoch();
      await mirror.write(epoch, { putUnits: [unit('unit-a')], putChannels: [channel(1)] });
      await mirror.write(epoch, {
        deleteUnits: ['unit-a'],
        putUnits: [unit('unit-a', { state: 'draining' })],
        deleteChannels: [1],
        putChannels: [channel(1, { peakViewers: 50 })],
      });
      const loaded = await mirror.load();
      assert.deepEqual(loaded.units, [unit('unit-a', { state: 'draining' })]);
      assert.deepEqual(loaded.channels, [channel(1, { peakViewers: 50 })]);
    });

    it('keeps nextChannelId unless a write sets it', async () => {
      const mirror = await makeMirror();
      const epoch = await mirror.claimEpoch();
      await mirror.write(epoch, { nextChannelId: 42 });
      await mirror.write(epoch, { putUnits: [unit('unit-a')] });
      assert.equal((await mirror.load()).nextChannelId, 42);
      await mirror.write(epoch, { nextChannelId: 43 });
      assert.equal((await mirror.load()).nextChannelId, 43);
    });

    it('holds what was written even when the caller mutates its records afterwards', async () => {
      const mirror = await makeMirror();
      const epoch = await mirror.claimEpoch();
      const c = channel(1);
      await mirror.write(epoch, { putChannels: [c] });
      (c.groups[0] as { viewers: number }).viewers = 1000;
      c.groups.push({ unitId: 'x', index: 0, role: 'member', parent: null, viewers: 0 });
      const loaded = await mirror.load();
      assert.deepEqual(loaded.channels, [channel(1)]);
      (loaded.channels[0] as ChannelRecord).peakViewers = 0;
      assert.deepEqual((await mirror.load()).channels, [channel(1)]);
    });

    it('refuses malformed writes before touching anything', async () => {
      const mirror = await makeMirror();
      const epoch = await mirror.claimEpoch();
      await assert.rejects(mirror.write(-1, {}), hasCode('STORE_ERR_BAD_ARGUMENT'));
      await assert.rejects(mirror.write(1.5, {}), hasCode('STORE_ERR_BAD_ARGUMENT'));
      await assert.rejects(mirror.write(epoch, { nextChannelId: 0 }), hasCode('STORE_ERR_BAD_ARGUMENT'));
      await assert.rejects(
        mirror.write(epoch, { putUnits: [unit('ok')], putChannels: [channel(Number.NaN)] }),
        hasCode('STORE_ERR_BAD_ARGUMENT'),
      );
      assert.deepEqual(await mirror.load(), { epoch, units: [], channels: [], nextChannelId: 1 });
    });

    it('rejects calls after close, and close is safe twice', async () => {
      const mirror = await makeMirror();
      await mirror.close();
      await mirror.close();
      await assert.rejects(mirror.claimEpoch(), hasCode('STORE_ERR_CLOSED'));
      await assert.rejects(mirror.load(), hasCode('STORE_ERR_CLOSED'));
    });
  });
}

contract('memory', async () => new MemoryClusterStateMirror());

describe('RedisClusterStateMirror on a real redis-server', () => {
  let server: RedisServerHandle;
  let client: Redis;
  let other: Redis;
  before(async () => {
    server = await startRedisServer();
    client = createRedis(server.url);
    // A second connection, as a second CSM would have: its commands interleave with the first's on the server.
    other = createRedis(server.url);
  });
  after(async () => {
    await client?.quit();
    await other?.quit();
    await server?.stop();
  });

  const prefix = (): string => `onair-test:${randomUUID()}:`;
  contract('redis', async () => new RedisClusterStateMirror(client, prefix()));

  it('two CSMs racing: once epoch 2 is claimed, no epoch-1 write succeeds and epoch 2 wins', async () => {
    const p = prefix();
    const oldCsm = new RedisClusterStateMirror(client, p);
    const newCsm = new RedisClusterStateMirror(other, p);
    assert.equal(await oldCsm.claimEpoch(), 1);

    let claimed = false;
    const outcomes: { issuedAfterClaim: boolean; ok: boolean }[] = [];
    const oldWrites = (async () => {
      for (let i = 0; i < 200; i++) {
        const issuedAfterClaim = claimed;
        const write = oldCsm.write(1, { putUnits: [unit('contended', { address: `old-${i}` })], nextChannelId: 1000 + i });
        outcomes.push({ issuedAfterClaim, ok: await write.then(() => true, (err) => isStale(1, 2)(err) && false) });
      }
    })();
    const newWrites = (async () => {
      // Let a few old writes land first so the race starts with epoch 1 in charge.
      while (outcomes.length < 5) await new Promise((resolve) => setImmediate(resolve));
      assert.equal(await newCsm.claimEpoch(), 2);
      claimed = true;
      for (let i = 0; i < 50; i++) {
        await newCsm.write(2, { putUnits: [unit('contended', { address: `new-${i}` })], nextChannelId: 5000 + i });
      }
    })();
    await Promise.all([oldWrites, newWrites]);

    assert.ok(outcomes.slice(0, 5).every((o) => o.ok), 'writes before the claim succeed');
    assert.ok(outcomes.filter((o) => o.issuedAfterClaim).every((o) => !o.ok), 'no write issued after the claim succeeds');
    const firstRefused = outcomes.findIndex((o) => !o.ok);
    assert.ok(firstRefused > 0);
    assert.ok(outcomes.slice(firstRefused).every((o) => !o.ok), 'once refused, the old CSM is refused for good');
    const loaded = await newCsm.load();
    assert.equal(loaded.epoch, 2);
    assert.deepEqual(loaded.units, [unit('contended', { address: 'new-49' })]);
    assert.equal(loaded.nextChannelId, 5049);
  });

  it('applies nothing when a key has the wrong type, instead of half a write', async () => {
    const p = prefix();
    const mirror = new RedisClusterStateMirror(client, p);
    const epoch = await mirror.claimEpoch();
    await client.set(`${p}channels`, 'not a hash');
    await assert.rejects(mirror.write(epoch, { putUnits: [unit('unit-a')], putChannels: [channel(1)], nextChannelId: 9 }), /WRONGTYPE/);
    assert.equal(await client.hlen(`${p}units`), 0);
    assert.equal(await client.get(`${p}nextChannelId`), null);
  });

  it('a new mirror on the same prefix loads what another wrote (a backup taking over)', async () => {
    const p = prefix();
    const active = new RedisClusterStateMirror(client, p);
    const epoch = await active.claimEpoch();
    await active.write(epoch, { putUnits: [unit('unit-a')], putChannels: [channel(7)], nextChannelId: 8 });
    const backup = new RedisClusterStateMirror(other, p);
    assert.deepEqual(await backup.load(), { epoch, units: [unit('unit-a')], channels: [channel(7)], nextChannelId: 8 });
  });

  it('rejects a write soon while Redis is down, rather than hanging', { timeout: 15_000 }, async () => {
    const doomed = await startRedisServer();
    const link = createRedis(doomed.url);
    try {
      const mirror = new RedisClusterStateMirror(link, prefix());
      const epoch = await mirror.claimEpoch();
      await doomed.stop();
      await assert.rejects(mirror.write(epoch, { putUnits: [unit('unit-a')] }), /max retries/i);
    } finally {
      link.disconnect();
      await doomed.stop();
    }
  });

  it('close() leaves the borrowed client open', async () => {
    const mirror = new RedisClusterStateMirror(client, prefix());
    await mirror.close();
    assert.equal(await client.ping(), 'PONG');
  });
});
