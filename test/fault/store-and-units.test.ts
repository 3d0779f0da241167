/**
 * Faults below the CSMs, with the real keepalived in the lab: the lab client (lab-client.ts) on the
 * client host publishes a channel, four TCP viewers watch it, a join every 100 ms goes through the VIP,
 * and both CSM hosts' /healthz are sampled every 100 ms through their own addresses.
 *
 * 6. Redis is killed and started again, empty (the lab's Redis keeps nothing on disk): both CSMs stay
 *    healthy throughout (every sample 200), the active keeps admitting joins from memory while Redis is
 *    away, and once it is back the active writes its whole state again: the store holds every channel,
 *    its metadata and the active's epoch.
 * 7. kill -9 of the unit holding the published channel's root (found with the admin API): the channel
 *    moves (a new root on another unit, the publisher reconnects there) and every viewer plays again;
 *    the time from the kill to each viewer's first frame after it is measured.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Lab } from '../../infra/lab/Lab.js';
import type { ViewerWindow } from './client/watchers.js';
import { assertEveryJoinSucceeded, assertViewersUninterrupted, gapsText, joinsBetween } from './checks.js';
import { clusterView, LabClient, labCall, settle, startFaultLab, waitFor } from './harness.js';

/** Redis stays away this long: many joins' worth. */
const REDIS_OUTAGE_MS = 4000;
/** A viewer of a killed unit must play again within this (unit failure after 1.5 s, then a rejoin). */
const REPLAY_LIMIT_MS = 10_000;

