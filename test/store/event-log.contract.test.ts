/**
 * One EventLog contract, run against the in-memory ring and against RedisEventLog on a real
 * redis-server. The only declared difference is trimming: the memory log keeps exactly `capacity`
 * entries, the Redis stream (XADD MAXLEN ~) up to `trimSlack` more.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { EventKind } from '../../protocol/event-kinds.js';
import type { EventLog, NewLogEvent } from '../../protocol/store/EventLog.js';
import { compareEventIds } from '../../protocol/store/event-log-rules.js';
import { MemoryEventLog } from '../../protocol/store/MemoryEventLog.js';
import { RedisEventLog } from '../../protocol/store/RedisEventLog.js';
import { createRedis } from '../../protocol/store/redis-connection.js';
import { startRedisServer, type RedisServerHandle } from '../support/redis-server.js';

type MakeLog = (options?: { capacity?: number }) => Promise<EventLog>;

interface Traits {
  /** how many entries beyond capacity the log may keep; read when the test runs */
  trimSlack: () => number;
}

function event(n: number, overrides: Partial<NewLogEvent> = {}): NewLogEvent {
  return { at: 1_718_000_000_000 + n, kind: EventKind.VIEWER_JOINED, message: `event ${n}`, ...overrides };
}

function hasCode(code: string) {
  return (err: unknown): boolean => (err as { code?: unknown }).code === code;
}

async function appendMany(log: EventLog, count: number, make: (n: number) => NewLogEvent = event): Promise<string[]> {
  const ids: string[] = [];
  for (let n = 0; n < count; n++) ids.push((await log.append(make(n))).id);
  return ids;
}

function contract(name: string, makeLog: MakeLog, traits: Traits): void {
  describe(`EventLog contract: ${name}`, () => {
    it('round-trips every field exactly, data included, and omits absent optional fields', async () => {
      const log = await makeLog();
      const full: NewLogEvent = {
        at: 1_718_000_000_123,
        kind: EventKind.OPERATOR_ACTION,
        unitId: 'unit-ü-1',
        channelId: 42,
        actor: 'ops:zoë',
        message: 'evacuated unit — «all» 🚚',
        data: { reason: 'maintenance', viewers: 1234, ratio: -0.125, big: 2 ** 40, forced: true, previous: null, empty: '' },
      };
      const bare: NewLogEvent = { at: 1_718_000_000_124, kind: EventKind.CSM_PROMOTED, message: '' };
      const a = await log.append(full);
      const b = await log.append(bare);
      assert.deepEqual(a, { id: a.id, ...full });
      assert.deepEqual(b, { id: b.id, ...bare });
      assert.deepEqual(await log.query(), [b, a]);
      assert.deepEqual(Object.keys((await log.query({ limit: 1 }))[0] ?? {}).sort(), ['at', 'id', 'kind', 'message']);
    });

    it('assigns "ms-seq" ids that strictly increase, even within one millisecond', async () => {
      const log = await makeLog();
      const ids = await appendMany(log, 200);
      for (const id of ids) assert.match(id, /^\d+-\d+$/);
      for (let i = 1; i < ids.length; i++) assert.equal(compareEventIds(ids[i - 1] as string, ids[i] as string), -1);
    });

    it('returns newest first', async () => {
      const log = await makeLog();
      const ids = await appendMany(log, 10);
      assert.deepEqual(
        (await log.query()).map((e) => e.id),
        [...ids].reverse(),
      );
    });

    it('filters by unitId, channelId and kinds, all given filters together', async () => {
      const log = await makeLog();
      const kinds = [EventKind.VIEWER_JOINED, EventKind.VIEWER_LEFT, EventKind.CHANNEL_EXPANDED];
      await appendMany(log, 30, (n) =>
        event(n, { unitId: `u${n % 3}`, channelId: n % 5, kind: kinds[n % kinds.length] as EventKind }),
      );
      const all = await log.query({ limit: 1000 });
      const check = async (query: Parameters<EventLog['query']>[0], keep: (e: (typeof all)[number]) => boolean) => {
        const expected = all.filter(keep);
        assert.ok(expected.length > 0, 'the filter must match something for the test to mean anything');
        assert.deepEqual(await log.query(query), expected);
      };
      await check({ unitId: 'u1' }, (e) => e.unitId === 'u1');
      await check({ channelId: 0 }, (e) => e.channelId === 0);
      await check({ kinds: [EventKind.VIEWER_LEFT] }, (e) => e.kind === EventKind.VIEWER_LEFT);
      await check(
        { kinds: [EventKind.VIEWER_LEFT, EventKind.CHANNEL_EXPANDED] },
        (e) => e.kind === EventKind.VIEWER_LEFT || e.kind === EventKind.CHANNEL_EXPANDED,
      );
      await check(
        { unitId: 'u2', channelId: 2, kinds: [EventKind.CHANNEL_EXPANDED] },
        (e) => e.unitId === 'u2' && e.channelId === 2 && e.kind === EventKind.CHANNEL_EXPANDED,
      );
      assert.deepEqual(await log.query({ kinds: [] }), all.slice(0, 100), 'an empty kinds list filters nothing');
      assert.deepEqual(await log.query({ unitId: 'nobody' }), []);
      assert.deepEqual(await log.query({ kinds: [EventKind.UNIT_FAILED] }), []);
    });

    it('pages with beforeId, strictly older, without gaps or repeats', async () => {
      const log = await makeLog();
      const ids = await appendMany(log, 25);
      const newestFirst = [...ids].reverse();
      const seen: string[] = [];
      let beforeId: string | undefined;
      for (;;) {
        const page = await log.query(beforeId === undefined ? { limit: 10 } : { limit: 10, beforeId });
        if (page.length === 0) break;
        assert.ok(page.length <= 10);
        seen.push(...page.map((e) => e.id));
        beforeId = page[page.length - 1]?.id;
      }
      assert.deepEqual(seen, newestFirst);
      const pivot = ids[12] as string;
      assert.deepEqual(
        (await log.query({ beforeId: pivot, limit: 3 })).map((e) => e.id),
        [ids[11], ids[10], ids[9]],
      );
      assert.deepEqual(await log.query({ beforeId: ids[0] as string }), []);
      assert.deepEqual(await log.query({ beforeId: '0-0' }), []);
    });

    it('pages through a filtered view', async () => {
      const log = await makeLog();
      await appendMany(log, 40, (n) => event(n, { channelId: n % 2 }));
      const odd = (await log.query({ channelId: 1, limit: 1000 })).map((e) => e.id);
      assert.equal(odd.length, 20);
      const first = await log.query({ channelId: 1, limit: 8 });
      const second = await log.query({ channelId: 1, limit: 8, beforeId: first[7]?.id as string });
      assert.deepEqual([...first, ...second].map((e) => e.id), odd.slice(0, 16));
    });

    it('refuses a malformed beforeId rather than returning an empty page', async () => {
      const log = await makeLog();
      await appendMany(log, 2);
      for (const bad of ['', 'abc', '12', '1-2-3', '-1-0', '99999999999999999999-0']) {
        await assert.rejects(log.query({ beforeId: bad }), hasCode('STORE_ERR_BAD_ARGUMENT'), bad);
      }
    });

    it('returns 100 by default and at most 1000', async () => {
      const log = await makeLog({ capacity: 5000 });
      await appendMany(log, 1100);
      assert.equal((await log.query()).length, 100);
      assert.equal((await log.query({ limit: 5000 })).length, 1000);
      assert.equal((await log.query({ limit: 1 })).length, 1);
    });

    it('drops the oldest entries past capacity and keeps the newest in order', async () => {
      const capacity = 20;
      const log = await makeLog({ capacity });
      const ids = await appendMany(log, capacity + 300);
      const kept = (await log.query({ limit: 1000 })).map((e) => e.id);
      assert.ok(kept.length >= capacity, `kept ${kept.length}, fewer than capacity`);
      assert.ok(
        kept.length <= capacity + traits.trimSlack(),
        `kept ${kept.length}, more than capacity ${capacity} + slack ${traits.trimSlack()}`,
      );
      assert.deepEqual(kept, [...ids].reverse().slice(0, kept.length), 'the survivors are the newest, newest first');
    });

    it('looks at no more than 20 × limit entries per query', async () => {
      const log = await makeLog();
      await log.append(event(0, { channelId: 7 }));
      await appendMany(log, 25, (n) => event(n + 1, { channelId: 8 }));
      assert.deepEqual(await log.query({ channelId: 7, limit: 1 }), [], 'the match lies beyond the 20-entry window');
      assert.equal((await log.query({ channelId: 7, limit: 2 })).length, 1, 'a 40-entry window reaches it');
    });

    it('refuses a malformed event and stores nothing of it', async () => {
      const log = await makeLog();
      const bad = [
        { ...event(1), kind: 'no.such.kind' as EventKind },
        { ...event(2), at: Number.NaN },
        { ...event(3), channelId: 1.5 },
        { ...event(4), data: { nested: { no: 1 } } as unknown as NewLogEvent['data'] },
      ];
      for (const e of bad) await assert.rejects(log.append(e), hasCode('STORE_ERR_BAD_ARGUMENT'));
      assert.deepEqual(await log.query(), []);
    });

    it('rejects calls after close, and close is safe twice', async () => {
      const log = await makeLog();
      await log.close();
      await log.close();
      await assert.rejects(log.append(event(1)), hasCode('STORE_ERR_CLOSED'));
      await assert.rejects(log.query(), hasCode('STORE_ERR_CLOSED'));
    });
  });
}

