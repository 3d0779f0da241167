/**
 * Takeover: the active CSM is killed with SIGKILL, the "VIP" moves to the backup, and keepalived's
 * notify script promotes it (`onair csm-ctl promote`). The new active holds a higher epoch and every
 * channel and group the old one had; the units re-register through the VIP and are reconciled with
 * their reports; a join during the gap gets a retryable answer, and joins succeed after it. A
 * publisher and a viewer (web/client over `ws`) stream through the whole takeover without a gap:
 * media never passes through the CSM.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CsmApi } from '../../web/client/CsmApi.js';
import { Publisher } from '../../web/client/Publisher.js';
import { Viewer } from '../../web/client/Viewer.js';
import { waitFor } from '../support/processes.js';
import { SyntheticSource } from '../client/stream-fixture.js';
import { assertInOrderAndIdentical } from '../support/frame-checks.js';
import { FrameKind } from '../../protocol/media-frame.js';
import { startHaCluster, withLogs, type HaCluster } from './ha-cluster.js';

describe('HA: takeover after the active is killed', () => {
  let cluster: HaCluster | undefined;
  let api: CsmApi | undefined;
  let publisher: Publisher | undefined;
  let source: SyntheticSource | undefined;
  let viewer: Viewer | undefined;
  const videoCount = (frames: readonly { kind: number }[]): number => frames.filter((f) => f.kind === FrameKind.VIDEO).length;
  const clientOptions = { WebSocket, maxAttempts: 30, reconnectMinMs: 100, reconnectMaxMs: 800, rejoinMinMs: 100, rejoinMaxMs: 800 };

  before(async () => {
    cluster = await startHaCluster({ units: ['u1', 'u2'] });
    api = new CsmApi({ baseUrl: cluster.vipUrl });
  });
  after(async () => {
    source?.stop();
    publisher?.close();
    viewer?.close();
    api?.close();
    await cluster?.stop();
  });

  it('promotes the backup with every channel and group, and media keeps flowing', (t) =>
    withLogs(cluster, async () => {
      const c = cluster!;
      publisher = await Publisher.open({ api: api!, ...clientOptions }, { title: 'through the takeover', broadcaster: 'node' });
      await waitFor('the publisher to connect', () => publisher!.state === 'open');
      source = new SyntheticSource(publisher);
      viewer = new Viewer({ api: api!, ...clientOptions, channelId: publisher.channelId });
      const frames: { seq: number; kind: number; keyframe: boolean; payload: Uint8Array; at: number }[] = [];
      viewer.events.on('frame', (f) => frames.push({ seq: f.seq, kind: f.kind, keyframe: f.keyframe, payload: f.payload, at: Date.now() }));
      const drops: string[] = [];
      viewer.events.on('disconnected', (code, reason) => drops.push(`viewer: ${code} ${reason}`));
      publisher.events.on('disconnected', (code, reason) => drops.push(`publisher: ${code} ${reason}`));
      await viewer.start();
      await waitFor('60 video frames at the viewer', () => videoCount(frames) >= 60);

      // A second channel with two groups, so there is a tree to compare.
      const second = await c.call<{ channelId: number }>(c.vipUrl, 'POST', '/api/v1/channels', { title: 'second', broadcaster: 'lee' });
      for (let i = 0; i < 12; i++) assert.equal((await c.call(c.vipUrl, 'POST', `/api/v1/channels/${second.body.channelId}/join`, {})).status, 200);
      const view = async (csm: typeof c.a): Promise<unknown> => {
        const channels = (await c.admin(csm, 'GET', '/admin/v1/channels')).body as { id: number; groups: number; units: string[]; root: unknown }[];
        // Viewer counts are left out: units reconcile them (reservations that never connected go) as soon as they re-register.
        const shape = (node: { unitId: string; depth: number; groups: string[]; children: unknown[] }): unknown => ({ unitId: node.unitId, depth: node.depth, groups: node.groups, children: node.children.map((child) => shape(child as never)) });
        const trees = await Promise.all(channels.map(async (ch) => shape((await c.admin(csm, 'GET', `/admin/v1/channels/${ch.id}/tree`)).body)));
        const groups = (await c.admin(csm, 'GET', '/admin/v1/groups')).body as { key: string; channelId: number; role: string; parent: string | null }[];
        return {
          channels: channels.map((ch) => ({ id: ch.id, groups: ch.groups, units: [...ch.units].sort(), root: ch.root })),
          trees,
          groups: groups.map((g) => ({ key: g.key, channelId: g.channelId, role: g.role, parent: g.parent })),
        };
      };
      const before = await view(c.a);
      await waitFor('the backup to follow the same cluster', async () => JSON.stringify(await view(c.b)) === JSON.stringify(before), 5000);

      // The active dies; the VIP moves; the backup is not promoted yet.
      c.a.process.kill('SIGKILL');
      await c.a.process.exited;
      c.pointVipTo(c.b);
      const gap = await c.call<{ code: string; retryable: boolean }>(c.vipUrl, 'POST', `/api/v1/channels/${second.body.channelId}/join`, {});
      assert.deepEqual([gap.status, gap.body.code, gap.body.retryable, gap.headers.get('retry-after')], [503, 'CSM_ERR_NOT_ACTIVE', true, '1']);

      const promoted = await c.ctl(c.b, 'promote', { args: ['--reason', 'keepalived: MASTER'] });
      assert.equal(promoted.code, 0, promoted.stderr);
      assert.deepEqual([promoted.json.role, promoted.json.epoch, promoted.json.changed], ['active', 2, true]);
      const again = await c.ctl(c.b, 'promote');
      assert.deepEqual([again.code, again.json.role, again.json.epoch, again.json.changed], [0, 'active', 2, false], 'a promote while active is a no-op');

      assert.deepEqual(await view(c.b), before, 'every channel, tree and group survived the takeover');

      // Joins go on at once, before the units have re-registered: their groups stay open for the
      // takeover grace (the units kept serving their viewers and are reconnecting through the VIP).
      const answers: number[] = [];
      const firstJoin = await c.call<{ code?: string; unitId?: string }>(c.vipUrl, 'POST', `/api/v1/channels/${second.body.channelId}/join`, {});
      answers.push(firstJoin.status);
      assert.equal(firstJoin.status, 200, `the first join after the promotion answered ${firstJoin.status} ${firstJoin.body.code}`);

      await waitFor('both units to re-register with the new active and obey epoch 2', async () => {
        const units = (await c.admin(c.b, 'GET', '/admin/v1/units')).body as { id: string; connected: boolean; state: string }[];
        return units.every((u) => u.connected && u.state === 'up') && (await c.unitHealth('u1')).epoch === 2 && (await c.unitHealth('u2')).epoch === 2;
      }, 15_000);
      // Reconciled with the units' reports: the viewer is known by its real id again, no group was lost.
      await waitFor('the publisher and the viewer adopted from the reports', async () => {
        const channel = (await c.admin(c.b, 'GET', `/admin/v1/channels/${publisher!.channelId}`)).body;
        return channel.publisherConnected === true && channel.viewers === 1;
      }, 10_000);
      // Unit and CSM agree on each unit's groups (a release the CSM just sent may still be on its way).
      for (const id of ['u1', 'u2']) {
        const agree = async (): Promise<boolean> => (await c.unitHealth(id)).groupsUsed === (await c.admin(c.b, 'GET', `/admin/v1/units/${id}`)).body.usedGroups;
        await waitFor(`${id} and the CSM to agree on its groups`, agree, 5000);
      }

      // The stream went on: no reconnect, no missing frame, no pause.
      const promotedAt = Date.now();
      await waitFor('60 more video frames after the takeover', () => videoCount(frames.filter((f) => f.at > promotedAt)) >= 60, 15_000);
      assert.deepEqual(drops, [], 'a media connection dropped during the takeover');
      assertInOrderAndIdentical(frames, source.sent, 'the viewer');
      let longestPause = 0;
      for (let i = 1; i < frames.length; i++) longestPause = Math.max(longestPause, frames[i]!.at - frames[i - 1]!.at);
      t.diagnostic(`longest pause between two frames at the viewer: ${longestPause} ms; ${frames.length} frames; join answers during the reconnection: ${answers.join(',')}`);
      assert.ok(longestPause < 1000, `the viewer waited ${longestPause} ms between two frames`);
      assert.equal(viewer.stats.seqGaps, 0);

      const snapshot = await c.snapshot();
      assert.equal(snapshot.epoch, 2);
      const events = await c.events();
      const promotion = events.find((e) => e.kind === 'csm.promoted' && e.data?.['epoch'] === 2);
      assert.ok(promotion, 'the promotion is in the event log');
      assert.match(promotion.message, /csm-b active with epoch 2/);
    }));
});
