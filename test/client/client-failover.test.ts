/**
 * The isomorphic client (web/client/) against real processes: a CSM and two units on loopback.
 * A Node Publisher sends a synthetic stream; two Viewers receive the same payloads in order, from a
 * keyframe. Then the root unit (the one holding the publisher and, its root group having room, the
 * viewers too) is killed with SIGKILL: the publisher resumes on the other unit and both viewers
 * rejoin there through the CSM on their own, and receive frames again from a keyframe.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { CsmApi } from '../../web/client/CsmApi.js';
import { Publisher } from '../../web/client/Publisher.js';
import { Viewer } from '../../web/client/Viewer.js';
import { waitFor } from '../support/processes.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { assertInOrderAndIdentical, SyntheticSource, videoCount, watch, type Received } from './stream-fixture.js';

describe('web client against a real CSM and two units', () => {
  let cluster: ProcessCluster;
  let api: CsmApi;
  let publisher: Publisher | undefined;
  let source: SyntheticSource | undefined;
  const viewers: Viewer[] = [];
  const clientOptions = { WebSocket, maxAttempts: 30, reconnectMinMs: 100, reconnectMaxMs: 800, rejoinMinMs: 100, rejoinMaxMs: 800 };

  before(async () => {
    cluster = await startProcessCluster(['cu-1', 'cu-2'], { media: true });
    api = new CsmApi({ baseUrl: cluster.api });
  });

  after(async () => {
    source?.stop();
    publisher?.close();
    for (const viewer of viewers) viewer.close();
    api?.close();
    await cluster?.stop();
  });

  it('delivers the same payloads, in order, from a keyframe, to two TCP viewers', async () => {
    publisher = await Publisher.open({ api, ...clientOptions }, { title: 'client test', broadcaster: 'node' });
    await waitFor('the publisher to connect', () => publisher!.state === 'open');
    source = new SyntheticSource(publisher);
    const a = new Viewer({ api, ...clientOptions, channelId: publisher.channelId });
    const b = new Viewer({ api, ...clientOptions, channelId: publisher.channelId });
    viewers.push(a, b);
    const framesA = watch(a);
    const framesB = watch(b);
    const drops: string[] = [];
    for (const [name, v] of [['A', a], ['B', b]] as const) v.events.on('disconnected', (code, reason) => drops.push(`${name}: ${code} ${reason}`));
    await Promise.all([a.start(), b.start()]);
    await waitFor('90 video frames at each viewer', () => videoCount(framesA) >= 90 && videoCount(framesB) >= 90);

    assert.deepEqual(drops, [], 'a viewer lost its connection while nothing failed');
    assertInOrderAndIdentical(framesA, source.sent, 'viewer A');
    assertInOrderAndIdentical(framesB, source.sent, 'viewer B');
    // Where both saw the stream they saw the very same frames.
    const from = Math.max(framesA[0]!.seq, framesB[0]!.seq);
    const to = Math.min(framesA.at(-1)!.seq, framesB.at(-1)!.seq);
    const range = (frames: Received[]): number[] => frames.filter((f) => f.seq >= from && f.seq <= to).map((f) => f.seq);
    assert.ok(to - from > 100, 'the viewers overlap');
    assert.deepEqual(range(framesA), range(framesB));
    for (const v of [a, b]) {
      const stats = v.stats;
      assert.equal(stats.seqGaps, 0);
      assert.ok(stats.firstFrameMs !== null && stats.firstFrameMs >= 0);
      assert.ok(stats.frames.video >= 90 && stats.frames.audio >= 90 && stats.bytes > 0);
      assert.equal(stats.lastSeq, (v === a ? framesA : framesB).at(-1)!.seq);
    }
  });

  it('moves the publisher and both viewers to the other unit when the root unit is SIGKILLed', async () => {
    assert.ok(publisher && source, 'the first test opened the channel');
    const rootUnit = publisher.grant!.unitId;
    const [a, b] = viewers as [Viewer, Viewer];
    // The root group has room for both viewers, so they are on the root unit.
    assert.equal(a.join!.unitId, rootUnit);
    assert.equal(b.join!.unitId, rootUnit);
    const reconnected: string[] = [];
    publisher.events.on('reconnected', (grant) => reconnected.push(grant.unitId));
    const rejoined = new Map<Viewer, string[]>([[a, []], [b, []]]);
    for (const v of [a, b]) v.events.on('rejoined', (join) => rejoined.get(v)!.push(join.unitId));
    const before = new Map([[a, watch(a)], [b, watch(b)]]);

    cluster.units.get(rootUnit)!.process.kill('SIGKILL');
    const survivor = [...cluster.units.keys()].find((id) => id !== rootUnit)!;

    await waitFor('the publisher to resume on the surviving unit', () => reconnected.includes(survivor) && publisher!.state === 'open', 20_000);
    for (const v of [a, b]) {
      const frames = before.get(v)!;
      await waitFor('the viewer to rejoin and get 60 video frames from the surviving unit', () => {
        return rejoined.get(v)!.includes(survivor) && videoCount(frames.filter((f) => f.unitId === survivor)) >= 60;
      }, 20_000);
      assert.equal(v.state, 'open');
      assert.ok(v.stats.rejoins >= 1);
      const afterMove = frames.filter((f) => f.unitId === survivor);
      assertInOrderAndIdentical(afterMove, source.sent, `viewer on ${survivor}`);
    }
  });
});
