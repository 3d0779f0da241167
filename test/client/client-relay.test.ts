/**
 * Relays and chat across units, with real processes: a CSM and two units that hold one group of two
 * viewers each, so the channel's third viewer is placed on the other unit, in a group chained under
 * the root (paper Fig. 9). That unit opens one relay link to the root unit and serves its viewer from
 * its own ring. Chat lines from a viewer on either unit and from the broadcaster reach everyone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import type { UnitMessage } from '../../protocol/media-messages.js';
import { CsmApi } from '../../web/client/CsmApi.js';
import { Publisher } from '../../web/client/Publisher.js';
import { Viewer } from '../../web/client/Viewer.js';
import { waitFor } from '../support/processes.js';
import { startProcessCluster, type ProcessCluster } from '../support/cluster-fixture.js';
import { assertInOrderAndIdentical, SyntheticSource, videoCount, watch } from './stream-fixture.js';

type ChatLine = UnitMessage & { t: 'chat' };

describe('relay links between units, and chat across them', () => {
  let cluster: ProcessCluster;
  let api: CsmApi;
  let publisher: Publisher | undefined;
  let source: SyntheticSource | undefined;
  const viewers: Viewer[] = [];
  const clientOptions = { WebSocket, maxAttempts: 10, reconnectMinMs: 100, reconnectMaxMs: 800, rejoinMinMs: 100, rejoinMaxMs: 800 };

  before(async () => {
    cluster = await startProcessCluster(['ru-1', 'ru-2'], { media: true, unitEnv: { ONAIR_UNIT_GROUPS_PER_UNIT: '1', ONAIR_UNIT_GROUP_SIZE: '2' } });
    api = new CsmApi({ baseUrl: cluster.api });
  });

  after(async () => {
    source?.stop();
    publisher?.close();
    for (const viewer of viewers) viewer.close();
    api?.close();
    await cluster?.stop();
  });

  it('serves a viewer on a chained unit through one relay link, in order, the same bytes', async () => {
    publisher = await Publisher.open({ api, ...clientOptions }, { title: 'relay test', broadcaster: 'node' });
    await waitFor('the publisher to connect', () => publisher!.state === 'open');
    source = new SyntheticSource(publisher);
    const rootUnit = publisher.grant!.unitId;
    const [a, b, c] = [0, 1, 2].map(() => new Viewer({ api, ...clientOptions, channelId: publisher!.channelId })) as [Viewer, Viewer, Viewer];
    viewers.push(a, b, c);
    const frames = [a, b, c].map(watch);
    for (const v of [a, b, c]) await v.start();
    assert.equal(a.join!.unitId, rootUnit);
    assert.equal(b.join!.unitId, rootUnit);
    assert.notEqual(c.join!.unitId, rootUnit, 'the root group is full: the third viewer is chained on the other unit');

    await waitFor('60 video frames at each viewer', () => frames.every((f) => videoCount(f) >= 60));
    for (const [i, f] of frames.entries()) assertInOrderAndIdentical(f, source.sent, `viewer ${'abc'[i]}`);
    assert.equal(c.stats.seqGaps, 0);

    const { body } = await cluster.admin('GET', `/admin/v1/channels/${publisher.channelId}/tree`);
    assert.match(JSON.stringify(body), new RegExp(c.join!.unitId), "the CSM's tree holds the chained unit");

    // The units' reports reach the CSM: the root serves one relay child; both see the stream's bitrate.
    type Media = { unitId: string; bitrateBps: number; relayChildren: number; tcpViewers: number; udpViewers: number };
    let media: Media[] = [];
    await waitFor('media reports from both units', async () => {
      media = (await cluster.admin<{ media: Media[] }>('GET', `/admin/v1/channels/${publisher!.channelId}`)).body.media;
      return media.length === 2 && media.every((m) => m.bitrateBps > 0);
    });
    const rootMedia = media.find((m) => m.unitId === rootUnit)!;
    const childMedia = media.find((m) => m.unitId === c.join!.unitId)!;
    assert.equal(rootMedia.relayChildren, 1, 'one relay link per channel per unit pair');
    assert.equal(childMedia.relayChildren, 0);
    assert.deepEqual([rootMedia.tcpViewers, childMedia.tcpViewers], [2, 1]);
    const metrics = await (await fetch(`${cluster.units.get(rootUnit)!.address.replace(/^ws/, 'http')}/metrics`)).text();
    assert.match(metrics, new RegExp(`onair_unit_channel_relay_children\\{[^}]*channel="${publisher.channelId}"[^}]*\\} 1`));
    assert.match(metrics, new RegExp(`onair_unit_channel_viewers\\{[^}]*channel="${publisher.channelId}"[^}]*mode="tcp"[^}]*\\} 2`));
  });

  it('carries chat lines from every side to every viewer and the broadcaster, across the relay', async () => {
    assert.ok(publisher, 'the first test opened the channel');
    const [a, , c] = viewers as [Viewer, Viewer, Viewer];
    const got = new Map<string, ChatLine[]>([['a', []], ['c', []], ['broadcaster', []]]);
    a.events.on('chat', (line) => got.get('a')!.push(line));
    c.events.on('chat', (line) => got.get('c')!.push(line));
    publisher.events.on('chat', (line) => got.get('broadcaster')!.push(line));
    const texts = (who: string): string[] => got.get(who)!.map((l) => l.text);

    assert.ok(c.sendChat('hello from the chained unit'));
    assert.ok(a.sendChat('hello from the root unit'));
    assert.ok(publisher.sendChat('hello from the broadcaster'));
    const all = ['hello from the chained unit', 'hello from the root unit', 'hello from the broadcaster'];
    await waitFor('every line everywhere', () => [...got.keys()].every((who) => all.every((t) => texts(who).includes(t))));
    const fromC = got.get('a')!.find((l) => l.text === all[0])!;
    assert.equal(fromC.from, c.join!.viewerId, 'the sender is the viewer id the CSM gave');
    assert.equal(got.get('c')!.find((l) => l.text === all[2])!.from, 'broadcaster');
    // Each line once per receiver: the relay does not echo it back up.
    for (const who of got.keys()) assert.equal(texts(who).length, new Set(texts(who)).size, `${who} got a line twice`);
  });

  it('when the root unit dies, the chained unit becomes the root: its viewer keeps its socket and plays on', async () => {
    assert.ok(publisher && source, 'the first test opened the channel');
    const rootUnit = publisher.grant!.unitId;
    const c = viewers[2]!;
    const survivor = c.join!.unitId;
    const drops: number[] = [];
    c.events.on('disconnected', (code) => drops.push(code));
    const reconnected: string[] = [];
    publisher.events.on('reconnected', (grant) => reconnected.push(grant.unitId));
    const framesBefore = c.stats.frames.video;
    const lastSeqBefore = c.stats.lastSeq!;

    cluster.units.get(rootUnit)!.process.kill('SIGKILL');
    await waitFor('the publisher to resume on the chained unit', () => reconnected.includes(survivor) && publisher!.state === 'open', 20_000);
    await waitFor('the chained viewer to get 60 more video frames', () => c.stats.frames.video >= framesBefore + 60, 20_000);
    assert.deepEqual(drops, [], 'the viewer on the surviving unit was not disconnected');
    assert.equal(c.join!.unitId, survivor);
    assert.ok(c.stats.lastSeq! > lastSeqBefore);
  });
});