describe('fault: Redis restarts, a unit dies (real keepalived, lab)', () => {
  let lab: Lab | undefined;
  let client: LabClient | undefined;

  before(async () => {
    lab = await startFaultLab();
    const health = `csm-a=${lab.host('csm-a').address},csm-b=${lab.host('csm-b').address}`;
    client = await LabClient.start(lab, ['--publish', 'fault: store and units', '--viewers', '4', '--join-channel', 'new', '--health', health]);
  });

  after(async () => {
    await client?.stop();
    const report = await lab?.down();
    if (report && report.leftovers.length > 0) process.stderr.write(`lab leftovers: ${JSON.stringify(report.leftovers)}\n`);
  });

  const redisCli = async (...args: string[]): Promise<string> => {
    const result = await lab!.exec('redis', ['redis-cli', '-h', lab!.host('redis').address, '--raw', ...args], { timeoutMs: 5000 });
    return result.code === 0 ? result.stdout : '';
  };

  it('Redis restarted empty: both CSMs stay healthy, the active admits joins from memory, then re-mirrors everything', async (t) => {
    const l = lab!;
    const c = client!;
    const { active } = await settle(l);
    const epoch = (await l.csmHealth(active)).epoch!;
    const before = await waitFor('the cluster through the VIP', () => clusterView(l), 10_000, 200);
    const stored = async (): Promise<{ epoch: string; channels: string[]; meta: string[] }> => ({
      epoch: (await redisCli('GET', 'onair:epoch')).trim(),
      channels: (await redisCli('HKEYS', 'onair:channels')).trim().split('\n').filter(Boolean).sort(),
      meta: (await redisCli('HKEYS', 'onair:channelMeta')).trim().split('\n').filter(Boolean).sort(),
    });
    const channelIds = before.channels.map((ch) => String(ch.id)).sort();
    assert.deepEqual((await stored()).channels, channelIds, 'the store holds the channels before the outage');

    const killAt = Date.now();
    assert.ok(l.kill('redis', 'redis', 'SIGKILL'));
    await waitFor('Redis to be gone', () => !l.alive('redis', 'redis'), 5000, 50);
    await waitFor(`${REDIS_OUTAGE_MS} ms without Redis`, () => Date.now() - killAt >= REDIS_OUTAGE_MS, REDIS_OUTAGE_MS + 2000, 100);
    const duringOutage = await labCall(l, 'GET', '/healthz', undefined, false);
    assert.equal(duringOutage.status, 200, `the active's /healthz while Redis is away: ${JSON.stringify(duringOutage.body)}`);
    const restartAt = Date.now();
    await l.start('redis', 'redis');

    const back = await waitFor('the store to hold every channel, its metadata and the epoch again', async () => {
      const now = await stored();
      return now.epoch === String(epoch) && channelIds.every((id) => now.channels.includes(id) && now.meta.includes(id)) ? now : null;
    }, 20_000, 200);
    const remirroredMs = Date.now() - restartAt;
    const after = await waitFor('the cluster through the VIP', () => clusterView(l), 10_000, 200);
    assert.deepEqual(after.channels, before.channels, 'the same channels after the outage');
    assert.equal((await l.csmHealth(active)).role, 'active', `${active} stayed active`);

    const window = await c.window(killAt, Date.now());
    const health = window['health'] as { samples: number; changes: { host: string; status: number; role: string | null }[] };
    const unhealthy = health.changes.filter((ch) => ch.status !== 200);
    assert.deepEqual(unhealthy, [], 'a CSM answered /healthz with something else than 200 while Redis was away or coming back');
    assert.ok(!health.changes.some((ch) => ch.host === active && ch.role !== 'active'), `${active} stopped being active`);
    const joins = await joinsBetween(c, killAt, restartAt);
    const summary = assertEveryJoinSucceeded(joins, Math.floor(REDIS_OUTAGE_MS / 100 / 2), 'joins while Redis was away');
    assert.equal(summary.retried, 0, `joins while Redis was away were refused at first: ${JSON.stringify(summary)}`);
    const gapMs = assertViewersUninterrupted(window['viewers'] as ViewerWindow[], 'while Redis restarted');
    t.diagnostic(
      `Redis away ${restartAt - killAt} ms: ${summary.joins} joins admitted from memory (${JSON.stringify(summary)}); store re-mirrored ${remirroredMs} ms after Redis came back ` +
        `(epoch ${back.epoch}, ${back.channels.length} channels, ${back.meta.length} titles); longest pause at a viewer ${gapsText(gapMs)}`,
    );
  });

  it("kill -9 of the unit holding a channel's root: the channel moves and its viewers play again", async (t) => {
    const l = lab!;
    const c = client!;
    await settle(l);
    const channelId = c.ready['channelId'] as number;
    const channel = await labCall(l, 'GET', `/admin/v1/channels/${channelId}`);
    assert.equal(channel.status, 200);
    const root = channel.body.root.unitId as string;
    const before = await c.window(0);
    const viewers = before['viewers'] as ViewerWindow[];
    assert.ok(viewers.length === 4 && viewers.every((v) => v.unitId === root), `the viewers watch on the root unit ${root}: ${JSON.stringify(viewers.map((v) => v.unitId))}`);

    const killAt = Date.now();
    assert.ok(l.kill(root, 'unit', 'SIGKILL'), `the unit on ${root} was running`);
    const plays = await waitFor('every viewer to play again after rejoining', async () => {
      const now = (await c.window(killAt))['viewers'] as ViewerWindow[];
      const firsts = now.map((v) => v.plays.find((p) => p.unitId !== root && p.joinedAt >= killAt) ?? null);
      return firsts.every((p) => p !== null) ? firsts.map((p) => ({ ...p!, ms: p!.at - killAt })) : null;
    }, 30_000, 200);
    const publisher = await c.waitLine('the publisher to reconnect to another unit', (line) => line.t === 'publisher' && line['ev'] === 'reconnected' && line.at >= killAt, 10_000);
    assert.notEqual(publisher['unitId'], root);
    const moved = await labCall(l, 'GET', `/admin/v1/channels/${channelId}`);
    assert.equal(moved.status, 200, 'the channel is still there');
    assert.notEqual(moved.body.root.unitId, root, 'the root moved off the dead unit');
    assert.equal(moved.body.root.unitId, publisher['unitId'], 'the publisher publishes to the new root');
    const units = await l.units();
    assert.equal(units?.find((u) => u.id === root)?.state, 'failed', `${root} is failed`);
    const times = plays.map((p) => p.ms);
    for (const ms of times) assert.ok(ms < REPLAY_LIMIT_MS, `a viewer played again ${ms} ms after the kill`);
    t.diagnostic(`${root} killed: publisher on ${publisher['unitId']} after ${publisher.at - killAt} ms; viewers played again after ${times.join(', ')} ms (on ${[...new Set(plays.map((p) => p.unitId))].join(', ')})`);
  });
});
