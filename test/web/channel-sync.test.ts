/**
 * ChannelSync's rules on an in-memory store, with the CSM's channel list handed in as a function
 * (the real CSM is in web-api.test.ts) and a hand-moved clock, so each race is set up exactly.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { ChannelSync } from '../../web/server/ChannelSync.js';
import type { CsmChannelInfo } from '../../web/server/csm-channel-list.js';
import { MemoryWebChannelStore } from '../../web/server/store/MemoryWebChannelStore.js';
import type { WebChannelRecord } from '../../web/server/store/WebChannelStore.js';
import { waitFor } from '../support/processes.js';

function info(id: number, overrides: Partial<CsmChannelInfo> = {}): CsmChannelInfo {
  return { id, title: `csm title ${id}`, broadcaster: `csm-${id}`, createdAt: 1_000 + id, viewers: 0, peakViewers: 0, publisherConnected: true, ...overrides };
}

function record(channelId: number, overrides: Partial<WebChannelRecord> = {}): WebChannelRecord {
  return { channelId, title: `web title ${channelId}`, broadcaster: `web-${channelId}`, startedAt: 500, viewers: 0, peakViewers: 0, publisherConnected: false, endedAt: null, storedAt: 500, ...overrides };
}

/** A sync over a memory store whose CSM answers `answer` (or throws it), at the time in `clock`. */
function setup(retentionMs = 60_000) {
  const store = new MemoryWebChannelStore();
  const clock = { now: 10_000 };
  const csm: { answer: CsmChannelInfo[] | Error; during?: () => Promise<void> } = { answer: [] };
  let failures = 0;
  const sync = new ChannelSync({
    store,
    listChannels: async () => {
      // Runs after the sync noted when it asked: what happens here happens while the list is on its way.
      await csm.during?.();
      if (csm.answer instanceof Error) throw csm.answer;
      return csm.answer;
    },
    intervalMs: 60_000,
    endedRetentionMs: retentionMs,
    logger: pino({ level: 'silent' }),
    failed: () => failures++,
    now: () => clock.now,
  });
  return { store, clock, csm, sync, failures: () => failures };
}

describe('ChannelSync', () => {
  it('updates viewers and the broadcaster flag, keeps the larger peak, and keeps the title the web server stored', async () => {
    const { store, csm, sync } = setup();
    await store.put(record(1, { peakViewers: 50 }));
    csm.answer = [info(1, { viewers: 7, peakViewers: 9, publisherConnected: true })];
    assert.deepEqual(await sync.runOnce(), { adopted: 0, updated: 1, ended: 0, purged: 0 });
    assert.deepEqual(await store.get(1), record(1, { viewers: 7, peakViewers: 50, publisherConnected: true }));
    csm.answer = [info(1, { viewers: 3, peakViewers: 80, publisherConnected: false })];
    await sync.runOnce();
    assert.deepEqual(await store.get(1), record(1, { viewers: 3, peakViewers: 80, publisherConnected: false }));
    assert.equal(sync.csm, 'reachable');
  });

  it('adopts a channel opened through another web server with the CSM title, broadcaster and createdAt', async () => {
    const { store, csm, sync, clock } = setup();
    csm.answer = [info(4, { viewers: 2, peakViewers: 1 })];
    assert.equal((await sync.runOnce())?.adopted, 1);
    assert.deepEqual(await store.get(4), {
      channelId: 4,
      title: 'csm title 4',
      broadcaster: 'csm-4',
      startedAt: 1_004,
      viewers: 2,
      peakViewers: 2,
      publisherConnected: true,
      endedAt: null,
      storedAt: clock.now,
    });
  });

  it('ends a channel the CSM no longer lists, but not one stored while the list was on its way', async () => {
    const { store, csm, sync, clock } = setup();
    await store.put(record(1, { storedAt: 9_000 }));
    csm.answer = [];
    csm.during = async () => {
      clock.now = 10_500;
      await store.put(record(2, { storedAt: 10_200 }));
    };
    assert.equal((await sync.runOnce())?.ended, 1);
    assert.equal((await store.get(1))?.endedAt, 10_500);
    assert.equal((await store.get(2))?.endedAt, null, 'opened after the list was asked for: stays live');
    csm.during = undefined;
    clock.now = 11_000;
    await sync.runOnce();
    assert.equal((await store.get(2))?.endedAt, 11_000, 'the next list still lacks it: now it ends');
  });

  it('does not bring back a channel ended after the list was asked for, but adopts an id the CSM handed out again', async () => {
    const { store, csm, sync, clock } = setup();
    await store.put(record(1));
    await store.put(record(2, { endedAt: 9_000 }));
    csm.answer = [info(1), info(2)];
    csm.during = async () => {
      clock.now = 10_100;
      await store.end(1, 10_050);
    };
    const outcome = await sync.runOnce();
    assert.equal((await store.get(1))?.endedAt, 10_050, 'the list predates the end');
    const reused = await store.get(2);
    assert.equal(reused?.endedAt, null, 'ended before the list was asked for, listed again: a new channel');
    assert.equal(reused?.title, 'csm title 2');
    assert.equal(outcome?.adopted, 1);
  });

  it('keeps the last good data when the CSM fails or answers nonsense, counts it, and recovers', async () => {
    const { store, csm, sync, failures } = setup();
    csm.answer = [info(1, { viewers: 5, peakViewers: 5 })];
    await sync.runOnce();
    const good = await store.get(1);
    const lastSyncAt = sync.lastSyncAt;
    csm.answer = new Error('connect ECONNREFUSED');
    assert.equal(await sync.runOnce(), null);
    assert.equal(sync.csm, 'unreachable');
    assert.equal(failures(), 1);
    assert.deepEqual(await store.get(1), good);
    assert.equal(sync.lastSyncAt, lastSyncAt);
    // a store that refuses what the CSM says (here a viewer count no store takes) fails the sync, not the process
    csm.answer = [info(1, { viewers: -3 })];
    assert.equal(await sync.runOnce(), null);
    assert.equal(failures(), 2);
    assert.deepEqual(await store.get(1), good);
    csm.answer = [info(1, { viewers: 6, peakViewers: 6 })];
    assert.notEqual(await sync.runOnce(), null);
    assert.equal((await store.get(1))?.viewers, 6);
    assert.equal(sync.csm, 'reachable');
  });

  it('removes ended channels after the retention', async () => {
    const { store, csm, sync, clock } = setup(1_000);
    await store.put(record(1, { endedAt: 8_000 }));
    await store.put(record(2, { endedAt: 9_500 }));
    csm.answer = [];
    assert.equal((await sync.runOnce())?.purged, 1);
    assert.deepEqual((await store.list()).map((r) => r.channelId), [2]);
    clock.now = 11_000;
    assert.equal((await sync.runOnce())?.purged, 1);
    assert.deepEqual(await store.list(), []);
  });

  it('runs on its own every interval after start, and stop() ends it', async () => {
    const store = new MemoryWebChannelStore();
    let calls = 0;
    const sync = new ChannelSync({ store, listChannels: async () => (calls++, []), intervalMs: 20, endedRetentionMs: 0, logger: pino({ level: 'silent' }) });
    await sync.start();
    assert.equal(calls, 1);
    await waitFor('three more syncs', () => calls >= 4, 5000, 10);
    await sync.stop();
    const stoppedAt = calls;
    // Nothing to poll for when checking that nothing happens: three intervals pass with no sync.
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(calls, stoppedAt);
  });
});