contract('memory', async (options) => new MemoryEventLog(options), { trimSlack: () => 0 });

describe('MemoryEventLog only', () => {
  it('keeps ids increasing when the clock stalls or steps back', async () => {
    const times = [5000, 5000, 4000, 6000, 6000];
    const log = new MemoryEventLog({ now: () => times.shift() ?? 7000 });
    const ids = await appendMany(log, 6);
    assert.deepEqual(ids, ['5000-0', '5000-1', '5000-2', '6000-0', '6000-1', '7000-0']);
  });
});

describe('RedisEventLog on a real redis-server', () => {
  let server: RedisServerHandle;
  let client: Redis;
  // XADD MAXLEN ~ trims whole stream nodes only, so up to one node's worth may remain beyond capacity.
  let nodeEntries = 0;
  before(async () => {
    server = await startRedisServer();
    client = createRedis(server.url);
    const [, value] = (await client.config('GET', 'stream-node-max-entries')) as [string, string];
    nodeEntries = Number(value);
    assert.ok(nodeEntries > 0);
  });
  after(async () => {
    await client?.quit();
    await server?.stop();
  });

  const prefix = (): string => `onair-test:${randomUUID()}:`;
  contract('redis', async (options) => new RedisEventLog(client, prefix(), options), { trimSlack: () => nodeEntries });

  it('trims the stream itself, not only what a query shows', async () => {
    const p = prefix();
    const log = new RedisEventLog(client, p, { capacity: 20 });
    await appendMany(log, 500);
    const length = await client.xlen(`${p}events`);
    assert.ok(length >= 20 && length <= 20 + nodeEntries, `stream length ${length}`);
  });

  it('close() leaves the borrowed client open', async () => {
    const log = new RedisEventLog(client, prefix());
    await log.close();
    assert.equal(await client.ping(), 'PONG');
  });
});
